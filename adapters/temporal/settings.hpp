#pragma once

// The Temporal cluster's address and credentials: what the configuration's
// `temporal:` block holds and the HTTP-API client takes. Light on purpose:
// service/config.hpp includes it.

#include <chrono>
#include <string>

namespace cascadence::adapters::temporal {

/// Where the cluster is and how to talk to it (`temporal:` in the
/// configuration; the TEMPORAL_* variables win, see service/config.hpp).
struct settings final {
  /// The frontend's HTTP API, `http://host:port` or `https://...`.
  std::string http_address = "http://127.0.0.1:7243";
  /// The frontend's gRPC `host:port` (workers; not used by this client).
  std::string address = "127.0.0.1:7233";
  std::string ns = "default";
  std::string task_queue = "cascadence";
  /// Sent as `Authorization: Bearer <key>` when not empty; never logged.
  std::string api_key;
  /// HTTPS: a PEM file of extra trusted CAs, and whether to verify the peer.
  std::string ca_file;
  bool verify_peer = true;
  /// Connecting and each ordinary request; also how long a wait keeps
  /// reconnecting to a server that went away before it gives up.
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  /// Who we are in the history (`identity` of starts, signals, cancels).
  std::string identity = "cascadence";

  friend bool operator==(const settings&, const settings&) = default;
};

}  // namespace cascadence::adapters::temporal
