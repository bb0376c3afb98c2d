#pragma once

#include "adapters/events/settings.hpp"
#include "adapters/events/transport.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>

namespace cascadence::adapters::events {

/// The transport `s` names, on `ex`. Throws std::runtime_error with the
/// reason when it cannot be made (a file that cannot be opened, a bad URL,
/// a transport this build does not have).
[[nodiscard]] std::unique_ptr<transport> make_transport(const settings& s, const boost::asio::any_io_executor& ex);

/// JSON lines appended to `path`, one write(2) per event so that lines of
/// concurrent writers never interleave.
[[nodiscard]] std::unique_ptr<transport> make_file_transport(const std::string& path);
/// One POST of a JSON array per batch, with the project's HTTP client
/// (its connect and request timeouts: `deadline`; no retry).
[[nodiscard]] std::unique_ptr<transport> make_http_transport(const boost::asio::any_io_executor& ex,
                                                             const std::string& url,
                                                             std::chrono::milliseconds deadline);
/// One unary gRPC call per event to /cascadence.events.v1.EventSink/`method` at `target` (HOST:PORT).
[[nodiscard]] std::unique_ptr<transport> make_grpc_transport(const std::string& target, const std::string& method);
/// NATS publishes with libnats, on a thread of its own.
[[nodiscard]] std::unique_ptr<transport> make_nats_transport(const std::string& url, const std::string& subject);

}  // namespace cascadence::adapters::events
