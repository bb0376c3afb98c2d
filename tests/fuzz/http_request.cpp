// The HTTP request parser and the router: raw bytes as a connection would
// bring them, parsed with the server's parser (net/detail/request_parser)
// under the server's default limits, checked as the session checks them
// (transfer coding, version, target), routed through a router holding the
// real webhook routes and API-shaped patterns, answered, and the response
// head written as the server writes it. Pipelined requests are served one
// after another while the connection stays open.
//
// Each input is served twice, once handed over whole and once a few bytes
// at a time as a slow client sends it; both must give the same transcript.
// A response head must end at its one blank line (no header injection).

#include "adapters/webhooks/webhook_registry.hpp"
#include "adapters/webhooks/webhook_routes.hpp"
#include "fuzz_input.hpp"
#include "net/detail/request_parser.hpp"
#include "net/detail/response_head.hpp"
#include "net/http_message.hpp"
#include "net/router.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/error.hpp>

#include <optional>

using namespace cascadence;
namespace asio = boost::asio;
namespace http = boost::beast::http;
using error_code = boost::system::error_code;

namespace {

constexpr std::size_t header_limit = 8 * 1024;  // net::server_options' defaults
constexpr std::uint64_t body_limit = 1024 * 1024;
constexpr std::size_t max_requests = 16;

net::response echo(const net::request& req) {
  auto res = net::response::text(200, req.path + "\n");
  for (const auto& [name, value] : req.params) res.headers.add("X-Param-" + name, value);
  for (const auto& [name, value] : req.query) res.body += name + "=" + value + "\n";
  return res;
}

struct server final {
  asio::io_context io;
  net::router routes;

  server() {
    auto registry = std::make_shared<adapters::webhooks::webhook_registry>();
    registry->set_secret("github", "github-secret");
    registry->subscribe("acme", {}, "on-acme",
                        adapters::webhooks::make_webhook_task(
                            [](std::string, std::string, boost::json::value) -> asio::awaitable<void> { co_return; }));
    adapters::webhooks::add_webhook_routes(routes, io.get_executor(), std::move(registry), [](std::string_view) {});
    routes.get("/healthz", [](net::request&) { return net::response::text(200, "ok\n"); });
    routes.get("/metrics", [](net::request& req) { return echo(req); });
    routes.get("/api/v1/tasks", [](net::request& req) { return echo(req); });
    routes.post("/api/v1/tasks/{name}/runs", [](net::request& req) { return echo(req); });
    routes.get("/api/v1/runs/{id}", [](net::request& req) -> asio::awaitable<net::response> { co_return echo(req); });
    routes.del("/api/v1/runs/{id}", [](net::request& req) { return echo(req); });
    routes.put("/api/v1/tasks/{name}/state/{what}", [](net::request& req) { return echo(req); });
  }

  net::response answer(net::request& req) {
    if (auto res = routes.dispatch(req)) return std::move(*res);
    std::optional<net::response> res;
    asio::co_spawn(io, routes.await_handler(req), [&res](std::exception_ptr e, net::response r) {
      if (e) std::rethrow_exception(e);
      res = std::move(r);
    });
    io.restart();
    io.run();
    if (!res) fuzz::fail("an asynchronous handler that never answered", req.target);
    return std::move(*res);
  }
};

// Feeds the parser from `rest` until `done`, `step` more bytes at a time
// whenever it has used what it was given or needs more, as the session
// does from its read buffer; the end of `rest` is the end of the stream.
template <typename Done>
error_code feed(net::detail::request_parser& parser, std::string_view& rest, std::size_t step, Done done) {
  std::size_t given = 0;
  bool more = true;
  while (!done(parser)) {
    if (more) {
      if (given == rest.size()) {
        if (!parser.got_some()) return http::error::end_of_stream;
        error_code ec;
        parser.put_eof(ec);
        if (ec) return ec;
        return done(parser) ? error_code() : error_code(http::error::partial_message);
      }
      given = std::min(given + step, rest.size());
    }
    error_code ec;
    const auto used = parser.put(asio::buffer(rest.data(), given), ec);
    rest.remove_prefix(used);
    given -= used;
    if (ec && ec != http::error::need_more) return ec;
    more = ec == http::error::need_more || given == 0;
  }
  return {};
}

void add_response(std::string& transcript, const net::response& res, unsigned version, bool keep_alive) {
  std::string head;
  if (!net::detail::write_response_head(res, {version, keep_alive, "cascadence"}, head)) {
    transcript += "invalid response " + std::to_string(res.status) + "\n";
    return;
  }
  if (head.find("\r\n\r\n") != head.size() - 4) fuzz::fail("a response head with a blank line inside", head);
  transcript += head;
  transcript += res.body;
}

// Serves the requests in `input` and returns what was answered.
std::string serve(server& s, std::string_view input, std::size_t step) {
  std::string transcript;
  net::request req;
  for (std::size_t served = 0; served < max_requests && !input.empty(); ++served) {
    net::detail::request_parser parser(req);
    parser.header_limit(header_limit);
    parser.body_limit(body_limit);
    parser.eager(false);
    auto ec = feed(parser, input, step, [](const auto& p) { return p.is_header_done(); });
    if (!ec && req.headers.contains("Transfer-Encoding") && !parser.chunked()) ec = http::error::bad_transfer_encoding;
    if (!ec) {
      parser.eager(true);
      ec = feed(parser, input, step, [](const auto& p) { return p.is_done(); });
    }
    if (ec) {
      // Refused, or the stream ended: which error depends on where the
      // bytes stopped (Beast validates the start line as it arrives), not
      // on what was received.
      transcript += "refused\n";
      return transcript;
    }
    const unsigned version = parser.version();
    if (version != 10 && version != 11) {
      transcript += "505\n";
      return transcript;
    }
    const auto method = parser.method();
    if (method && !req.assign_target(*method, req.target)) {
      transcript += "400 bad request target\n";
      return transcript;
    }
    const auto res = method ? s.answer(req) : net::response::text(501, "method not implemented\n");
    s.io.restart();
    s.io.poll();  // the webhook deliveries the request spawned
    add_response(transcript, res, version, parser.keep_alive());
    if (!parser.keep_alive()) break;
  }
  return transcript;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static server s;
  const auto input = fuzz::text_of(data, size);
  const auto whole = serve(s, input, input.size());
  const auto trickled = serve(s, input, 7);
  if (whole != trickled) {
    fuzz::fail("the request read whole and a few bytes at a time were answered differently",
               "whole:\n" + whole + "\na few bytes at a time:\n" + trickled);
  }
  return 0;
}
