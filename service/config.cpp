#include "service/config.hpp"

#include "engine/builtin_processors.hpp"
#include "engine/command_processor.hpp"
#include "engine/duration.hpp"
#include "engine/graph.hpp"
#include "engine/processor.hpp"
#include "plugins/registry.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <span>
#include <thread>

namespace cascadence::service {

namespace {

constexpr std::string_view default_yaml = R"(# Built-in default: used when no configuration file is found.
tasks:
  example:
    description: Prints a greeting; the task the README runs, scheduled every minute.
    echo: Example task executed
    schedule: "* * * * *"
)";

// Turns YAML positions into "file:line:column: path: reason" errors.
class reader {
 public:
  explicit reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& path, const std::string& why) const {
    fail_at(node.Mark(), path.empty() ? why : path + ": " + why);
  }
  [[noreturn]] void fail_at(const YAML::Mark& mark, const std::string& why) const {
    throw config_error(where(mark) + ": " + why);
  }
  [[nodiscard]] std::string where(const YAML::Mark& mark) const {
    if (mark.is_null()) return source_;
    return source_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }

  [[nodiscard]] std::string string(const YAML::Node& n, const std::string& path) const {
    if (!n.IsScalar()) fail(n, path, "expected a string");
    return n.Scalar();
  }
  [[nodiscard]] bool boolean(const YAML::Node& n, const std::string& path) const {
    bool v = false;
    if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) fail(n, path, "expected true or false");
    return v;
  }
  [[nodiscard]] std::size_t count(const YAML::Node& n, const std::string& path, std::size_t max) const {
    const auto text = string(n, path);
    std::size_t v = 0;
    const bool digits =
        !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || text.size() > 9 || (v = std::stoul(text)) > max) {
      fail(n, path, "expected a whole number from 0 to " + std::to_string(max) + ", got '" + text + "'");
    }
    return v;
  }
  [[nodiscard]] std::chrono::milliseconds duration(const YAML::Node& n, const std::string& path) const {
    const auto text = string(n, path);
    auto d = engine::parse_duration(text);
    if (!d) fail(n, path, engine::duration_error(text));
    return *d;
  }
  [[nodiscard]] std::vector<std::string> strings(const YAML::Node& n, const std::string& path) const {
    if (n.IsScalar()) return {n.Scalar()};
    if (!n.IsSequence()) fail(n, path, "expected a string or a list of strings");
    std::vector<std::string> out;
    for (const auto& item : n) out.push_back(string(item, path));
    return out;
  }

  // Calls `each(key, value)` for every entry; unknown keys are errors that
  // list the known ones.
  void mapping(const YAML::Node& n, const std::string& path, std::span<const std::string_view> known,
               const std::function<void(const std::string&, const YAML::Node&)>& each) const {
    if (!n.IsMap()) fail(n, path, "expected a mapping");
    for (const auto& entry : n) {
      const auto key = string(entry.first, path);
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        std::string list;
        for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
        fail(entry.first, path, "unknown key '" + key + "' (known keys: " + list + ")");
      }
      each(key, entry.second);
    }
  }

 private:
  std::string source_;
};

