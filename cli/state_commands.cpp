// `task list`, `task enable`, `task disable`.

#include "cli/cli.hpp"
#include "cli/invocation.hpp"
#include "engine/task.hpp"
#include "net/json.hpp"
#include "scheduling/task_state_store.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/program_options.hpp>

#include <ostream>

namespace cascadence::cli {

namespace po = boost::program_options;

namespace {

// "command", "echo", "sleep", or the plugin processor's name.
std::string processor_name(const task_config& t) {
  if (const auto* p = std::get_if<service::plugin_spec>(&t.processor)) return p->name;
  if (std::holds_alternative<engine::command_spec>(t.processor)) return "command";
  if (std::holds_alternative<service::workflow_only_spec>(t.processor)) return "workflow " + t.workflow_type();
  return std::holds_alternative<service::echo_spec>(t.processor) ? "echo" : "sleep";
}

}  // namespace

int run_list(invocation& inv) {
  po::options_description options("options");
  options.add_options()("json", "print a JSON array instead of lines");
  po::variables_map vm;
  if (!inv.parse(options, {}, vm, "[--json]")) return exit_ok;
  const auto& cfg = inv.cfg();
  if (vm.count("json") != 0U) {
    boost::json::array tasks;
    for (const auto& t : cfg.tasks) {
      boost::json::array after;
      for (const auto& a : t.after) after.emplace_back(a);
      tasks.push_back(boost::json::object{{"name", t.name},
                                          {"enabled", inv.enabled(t)},
                                          {"kind", engine::to_string(t.settings.kind)},
                                          {"description", t.settings.description},
                                          {"processor", processor_name(t)},
                                          {"after", std::move(after)}});
    }
    inv.out() << net::json_text(tasks) << '\n';
    return exit_ok;
  }
  for (const auto& t : cfg.tasks) inv.out() << t.name << '\t' << (inv.enabled(t) ? "enabled" : "disabled") << '\n';
  return exit_ok;
}

namespace {

int set_enabled(invocation& inv, bool enabled) {
  const auto name = inv.parse_name();
  if (!name) return exit_ok;
  const auto& task = inv.task(*name);
  scheduling::task_state_store store(state_file(inv.cfg()));
  store.set_enabled(task.name, enabled);
  inv.out() << task.name << '\t' << (enabled ? "enabled" : "disabled") << '\n';
  return exit_ok;
}

}  // namespace

int run_enable(invocation& inv) {
  return set_enabled(inv, true);
}
int run_disable(invocation& inv) {
  return set_enabled(inv, false);
}

}  // namespace cascadence::cli
