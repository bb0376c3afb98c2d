#include "adapters/n8n/workflow_export.hpp"

#include "adapters/n8n/workflow_check.hpp"
#include "core/checksum.hpp"
#include "scheduling/cron_expression.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string_view>

namespace cascadence::adapters::n8n {

namespace json = boost::json;

namespace {

constexpr std::size_t max_merge_inputs = 10;  // Merge v3's numberInputs options

// A stable UUID-shaped id from a node's name, so that exporting the same
// graph twice gives the same file.
std::string node_id(std::string_view workflow, std::string_view name) {
  const auto key = std::string(workflow) + '\x1f' + std::string(name);
  const auto a = core::fnv1a64(key);
  const auto b = core::fnv1a64(key + '\x1e');
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8%03x-%012llx", static_cast<unsigned>(a >> 32U),
                static_cast<unsigned>((a >> 16U) & 0xFFFFU), static_cast<unsigned>(a & 0xFFFU),
                static_cast<unsigned>((b >> 48U) & 0xFFFU), static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
  return buf;
}

struct builder final {
  const export_options& options;
  json::array nodes;
  json::object connections;

  json::object& add(const std::string& name, std::string_view type, double version, int column, int row,
                    json::object parameters) {
    json::object n;
    n["id"] = node_id(options.workflow_name, name);
    n["name"] = name;
    n["type"] = type;
    n["typeVersion"] = version;
    n["position"] = json::array{column * column_width, row * row_height};
    n["parameters"] = std::move(parameters);
    return nodes.emplace_back(std::move(n)).as_object();
  }

  void connect(const std::string& from, const std::string& to, int input = 0) {
    auto& outs = connections[from];
    if (!outs.is_object()) outs = json::object{{"main", json::array{json::array{}}}};
    outs.as_object()["main"].as_array()[0].as_array().push_back(
        json::object{{"node", to}, {"type", "main"}, {"index", input}});
  }

  // The HTTP Request that runs `task` (alone, or with its dependencies),
  // and the Code node after it that fails the workflow unless the run
  // succeeded; returns the Code node's name.
  std::string add_run(const task_node& task, bool alone, const std::string& request, const std::string& check,
                      int column, int row) {
    auto url = options.base_url + "/api/v1/tasks/" + encode_path_segment(task.name) + "/runs?wait=true";
    if (alone) url += "&dependencies=false";
    json::object p{{"method", "POST"},         {"url", url},
                   {"sendBody", true},         {"contentType", "json"},
                   {"specifyBody", "json"},    {"jsonBody", R"({"source": "n8n"})"},
                   {"options", json::object{}}};
    if (options.authenticate) {
      p["authentication"] = "genericCredentialType";
      p["genericAuthType"] = "httpHeaderAuth";
    }
    auto& req = add(request, "n8n-nodes-base.httpRequest", 4.2, column, row, std::move(p));
    // One request per node run, whatever number of items arrives.
    req["executeOnce"] = true;
    req["notes"] =
        "Cascadence task '" + task.name + "' (" + (task.kind.empty() ? "manual" : task.kind) + ")" +
        (alone ? ", run alone: its dependencies ran before it in this workflow" : ", run with its dependencies");
    if (options.authenticate) {
      req["credentials"] = json::object{
          {"httpHeaderAuth", json::object{{"id", options.credential_id}, {"name", options.credential_name}}}};
    }
    const auto literal = json::serialize(json::value(task.name));
    const std::string code =
        "const run = $input.first().json;\n"
        "if (run.status !== 'success') {\n"
        "  throw new Error('Cascadence task ' + " +
        literal +
        " + ': run ' + run.run_id + ' ' + run.status);\n"
        "}\n"
        "return [{ json: run }];\n";
    auto& chk = add(check, "n8n-nodes-base.code", 2, column + 1, row,
                    json::object{{"mode", "runOnceForAllItems"}, {"language", "javaScript"}, {"jsCode", code}});
    chk["executeOnce"] = true;
    connect(request, check);
    return check;
  }
};

std::string request_name(const std::string& task) {
  return "run " + task;
}
std::string check_name(const std::string& task) {
  return "check " + task;
}

}  // namespace

std::string encode_path_segment(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4U];
      out += hex[c & 0xFU];
    }
  }
  return out;
}

