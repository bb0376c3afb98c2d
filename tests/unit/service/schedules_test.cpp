#include "service/schedules.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace cascadence;
using namespace cascadence::service;

namespace {

scheduling::schedule_entry entry(std::string task, std::string expression) {
  scheduling::schedule_entry e;
  e.task = std::move(task);
  e.expression = std::move(expression);
  return e;
}

}  // namespace

TEST_CASE("a class name from the seed's original schedules file names the task it was written for") {
  const auto cfg = parse_config(
      "tasks:\n  example: {echo: x}\n  daily_report: {echo: x}\n  http-check: {echo: x}\n  Odd: {echo: x}\n",
      "test.yml");
  CHECK(seed_class_name_task(cfg, "ExampleTask") == cfg.find("example"));
  CHECK(seed_class_name_task(cfg, "DailyReportTask") == cfg.find("daily_report"));
  CHECK(seed_class_name_task(cfg, "HTTPCheckTask") == cfg.find("http-check"));
  CHECK(seed_class_name_task(cfg, "Task") == nullptr);
  CHECK(seed_class_name_task(cfg, "exampleTask") == nullptr);
  CHECK(seed_class_name_task(cfg, "Example") == nullptr);
  CHECK(seed_class_name_task(cfg, "OtherTask") == nullptr);
  CHECK(seed_class_name_task(cfg, "OddTask") == nullptr);  // task names are matched in snake case
}

TEST_CASE("a schedule keyed by class name is kept, reported as unknown and told how to migrate") {
  const auto cfg = parse_config("tasks:\n  example: {echo: x}\n", "test.yml");
  scheduling::schedule_file file;
  file.entries = {entry("ExampleTask", "0 12 * * *"), entry("GhostTask", "0 1 * * *")};
  const auto eff = collect_schedules(cfg, file);
  REQUIRE(eff.entries.size() == 2);
  CHECK(eff.entries[0].task == "ExampleTask");
  CHECK(eff.entries[0].expression == "0 12 * * *");
  CHECK(eff.entries[1].task == "GhostTask");
  REQUIRE(eff.warnings.size() == 2);
  CHECK(eff.warnings[0] ==
        "schedules.yml: schedule for unknown task 'ExampleTask' is kept but not fired (a class name, as the seed's "
        "original keyed schedules: rename the key to 'example' to fire it)");
  CHECK(eff.warnings[1] == "schedules.yml: schedule for unknown task 'GhostTask' is kept but not fired");
}
