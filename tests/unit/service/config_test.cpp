#include "service/config.hpp"
#include "engine/graph.hpp"

#include <doctest/doctest.h>
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <string>

using namespace cascadence::service;

namespace {

std::string error_for(const std::string& yaml) {
  try {
    auto cfg = parse_config(yaml, "test.yml");
    (void)build_graph(cfg);
  } catch (const config_error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("the built-in default has the example task") {
  const auto cfg = default_config();
  REQUIRE(cfg.tasks.size() == 1);
  CHECK(cfg.tasks[0].name == "example");
  CHECK(cfg.backend == "cron");
  CHECK(cfg.storage_path == "schedules.yml");
  REQUIRE(cfg.tasks[0].schedule.has_value());
  CHECK(cfg.tasks[0].schedule->expression == "* * * * *");
  CHECK(cfg.tasks[0].schedule->is_plain());
}

TEST_CASE("a schedule and its policies can be declared beside a task") {
  const auto cfg = parse_config(R"(
tasks:
  report:
    echo: hi
    schedule: "*/5 * * * *"
    timezone: Europe/Berlin
    overlap: buffer_one
    catchup_window: 5m
    jitter: 10s
)",
                                "test.yml");
  const auto& s = *cfg.tasks[0].schedule;
  CHECK(s.task == "report");
  CHECK(s.expression == "*/5 * * * *");
  CHECK(s.timezone == "Europe/Berlin");
  CHECK(s.policy.overlap == cascadence::scheduling::overlap_policy::buffer_one);
  CHECK(s.policy.catchup_window == std::chrono::minutes(5));
  CHECK(s.policy.jitter == std::chrono::seconds(10));
  CHECK(error_for("tasks:\n  a: {echo: x, overlap: skip}\n") ==
        "test.yml:2:25: tasks.a: timezone, overlap, catchup_window, jitter and paused need a schedule");
  CHECK(error_for("tasks:\n  a: {echo: x, schedule: '* * * * *', overlap: sometimes}\n")
            .find("unknown overlap policy 'sometimes'") != std::string::npos);
}

TEST_CASE("task settings are read with their units") {
  const auto cfg = parse_config(R"(
max_concurrency: 3
tasks:
  a:
    command: [echo, hi]
    timeout: 1m30s
    retries: 2
    retry_backoff: 250ms
    kind: cron
    enabled: false
    env: {X: "1"}
  b:
    sleep: 2s
    after: a
)",
                                "test.yml");
  CHECK(cfg.max_concurrency == 3);
  const auto& a = *cfg.find("a");
  CHECK(a.settings.timeout == std::chrono::seconds(90));
  CHECK(a.settings.retry.retries == 2);
  CHECK(a.settings.retry.backoff == std::chrono::milliseconds(250));
  CHECK(a.settings.kind == cascadence::engine::task_kind::cron);
  CHECK_FALSE(a.settings.enabled);
  const auto& cmd = std::get<cascadence::engine::command_spec>(a.processor);
  CHECK(cmd.argv == std::vector<std::string>{"echo", "hi"});
  CHECK(cmd.env.at("X") == "1");
  CHECK(cfg.find("b")->after == std::vector<std::string>{"a"});
  CHECK(build_graph(cfg).size() == 2);
}

TEST_CASE("a kind written in the file is told apart from the default one") {
  const auto cfg = parse_config("tasks:\n  a: {echo: x}\n  b: {echo: x, kind: manual}\n  c: {remote: r}\n", "test.yml");
  const auto& a = *cfg.find("a");
  CHECK(a.settings.kind == cascadence::engine::task_kind::manual);
  CHECK_FALSE(a.kind_given);
  const auto& b = *cfg.find("b");
  CHECK(b.settings.kind == cascadence::engine::task_kind::manual);
  CHECK(b.kind_given);
  CHECK(cfg.find("c")->settings.kind == cascadence::engine::task_kind::remote);
  CHECK_FALSE(cfg.find("c")->kind_given);
  CHECK_FALSE(default_config().tasks[0].kind_given);
}

TEST_CASE("a string command runs through the shell") {
  const auto cfg = parse_config("tasks: {a: {command: 'echo $HOME'}}", "test.yml");
  CHECK(std::get<cascadence::engine::command_spec>(cfg.tasks[0].processor).argv ==
        std::vector<std::string>{"/bin/sh", "-c", "echo $HOME"});
}

TEST_CASE("bad configuration is refused with file, line, column and reason") {
  CHECK(error_for("tasks:\n  a:\n    command: echo\n    timeout: 5x\n") ==
        "test.yml:4:14: tasks.a.timeout: invalid duration '5x' (write a whole number with ms, s, m, h or d, e.g. "
        "30s or 1h30m)");
  CHECK(error_for("tasks:\n  a:\n    comand: echo\n") ==
        "test.yml:3:5: tasks.a: unknown key 'comand' (known keys: command, echo, sleep, after, timeout, retries, "
        "retry_backoff, retry_backoff_max, description, kind, enabled, env, cwd, schedule, timezone, overlap, "
        "catchup_window, jitter, paused, on, remote, plugin, params, workflow)");
  CHECK(error_for("bogus: 1\n").starts_with("test.yml:1:1: unknown key 'bogus'"));
  CHECK(error_for("tasks:\n  a: {command: echo, after: [nope]}\n") ==
        "test.yml:2:6: task 'a' depends on unknown task 'nope'");
  CHECK(error_for("tasks:\n  a: {echo: x, sleep: 1s}\n") ==
        "test.yml:2:23: tasks.a: a task has exactly one of command, echo, sleep, remote or plugin");
  CHECK(error_for("tasks:\n  a: {after: [b]}\n").starts_with("test.yml:2:6: tasks.a: no processor"));
  CHECK(error_for("tasks:\n  a: {command: echo, retries: -1}\n").find("expected a whole number") != std::string::npos);
  CHECK(error_for("tasks:\n  'a b': {command: echo}\n").find("invalid task name 'a b'") != std::string::npos);
  CHECK(error_for("tasks:\n  a: {command: echo, timeout: 1000000d}\n") ==
        "test.yml:2:31: tasks.a.timeout: duration '1000000d' is longer than the maximum, 3650d");
  CHECK(error_for("tasks:\n  a: {sleep: 1000000d}\n")
            .ends_with("tasks.a.sleep: duration '1000000d' is longer than the maximum, 3650d"));
  CHECK(error_for("http: {read_timeout: 1000000d}\n").ends_with("is longer than the maximum, 3650d"));
  CHECK(error_for("backend: nomad\n") ==
        "test.yml:1:10: backend: unknown backend 'nomad' (known backends: cron, base, temporal)");
}

TEST_CASE("malformed YAML names the position of the syntax error") {
  const auto e = error_for("tasks:\n  a: {command: [echo\n");
  CHECK(e.starts_with("test.yml:"));
  CHECK(e.find("end of sequence flow not found") != std::string::npos);
}

TEST_CASE("a cycle is refused with its path and the location of its first task") {
  CHECK(error_for("tasks:\n  a: {echo: x, after: c}\n  b: {echo: x, after: a}\n  c: {echo: x, after: b}\n") ==
        "test.yml:2:6: dependency cycle: a -> b -> c -> a");
}

TEST_CASE("CASCADENCE_SCHEDULER overrides the backend and must name a known one") {
  ::setenv("CASCADENCE_CONFIG", "", 1);
  ::setenv("CASCADENCE_SCHEDULER", "base", 1);
  CHECK(load_config(std::nullopt).backend == "base");
  ::setenv("CASCADENCE_SCHEDULER", "nomad", 1);
  CHECK_THROWS_WITH_AS((void)load_config(std::nullopt),
                       "CASCADENCE_SCHEDULER: unknown backend 'nomad' (known backends: cron, base, temporal)",
                       config_error);
  ::unsetenv("CASCADENCE_SCHEDULER");
}

TEST_CASE("a configuration file that does not exist is an error, not the default") {
  CHECK_THROWS_WITH_AS((void)load_config(std::filesystem::path("/nonexistent/cascadence.yml")),
                       "/nonexistent/cascadence.yml: cannot read configuration (no such file)", config_error);
}

TEST_CASE("a task subscribes to webhook events with on:") {
  const auto cfg = parse_config(R"(tasks:
  deploy:
    command: ./deploy.sh
    on: {webhook: github, events: [push, release]}
  booked:
    echo: hi
    on: {webhook: calcom}
)",
                                "test.yml");
  const auto* deploy = cfg.find("deploy");
  REQUIRE(deploy->on);
  CHECK(deploy->on->source == "github");
  CHECK(deploy->on->matches("push"));
  CHECK_FALSE(deploy->on->matches("issues"));
  const auto* booked = cfg.find("booked");
  REQUIRE(booked->on);
  CHECK(booked->on->events.empty());
  CHECK(booked->on->matches("ANYTHING"));
}

