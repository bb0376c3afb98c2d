// `task export-n8n PATH [--base-url URL] [--tasks NAME...]`: the task graph
// as an n8n workflow (adapters/n8n, docs/n8n.md).

#include "adapters/n8n/workflow_export.hpp"
#include "cli/cli.hpp"
#include "cli/invocation.hpp"
#include "engine/task.hpp"
#include "scheduling/atomic_file.hpp"
#include "scheduling/schedule_store.hpp"
#include "service/schedules.hpp"

#include <boost/json/serialize.hpp>
#include <boost/program_options.hpp>

#include <map>
#include <ostream>
#include <set>
#include <system_error>

namespace cascadence::cli {

namespace po = boost::program_options;

namespace {

// `names` and their transitive dependencies, in configuration order; every
// task when `names` is empty.
std::vector<const task_config*> selected_tasks(invocation& inv, const std::vector<std::string>& names) {
  const auto& cfg = inv.cfg();
  std::set<std::string, std::less<>> wanted;
  std::vector<std::string> stack;
  stack.reserve(names.size());
  for (const auto& n : names) stack.push_back(inv.task(n).name);
  while (!stack.empty()) {
    auto n = std::move(stack.back());
    stack.pop_back();
    if (!wanted.insert(n).second) continue;
    for (const auto& d : inv.task(n).after) stack.push_back(d);
  }
  std::vector<const task_config*> out;
  for (const auto& t : cfg.tasks) {
    if (names.empty() || wanted.contains(t.name)) out.push_back(&t);
  }
  return out;
}

}  // namespace

int run_export_n8n(invocation& inv) {
  po::options_description options("options");
  options.add_options()("path", po::value<std::string>(), "file to write the workflow JSON to; - for stdout")(
      "base-url", po::value<std::string>()->default_value("http://127.0.0.1:8000"),
      "the `task serve` the workflow calls (its default address)")(
      "tasks", po::value<std::vector<std::string>>()->multitoken(),
      "export these tasks and their dependencies only (default: every task)")(
      "name", po::value<std::string>()->default_value("Cascadence"), "the workflow's name in n8n");
  po::positional_options_description positional;
  positional.add("path", 1);
  po::variables_map vm;
  if (!inv.parse(options, positional, vm, "PATH [--base-url URL] [--tasks NAME...] [--name NAME]")) return exit_ok;
  if (vm.count("path") == 0U) throw usage_error("missing PATH; usage: task export-n8n PATH (- for stdout)");
  const auto path = vm["path"].as<std::string>();
  if (path.empty()) throw usage_error("PATH is empty (- writes to stdout)");
  const auto names = vm.count("tasks") != 0U ? vm["tasks"].as<std::vector<std::string>>() : std::vector<std::string>{};
  if (vm.count("tasks") != 0U && names.empty()) throw usage_error("--tasks needs at least one task name");

  const auto& cfg = inv.cfg();
  std::map<std::string, scheduling::schedule_entry, std::less<>> schedules;
  const auto effective = service::collect_schedules(cfg, scheduling::schedule_store(cfg.storage_path).load());
  for (const auto& w : effective.warnings) inv.err() << "warning: " << w << '\n';
  for (const auto& e : effective.entries) schedules[e.task] = e;

  std::vector<adapters::n8n::task_node> nodes;
  for (const auto* t : selected_tasks(inv, names)) {
    adapters::n8n::task_node n{t->name, std::string(engine::to_string(t->settings.kind)), t->after};
    if (const auto it = schedules.find(t->name); it != schedules.end()) {
      n.schedule = it->second.expression;
      n.timezone = it->second.timezone.empty() ? cfg.timezone : it->second.timezone;
      n.paused = it->second.paused;
    }
    nodes.push_back(std::move(n));
  }
  adapters::n8n::export_options opts;
  opts.base_url = vm["base-url"].as<std::string>();
  opts.workflow_name = vm["name"].as<std::string>();
  if (opts.workflow_name.empty()) throw usage_error("--name is empty");
  opts.timezone = cfg.timezone;
  opts.authenticate = !service::api_token(cfg).empty();
  auto wf = adapters::n8n::export_workflow(nodes, opts);
  if (!wf) throw usage_error("cannot export to n8n: " + wf.error().message);
  const auto text = boost::json::serialize(wf.value()) + "\n";
  if (path == "-") {
    inv.out() << text;
  } else {
    try {
      scheduling::write_file_atomically(path, text);
    } catch (const std::system_error& e) {
      throw usage_error("cannot write " + path + " (" + e.what() + ")");
    }
    inv.err() << "wrote n8n workflow '" << opts.workflow_name << "' (" << nodes.size() << " tasks) to " << path << '\n';
  }
  return exit_ok;
}

}  // namespace cascadence::cli
