// A protocol-v1 remote plugin server on Cascadence's own HTTP server, for
// measuring the client side of the remote scenario when the real target
// (the Go example) is not at hand: `cascadence-bench --serve remote-noop`.
// Its one task, `noop`, answers a sync 200 `succeeded` at once, so the
// client's cost per run is what shows.

#include "bench/http/serve.hpp"
#include "engine/run_id.hpp"
#include "net/http_server.hpp"
#include "net/json.hpp"
#include "net/router.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <csignal>
#include <cstdint>
#include <iostream>

namespace cascadence::bench {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

net::response problem(unsigned status, std::string title, std::string detail) {
  auto r = net::json_response(status, json::object{{"type", "about:blank"},
                                                   {"title", std::move(title)},
                                                   {"status", status},
                                                   {"detail", std::move(detail)},
                                                   {"code", status == 404 ? "NOT_FOUND" : "INVALID_ARGUMENT"},
                                                   {"retryable", false}});
  r.content_type = "application/problem+json";
  return r;
}

}  // namespace

int serve_remote_noop(const serve_config& config) {
  asio::io_context io(1);
  std::uint64_t runs = 0;
  net::router routes;
  routes.get("/v1/info", [](net::request&) {
    return net::json_response(200, json::object{{"protocol_versions", json::array{1}},
                                                {"name", "cascadence-bench-noop"},
                                                {"version", "1"},
                                                {"runtime", "cpp"}});
  });
  routes.get("/v1/health", [](net::request&) { return net::json_response(200, json::object{{"status", "ok"}}); });
  routes.get("/tasks", [](net::request&) { return net::json_response(200, json::array{"noop"}); });
  routes.get("/tasks/{id}", [](net::request& req) {
    if (req.param("id") != "noop") return problem(404, "unknown task", "no such task on this server");
    return net::json_response(200, json::object{{"id", "noop"}, {"description", "does nothing"}});
  });
  routes.post("/v1/tasks/{id}/runs", [&runs](net::request& req) {
    if (req.param("id") != "noop") return problem(404, "unknown task", "no such task on this server");
    if (!req.header("Idempotency-Key")) return problem(400, "missing Idempotency-Key", "the header is required");
    ++runs;
    return net::json_response(200, json::object{{"run_id", engine::run_id::random().to_string()},
                                                {"task_id", "noop"},
                                                {"state", "succeeded"},
                                                {"result", nullptr},
                                                {"error", nullptr},
                                                {"started_at", nullptr},
                                                {"finished_at", nullptr}});
  });
  net::server_options options;
  options.host = config.host;
  options.port = config.port;
  options.max_requests_per_connection = 1'000'000;
  net::http_server server(io.get_executor(), std::move(routes), options);
  if (const auto ec = server.start()) {
    std::cerr << "error: cannot listen on " << config.host << ":" << config.port << " (" << ec.message() << ")\n";
    return 1;
  }
  std::cout << "listening on http://" << config.host << ":" << server.port() << std::endl;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { server.stop(std::chrono::milliseconds(0)); });
  io.run();
  std::cout << "{\"server\":\"remote-noop\",\"runs\":" << runs << "}" << std::endl;
  return 0;
}

}  // namespace cascadence::bench
