// `task graph`: the task graph as Graphviz DOT, a Mermaid flowchart or JSON; with --run, coloured by the
// statuses of a run that a running `task serve` reports over its REST API.

#include "cli/cli.hpp"
#include "cli/invocation.hpp"
#include "core/text.hpp"
#include "net/http_client.hpp"
#include "net/json.hpp"
#include "scheduling/schedule_store.hpp"
#include "service/graph_picture.hpp"
#include "service/schedules.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/program_options.hpp>

#include <ostream>

namespace cascadence::cli {

namespace po = boost::program_options;
namespace asio = boost::asio;

namespace {

// The schedules in force for the backend: the file's and the configuration's with cron, the
// configuration's with temporal (its cluster keeps the rest), none with base (which fires nothing).
std::vector<scheduling::schedule_entry> schedules_in_force(const config& cfg) {
  if (cfg.backend == "base") return {};
  if (cfg.backend == "cron")
    return service::collect_schedules(cfg, scheduling::schedule_store(cfg.storage_path).load()).entries;
  std::vector<scheduling::schedule_entry> out;
  for (const auto& t : cfg.tasks) {
    if (t.schedule) out.push_back(*t.schedule);
  }
  return out;
}

std::string serve_url(const po::variables_map& vm) {
  if (vm.count("url") != 0U) {
    auto url = vm["url"].as<std::string>();
    if (!url.starts_with("http://") && !url.starts_with("https://")) {
      throw usage_error("--url: '" + url + "' is not an http:// or https:// URL");
    }
    while (url.ends_with('/')) url.pop_back();
    return url;
  }
  const auto host = vm["host"].as<std::string>();
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(vm["port"].as<unsigned>());
}

// A run id as `task serve` gives them: a UUID's characters, so it goes into the path as it is.
void check_run_id(const std::string& id) {
  const bool ok = !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-';
  });
  if (!ok) throw usage_error("--run: '" + core::printable(id) + "' is not a run id (a UUID, as the API returns)");
}

// `GET /api/v1/runs/{id}` of the `task serve` at `url`.
boost::json::value fetch_run(const std::string& url, const std::string& id, const std::string& token) {
  asio::io_context io;
  net::client_options options;
  options.max_attempts = 1;
  options.connect_timeout = std::chrono::seconds(5);
  options.request_timeout = std::chrono::seconds(10);
  net::http_client client(io.get_executor(), options);
  net::client_request req;
  req.method = net::http_method::get;
  req.url = url + "/api/v1/runs/" + id;
  if (!token.empty()) req.headers.set("Authorization", "Bearer " + token);
  std::optional<net::client_result> result;
  std::exception_ptr failure;
  asio::co_spawn(io, client.send(std::move(req)), [&](const std::exception_ptr& e, net::client_result r) {
    failure = e;
    if (!e) result = std::move(r);
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  if (!result->has_value()) {
    throw std::runtime_error("cannot ask task serve at " + url + " for run " + id + " (" + result->error().message +
                             ")");
  }
  const auto& response = result->value();
  if (response.status == 401) {
    throw std::runtime_error("task serve at " + url +
                             " refused the API token (401; the token is api.token or $CASCADENCE_API_TOKEN)");
  }
  if (response.status == 404) {
    throw usage_error("unknown run '" + id + "' (task serve at " + url +
                      " keeps the last runs started over its API; the id is the one POST /api/v1/tasks/NAME/runs "
                      "answered)");
  }
  boost::system::error_code ec;
  auto body = boost::json::parse(response.body, ec);
  if (response.status != 200 || ec) {
    throw std::runtime_error("task serve at " + url + " answered " + std::to_string(response.status) +
                             " to GET /api/v1/runs/" + id + (ec ? " with a body that is not JSON" : ""));
  }
  return body;
}

}  // namespace

int run_graph(invocation& inv) {
  po::options_description options("options");
  options.add_options()("format", po::value<std::string>()->default_value("dot"), "dot, mermaid or json")(
      "run", po::value<std::string>(), "colour each task by its status in this run of a running `task serve`")(
      "url", po::value<std::string>(), "the REST API of that `task serve` (default: from --host/--port)")(
      "host", po::value<std::string>()->default_value("127.0.0.1"), "the address `task serve` listens on")(
      "port", po::value<unsigned>()->default_value(8000), "the port `task serve` listens on")(
      "targets", po::value<std::vector<std::string>>()->multitoken(), "tasks to show with their dependencies");
  po::positional_options_description positional;
  positional.add("targets", -1);
  po::variables_map vm;
  if (!inv.parse(options, positional, vm,
                 "[NAME...] [--format dot|mermaid|json] [--run RUN_ID [--url URL | --host H --port P]]")) {
    return exit_ok;
  }
  const auto format = vm["format"].as<std::string>();
  if (format != "dot" && format != "mermaid" && format != "json") {
    throw usage_error("--format: unknown format '" + core::printable(format) + "' (known: dot, mermaid, json)");
  }
  if (vm["port"].as<unsigned>() > 65535) throw usage_error("--port: invalid port (0 to 65535)");
  std::vector<std::string> targets;
  if (vm.count("targets") != 0U) targets = vm["targets"].as<std::vector<std::string>>();
  const auto& cfg = inv.cfg();
  for (const auto& name : targets) (void)inv.task(name);  // an unknown name is a usage error listing the known

  std::optional<boost::json::value> run;
  if (vm.count("run") != 0U) {
    const auto id = vm["run"].as<std::string>();
    check_run_id(id);
    run = fetch_run(serve_url(vm), id, service::api_token(cfg));
    // Without names, the picture is the run's task and what it runs after.
    if (targets.empty()) {
      const auto* o = run->if_object();
      const auto* task = o != nullptr ? o->if_contains("task") : nullptr;
      if (task != nullptr && task->is_string() && cfg.find(task->as_string()) != nullptr) {
        targets.emplace_back(task->as_string());
      }
    }
  }

  auto picture = service::make_graph_picture(cfg, schedules_in_force(cfg), targets);
  for (auto& n : picture.nodes) n.enabled = inv.enabled(*cfg.find(n.name));
  if (run) {
    std::vector<std::string> missing;
    if (auto why = service::colour_by_run(picture, *run, missing)) {
      throw std::runtime_error("cannot read the run task serve answered (" + *why + ")");
    }
    for (const auto& name : missing) {
      inv.err() << "warning: task '" << core::printable(name) << "' of the run is not in the configuration\n";
    }
  }
  if (format == "dot") {
    inv.out() << service::to_dot(picture);
  } else if (format == "mermaid") {
    inv.out() << service::to_mermaid(picture);
  } else {
    inv.out() << net::json_text(service::to_json(picture)) << '\n';
  }
  return exit_ok;
}

}  // namespace cascadence::cli
