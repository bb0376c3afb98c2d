#include "adapters/events/transports.hpp"

#include <stdexcept>

namespace cascadence::adapters::events {

std::unique_ptr<transport> make_transport(const settings& s, const boost::asio::any_io_executor& ex) {
  if (s.transport == "file") {
    if (s.path.empty()) throw std::runtime_error("events: transport file needs events.path");
    return make_file_transport(s.path);
  }
  if (s.transport == "http") {
    if (s.url.empty()) throw std::runtime_error("events: transport http needs events.url");
    return make_http_transport(ex, s.url, s.emitter.deadline);
  }
  if (s.transport == "nats") return make_nats_transport(s.nats_url, s.nats_subject);
  if (s.transport == "grpc") return make_grpc_transport(s.grpc_target, s.grpc_method);
  throw std::runtime_error("events: unknown transport '" + s.transport + "' (none, file, http, nats or grpc)");
}

}  // namespace cascadence::adapters::events
