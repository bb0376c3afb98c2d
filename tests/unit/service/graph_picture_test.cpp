#include "service/graph_picture.hpp"

#include <doctest/doctest.h>
#include <boost/json/parse.hpp>

#include <set>
#include <string>

using namespace cascadence;
using namespace cascadence::service;

namespace {

const char* const yaml = R"(
timezone: Europe/Berlin
tasks:
  load: {echo: l, after: [transform, extract], kind: manual}
  transform: {echo: t, after: [extract]}
  extract: {echo: e, kind: cron, schedule: "0 12 * * *", description: first}
  lonely: {echo: x, kind: webhook}
)";

std::vector<std::string> names(const graph_picture& p) {
  std::vector<std::string> out;
  for (const auto& n : p.nodes) out.push_back(n.name);
  return out;
}

picture_node node(std::string name, std::vector<std::string> after = {}) {
  picture_node n;
  n.name = std::move(name);
  n.kind = "manual";
  n.after = std::move(after);
  return n;
}

}  // namespace

TEST_CASE("a picture lists dependencies before their dependents, else in the configuration's order") {
  const auto cfg = parse_config(yaml, "test.yml");
  const auto all = make_graph_picture(cfg, {}, {});
  CHECK(names(all) == std::vector<std::string>{"extract", "transform", "load", "lonely"});
  const auto some = make_graph_picture(cfg, {}, {"transform"});
  CHECK(names(some) == std::vector<std::string>{"extract", "transform"});
  CHECK(some.nodes[0].kind == "cron");
  CHECK(some.nodes[0].description == "first");
  CHECK(some.nodes[1].kind == "manual");
  CHECK(some.nodes[1].after == std::vector<std::string>{"extract"});
}

TEST_CASE("a picture shows the schedules in force, in the configuration's zone unless they name one") {
  const auto cfg = parse_config(yaml, "test.yml");
  scheduling::schedule_entry file_entry;
  file_entry.task = "transform";
  file_entry.expression = "*/5 * * * *";
  file_entry.timezone = "UTC";
  file_entry.paused = true;
  auto declared = *cfg.find("extract")->schedule;
  const auto p = make_graph_picture(cfg, {declared, file_entry}, {"load"});
  REQUIRE(p.nodes[0].schedule);
  CHECK(p.nodes[0].schedule->expression == "0 12 * * *");
  CHECK(p.nodes[0].schedule->timezone == "Europe/Berlin");
  REQUIRE(p.nodes[1].schedule);
  CHECK(p.nodes[1].schedule->paused);
  CHECK_FALSE(p.nodes[2].schedule);
  const auto dot = to_dot(p);
  CHECK(dot.find(R"x("extract" [label="extract\ncron\n0 12 * * * (Europe/Berlin)", tooltip="first"];)x") !=
        std::string::npos);
  CHECK(dot.find(R"(*/5 * * * * (UTC), paused)") != std::string::npos);
  CHECK(dot.find(R"("extract" -> "transform";)") != std::string::npos);
  CHECK(dot.find(R"("transform" -> "load";)") != std::string::npos);
  CHECK(dot.find(R"("extract" -> "load";)") != std::string::npos);
}

