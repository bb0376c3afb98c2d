#include "service/http_front.hpp"

#include "service/run_report_json.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/json/object.hpp>

namespace cascadence::service {

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto addr = boost::asio::ip::make_address(std::string(host), ec);
  return !ec && addr.is_loopback();
}

net::server_options server_options_of(const config& cfg, const listen_address& at) {
  net::server_options o;
  o.host = at.host;
  o.port = at.port;
  o.body_limit = cfg.http.body_limit;
  o.header_limit = cfg.http.header_limit;
  o.read_timeout = cfg.http.read_timeout;
  o.max_connections = cfg.http.max_connections;
  o.max_connections_per_client = cfg.http.max_connections_per_client;
  return o;
}

adapters::api::api_options api_options_of(const config& cfg, const listen_address& at) {
  adapters::api::api_options o;
  o.token = api_token(cfg);
  o.require_token = !is_loopback_host(at.host);
  if (o.require_token && o.token.empty()) {
    throw config_error("refusing to serve the REST API on non-loopback address " + at.host +
                       " without a token (set api.token in the configuration or CASCADENCE_API_TOKEN)");
  }
  return o;
}

adapters::api::finished_run to_finished_run(const engine::graph& g, const engine::run_report& report) {
  adapters::api::finished_run out;
  for (const auto& r : report.records) out.tasks.push_back(task_record_json(g, r));
  out.status = run_outcome(report);
  if (out.status != "success") out.cancel_reason = report.cancel_reason;
  return out;
}

}  // namespace cascadence::service
