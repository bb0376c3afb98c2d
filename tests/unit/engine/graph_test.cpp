#include "engine/graph.hpp"
#include "engine/builtin_processors.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

using namespace cascadence::engine;

namespace {

// Builds a graph from (name, dependencies) pairs.
cascadence::core::result<graph, graph_error> make(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& tasks) {
  graph_builder b;
  auto noop = make_noop_processor();
  std::vector<task_id> ids;
  for (const auto& [name, deps] : tasks) ids.push_back(b.add({name, noop, {}}));
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    for (const auto& dep : tasks[i].second) b.add_dependency(ids[i], dep);
  }
  return std::move(b).build();
}

const graph_error& error_of(const cascadence::core::result<graph, graph_error>& r) {
  REQUIRE(!r.has_value());
  return r.error();
}

}  // namespace

TEST_CASE("a cycle is reported with its full path in execution order") {
  // a runs after c, b after a, c after b: a -> b -> c -> a.
  auto r = make({{"a", {"c"}}, {"b", {"a"}}, {"c", {"b"}}, {"d", {}}});
  const auto& err = error_of(r);
  CHECK(err.kind == graph_error::code::cycle);
  CHECK(err.message == "dependency cycle: a -> b -> c -> a");
  CHECK(err.tasks == std::vector<std::string>{"a", "b", "c", "a"});
}

TEST_CASE("a cycle behind a valid prefix is still found") {
  auto r = make({{"root", {}}, {"x", {"root", "z"}}, {"y", {"x"}}, {"z", {"y"}}, {"leaf", {"x"}}});
  CHECK(error_of(r).message == "dependency cycle: x -> y -> z -> x");
}

TEST_CASE("a task depending on itself is a cycle") {
  const auto r = make({{"a", {"a"}}});
  CHECK(error_of(r).message == "dependency cycle: a -> a");
}

TEST_CASE("an unknown dependency names both tasks") {
  const auto r = make({{"a", {"missing"}}});
  const auto& err = error_of(r);
  CHECK(err.kind == graph_error::code::unknown_dependency);
  CHECK(err.message == "task 'a' depends on unknown task 'missing'");
}

TEST_CASE("a duplicate task name is refused") {
  const auto r = make({{"a", {}}, {"a", {}}});
  const auto& err = error_of(r);
  CHECK(err.kind == graph_error::code::duplicate_task);
  CHECK(err.message == "duplicate task 'a'");
}

TEST_CASE("the closure of a target holds its transitive dependencies, dependencies first") {
  auto r = make({{"a", {}}, {"b", {"a"}}, {"c", {"b"}}, {"unrelated", {}}, {"d", {"a", "c"}}});
  REQUIRE(r.has_value());
  const auto& g = r.value();
  const task_id target = *g.find("d");
  const auto order = g.closure(std::span<const task_id>(&target, 1));
  std::vector<std::string> names;
  for (auto id : order) names.emplace_back(g.name(id));
  CHECK(names == std::vector<std::string>{"a", "b", "c", "d"});
}

TEST_CASE("a dependency named twice is one edge") {
  auto r = make({{"a", {}}, {"b", {"a", "a"}}});
  REQUIRE(r.has_value());
  const auto& g = r.value();
  CHECK(g.dependencies(*g.find("b")).size() == 1);
  CHECK(g.dependents(*g.find("a")).size() == 1);
}
