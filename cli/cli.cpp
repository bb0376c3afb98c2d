#include "cli/cli.hpp"

#include "core/text.hpp"

#include "adapters/events/settings.hpp"
#include "cli/invocation.hpp"
#include "cli/temporal_commands.hpp"
#include "engine/duration.hpp"
#include "scheduling/task_state_store.hpp"
#include "service/initialize.hpp"
#include "service/remote_tasks.hpp"
#include "service/runtime.hpp"

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

constexpr std::array<command, 18> commands{{
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
    {"graph", "print the task graph (DOT, Mermaid or JSON), coloured by a run's statuses with --run", run_graph},
    {"plugins", "list the loaded native plugins and their processors", run_plugins},
    {"replay-history", "print a Temporal workflow history and check it against a task's graph", run_replay_history},
    {"export-n8n", "write the task graph as an n8n workflow that runs it through `task serve`", run_export_n8n},
    {"reload-plugins", "ask a running `task serve` to reload its plugins, else check them all", run_reload_plugins},
}};

void print_help(std::ostream& os) {
  os << "usage: task [--config FILE] [--metrics-port N [--metrics-linger DURATION]] [--pushgateway URL]\n"
        "            [--transport T [--nats-conn URL] [--nats-subject S] [--grpc-stub HOST:PORT]]\n"
        "            COMMAND [ARGS...]\n\n"
        "Cascadence: runs task graphs defined in YAML.\n\n"
        "commands:\n";
  for (const auto& c : commands) {
    os << "  " << c.name << std::string(c.name.size() < 15 ? 15 - c.name.size() : 1, ' ') << c.summary << '\n';
  }
  os << "\nglobal options:\n"
        "  --config FILE             configuration file (else $CASCADENCE_CONFIG, else\n"
        "                            ./cascadence.yml, else the built-in default with the `example` task)\n"
        "  --metrics-port N          serve GET /metrics on 127.0.0.1:N while the command runs\n"
        "                            (0: a free port, logged to stderr; run, trigger and serve)\n"
        "  --metrics-linger DURATION keep serving /metrics this long after the command finished\n"
        "  --pushgateway URL         when the command ends, push its series to this Prometheus\n"
        "                            Pushgateway (job cascadence, instance: the host name)\n"
        "  --transport T             send run events (docs/events.md) with T: none, file, http,\n"
        "                            nats or grpc (else events.transport in the configuration)\n"
        "  --nats-conn URL           the NATS server of --transport nats (nats://HOST:PORT)\n"
        "  --nats-subject SUBJECT    its subject, `{task}` naming the task (default: events)\n"
        "  --grpc-stub HOST:PORT     the cascadence.events.v1 server of --transport grpc\n"
        "  --grpc-method NAME        its method (default: Send)\n"
        "  --help                    this help; `task COMMAND --help` for a command\n"
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

std::optional<std::string> invocation::parse_name() {
  po::options_description options("options");
  options.add_options()("name", po::value<std::string>(), "task name");
  po::positional_options_description positional;
  positional.add("name", 1);
  po::variables_map vm;
  if (!parse(options, positional, vm, "NAME")) return std::nullopt;
  if (vm.count("name") == 0U) throw usage_error("missing task name; usage: task " + command_ + " NAME");
  return vm["name"].as<std::string>();
}

const config& invocation::cfg() {
  if (!cfg_) {
    service::initialize_options options;
    options.config_path = config_path_;
    options.plugin_log = &err_;
    // An unreachable remote server (its known tasks fail when run) and a
    // plugin that did not load are warnings; a graph that cannot run is
    // refused at load.
    options.warn = [this](const std::string& m) {
      if (!quiet_plugins_ || !m.starts_with("plugin not loaded: ")) err_ << "warning: " << m << '\n';
    };
    auto ready = service::initialize(options);
    remote_ = std::move(ready.remote);
    plugins_ = std::move(ready.plugins);
    plugin_errors_ = std::move(ready.plugin_errors);
    graph_ = std::move(ready.graph);
    cfg_ = std::move(ready.cfg);
    events_.apply_to(cfg_->events);
  }
  return *cfg_;
}

const engine::graph& invocation::graph() {
  (void)cfg();
  return *graph_;
}

const plugins::registry& invocation::plugins() {
  (void)cfg();
  return *plugins_;
}

const std::vector<std::string>& invocation::plugin_errors() {
  (void)cfg();
  return plugin_errors_;
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

namespace {

// The value of global option `name` at args[i] (`--name V` or `--name=V`),
// advancing i past it; nothing when args[i] is another option.
std::optional<std::string> option_value(const std::vector<std::string>& args, std::size_t& i, std::string_view name) {
  const auto& a = args[i];
  if (a == name) {
    if (i + 1 >= args.size()) throw usage_error(std::string(name) + " needs a value; see 'task --help'");
    return args[++i];
  }
  if (a.size() > name.size() && a.starts_with(name) && a[name.size()] == '=') return a.substr(name.size() + 1);
  return std::nullopt;
}

std::uint16_t parse_port(const std::string& text) {
  unsigned long value = 0;
  std::size_t used = 0;
  try {
    value = std::stoul(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || text.front() == '-' || value > 65535) {
    throw usage_error("--metrics-port: invalid port '" + text + "' (0 to 65535)");
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

void events_options::apply_to(adapters::events::settings& s) const {
  if (transport) s.transport = *transport;
  if (nats_url) s.nats_url = *nats_url;
  if (nats_subject) s.nats_subject = *nats_subject;
  if (grpc_target) s.grpc_target = *grpc_target;
  if (grpc_method) s.grpc_method = *grpc_method;
}

int main(std::vector<std::string> args) {
  return main(std::move(args), std::cout, std::cerr);
}

int main(std::vector<std::string> args, std::ostream& out, std::ostream& err) {
  try {
    std::optional<std::filesystem::path> config_path;
    metrics_options metrics;
    events_options events;
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
      } else if (auto port = option_value(args, i, "--metrics-port")) {
        metrics.port = parse_port(*port);
      } else if (auto linger = option_value(args, i, "--metrics-linger")) {
        const auto d = engine::parse_duration(*linger);
        if (!d) throw usage_error("--metrics-linger: " + engine::duration_error(*linger));
        metrics.linger = *d;
      } else if (auto url = option_value(args, i, "--pushgateway")) {
        if (!url->starts_with("http://") && !url->starts_with("https://")) {
          throw usage_error("--pushgateway: '" + *url + "' is not an http:// or https:// URL");
        }
        metrics.pushgateway = *url;
      } else if (auto transport = option_value(args, i, "--transport")) {
        if (*transport != "none" && *transport != "file" && *transport != "http" && *transport != "nats" &&
            *transport != "grpc") {
          throw usage_error("--transport: unknown transport '" + *transport + "' (none, file, http, nats or grpc)");
        }
        events.transport = *transport;
      } else if (auto nats = option_value(args, i, "--nats-conn")) {
        if (!nats->starts_with("nats://") && !nats->starts_with("tls://")) {
          throw usage_error("--nats-conn: '" + *nats + "' is not a nats:// or tls:// URL");
        }
        events.nats_url = *nats;
      } else if (auto subject = option_value(args, i, "--nats-subject")) {
        if (subject->empty()) throw usage_error("--nats-subject: the subject is empty");
        events.nats_subject = *subject;
      } else if (auto stub = option_value(args, i, "--grpc-stub")) {
        if (stub->empty()) throw usage_error("--grpc-stub: the address is empty (HOST:PORT)");
        events.grpc_target = *stub;
      } else if (auto method = option_value(args, i, "--grpc-method")) {
        if (method->empty()) throw usage_error("--grpc-method: the method name is empty");
        events.grpc_method = *method;
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
        invocation inv(name, {args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end()}, config_path, out, err,
                       metrics, events);
        return c.run(inv);
      }
    }
    throw usage_error("unknown command '" + name + "'; see 'task --help'");
  } catch (const usage_error& e) {
    err << "error: " << core::printable(e.what()) << '\n';
    return exit_usage;
  } catch (const service::config_error& e) {
    err << "error: " << core::printable(e.what()) << '\n';
    return exit_usage;
  } catch (const service::start_error& e) {
    err << "error: " << core::printable(e.what()) << '\n';
    return exit_usage;
  } catch (const scheduling::state_error& e) {
    err << "error: " << core::printable(e.what()) << '\n';
    return exit_usage;
  } catch (const refused_error& e) {
    err << "error: " << core::printable(e.what()) << '\n';
    return exit_task_failed;
  } catch (const std::exception& e) {
    err << "error: " << core::printable(e.what()) << '\n';
    return exit_task_failed;
  }
}

}  // namespace cascadence::cli
