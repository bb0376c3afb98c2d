#pragma once

// The client side of the remote plugin protocol v1 (docs/plugins.md): a
// Cronyx-style server's discovery (GET /v1/info, /tasks, /tasks/{id}) and
// its runs (POST /v1/tasks/{id}/runs, polling, cancel), on the caller's
// executor with the project's HTTP client and its retries.

#include "core/result.hpp"
#include "engine/outcome.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cascadence::engine {
class task_context;
}

namespace cascadence::adapters::cronyx {

/// The protocol versions this client speaks, in increasing order.
inline constexpr std::array<unsigned, 1> supported_versions{1};

/// How to reach one server and how long to wait for it.
struct settings final {
  /// `http://host:port` or `https://...`, optionally with a path prefix; no
  /// trailing slash (normalize_base_url() makes it so).
  std::string base_url;
  /// Connecting, and each request's whole answer (CRONYX_TIMEOUT).
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  /// Sent as `Authorization: Bearer <token>` when not empty (CRONYX_TOKEN).
  std::string token;
  /// How often `task serve` discovers again.
  std::chrono::milliseconds refresh{std::chrono::minutes(10)};
  /// The largest answer body accepted, in bytes.
  std::uint64_t body_limit = 8 * 1024 * 1024;
  /// The HTTP client's retries: attempts, and the first back-off (doubling).
  unsigned max_attempts = 3;
  std::chrono::milliseconds backoff{500};
  /// Idle keep-alive connections kept to the server.
  std::size_t max_idle = 64;

  friend bool operator==(const settings&, const settings&) = default;
};

/// Why a URL is refused, in one line.
struct url_refusal final {
  std::string message;
};

/// `text` without trailing slashes, or why it is not an absolute http(s)
/// URL without query or fragment.
[[nodiscard]] core::result<std::string, url_refusal> normalize_base_url(std::string_view text);

/// One task a server advertises.
struct task_info final {
  std::string id;
  std::string name;
  std::string description;
  /// The JSON schema of its params, null when the server gives none.
  boost::json::value params;
};

/// What a discovery found.
struct catalog final {
  /// The version both sides speak (the highest common one).
  unsigned protocol_version = 0;
  std::string server_name;
  std::string server_version;
  std::string runtime;
  std::vector<task_info> tasks;
};

/// The picked version: the highest of `offered` this client supports, or the
/// readable refusal naming both lists.
[[nodiscard]] core::result<unsigned, std::string> negotiate_version(const std::vector<unsigned>& offered);

/// A client of one server. Cheap to copy; the HTTP connections are kept per
/// execution context (the io_context of the awaiting coroutine), so one
/// client may serve a one-shot `task run` loop and a test's loop alike.
/// Every member that returns an awaitable runs on the awaiting coroutine's
/// executor, which must be an io_context's.
class client final {
 public:
  explicit client(settings s);

  [[nodiscard]] const settings& options() const noexcept { return *settings_; }

  /// GET /v1/info (version negotiation), GET /tasks and GET /tasks/{id} for
  /// each. The error is one line starting `remote server <base url>: `.
  [[nodiscard]] boost::asio::awaitable<core::result<catalog, std::string>> discover() const;

  /// Runs one attempt of remote task `task_id`: POST /v1/tasks/{id}/runs
  /// with Idempotency-Key `<run id>-<attempt>`, then polls a 202's Location
  /// until the run ends. When the attempt is cancelled (timeout or run
  /// cancellation) it sends POST /v1/runs/{id}/cancel and returns. The
  /// outcome's error starts `remote server <base url>: `.
  [[nodiscard]] boost::asio::awaitable<engine::outcome> run(engine::task_context& ctx, const std::string& task_id,
                                                            const boost::json::value& params) const;

 private:
  std::shared_ptr<const settings> settings_;
};

}  // namespace cascadence::adapters::cronyx
