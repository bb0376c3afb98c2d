#pragma once

// Remote tasks as engine processors: each runs its attempts on one server
// (cronyx::client::run), unless the last discovery found the server down,
// in which case it fails at once with that reason.

#include "adapters/cronyx/cronyx_client.hpp"

#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>

namespace cascadence::engine {
class processor;
}

namespace cascadence::adapters::cronyx {

/// A server as its tasks see it: the client, and whether it can be reached.
/// Used on the loop only (discovery and runs share its thread).
class server final {
 public:
  explicit server(settings s) : client_(std::move(s)) {}

  [[nodiscard]] const client& connection() const noexcept { return client_; }
  [[nodiscard]] const std::string& base_url() const noexcept { return client_.options().base_url; }

  /// Why runs fail fast now, or nothing when they go to the server (the
  /// last discovery reached it, or none has been tried yet).
  [[nodiscard]] const std::optional<std::string>& unavailable() const noexcept { return unavailable_; }
  void mark_available() noexcept { unavailable_.reset(); }
  void mark_unavailable(std::string why) { unavailable_ = std::move(why); }

 private:
  client client_;
  std::optional<std::string> unavailable_;
};

/// A processor running remote task `task_id` of `srv` with `params`.
[[nodiscard]] std::shared_ptr<engine::processor> make_remote_processor(std::shared_ptr<server> srv, std::string task_id,
                                                                       boost::json::value params);

}  // namespace cascadence::adapters::cronyx
