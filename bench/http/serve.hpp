#pragma once

// The two HTTP servers `scripts/bench-http` loads with wrk, started by
// `cascadence-bench --serve NAME`: a bare Beast coroutine server (the
// baseline) and Cascadence's webhook route on net::http_server. Each serves
// on one thread until SIGINT or SIGTERM, then prints its counters.

#include <cstdint>
#include <string>

namespace cascadence::bench {

/// Where and how a benchmark server listens.
struct serve_config final {
  std::string host = "127.0.0.1";
  /// 0 picks a free port; the server prints the one it bound.
  std::uint16_t port = 0;
  /// The GitHub webhook secret of the Cascadence server (the baseline
  /// checks no signature).
  std::string secret = "bench-secret";
};

/// A minimal single-threaded Beast coroutine HTTP/1.1 keep-alive server: one
/// reserved flat buffer per connection, each request read whole into a
/// string body, answered 202 `{"status":"received"}`. Prints `listening on
/// http://HOST:PORT` once bound and, after SIGINT/SIGTERM, one JSON line with
/// its counters. Returns the exit status.
[[nodiscard]] int serve_http_baseline(const serve_config& config);

/// The same contract on Cascadence's stack: net::http_server with the route
/// table of `task webhook` (/healthz, /metrics, /api/v1, /webhook/...), the
/// GitHub source signed with `config.secret`, and one built-in subscriber
/// that counts the `push` events delivered to it.
[[nodiscard]] int serve_http_webhook(const serve_config& config, bool journaled = false);

/// A remote plugin server (protocol v1) whose one task, `noop`, succeeds at
/// once (bench/remote/noop_server.cpp), for the client side of `remote`.
[[nodiscard]] int serve_remote_noop(const serve_config& config);

}  // namespace cascadence::bench
