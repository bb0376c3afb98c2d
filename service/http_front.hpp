#pragma once

// The HTTP side of `task serve` and `task webhook`: what the serve loop
// needs to expose webhooks, the REST API and /healthz on its io_context.

#include "adapters/api/api_service.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"
#include "net/http_server.hpp"
#include "service/config.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace cascadence::service {

/// Where `task serve` / `task webhook` listen (`--host`, `--port`).
struct listen_address final {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;
};

/// True when `host` is a loopback address (127.0.0.0/8, ::1, localhost):
/// only then may /api/v1 go without a bearer token.
[[nodiscard]] bool is_loopback_host(std::string_view host);

/// The server options from the `http:` configuration and the address.
[[nodiscard]] net::server_options server_options_of(const config& cfg, const listen_address& at);

/// The API options: a token is required off loopback. Throws config_error
/// when it is required and none is configured.
[[nodiscard]] adapters::api::api_options api_options_of(const config& cfg, const listen_address& at);

/// A graph run as the REST API reports it.
[[nodiscard]] adapters::api::finished_run to_finished_run(const engine::graph& g, const engine::run_report& report);

}  // namespace cascadence::service
