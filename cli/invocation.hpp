#pragma once

#include "cli/events_options.hpp"
#include "cli/metrics_options.hpp"
#include "engine/graph.hpp"
#include "plugins/registry.hpp"
#include "service/config.hpp"

#include <filesystem>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace boost::program_options {
class options_description;
class positional_options_description;
class variables_map;
}  // namespace boost::program_options

namespace cascadence::service {
class remote_tasks;
}

namespace cascadence::cli {

// The configuration model is the service library's; the commands name it
// as their own.
using service::config;
using service::config_error;
using service::task_config;

/// A command line that does not make sense: exit status 2.
class usage_error final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A refusal that is not a usage error (a disabled task): exit status 1.
class refused_error final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One `task` command being run: its words, the global options, the streams.
class invocation final {
 public:
  invocation(std::string command, std::vector<std::string> args, std::optional<std::filesystem::path> config_path,
             std::ostream& out, std::ostream& err, metrics_options metrics = {}, events_options events = {})
      : command_(std::move(command)),
        args_(std::move(args)),
        config_path_(std::move(config_path)),
        metrics_(std::move(metrics)),
        events_(std::move(events)),
        out_(out),
        err_(err) {}

  [[nodiscard]] std::ostream& out() const noexcept { return out_; }
  [[nodiscard]] std::ostream& err() const noexcept { return err_; }
  /// The global --metrics-port, --metrics-linger and --pushgateway options.
  [[nodiscard]] const metrics_options& metrics() const noexcept { return metrics_; }

  /// Parses the command's words; --help and --config are added to `options`.
  /// Returns false when help was printed (the command then exits 0).
  [[nodiscard]] bool parse(boost::program_options::options_description& options,
                           const boost::program_options::positional_options_description& positional,
                           boost::program_options::variables_map& vm, std::string_view usage);

  /// Parses the words of a command whose only argument is one task NAME.
  /// Nullopt when help was printed (the command then exits 0).
  [[nodiscard]] std::optional<std::string> parse_name();

  /// The configuration, loaded and validated (graph included) on first use.
  [[nodiscard]] const config& cfg();
  /// The configuration's task graph.
  [[nodiscard]] const engine::graph& graph();
  /// The plugins the configuration's graph was built with, and the lines of those that did not load (each
  /// also printed as a warning, unless quiet_plugins() was called first).
  [[nodiscard]] const plugins::registry& plugins();
  [[nodiscard]] const std::vector<std::string>& plugin_errors();
  /// Plugin errors are the command's to print (`task plugins`).
  void quiet_plugins() noexcept { quiet_plugins_ = true; }
  /// Lets go of the graph and the plugins cfg() loaded to check the configuration, for a command that loads
  /// its own (`task serve`'s runtime): an isolated plugin then has one host process, not two. cfg() stays;
  /// graph() and plugins() may not be called after.
  void release_loaded() noexcept {
    graph_.reset();
    plugins_.reset();
  }

  /// The task named `name`, or a usage error listing the known tasks.
  [[nodiscard]] const task_config& task(const std::string& name);

  /// Whether a task is enabled: its persisted state, else its configuration.
  [[nodiscard]] bool enabled(const task_config& task);

 private:
  std::string command_;
  std::vector<std::string> args_;
  std::optional<std::filesystem::path> config_path_;
  metrics_options metrics_;
  events_options events_;
  std::optional<config> cfg_;
  std::shared_ptr<service::remote_tasks> remote_;
  std::shared_ptr<const engine::graph> graph_;
  std::shared_ptr<const plugins::registry> plugins_;
  std::vector<std::string> plugin_errors_;
  bool quiet_plugins_ = false;
  std::optional<std::map<std::string, bool>> enabled_overrides_;
  std::ostream& out_;
  std::ostream& err_;
};

/// The commands, each in its own file.
int run_list(invocation& inv);
int run_enable(invocation& inv);
int run_disable(invocation& inv);
int run_run(invocation& inv);
int run_trigger(invocation& inv);
int run_next(invocation& inv);
int run_schedule(invocation& inv);
int run_unschedule(invocation& inv);
int run_schedules(invocation& inv);
int run_pause(invocation& inv);
int run_resume(invocation& inv);
int run_serve(invocation& inv);
int run_webhook(invocation& inv);
int run_plugins(invocation& inv);
int run_reload_plugins(invocation& inv);
int run_export_n8n(invocation& inv);
int run_graph(invocation& inv);

}  // namespace cascadence::cli