TEST_CASE("DOT quotes every name and label so that no text can end a string or form an escape") {
  graph_picture p;
  p.nodes = {node(R"(say "hi")"), node(R"(back\slash\)", {R"(say "hi")"}), node("two\nlines")};
  p.nodes[0].description = "a \"quoted\" <b>tooltip</b>\\N";
  const auto dot = to_dot(p);
  CHECK(dot.find(R"("say \"hi\"" [label="say \"hi\"\nmanual", tooltip="a \"quoted\" <b>tooltip</b>\\N"];)") !=
        std::string::npos);
  CHECK(dot.find(R"("back\\slash\\" [label="back\\slash\\\nmanual"];)") != std::string::npos);
  CHECK(dot.find(R"("say \"hi\"" -> "back\\slash\\";)") != std::string::npos);
  // A line break in a name is no line break in the file.
  CHECK(dot.find(R"("two lines" [label="two lines\nmanual"];)") != std::string::npos);
  // Every line but the braces is one statement ending in ';'.
  std::size_t lines = 0;
  for (std::size_t at = 0, end = 0; (end = dot.find('\n', at)) != std::string::npos; at = end + 1, ++lines) {
    const auto line = dot.substr(at, end - at);
    if (line == "digraph cascadence {" || line == "}") continue;
    CHECK(line.ends_with(";"));
  }
  CHECK(lines == 8);
}

TEST_CASE("Mermaid ids are made of letters, digits and underscores and never coincide") {
  const std::vector<std::string> hostile{"a-b", "a_b", "a__b", "a_2db", "end", "a b", "a\"b", "ü", "a.b", ""};
  std::set<std::string> ids;
  for (const auto& name : hostile) {
    const auto id = mermaid_id(name);
    CHECK(id.starts_with("t_"));
    CHECK(id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == std::string::npos);
    ids.insert(id);
  }
  CHECK(ids.size() == hostile.size());
  CHECK(mermaid_id("load-db") == "t_load_2ddb");
  CHECK(mermaid_id("a_b") == "t_a__b");
}

TEST_CASE("Mermaid labels are quoted, with entity codes for what the grammar reserves") {
  graph_picture p;
  p.nodes = {node(R"(q"x)"), node("h#1<b>&`", {R"(q"x)"})};
  const auto m = to_mermaid(p);
  CHECK(m.starts_with("flowchart LR\n"));
  CHECK(m.find("    t_q_22x[\"q#quot;x<br/>manual\"]\n") != std::string::npos);
  CHECK(m.find("    t_h_231_3cb_3e_26_60[\"h#35;1#60;b#62;#38;#96;<br/>manual\"]\n") != std::string::npos);
  CHECK(m.find("    t_q_22x --> t_h_231_3cb_3e_26_60\n") != std::string::npos);
  CHECK(m.find("classDef") == std::string::npos);  // nothing to colour
}

TEST_CASE("a run colours its tasks, and the tasks outside it are told apart") {
  const auto cfg = parse_config(yaml, "test.yml");
  auto p = make_graph_picture(cfg, {}, {});
  std::vector<std::string> missing;
  const auto run = boost::json::parse(R"({"run_id":"r-1","task":"load","status":"failed","tasks":[
      {"task":"extract","status":"success"},{"task":"transform","status":"failed"},
      {"task":"load","status":"skipped"},{"task":"gone","status":"success"}]})");
  REQUIRE_FALSE(colour_by_run(p, run, missing));
  CHECK(missing == std::vector<std::string>{"gone"});
  CHECK(p.nodes[0].status == "success");
  CHECK(p.nodes[1].status == "failed");
  CHECK(p.nodes[2].status == "skipped");
  CHECK(p.nodes[3].status == "not_in_run");
  const auto m = to_mermaid(p);
  CHECK(m.find("    %% run r-1 of load: failed\n") != std::string::npos);
  CHECK(m.find("    classDef status_failed fill:#ffcdd2,stroke:#c62828\n") != std::string::npos);
  CHECK(m.find("    class t_transform status_failed\n") != std::string::npos);
  CHECK(m.find("    class t_lonely status_not_in_run\n") != std::string::npos);
  const auto dot = to_dot(p);
  CHECK(dot.find(R"("transform" [label="transform\nmanual\nfailed", fillcolor="#ffcdd2", color="#c62828"];)") !=
        std::string::npos);
  CHECK(dot.find(R"(label="run r-1 of load: failed";)") != std::string::npos);
  const auto j = to_json(p);
  CHECK(j.at("run").at("status") == "failed");
  CHECK(j.at("nodes").at(1).at("status") == "failed");
}

TEST_CASE("a run still going shows its task and what it runs after as running") {
  const auto cfg = parse_config(yaml, "test.yml");
  auto p = make_graph_picture(cfg, {}, {});
  std::vector<std::string> missing;
  const auto run = boost::json::parse(R"({"run_id":"r-2","task":"transform","status":"running","tasks":[]})");
  REQUIRE_FALSE(colour_by_run(p, run, missing));
  CHECK(p.nodes[0].status == "running");
  CHECK(p.nodes[1].status == "running");
  CHECK(p.nodes[2].status == "not_in_run");
  CHECK(p.nodes[3].status == "not_in_run");
}

TEST_CASE("a run of another shape is refused with the reason") {
  const auto cfg = parse_config(yaml, "test.yml");
  auto p = make_graph_picture(cfg, {}, {});
  std::vector<std::string> missing;
  CHECK(*colour_by_run(p, boost::json::parse("[]"), missing) == "the run is not a JSON object");
  CHECK(colour_by_run(p, boost::json::parse(R"({"run_id":"r","task":"t","status":"success"})"), missing)
            ->find("'tasks' array") != std::string::npos);
  CHECK(*colour_by_run(p, boost::json::parse(R"({"run_id":"r","task":"t","status":"success","tasks":[{"x":1}]})"),
                       missing) == "a task of the run lacks a string 'task' or 'status'");
  CHECK_FALSE(p.run);
  CHECK(p.nodes[0].status.empty());
}

TEST_CASE("the JSON picture has nodes with their settings and one edge per dependency") {
  const auto cfg = parse_config(yaml, "test.yml");
  auto p = make_graph_picture(cfg, {*cfg.find("extract")->schedule}, {"load"});
  p.nodes[1].enabled = false;
  const auto j = to_json(p);
  CHECK(j.size() == 2);  // no run
  const auto& nodes = j.at("nodes").as_array();
  REQUIRE(nodes.size() == 3);
  CHECK(nodes[0].as_object() == boost::json::parse(R"({"name":"extract","kind":"cron","description":"first",
      "enabled":true,"schedule":{"expression":"0 12 * * *","timezone":"Europe/Berlin","paused":false},
      "after":[]})")
                                    .as_object());
  CHECK(nodes[1].at("enabled") == false);
  CHECK(nodes[1].at("schedule").is_null());
  CHECK(j.at("edges") == boost::json::parse(R"([{"from":"extract","to":"transform"},
      {"from":"transform","to":"load"},{"from":"extract","to":"load"}])"));
}