TEST_CASE("http limits, webhook secrets and the api token are read") {
  const auto cfg = parse_config(R"(http: {body_limit: 2048, header_limit: 1024, read_timeout: 3s, max_connections: 7,
       max_connections_per_client: 3, max_runs: 5}
webhook: {secrets: {github: s1, calcom: s2}}
api: {token: t0k}
)",
                                "test.yml");
  CHECK(cfg.http.body_limit == 2048);
  CHECK(cfg.http.header_limit == 1024);
  CHECK(cfg.http.read_timeout == std::chrono::seconds(3));
  CHECK(cfg.http.max_connections == 7);
  CHECK(cfg.http.max_connections_per_client == 3);
  CHECK(parse_config("tasks: {a: {echo: 1}}\n", "test.yml").http.max_connections_per_client == 64);
  CHECK(cfg.http.max_runs == 5);
  CHECK(parse_config("tasks: {a: {echo: 1}}\n", "test.yml").http.max_runs == 256);
  CHECK(webhook_secret(cfg, "github") == "s1");
  CHECK(webhook_secret(cfg, "other").empty());
  CHECK(api_token(cfg) == "t0k");
  ::setenv("CASCADENCE_WEBHOOK_SECRET_GITHUB", "from-env", 1);
  CHECK(webhook_secret(cfg, "github") == "from-env");
  ::unsetenv("CASCADENCE_WEBHOOK_SECRET_GITHUB");
}

