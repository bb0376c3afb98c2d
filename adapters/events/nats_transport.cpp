// The `nats` transport: core NATS publishes with libnats (Debian's
// libnats-dev). libnats calls block, so they run on a thread of the
// transport's own; each batch's outcome is posted back to the loop.
//
// While the connection is down, publishes fail at once (counted as drops)
// rather than being buffered: libnats' reconnect buffer would deliver them
// after the emitter had already given them up. libnats reconnects by itself.

#include "adapters/events/transports.hpp"

#include <nats/nats.h>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stdexcept>
#include <vector>

namespace cascadence::adapters::events {

namespace asio = boost::asio;

namespace {

std::string status_text(natsStatus s) {
  const char* last = nats_GetLastError(nullptr);
  std::string text = natsStatus_GetText(s);
  if (last != nullptr && *last != '\0' && text != last) text += std::string(" (") + last + ")";
  return text;
}

// A task name as one subject token: no whitespace, dots or wildcards.
std::string subject_token(std::string_view name) {
  std::string token(name);
  for (auto& c : token) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || c == '.' || c == '*' || c == '>' || u == 0x7F) c = '_';
  }
  return token.empty() ? std::string("_") : token;
}

void on_connected(natsConnection*, void*) {}

class nats_transport final : public transport {
 public:
  nats_transport(std::string url, std::string subject) : url_(std::move(url)), subject_(std::move(subject)) {
    const auto at = subject_.find("{task}");
    if (at != std::string::npos) {
      prefix_ = subject_.substr(0, at);
      suffix_ = subject_.substr(at + 6);
      per_task_ = true;
    }
    natsOptions* raw = nullptr;
    if (natsOptions_Create(&raw) != NATS_OK) throw std::runtime_error("libnats: cannot create options");
    opts_ = raw;
    const bool ok =
        natsOptions_SetURL(opts_, url_.c_str()) == NATS_OK &&
        natsOptions_SetName(opts_, "cascadence-events") == NATS_OK && natsOptions_SetTimeout(opts_, 1000) == NATS_OK &&
        natsOptions_SetMaxReconnect(opts_, -1) == NATS_OK && natsOptions_SetReconnectWait(opts_, 250) == NATS_OK &&
        natsOptions_SetReconnectBufSize(opts_, 1) == NATS_OK &&
        natsOptions_SetRetryOnFailedConnect(opts_, true, on_connected, nullptr) == NATS_OK;
    if (!ok) {
      natsOptions_Destroy(opts_);
      throw std::runtime_error("events: '" + url_ + "' is not a NATS server URL (nats://HOST:PORT)");
    }
    // Connecting may take a while: not on the caller's (the loop's) thread.
    asio::post(thread_, [this] { connect(); });
  }

  ~nats_transport() override {
    asio::post(thread_, [this] {
      if (conn_ != nullptr) natsConnection_Destroy(conn_);
      conn_ = nullptr;
    });
    thread_.join();
    natsOptions_Destroy(opts_);
  }
  nats_transport(const nats_transport&) = delete;
  nats_transport& operator=(const nats_transport&) = delete;

  [[nodiscard]] std::string_view name() const noexcept override { return "nats"; }

  asio::awaitable<std::optional<send_failure>> send(std::vector<event> batch,
                                                    std::chrono::milliseconds timeout) override {
    auto publishing = asio::async_initiate<decltype(asio::use_awaitable), void(std::optional<send_failure>)>(
        [this, timeout](auto handler, std::vector<event> events) {
          auto resume = asio::get_associated_executor(handler);
          asio::post(thread_, [this, timeout, events = std::move(events), resume, handler = std::move(handler),
                               work = asio::make_work_guard(resume)]() mutable {
            auto result = publish(events, timeout);
            asio::post(resume, [handler = std::move(handler), result = std::move(result)]() mutable {
              std::move(handler)(std::move(result));
            });
          });
        },
        asio::use_awaitable, std::move(batch));
    co_return co_await std::move(publishing);
  }

 private:
  // On thread_.
  void connect() {
    natsConnection* c = nullptr;
    const auto s = natsConnection_Connect(&c, opts_);
    if (s == NATS_OK || s == NATS_NOT_YET_CONNECTED) {
      conn_ = c;
    } else {
      connect_error_ = "cannot connect to " + url_ + ": " + status_text(s);
    }
  }

  // On thread_.
  std::optional<send_failure> publish(const std::vector<event>& events, std::chrono::milliseconds timeout) {
    if (conn_ == nullptr) return send_failure{"send_failed", connect_error_, 0};
    if (natsConnection_Status(conn_) != NATS_CONN_STATUS_CONNECTED) {
      return send_failure{"send_failed", "not connected to " + url_, 0};
    }
    std::string subject;
    for (const auto& e : events) {
      subject = per_task_ ? prefix_ + subject_token(e.task) + suffix_ : subject_;
      const auto s = natsConnection_Publish(conn_, subject.c_str(), e.json.data(), static_cast<int>(e.json.size()));
      if (s != NATS_OK) return send_failure{"send_failed", "publish to " + url_ + ": " + status_text(s), 0};
    }
    // A round trip: the server has everything published before it.
    const auto s = natsConnection_FlushTimeout(conn_, std::max<std::int64_t>(1, timeout.count()));
    if (s == NATS_TIMEOUT) {
      return send_failure{"timeout", "no answer from " + url_ + " within " + std::to_string(timeout.count()) + " ms",
                          0};
    }
    if (s != NATS_OK) return send_failure{"send_failed", "flush to " + url_ + ": " + status_text(s), 0};
    return std::nullopt;
  }

  std::string url_;
  std::string subject_;
  std::string prefix_;
  std::string suffix_;
  bool per_task_ = false;
  natsOptions* opts_ = nullptr;
  // Touched on thread_ only.
  natsConnection* conn_ = nullptr;
  std::string connect_error_ = "not connected yet";
  asio::thread_pool thread_{1};
};

}  // namespace

std::unique_ptr<transport> make_nats_transport(const std::string& url, const std::string& subject) {
  if (subject.empty()) throw std::runtime_error("events: the NATS subject is empty");
  return std::make_unique<nats_transport>(url, subject);
}

}  // namespace cascadence::adapters::events
