#pragma once

#include "net/hmac.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cascadence::adapters::webhooks {

/// Something that reacts to webhook deliveries: a task subscribed in the
/// configuration, or a built-in C++ webhook task.
class webhook_task {
 public:
  virtual ~webhook_task() = default;
  /// Reacts to one authenticated delivery. Runs on the server's executor,
  /// detached from the HTTP reply (which has already been sent or is about
  /// to be); an exception is logged and goes no further.
  [[nodiscard]] virtual boost::asio::awaitable<void> handle_event(std::string source, std::string event_type,
                                                                  boost::json::value payload) = 0;
  /// handle_event() with the delivery's id (the sender's, like GitHub's
  /// `X-GitHub-Delivery`, else one of ours), the same for every attempt to
  /// deliver the event: a task that must not act twice deduplicates on it.
  /// By default the id is not used.
  [[nodiscard]] virtual boost::asio::awaitable<void> deliver(std::string source, std::string event_type,
                                                             boost::json::value payload, std::string delivery_id) {
    (void)delivery_id;
    return handle_event(std::move(source), std::move(event_type), std::move(payload));
  }
};

/// A webhook_task from a coroutine function.
[[nodiscard]] std::shared_ptr<webhook_task> make_webhook_task(
    std::function<boost::asio::awaitable<void>(std::string, std::string, boost::json::value)> fn);

/// Which sources exist, their secrets, and who is subscribed to what.
/// Built once before the server starts, then only read.
class webhook_registry final {
 public:
  /// Subscribes `task` to `source` deliveries whose event type is one of
  /// `events` (empty = every event type). `name` identifies it in logs.
  void subscribe(std::string source, std::vector<std::string> events, std::string name,
                 std::shared_ptr<webhook_task> task);

  /// Requires deliveries from `source` to be signed with HMAC-SHA256 under
  /// `secret` (an empty secret removes the requirement).
  void set_secret(std::string source, std::string secret);

  /// The secret of `source`, or null when deliveries need no signature.
  [[nodiscard]] const std::string* secret(std::string_view source) const noexcept;

  /// The secret of `source` prepared for signing, or null when deliveries
  /// need no signature.
  [[nodiscard]] const net::hmac_sha256* signing_key(std::string_view source) const noexcept;

  /// True for `github`, `calcom`, and any source with a subscriber or a
  /// secret; deliveries from other sources are refused (404).
  [[nodiscard]] bool knows(std::string_view source) const noexcept;

  /// One subscriber of a delivery.
  struct subscriber final {
    std::string name;
    std::shared_ptr<webhook_task> task;
  };
  /// The subscribers a delivery of `event_type` from `source` reaches, in
  /// subscription order.
  [[nodiscard]] std::vector<subscriber> subscribers(std::string_view source, std::string_view event_type) const;

  /// Calls `fn(const subscriber&, bool last)` for each subscriber a delivery
  /// of `event_type` from `source` reaches, in subscription order, without
  /// copying them; `last` is true for the final one.
  template <typename F>
  void for_each_subscriber(std::string_view source, std::string_view event_type, F&& fn) const {
    const subscriber* pending = nullptr;
    for (const auto& s : subscriptions_) {
      if (!s.matches(source, event_type)) continue;
      if (pending != nullptr) fn(*pending, false);
      pending = &s.who;
    }
    if (pending != nullptr) fn(*pending, true);
  }

 private:
  struct subscription final {
    std::string source;
    std::vector<std::string> events;
    subscriber who;

    [[nodiscard]] bool matches(std::string_view src, std::string_view event_type) const noexcept;
  };
  struct signing final {
    std::string secret;
    net::hmac_sha256 key;
  };
  std::vector<subscription> subscriptions_;
  std::map<std::string, signing, std::less<>> secrets_;
};

}  // namespace cascadence::adapters::webhooks
