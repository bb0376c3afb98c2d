// `task plugins` and `task reload-plugins`.

#include "cli/invocation.hpp"
#include "core/text.hpp"
#include "net/http_client.hpp"
#include "net/json.hpp"
#include "service/plugin_loading.hpp"
#include "service/runtime.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/program_options.hpp>

#include <cstdlib>
#include <ostream>

namespace cascadence::cli {

namespace po = boost::program_options;
namespace asio = boost::asio;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_config = 2;

void print_plugins(std::ostream& out, const plugins::registry& loaded) {
  for (const auto& p : loaded.providers()) {
    const auto& d = p->descriptor();
    out << d.name << ' ' << (d.version.empty() ? "-" : d.version) << '\n'
        << "  path       " << p->file().path.string() << '\n'
        << "  sha256     " << p->file().sha256 << '\n'
        << "  abi        " << d.abi_major << '.' << d.abi_minor << '\n'
        << "  runtime    " << d.runtime << '\n'
        << "  isolation  " << plugins::to_string(p->isolation()) << '\n'
        << "  processors";
    for (const auto& proc : d.processors)
      out << ' ' << proc.name << (proc.blocking ? " (blocking)" : proc.immediate ? " (immediate)" : "");
    out << '\n';
  }
}

std::string base_url(const po::variables_map& vm) {
  if (vm.count("url") != 0U) {
    auto url = vm["url"].as<std::string>();
    while (url.ends_with('/')) url.pop_back();
    return url;
  }
  const auto host = vm["host"].as<std::string>();
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(vm["port"].as<unsigned>());
}

// Asks a running `task serve` at `url` to reload; nullopt when none answers there.
std::optional<net::client_result> ask_serve(const std::string& url, const std::string& token) {
  asio::io_context io;
  net::client_options options;
  options.max_attempts = 1;
  options.connect_timeout = std::chrono::seconds(2);
  options.request_timeout = std::chrono::seconds(60);
  net::http_client client(io.get_executor(), options);
  net::client_request req;
  req.method = net::http_method::post;
  req.url = url + "/api/v1/plugins/reload";
  if (!token.empty()) req.headers.set("Authorization", "Bearer " + token);
  std::optional<net::client_result> result;
  asio::co_spawn(io, client.send(std::move(req)), [&](const std::exception_ptr& e, net::client_result r) {
    if (!e) result = std::move(r);
  });
  io.run();
  if (result && !result->has_value()) {
    const auto code = result->error().code;
    if (code == net::client_errc::connect_failed || code == net::client_errc::connect_timeout ||
        code == net::client_errc::resolve_failed) {
      return std::nullopt;
    }
  }
  return result;
}

}  // namespace

int run_plugins(invocation& inv) {
  po::options_description options("options");
  options.add_options()("json", "print JSON instead of lines");
  po::variables_map vm;
  if (!inv.parse(options, {}, vm, "[--json]")) return exit_ok;
  inv.quiet_plugins();
  const auto& loaded = inv.plugins();
  const auto& errors = inv.plugin_errors();
  if (vm.count("json") != 0U) {
    inv.out() << net::json_text(service::plugins_json(loaded, errors)) << '\n';
  } else if (loaded.empty()) {
    inv.out() << "no plugins loaded\n";
  } else {
    print_plugins(inv.out(), loaded);
  }
  for (const auto& e : errors) inv.err() << "error: " << core::printable(e) << '\n';
  return errors.empty() ? exit_ok : exit_config;
}

int run_reload_plugins(invocation& inv) {
  po::options_description options("options");
  options.add_options()("url", po::value<std::string>(),
                        "the REST API of the running `task serve` (default: from --host/--port)")(
      "host", po::value<std::string>()->default_value("127.0.0.1"), "the address `task serve` listens on")(
      "port", po::value<unsigned>()->default_value(8000), "the port `task serve` listens on");
  po::variables_map vm;
  if (!inv.parse(options, {}, vm, "[--url URL | --host H --port P]")) return exit_ok;
  inv.quiet_plugins();
  const auto& cfg = inv.cfg();
  const auto url = base_url(vm);
  if (auto answer = ask_serve(url, service::api_token(cfg))) {
    if (!answer->has_value()) {
      throw std::runtime_error("cannot reach the service at " + url + " (" + answer->error().message + ")");
    }
    const auto& response = answer->value();
    if (response.status == 401) throw std::runtime_error("the service at " + url + " refused the API token (401)");
    boost::system::error_code ec;
    const auto body = boost::json::parse(response.body, ec);
    if (!response.ok() || ec || !body.is_object()) {
      throw std::runtime_error("the service at " + url + " answered " + std::to_string(response.status) +
                               " to the reload (is it a `task serve` of this version?)");
    }
    const auto& o = body.as_object();
    const auto* changes = o.if_contains("changes");
    std::size_t changed = 0;
    if (changes != nullptr && changes->is_array()) {
      for (const auto& c : changes->as_array()) {
        if (!c.is_object()) continue;
        ++changed;
        const auto& co = c.as_object();
        plugins::plugin_change pc;
        const auto what = co.at("change").as_string();
        pc.what = what == "added"     ? plugins::plugin_change::kind::added
                  : what == "removed" ? plugins::plugin_change::kind::removed
                                      : plugins::plugin_change::kind::reloaded;
        pc.name = std::string(co.at("name").as_string());
        pc.path = std::string(co.at("path").as_string());
        pc.old_sha256 = std::string(co.at("old_sha256").as_string());
        pc.new_sha256 = std::string(co.at("new_sha256").as_string());
        inv.out() << plugins::describe(pc) << '\n';
      }
    }
    bool failed = false;
    if (const auto* errors = o.if_contains("errors"); errors != nullptr && errors->is_array()) {
      for (const auto& e : errors->as_array()) {
        if (!e.is_string()) continue;
        inv.err() << "error: " << core::printable(e.as_string()) << '\n';
        failed = true;
      }
    }
    if (changed == 0 && !failed) inv.out() << "plugins: nothing changed\n";
    return failed ? exit_failed : exit_ok;
  }
  // No service there: load and check every plugin here.
  const auto& errors = inv.plugin_errors();
  for (const auto& e : errors) inv.err() << "error: " << core::printable(e) << '\n';
  inv.out() << "no service at " << url << ": checked " << inv.plugins().providers().size() << " plugin(s), "
            << errors.size() << " error(s)\n";
  return errors.empty() ? exit_ok : exit_failed;
}

}  // namespace cascadence::cli