TEST_CASE("bad webhook, http and api keys are refused with where and why") {
  CHECK(error_for("tasks:\n  t:\n    echo: x\n    on: {events: [push]}\n")
            .find("test.yml:4:9: tasks.t.on: missing 'webhook: SOURCE'") != std::string::npos);
  CHECK(error_for("tasks:\n  t:\n    echo: x\n    on: {webhook: Git Hub}\n").find("invalid webhook source 'Git Hub'") !=
        std::string::npos);
  CHECK(error_for("tasks:\n  t:\n    echo: x\n    on: {webhook: github, when: x}\n").find("unknown key 'when'") !=
        std::string::npos);
  CHECK(error_for("http: {body_limit: lots}\n").find("test.yml:1:20: http.body_limit: expected a whole number") !=
        std::string::npos);
  CHECK(error_for("webhook: {secrets: {github: \"\"}}\n").find("webhook.secrets.github: the secret is empty") !=
        std::string::npos);
  CHECK(error_for("http: {max_runs: many}\n").find("test.yml:1:18: http.max_runs: expected a whole number") !=
        std::string::npos);
  CHECK(error_for("api: {tokens: x}\n").find("api: unknown key 'tokens'") != std::string::npos);
}

TEST_CASE("YAML nested past the parser's limit is refused with what and where, not \"bad file\"") {
  std::string deep = "tasks:\n  a:\n    echo: ";
  for (int i = 0; i < 600; ++i) deep += '[';
  for (int i = 0; i < 600; ++i) deep += ']';
  const auto e = error_for(deep + "\n");
  CHECK(e.starts_with("test.yml:3:"));
  CHECK(e.ends_with(": YAML nested 500 levels deep, the parser's limit (a configuration needs a handful)"));
}