core::result<json::object, refusal> export_workflow(const std::vector<task_node>& tasks,
                                                    const export_options& options) {
  if (tasks.empty()) return refusal{"no tasks to export"};
  if (!options.base_url.starts_with("http://") && !options.base_url.starts_with("https://")) {
    return refusal{"base URL '" + options.base_url + "' is not an http:// or https:// URL"};
  }
  export_options opts = options;
  while (opts.base_url.ends_with('/')) opts.base_url.pop_back();

  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (!index.emplace(tasks[i].name, i).second) return refusal{"task '" + tasks[i].name + "' is listed twice"};
  }
  for (const auto& t : tasks) {
    for (const auto& d : t.after) {
      if (!index.contains(d)) {
        return refusal{"task '" + t.name + "' runs after '" + d + "', which is not among the exported tasks"};
      }
    }
    if (t.after.size() > max_merge_inputs) {
      return refusal{"task '" + t.name + "' has " + std::to_string(t.after.size()) +
                     " dependencies; an n8n Merge node joins at most " + std::to_string(max_merge_inputs)};
    }
  }
  // Depth: the longest chain of dependencies below a task (roots 0), found by
  // relaxing in rounds; more rounds than tasks means a cycle.
  std::vector<int> depth(tasks.size(), 0);
  for (std::size_t round = 0;; ++round) {
    bool changed = false;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      for (const auto& d : tasks[i].after) {
        const int want = depth[index.find(d)->second] + 1;
        if (want > depth[i]) {
          depth[i] = want;
          changed = true;
        }
      }
    }
    if (!changed) break;
    if (round > tasks.size()) return refusal{"the tasks' dependencies form a cycle"};
  }

  // One zone for every schedule: n8n has one per workflow.
  std::string zone;
  for (const auto& t : tasks) {
    if (t.schedule.empty()) continue;
    if (zone.empty()) {
      zone = t.timezone;
    } else if (t.timezone != zone) {
      return refusal{"task '" + t.name + "' is scheduled in " + t.timezone + " and another task in " + zone +
                     "; an n8n workflow has one time zone (export them separately with --tasks)"};
    }
  }
  if (zone.empty()) zone = opts.timezone;

  builder b{opts, {}, {}};
  const std::string start = "start";
  b.add(start, "n8n-nodes-base.manualTrigger", 1, 0, 0, json::object{});
  // Each depth is a stage of three columns: merge, request, check.
  std::map<int, int> rows;
  int max_row = 0;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    const auto& t = tasks[i];
    const int row = rows[depth[i]]++;
    max_row = std::max(max_row, row);
    const int column = 1 + depth[i] * 3;
    const auto request = request_name(t.name);
    (void)b.add_run(t, true, request, check_name(t.name), column + 1, row);
    if (t.after.empty()) {
      b.connect(start, request);
    } else if (t.after.size() == 1) {
      b.connect(check_name(t.after.front()), request);
    } else {
      const auto merge = "after the dependencies of " + t.name;
      b.add(merge, "n8n-nodes-base.merge", 3, column, row,
            json::object{{"mode", "chooseBranch"},
                         {"numberInputs", static_cast<std::int64_t>(t.after.size())},
                         {"chooseBranchMode", "waitForAll"},
                         {"output", "empty"}});
      for (std::size_t k = 0; k < t.after.size(); ++k) b.connect(check_name(t.after[k]), merge, static_cast<int>(k));
      b.connect(merge, request);
    }
  }
  // Schedules below the graph: trigger, then the task with its
  // dependencies, as Cascadence's own scheduler runs it.
  int row = max_row + 2;
  for (const auto& t : tasks) {
    if (t.schedule.empty()) continue;
    auto expr = scheduling::cron_expression::parse(t.schedule);
    if (!expr) return refusal{"task '" + t.name + "': " + expr.error().message};
    auto cron = to_n8n_cron(expr.value());
    if (!cron) return refusal{"task '" + t.name + "': " + cron.error().message};
    const auto trigger = "schedule " + t.name;
    auto& node = b.add(
        trigger, "n8n-nodes-base.scheduleTrigger", 1.2, 0, row,
        json::object{{"rule", json::object{{"interval", json::array{json::object{{"field", "cronExpression"},
                                                                                 {"expression", cron.value()}}}}}}});
    node["notes"] = "Cascadence schedule \"" + t.schedule + "\" in " + zone;
    if (t.paused) node["disabled"] = true;
    const auto request = "run " + t.name + " on schedule";
    (void)b.add_run(t, false, request, "check " + t.name + " on schedule", 1, row);
    b.connect(trigger, request);
    ++row;
  }

  json::object wf;
  wf["id"] = node_id(opts.workflow_name, "").substr(0, 8) + node_id(opts.workflow_name, "#").substr(0, 8);
  wf["name"] = opts.workflow_name;
  wf["nodes"] = std::move(b.nodes);
  wf["connections"] = std::move(b.connections);
  wf["settings"] = json::object{{"executionOrder", "v1"}, {"timezone", zone}};
  wf["pinData"] = json::object{};
  wf["active"] = false;
  const auto problems = check_workflow(wf);
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
    return refusal{"the exported workflow fails its own check: " + all};
  }
  return wf;
}

}  // namespace cascadence::adapters::n8n