bool valid_task_name(std::string_view name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

// How far a value given in YAML (an `echo:` message) may go: aliases share
// nodes in yaml-cpp, so a few hundred bytes can stand for billions of values
// or refer to themselves, and the JSON copy expands them.
constexpr std::size_t max_value_depth = 64;
constexpr std::size_t max_value_nodes = 100'000;

struct json_budget final {
  const reader& r;
  const std::string& path;
  const YAML::Node& top;
  std::size_t nodes = 0;
  /// Plain (unquoted) scalars become JSON numbers, booleans and null as
  /// YAML 1.2's core schema reads them; quoted ones stay strings.
  bool typed = false;
};

boost::json::value typed_scalar(const YAML::Node& n) {
  const auto& text = n.Scalar();
  if (n.Tag() != "?") return boost::json::value(text);  // quoted, or explicitly tagged
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  const char* end = text.data() + text.size();
  std::int64_t i = 0;
  if (auto [p, ec] = std::from_chars(text.data(), end, i); ec == std::errc() && p == end) return i;
  double d = 0;
  if (auto [p, ec] = std::from_chars(text.data(), end, d);
      ec == std::errc() && p == end && text.find_first_of("0123456789") != std::string::npos && std::isfinite(d)) {
    return d;
  }
  return boost::json::value(text);
}

boost::json::value to_json(const YAML::Node& n, json_budget& b, std::size_t depth) {
  if (depth > max_value_depth) {
    b.r.fail(
        b.top, b.path,
        "nested more than " + std::to_string(max_value_depth) + " levels deep (does a YAML alias refer to itself?)");
  }
  if (++b.nodes > max_value_nodes) {
    b.r.fail(b.top, b.path, "more than " + std::to_string(max_value_nodes) + " values once YAML aliases are expanded");
  }
  if (n.IsScalar()) return b.typed ? typed_scalar(n) : boost::json::value(n.Scalar());
  if (n.IsSequence()) {
    boost::json::array a;
    for (const auto& item : n) a.push_back(to_json(item, b, depth + 1));
    return a;
  }
  if (n.IsMap()) {
    boost::json::object o;
    for (const auto& e : n) o[e.first.Scalar()] = to_json(e.second, b, depth + 1);
    return o;
  }
  return nullptr;
}

// `n` as JSON, refused with its position past the bounds above.
boost::json::value to_json(const reader& r, const YAML::Node& n, const std::string& path, bool typed = false) {
  json_budget b{r, path, n, 0, typed};
  return to_json(n, b, 0);
}

constexpr std::array<std::string_view, 24> task_keys{
    "command",        "echo",   "sleep",   "after", "timeout", "retries",  "retry_backoff", "retry_backoff_max",
    "description",    "kind",   "enabled", "env",   "cwd",     "schedule", "timezone",      "overlap",
    "catchup_window", "jitter", "paused",  "on",    "remote",  "plugin",   "params",        "workflow"};
constexpr std::array<std::string_view, 17> top_keys{
    "backend",  "storage_path", "timezone", "max_concurrency", "kill_grace", "threads",        "shutdown_grace",
    "http",     "webhook",      "api",      "tasks",           "cronyx",     "cronyx_refresh", "plugins",
    "temporal", "output",       "events"};
constexpr std::array<std::string_view, 8> events_keys{"transport", "path",       "url",        "nats",
                                                      "grpc",      "queue_size", "batch_size", "deadline"};
constexpr std::array<std::string_view, 2> events_nats_keys{"url", "subject"};
constexpr std::array<std::string_view, 2> events_grpc_keys{"target", "method"};
constexpr std::array<std::string_view, 5> event_transports{"none", "file", "http", "nats", "grpc"};
constexpr std::array<std::string_view, 3> output_keys{"line_limit", "stream_limit", "keep_limit"};
constexpr std::array<std::string_view, 7> temporal_keys{"http_address", "address", "namespace", "task_queue",
                                                        "api_key",      "tls",     "timeout"};
constexpr std::array<std::string_view, 2> temporal_tls_keys{"ca_file", "verify"};
constexpr std::array<std::string_view, 4> cronyx_keys{"base_url", "timeout", "token", "refresh"};
constexpr std::array<std::string_view, 2> plugin_entry_keys{"path", "isolation"};
constexpr std::array<std::string_view, 2> on_keys{"webhook", "events"};
constexpr std::array<std::string_view, 6> http_keys{
    "body_limit", "header_limit", "read_timeout", "max_connections", "max_connections_per_client", "max_runs"};
constexpr std::array<std::string_view, 5> webhook_keys{"secrets", "journal", "journal_limit", "dedupe_window",
                                                       "user_id"};
constexpr std::array<std::string_view, 1> api_keys{"token"};

// Webhook source names appear in URLs and environment variable names.
bool valid_source_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string source_name(const reader& r, const YAML::Node& n, const std::string& path) {
  auto name = r.string(n, path);
  if (!valid_source_name(name)) {
    r.fail(n, path, "invalid webhook source '" + name + "' (use lower-case letters, digits, '_' and '-')");
  }
  return name;
}

webhook_subscription parse_on(const reader& r, const std::string& path, const YAML::Node& n) {
  webhook_subscription sub;
  bool has_source = false;
  r.mapping(n, path, on_keys, [&](const std::string& key, const YAML::Node& v) {
    const auto kpath = path + "." + key;
    if (key == "webhook") {
      sub.source = source_name(r, v, kpath);
      has_source = true;
    } else {
      sub.events = r.strings(v, kpath);
      for (const auto& e : sub.events) {
        if (e.empty()) r.fail(v, kpath, "an event type is empty");
      }
    }
  });
  if (!has_source) r.fail(n, path, "missing 'webhook: SOURCE' (e.g. on: {webhook: github, events: [push]})");
  return sub;
}
constexpr std::array<std::string_view, 3> backends{"cron", "base", "temporal"};

std::optional<std::string> valid_workflow_type(std::string_view name) {
  if (name.empty()) return "the workflow type is empty";
  if (name.size() > 1000) return "the workflow type is longer than 1000 bytes";
  if (std::any_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return "the workflow type contains a control character";
  }
  return std::nullopt;
}

void parse_events(const reader& r, const YAML::Node& v, adapters::events::settings& e) {
  r.mapping(v, "events", events_keys, [&](const std::string& k, const YAML::Node& x) {
    const auto kpath = "events." + k;
    if (k == "transport") {
      e.transport = r.string(x, kpath);
      if (std::find(event_transports.begin(), event_transports.end(), e.transport) == event_transports.end()) {
        r.fail(x, kpath, "unknown transport '" + e.transport + "' (none, file, http, nats or grpc)");
      }
    } else if (k == "path") {
      e.path = r.string(x, kpath);
      if (e.path.empty()) r.fail(x, kpath, "the path is empty");
    } else if (k == "url") {
      e.url = r.string(x, kpath);
      if (!e.url.starts_with("http://") && !e.url.starts_with("https://")) {
        r.fail(x, kpath, "'" + e.url + "' is not an http:// or https:// URL");
      }
    } else if (k == "nats") {
      r.mapping(x, kpath, events_nats_keys, [&](const std::string& n, const YAML::Node& y) {
        auto& target = n == "url" ? e.nats_url : e.nats_subject;
        target = r.string(y, kpath + "." + n);
        if (target.empty()) r.fail(y, kpath + "." + n, "is empty");
      });
    } else if (k == "grpc") {
      r.mapping(x, kpath, events_grpc_keys, [&](const std::string& n, const YAML::Node& y) {
        auto& target = n == "target" ? e.grpc_target : e.grpc_method;
        target = r.string(y, kpath + "." + n);
        if (target.empty()) r.fail(y, kpath + "." + n, "is empty");
      });
    } else if (k == "queue_size") {
      e.emitter.queue_limit = r.count(x, kpath, 10'000'000);
      if (e.emitter.queue_limit == 0) r.fail(x, kpath, "must be at least 1");
    } else if (k == "batch_size") {
      e.emitter.batch_limit = r.count(x, kpath, 100'000);
      if (e.emitter.batch_limit == 0) r.fail(x, kpath, "must be at least 1");
    } else {
      e.emitter.deadline = r.duration(x, kpath);
      if (e.emitter.deadline.count() == 0) r.fail(x, kpath, "must be longer than 0");
    }
  });
}

void parse_temporal(const reader& r, const YAML::Node& v, temporal_config& t) {
  t.location = r.where(v.Mark());
  auto& c = t.cluster;
  r.mapping(v, "temporal", temporal_keys, [&](const std::string& k, const YAML::Node& x) {
    const auto kpath = "temporal." + k;
    if (k == "http_address") {
      c.http_address = r.string(x, kpath);
    } else if (k == "address") {
      c.address = r.string(x, kpath);
    } else if (k == "namespace") {
      c.ns = r.string(x, kpath);
      if (c.ns.empty()) r.fail(x, kpath, "the namespace is empty");
    } else if (k == "task_queue") {
      c.task_queue = r.string(x, kpath);
      if (c.task_queue.empty()) r.fail(x, kpath, "the task queue is empty");
    } else if (k == "api_key") {
      c.api_key = r.string(x, kpath);
    } else if (k == "timeout") {
      c.timeout = r.duration(x, kpath);
      if (c.timeout.count() == 0) r.fail(x, kpath, "must be longer than 0");
    } else {
      r.mapping(x, kpath, temporal_tls_keys, [&](const std::string& tk, const YAML::Node& y) {
        if (tk == "ca_file") {
          c.ca_file = r.string(y, kpath + ".ca_file");
        } else {
          c.verify_peer = r.boolean(y, kpath + ".verify");
        }
      });
    }
  });
}

// Seconds (`600`, `0.5`) as the seed's variables took them, or a duration
// (`10m`); more than zero.
std::chrono::milliseconds refresh_interval(const reader& r, const YAML::Node& n, const std::string& path) {
  const auto text = r.string(n, path);
  auto d = engine::parse_seconds_or_duration(text);
  if (!d) r.fail(n, path, "invalid interval '" + text + "' (seconds, e.g. 600, or a duration, e.g. 10m)");
  return *d;
}

// `plugins:`: a list of paths, or of {path: P, isolation: in_process|process}.
std::vector<plugin_entry> parse_plugins(const reader& r, const YAML::Node& n, const std::filesystem::path& source) {
  std::vector<plugin_entry> out;
  if (n.IsNull()) return out;
  if (!n.IsSequence()) r.fail(n, "plugins", "expected a list of plugin files or directories");
  const auto base = source.empty() ? std::filesystem::current_path() : std::filesystem::absolute(source).parent_path();
  for (std::size_t i = 0; i < n.size(); ++i) {
    const auto& item = n[i];
    const auto path = "plugins[" + std::to_string(i) + "]";
    plugin_entry e;
    e.location = r.where(item.Mark());
    std::string file;
    if (item.IsMap()) {
      r.mapping(item, path, plugin_entry_keys, [&](const std::string& key, const YAML::Node& v) {
        if (key == "path") {
          file = r.string(v, path + ".path");
        } else {
          e.isolation = r.string(v, path + ".isolation");
          if (e.isolation != "in_process" && e.isolation != "process") {
            r.fail(v, path + ".isolation", "unknown isolation '" + e.isolation + "' (known: in_process, process)");
          }
        }
      });
      if (file.empty()) r.fail(item, path, "missing 'path: FILE_OR_DIRECTORY'");
    } else {
      file = r.string(item, path);
      if (file.empty()) r.fail(item, path, "the path is empty");
    }
    e.path = (base / file).lexically_normal();
    out.push_back(std::move(e));
  }
  return out;
}

task_config parse_task(const reader& r, const std::string& name, const YAML::Node& n) {
  const std::string path = "tasks." + name;
  task_config t;
  t.name = name;
  t.location = r.where(n.Mark());
  std::optional<processor_spec> proc;
  engine::command_spec command;
  bool is_command = false;
  scheduling::schedule_entry schedule;
  schedule.task = name;
  std::optional<YAML::Mark> schedule_policy_key;
  std::optional<YAML::Node> params;
  const auto set_processor = [&](const YAML::Node& at, processor_spec spec) {
    if (proc) r.fail(at, path, "a task has exactly one of command, echo, sleep, remote or plugin");
    proc = std::move(spec);
  };
  r.mapping(n, path, task_keys, [&](const std::string& key, const YAML::Node& v) {
    const auto kpath = path + "." + key;
    if (key == "command") {
      if (v.IsScalar()) {
        command.argv = {"/bin/sh", "-c", v.Scalar()};
      } else {
        command.argv = r.strings(v, kpath);
      }
      if (command.argv.empty() || command.argv.back().empty()) r.fail(v, kpath, "the command is empty");
      is_command = true;
      set_processor(v, engine::command_spec{});
    } else if (key == "echo") {
      set_processor(v, echo_spec{to_json(r, v, kpath)});
    } else if (key == "sleep") {
      set_processor(v, sleep_spec{r.duration(v, kpath)});
    } else if (key == "plugin") {
      auto name = r.string(v, kpath);
      if (!plugins::valid_processor_name(name)) {
        r.fail(v, kpath,
               "invalid plugin processor name '" + name +
                   "' ([A-Za-z0-9_] first, then [A-Za-z0-9_.-], at most 128 bytes, e.g. acme.http_probe)");
      }
      set_processor(v, plugin_spec{std::move(name), nullptr, r.where(v.Mark())});
    } else if (key == "params") {
      params = v;
    } else if (key == "after") {
      t.after = r.strings(v, kpath);
    } else if (key == "timeout") {
      t.settings.timeout = r.duration(v, kpath);
    } else if (key == "retries") {
      t.settings.retry.retries = static_cast<unsigned>(r.count(v, kpath, 100));
    } else if (key == "retry_backoff") {
      t.settings.retry.backoff = r.duration(v, kpath);
    } else if (key == "retry_backoff_max") {
      t.settings.retry.backoff_max = r.duration(v, kpath);
    } else if (key == "description") {
      t.settings.description = r.string(v, kpath);
    } else if (key == "kind") {
      auto kind = engine::parse_task_kind(r.string(v, kpath));
      if (!kind) r.fail(v, kpath, "unknown kind '" + v.Scalar() + "' (known kinds: manual, cron, webhook)");
      t.settings.kind = *kind;
    } else if (key == "enabled") {
      t.settings.enabled = r.boolean(v, kpath);
    } else if (key == "env") {
      if (!v.IsMap()) r.fail(v, kpath, "expected a mapping of variable names to values");
      for (const auto& e : v)
        command.env[r.string(e.first, kpath)] = r.string(e.second, kpath + "." + e.first.Scalar());
    } else if (key == "cwd") {
      command.cwd = r.string(v, kpath);
    } else if (key == "schedule") {
      schedule.expression = r.string(v, kpath);
    } else if (key == "timezone") {
      schedule.timezone = r.string(v, kpath);
      schedule_policy_key = v.Mark();
    } else if (scheduling::is_policy_key(key)) {
      if (auto why = scheduling::set_policy(schedule.policy, key, r.string(v, kpath))) r.fail(v, kpath, *why);
      schedule_policy_key = v.Mark();
    } else if (key == "paused") {
      schedule.paused = r.boolean(v, kpath);
      schedule_policy_key = v.Mark();
    } else if (key == "on") {
      t.on = parse_on(r, kpath, v);
    } else if (key == "remote") {
      auto id = r.string(v, kpath);
      if (!valid_task_name(id)) {
        r.fail(v, kpath, "invalid remote task id '" + id + "' (use letters, digits, '_', '-' and '.')");
      }
      set_processor(v, remote_spec{std::move(id), nullptr, false, nullptr});
    } else if (key == "workflow") {
      t.workflow = r.string(v, kpath);
      if (auto why = valid_workflow_type(t.workflow)) r.fail(v, kpath, *why);
    }
    if (key == "kind") t.kind_given = true;
  });
  if (!proc && !t.workflow.empty()) proc = workflow_only_spec{};
  if (!proc) {
    r.fail(n, path,
           "no processor: give the task one of command, echo, sleep, remote or plugin (or workflow: for a task "
           "that runs on Temporal only)");
  }
  if (auto* remote = std::get_if<remote_spec>(&*proc)) {
    if (params) remote->params = to_json(r, *params, path + ".params", true);
    if (!t.kind_given) t.settings.kind = engine::task_kind::remote;
  } else if (auto* plugin = std::get_if<plugin_spec>(&*proc)) {
    if (params) plugin->params = to_json(r, *params, path + ".params", true);
  } else if (params) {
    r.fail(*params, path + ".params", "params apply to remote and plugin tasks only");
  }
  if (t.settings.kind == engine::task_kind::remote && !std::holds_alternative<remote_spec>(*proc)) {
    r.fail(n, path + ".kind", "kind remote is for the tasks of a remote server (give the task 'remote: ID')");
  }
  if (is_command) {
    proc = std::move(command);
  } else if (!command.env.empty() || !command.cwd.empty()) {
    r.fail(n, path, "env and cwd apply to command tasks only");
  }
  t.processor = std::move(*proc);
  if (!schedule.expression.empty()) {
    t.schedule = std::move(schedule);
  } else if (schedule_policy_key) {
    r.fail_at(*schedule_policy_key, path + ": timezone, overlap, catchup_window, jitter and paused need a schedule");
  }
  return t;
}

std::shared_ptr<engine::processor> make_plugin_processor(const task_config& t, const plugin_spec& spec,
                                                         const plugins::registry& plugins) {
  const auto where = spec.location + ": tasks." + t.name + ".plugin: ";
  const auto* found = plugins.find(spec.name);
  if (found == nullptr) {
    std::string known;
    std::size_t listed = 0;
    for (const auto& [name, p] : plugins.processors()) {
      if (++listed > 10) {
        known += ", ...";
        break;
      }
      known += (known.empty() ? "" : ", ") + name;
    }
    throw config_error(where + "unknown plugin processor '" + spec.name + "' (" +
                       (known.empty() ? std::string("no plugins are loaded") : "loaded: " + known) + ")");
  }
  auto made = found->provider->make_processor(found->descriptor, spec.params);
  if (!made) throw config_error(where + spec.name + " refused its params (" + made.error() + ")");
  return std::move(made.value());
}

}  // namespace

const task_config* config::find(std::string_view name) const noexcept {
  const auto it = index.find(name);
  return it == index.end() ? nullptr : &tasks[it->second];
}

config parse_config(const std::string& text, const std::filesystem::path& source) {
  const reader r(source.empty() ? std::string("<built-in default>") : source.string());
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own message for it is "bad file".
    r.fail_at(e.mark, "YAML nested " + std::to_string(e.depth()) +
                          " levels deep, the parser's limit (a configuration needs a handful)");
  } catch (const YAML::ParserException& e) {
    r.fail_at(e.mark, e.msg);
  }
  config cfg;
  cfg.source = source;
  if (root.IsNull()) return cfg;
  try {
    r.mapping(root, "", top_keys, [&](const std::string& key, const YAML::Node& v) {
      if (key == "backend") {
        cfg.backend = r.string(v, key);
        if (std::find(backends.begin(), backends.end(), cfg.backend) == backends.end()) {
          r.fail(v, key, "unknown backend '" + cfg.backend + "' (known backends: cron, base, temporal)");
        }
      } else if (key == "storage_path") {
        cfg.storage_path = r.string(v, key);
      } else if (key == "timezone") {
        cfg.timezone = r.string(v, key);
      } else if (key == "max_concurrency") {
        cfg.max_concurrency = r.count(v, key, 1'000'000);
      } else if (key == "kill_grace") {
        cfg.kill_grace = r.duration(v, key);
      } else if (key == "threads") {
        cfg.threads = r.count(v, key, 1024);
      } else if (key == "shutdown_grace") {
        cfg.shutdown_grace = r.duration(v, key);
      } else if (key == "http") {
        r.mapping(v, key, http_keys, [&](const std::string& k, const YAML::Node& x) {
          const auto kpath = key + "." + k;
          if (k == "body_limit") {
            cfg.http.body_limit = r.count(x, kpath, 999'999'999);
          } else if (k == "header_limit") {
            cfg.http.header_limit = r.count(x, kpath, 1024 * 1024);
          } else if (k == "read_timeout") {
            cfg.http.read_timeout = r.duration(x, kpath);
            if (cfg.http.read_timeout.count() == 0) r.fail(x, kpath, "must be longer than 0");
          } else if (k == "max_runs") {
            cfg.http.max_runs = r.count(x, kpath, 1'000'000);
          } else if (k == "max_connections_per_client") {
            cfg.http.max_connections_per_client = r.count(x, kpath, 1'000'000);
          } else {
            cfg.http.max_connections = r.count(x, kpath, 1'000'000);
          }
        });
      } else if (key == "output") {
        r.mapping(v, key, output_keys, [&](const std::string& k, const YAML::Node& x) {
          const auto kpath = key + "." + k;
          const std::size_t bytes = r.count(x, kpath, 999'999'999);
          if (bytes == 0) r.fail(x, kpath, "must be more than 0 bytes");
          (k == "line_limit"     ? cfg.output.line_bytes
           : k == "stream_limit" ? cfg.output.stream_bytes
                                 : cfg.output.keep_bytes) = bytes;
        });
      } else if (key == "webhook") {
        r.mapping(v, key, webhook_keys, [&](const std::string& k, const YAML::Node& x) {
          if (k == "journal") {
            cfg.webhook_journal.enabled = r.boolean(x, "webhook.journal");
            return;
          }
          if (k == "journal_limit") {
            cfg.webhook_journal.max_bytes = r.count(x, "webhook.journal_limit", 999'999'999);
            if (cfg.webhook_journal.max_bytes < 65536)
              r.fail(x, "webhook.journal_limit", "must be at least 65536 bytes");
            return;
          }
          if (k == "dedupe_window") {
            cfg.webhook_journal.dedupe_window =
                std::chrono::duration_cast<std::chrono::seconds>(r.duration(x, "webhook.dedupe_window"));
            return;
          }
          if (k == "user_id") {
            if (!x.IsMap()) r.fail(x, "webhook.user_id", "expected a mapping of webhook sources to JSON pointers");
            for (const auto& e : x) {
              const auto source = source_name(r, e.first, "webhook.user_id");
              auto pointer = r.string(e.second, "webhook.user_id." + source);
              if (!pointer.empty() && pointer.front() != '/') {
                r.fail(e.second, "webhook.user_id." + source,
                       "'" + pointer + "' is not a JSON pointer (it starts with '/', e.g. /sender/login)");
              }
              cfg.webhook_user_ids[source] = std::move(pointer);
            }
            return;
          }
          const std::string kpath = "webhook.secrets";
          if (!x.IsMap()) r.fail(x, kpath, "expected a mapping of webhook sources to secrets");
          for (const auto& e : x) {
            const auto source = source_name(r, e.first, kpath);
            auto secret = r.string(e.second, kpath + "." + source);
            if (secret.empty()) r.fail(e.second, kpath + "." + source, "the secret is empty");
            cfg.webhook_secrets[source] = std::move(secret);
          }
        });
      } else if (key == "api") {
        r.mapping(v, key, api_keys, [&](const std::string&, const YAML::Node& x) {
          cfg.api_token = r.string(x, "api.token");
          if (cfg.api_token.empty()) r.fail(x, "api.token", "the token is empty");
        });
      } else if (key == "cronyx_refresh") {
        cfg.cronyx.refresh = refresh_interval(r, v, key);
      } else if (key == "cronyx") {
        cfg.cronyx.location = r.where(v.Mark());
        r.mapping(v, key, cronyx_keys, [&](const std::string& k, const YAML::Node& x) {
          const auto kpath = key + "." + k;
          if (k == "base_url") {
            cfg.cronyx.base_url = r.string(x, kpath);
          } else if (k == "timeout") {
            cfg.cronyx.timeout = refresh_interval(r, x, kpath);
          } else if (k == "token") {
            cfg.cronyx.token = r.string(x, kpath);
          } else {
            cfg.cronyx.refresh = refresh_interval(r, x, kpath);
          }
        });
      } else if (key == "plugins") {
        cfg.plugins = parse_plugins(r, v, source);
      } else if (key == "temporal") {
        parse_temporal(r, v, cfg.temporal);
      } else if (key == "events") {
        parse_events(r, v, cfg.events);
      } else if (key == "tasks") {
        if (v.IsNull()) return;
        if (!v.IsMap()) r.fail(v, key, "expected a mapping of task names to task definitions");
        for (const auto& entry : v) {
          const auto name = r.string(entry.first, key);
          if (!valid_task_name(name)) {
            r.fail(entry.first, key, "invalid task name '" + name + "' (use letters, digits, '_', '-' and '.')");
          }
          if (!cfg.index.emplace(name, cfg.tasks.size()).second) {
            r.fail(entry.first, key, "duplicate task '" + name + "'");
          }
          cfg.tasks.push_back(parse_task(r, name, entry.second));
        }
      }
    });
  } catch (const YAML::Exception& e) {
    r.fail_at(e.mark, e.msg);
  }
  return cfg;
}

