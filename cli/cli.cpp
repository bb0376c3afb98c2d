#include "cli/cli.hpp"

#include "cli/invocation.hpp"
#include "scheduling/task_state_store.hpp"

#include <boost/program_options.hpp>

#include <array>
#include <iostream>

namespace cascadence::cli {

namespace po = boost::program_options;

namespace {

struct command {
  std::string_view name;
  std::string_view summary;
  int (*run)(invocation&);
};

constexpr std::array<command, 13> commands{{
    {"list", "list the tasks and whether they are enabled", run_list},
    {"run", "run tasks with their dependencies", run_run},
    {"trigger", "run a manual task with its dependencies", run_trigger},
    {"enable", "enable a task (persisted)", run_enable},
    {"disable", "disable a task (persisted)", run_disable},
    {"serve", "run the scheduler and the HTTP server until SIGINT/SIGTERM (the long-running main job)", run_serve},
    {"webhook", "serve webhooks and the REST API until SIGINT/SIGTERM, without firing schedules", run_webhook},
    {"schedule", "schedule a task with a cron expression (persisted)", run_schedule},
    {"unschedule", "remove a task's persisted schedule", run_unschedule},
    {"schedules", "list the schedules in force with their next fire", run_schedules},
    {"pause", "stop a schedule from firing, keeping it", run_pause},
    {"resume", "let a paused schedule fire again", run_resume},
    {"next", "print the next fire times of a cron expression", run_next},
}};

void print_help(std::ostream& os) {
  os << "usage: task [--config FILE] COMMAND [ARGS...]\n\n"
        "Cascadence: runs task graphs defined in YAML.\n\n"
        "commands:\n";
  for (const auto& c : commands) {
    os << "  " << c.name << std::string(12 - c.name.size(), ' ') << c.summary << '\n';
  }
  os << "\nglobal options:\n"
        "  --config FILE  configuration file (else $CASCADENCE_CONFIG, else ./cascadence.yml,\n"
        "                 else the built-in default with the `example` task)\n"
        "  --help         this help; `task COMMAND --help` for a command\n"
        "\nexit status: 0 success, 1 a task failed or was refused, 2 usage or configuration error\n";
}

}  // namespace

bool invocation::parse(po::options_description& options, const po::positional_options_description& positional,
                       po::variables_map& vm, std::string_view usage) {
  options.add_options()("help,h", "show this help")("config", po::value<std::string>(), "configuration file");
  try {
    po::store(po::command_line_parser(args_).options(options).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw usage_error(std::string(e.what()) + "; see 'task " + command_ + " --help'");
  }
  if (vm.count("help") != 0U) {
    out_ << "usage: task " << command_ << ' ' << usage << "\n\n" << options;
    return false;
  }
  if (vm.count("config") != 0U) config_path_ = vm["config"].as<std::string>();
  return true;
}

const config& invocation::cfg() {
  if (!cfg_) {
    auto loaded = load_config(config_path_);
    graph_ = build_graph(loaded);  // a graph that cannot run is refused at load
    cfg_ = std::move(loaded);
  }
  return *cfg_;
}

const engine::graph& invocation::graph() {
  (void)cfg();
  return *graph_;
}

const task_config& invocation::task(const std::string& name) {
  if (const auto* t = cfg().find(name)) return *t;
  std::string known;
  for (const auto& t : cfg().tasks) known += (known.empty() ? "" : ", ") + t.name;
  throw usage_error("unknown task '" + name + "' (known tasks: " + (known.empty() ? "none" : known) + ")");
}

bool invocation::enabled(const task_config& task) {
  if (!enabled_overrides_) enabled_overrides_ = scheduling::task_state_store(state_file(cfg())).load();
  const auto it = enabled_overrides_->find(task.name);
  return it != enabled_overrides_->end() ? it->second : task.settings.enabled;
}

int main(std::vector<std::string> args) {
  auto& out = std::cout;
  auto& err = std::cerr;
  try {
    std::optional<std::filesystem::path> config_path;
    std::size_t i = 0;
    // Global options come before the command word.
    for (; i < args.size() && args[i].starts_with("-"); ++i) {
      if (args[i] == "--help" || args[i] == "-h") {
        print_help(out);
        return exit_ok;
      }
      if (args[i] == "--config" && i + 1 < args.size()) {
        config_path = args[++i];
      } else if (args[i].starts_with("--config=")) {
        config_path = args[i].substr(9);
      } else {
        throw usage_error("unknown global option '" + args[i] + "'; see 'task --help'");
      }
    }
    if (i == args.size()) {
      print_help(err);
      return exit_usage;
    }
    const auto& name = args[i];
    for (const auto& c : commands) {
      if (c.name == name) {
        invocation inv(name, {args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end()}, config_path, out, err);
        return c.run(inv);
      }
    }
    throw usage_error("unknown command '" + name + "'; see 'task --help'");
  } catch (const usage_error& e) {
    err << "error: " << e.what() << '\n';
    return exit_usage;
  } catch (const config_error& e) {
    err << "error: " << e.what() << '\n';
    return exit_usage;
  } catch (const scheduling::state_error& e) {
    err << "error: " << e.what() << '\n';
    return exit_usage;
  } catch (const refused_error& e) {
    err << "error: " << e.what() << '\n';
    return exit_task_failed;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << '\n';
    return exit_task_failed;
  }
}

}  // namespace cascadence::cli