TEST_CASE("a YAML alias that refers to itself is refused with its position, not followed") {
  CHECK(error_for("tasks: {x: {echo: &a [*a]}}\n") ==
        "test.yml:1:19: tasks.x.echo: nested more than 64 levels deep (does a YAML alias refer to itself?)");
}

TEST_CASE("aliases that expand to more than 100000 values are refused before they are expanded") {
  std::string yaml = "tasks:\n  x:\n    echo:\n      a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    yaml += "      a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += (j != 0 ? ", *a" : "*a") + std::to_string(i - 1);
    yaml += "]\n";
  }
  CHECK(error_for(yaml) == "test.yml:4:7: tasks.x.echo: more than 100000 values once YAML aliases are expanded");
  // Deep but honest nesting within the bound still loads.
  std::string deep = "tasks: {x: {echo: " + std::string(60, '[') + "1" + std::string(60, ']') + "}}\n";
  CHECK(parse_config(deep, "test.yml").tasks.size() == 1);
}

TEST_CASE("a plugin task keeps its processor name, its typed params and their position") {
  const auto cfg = parse_config(
      "plugins:\n  - lib\n  - {path: /opt/p.so, isolation: process}\ntasks:\n  probe:\n    plugin: acme.probe\n"
      "    params: {url: 'http://x', retries: 3, ratio: 0.5, on: true, none: ~, quoted: '3'}\n",
      "/etc/cas/test.yml");
  const auto& spec = std::get<plugin_spec>(cfg.tasks.at(0).processor);
  CHECK(spec.name == "acme.probe");
  CHECK(spec.location == "/etc/cas/test.yml:6:13");
  CHECK(boost::json::serialize(spec.params) ==
        R"({"url":"http://x","retries":3,"ratio":5E-1,"on":true,"none":null,"quoted":"3"})");
  REQUIRE(cfg.plugins.size() == 2);
  CHECK(cfg.plugins[0].path == "/etc/cas/lib");
  CHECK(cfg.plugins[0].isolation.empty());
  CHECK(cfg.plugins[1].path == "/opt/p.so");
  CHECK(cfg.plugins[1].isolation == "process");
}

TEST_CASE("bad plugin keys are refused with their position") {
  CHECK(error_for("tasks:\n  a:\n    echo: x\n    params: {a: 1}\n") ==
        "test.yml:4:13: tasks.a.params: params apply to remote and plugin tasks only");
  CHECK(error_for("tasks:\n  a:\n    plugin: 'bad name'\n") ==
        "test.yml:3:13: tasks.a.plugin: invalid plugin processor name 'bad name' ([A-Za-z0-9_] first, then "
        "[A-Za-z0-9_.-], at most 128 bytes, e.g. acme.http_probe)");
  CHECK(error_for("plugins:\n  - {path: x.so, isolation: thread}\n") ==
        "test.yml:2:29: plugins[0].isolation: unknown isolation 'thread' (known: in_process, process)");
  CHECK(error_for("plugins:\n  - {isolation: process}\n") ==
        "test.yml:2:5: plugins[0]: missing 'path: FILE_OR_DIRECTORY'");
  CHECK(error_for("plugins: lib\n") == "test.yml:1:10: plugins: expected a list of plugin files or directories");
}

TEST_CASE("a graph with a plugin task and no such plugin loaded is refused at the task's plugin key") {
  const auto cfg = parse_config("tasks:\n  a:\n    plugin: acme.probe\n", "test.yml");
  try {
    (void)build_graph(cfg);
    FAIL("no error");
  } catch (const config_error& e) {
    CHECK(std::string(e.what()) ==
          "test.yml:3:13: tasks.a.plugin: unknown plugin processor 'acme.probe' (no plugins are loaded)");
  }
}