config default_config() {
  return parse_config(std::string(default_yaml), {});
}

config load_config(const std::optional<std::filesystem::path>& explicit_path) {
  std::optional<std::filesystem::path> path = explicit_path;
  if (!path) {
    if (const char* env = std::getenv("CASCADENCE_CONFIG"); env != nullptr && *env != '\0') path = env;
  }
  if (!path && std::filesystem::exists("cascadence.yml")) path = "cascadence.yml";
  config cfg;
  if (path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*path, ec)) {
      throw config_error(path->string() + ": cannot read configuration (" +
                         (std::filesystem::exists(*path, ec) ? "not a regular file" : "no such file") + ")");
    }
    // Far above any real configuration; a larger file is a mistake (or an
    // attack) that would cost gigabytes to parse.
    constexpr std::uintmax_t max_file_size = 16 * 1024 * 1024;
    if (const auto size = std::filesystem::file_size(*path, ec); !ec && size > max_file_size) {
      throw config_error(path->string() + ": cannot read configuration (" + std::to_string(size) +
                         " bytes, more than the 16 MiB a configuration may have)");
    }
    std::ifstream in(*path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) throw config_error(path->string() + ": cannot read configuration");
    cfg = parse_config(text, *path);
  } else {
    cfg = default_config();
  }
  if (const char* env = std::getenv("CASCADENCE_SCHEDULER"); env != nullptr && *env != '\0') {
    if (std::find(backends.begin(), backends.end(), std::string_view(env)) == backends.end()) {
      throw config_error("CASCADENCE_SCHEDULER: unknown backend '" + std::string(env) +
                         "' (known backends: cron, base, temporal)");
    }
    cfg.backend = env;
  }
  return cfg;
}

