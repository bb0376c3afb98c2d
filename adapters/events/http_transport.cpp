// The `http` transport: each batch POSTed as one JSON array.

#include "adapters/events/transports.hpp"

#include "net/http_client.hpp"

#include <stdexcept>

namespace cascadence::adapters::events {

namespace {

class http_transport final : public transport {
 public:
  http_transport(const boost::asio::any_io_executor& ex, std::string url, std::chrono::milliseconds deadline)
      : url_(std::move(url)), client_(ex, options(deadline)) {}

  [[nodiscard]] std::string_view name() const noexcept override { return "http"; }

  boost::asio::awaitable<std::optional<send_failure>> send(std::vector<event> batch,
                                                           std::chrono::milliseconds) override {
    net::client_request req;
    req.method = net::http_method::post;
    req.url = url_;
    req.headers.set("Content-Type", "application/json");
    req.body = "[";
    for (const auto& e : batch) {
      if (req.body.size() > 1) req.body += ',';
      req.body += e.json;
    }
    req.body += ']';
    auto sending = client_.send(std::move(req));
    auto answer = co_await std::move(sending);
    if (!answer) {
      const bool late =
          answer.error().code == net::client_errc::timeout || answer.error().code == net::client_errc::connect_timeout;
      co_return send_failure{late ? "timeout" : "send_failed", answer.error().message, 0};
    }
    if (!answer->ok()) {
      co_return send_failure{"send_failed", url_ + " answered " + std::to_string(answer->status), 0};
    }
    co_return std::nullopt;
  }

 private:
  // The client's timeouts are the emitter's deadline.
  static net::client_options options(std::chrono::milliseconds deadline) {
    net::client_options o;
    o.connect_timeout = deadline;
    o.request_timeout = deadline;
    o.max_attempts = 1;  // the emitter's deadline bounds each send; a retry would run past it
    o.user_agent = "cascadence-events";
    return o;
  }

  std::string url_;
  net::http_client client_;
};

}  // namespace

std::unique_ptr<transport> make_http_transport(const boost::asio::any_io_executor& ex, const std::string& url,
                                               std::chrono::milliseconds deadline) {
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    throw std::runtime_error("events.url '" + url + "' is not an http:// or https:// URL");
  }
  return std::make_unique<http_transport>(ex, url, deadline);
}

}  // namespace cascadence::adapters::events
