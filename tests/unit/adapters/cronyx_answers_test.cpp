// The remote plugin client's readers of a server's answers, without a
// server (adapters/cronyx/detail/answers.hpp); tests/fuzz/cronyx_answers.cpp
// fuzzes the same functions.

#include "adapters/cronyx/detail/answers.hpp"

#include <doctest/doctest.h>
#include <boost/json/parse.hpp>

#include <chrono>

using namespace cascadence;
namespace detail = adapters::cronyx::detail;
using namespace std::chrono_literals;

namespace {

std::chrono::milliseconds pause_for(std::string_view retry_after) {
  net::header_map h;
  h.append("Retry-After", retry_after);
  return detail::retry_after(h);
}

}  // namespace

TEST_CASE("Retry-After is read in seconds and kept between 50 ms and 5 s") {
  CHECK(detail::retry_after({}) == 500ms);
  CHECK(pause_for("0.25") == 250ms);
  CHECK(pause_for("0") == 50ms);
  CHECK(pause_for("3600") == 5s);
  CHECK(pause_for("soon") == 500ms);
  CHECK(pause_for("inf") == 500ms);
  CHECK(pause_for("nan") == 500ms);
}

TEST_CASE("a Retry-After far beyond any duration is bounded too") {
  // Found by fuzz_cronyx_answers: -9e102 seconds was converted to int64
  // milliseconds before it was bounded (undefined behaviour; UBSan reports it).
  CHECK(pause_for("-9e102") == 50ms);
  CHECK(pause_for("-1e300") == 50ms);
  CHECK(pause_for("1e300") == 5s);
}

TEST_CASE("a 202's Location is followed on this server only") {
  constexpr std::string_view base = "http://plugins.example:8080/cronyx";
  CHECK(detail::poll_url(base, "/v1/runs/r1").value() == "http://plugins.example:8080/v1/runs/r1");
  CHECK(detail::poll_url(base, "v1/runs/r1").value() == "http://plugins.example:8080/cronyx/v1/runs/r1");
  CHECK(detail::poll_url(base, "HTTP://Plugins.Example:8080/r").value() == "HTTP://Plugins.Example:8080/r");
  CHECK_FALSE(detail::poll_url(base, "http://elsewhere.example/r").has_value());
}

TEST_CASE("a task list with an id that cannot name a task is refused") {
  std::vector<adapters::cronyx::task_info> tasks;
  CHECK(detail::read_task_list(boost::json::parse(R"(["a", {"id": "b.c", "name": "B"}])"), tasks) == std::nullopt);
  CHECK(tasks.size() == 2);
  tasks.clear();
  CHECK(detail::read_task_list(boost::json::parse(R"(["a/b"])"), tasks).value() ==
        "GET /tasks: task id 'a/b' cannot name a task (use letters, digits, '_', '-' and '.')");
}