engine::graph build_graph(const config& cfg) {
  return build_graph(cfg, plugins::registry{});
}

engine::graph build_graph(const config& cfg, const plugins::registry& plugins) {
  engine::graph_builder b;
  b.reserve(cfg.tasks.size(), 0);
  for (const auto& t : cfg.tasks) {
    std::shared_ptr<engine::processor> proc = std::visit(
        [&](const auto& spec) -> std::shared_ptr<engine::processor> {
          using spec_type = std::decay_t<decltype(spec)>;
          if constexpr (std::is_same_v<spec_type, engine::command_spec>) {
            auto limited = spec;
            limited.limits = cfg.output;
            return engine::make_command_processor(std::move(limited));
          } else if constexpr (std::is_same_v<spec_type, echo_spec>) {
            return engine::make_echo_processor(spec.message);
          } else if constexpr (std::is_same_v<spec_type, remote_spec>) {
            if (!spec.bound) {
              throw config_error(t.location + ": tasks." + t.name + ".remote: no remote server is configured " +
                                 "(set CRONYX_BASE_URL or cronyx.base_url)");
            }
            return spec.bound;
          } else if constexpr (std::is_same_v<spec_type, plugin_spec>) {
            return make_plugin_processor(t, spec, plugins);
          } else if constexpr (std::is_same_v<spec_type, workflow_only_spec>) {
            return engine::make_immediate_processor([name = t.name, type = t.workflow_type()](engine::task_context&) {
              return engine::outcome::failure("task " + name + " runs on Temporal only (workflow: " + type +
                                              ", no local processor): run it with --temporal or backend: temporal");
            });
          } else {
            return engine::make_sleep_processor(spec.duration);
          }
        },
        t.processor);
    const auto id = b.add({t.name, std::move(proc), t.settings});
    for (const auto& dep : t.after) b.add_dependency(id, dep);
  }
  auto result = std::move(b).build();
  if (auto* err = (result ? nullptr : &result.error())) {
    const auto* culprit = err->tasks.empty() ? nullptr : cfg.find(err->tasks.front());
    throw config_error((culprit ? culprit->location + ": " : std::string()) + err->message);
  }
  return std::move(result.value());
}

