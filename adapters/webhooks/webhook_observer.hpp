#pragma once

#include <string_view>

namespace cascadence::adapters::webhooks {

/// The `source` reported for deliveries to a source the registry does not
/// know (answered 404). The path segment such a request names is chosen by
/// whoever sends it, so it is never passed on: counting it would let anyone
/// create metric series or log noise at will. Configured source names are
/// lower-case letters, digits, `_` and `-`, so this one cannot collide.
inline constexpr std::string_view unknown_source = "(unknown)";

/// Receives what the webhook routes do, on the server's executor. Must not
/// block; metrics implement it. Every function has a default that does
/// nothing.
class webhook_observer {
 public:
  virtual ~webhook_observer() = default;
  /// A webhook request was answered by the webhook routes with `status`
  /// (202, 400, 401, 404). `source` is the registry's name of the source,
  /// or unknown_source. Refusals the server makes before a route runs (413,
  /// 431, 405) are not reported here.
  virtual void on_request(std::string_view source, unsigned status) {
    (void)source;
    (void)status;
  }
  /// An accepted event was handed to the subscriber named `subscriber`
  /// (its delivery then runs detached from the reply).
  virtual void on_delivery(std::string_view source, std::string_view subscriber) {
    (void)source;
    (void)subscriber;
  }
};

}  // namespace cascadence::adapters::webhooks