bool webhook_subscription::matches(std::string_view type) const noexcept {
  return events.empty() || std::find(events.begin(), events.end(), type) != events.end();
}

std::string webhook_secret(const config& cfg, std::string_view source) {
  std::string var = "CASCADENCE_WEBHOOK_SECRET_";
  for (char c : source) var += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (const char* env = std::getenv(var.c_str()); env != nullptr && *env != '\0') return env;
  const auto it = cfg.webhook_secrets.find(source);
  return it == cfg.webhook_secrets.end() ? std::string() : it->second;
}

std::string api_token(const config& cfg) {
  if (const char* env = std::getenv("CASCADENCE_API_TOKEN"); env != nullptr && *env != '\0') return env;
  return cfg.api_token;
}

adapters::temporal::settings temporal_settings(const config& cfg) {
  auto t = cfg.temporal.cluster;
  const auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
  };
  const char* http = env("TEMPORAL_HTTP_ADDRESS");
  if (http != nullptr) t.http_address = http;
  if (const char* v = env("TEMPORAL_ADDRESS")) t.address = v;
  if (const char* v = env("TEMPORAL_NAMESPACE")) t.ns = v;
  if (const char* v = env("TEMPORAL_API_KEY")) t.api_key = v;
  while (t.http_address.ends_with('/')) t.http_address.pop_back();
  if (!t.http_address.starts_with("http://") && !t.http_address.starts_with("https://")) {
    const auto where = http != nullptr ? std::string("TEMPORAL_HTTP_ADDRESS")
                                       : (cfg.temporal.location.empty() ? cfg.source.string() : cfg.temporal.location) +
                                             ": temporal.http_address";
    throw config_error(where + ": '" + t.http_address +
                       "' is not an http:// or https:// URL (the frontend's HTTP API, e.g. http://127.0.0.1:7243)");
  }
  return t;
}

std::filesystem::path state_file(const config& cfg) {
  if (const char* home = std::getenv("CASCADENCE_HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / "task-state.yml";
  }
  const auto dir = cfg.storage_path.parent_path();
  return dir / "task-state.yml";
}

std::size_t pool_threads(const config& cfg) {
  return cfg.threads != 0 ? cfg.threads : std::max(1U, std::thread::hardware_concurrency());
}

std::filesystem::path fire_state_file(const config& cfg) {
  return state_file(cfg).parent_path() / "fire-state.yml";
}

}  // namespace cascadence::service
