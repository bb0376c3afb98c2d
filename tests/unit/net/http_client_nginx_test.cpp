// net::http_client against a real TLS server that is not ours: Debian's
// nginx, started around this test by ctest's `nginx` fixture
// (scripts/services/nginx start/stop), which leaves its port and its
// self-signed certificates in $CASCADENCE_SERVICES_DIR/nginx. nginx names the
// server it chose and the SNI it got in its answers (`$ssl_server_name`).

#include "net/http_client.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

using namespace cascadence;
using namespace cascadence::net;

namespace {

struct nginx_service final {
  std::filesystem::path dir;
  std::string port;

  [[nodiscard]] std::string url(std::string_view host, std::string_view path) const {
    return "https://" + std::string(host) + ":" + port + std::string(path);
  }
  /// The self-signed certificate of the server named `localhost`.
  [[nodiscard]] std::string localhost_cert() const { return (dir / "localhost.pem").string(); }
};

nginx_service started_nginx() {
  const char* base = std::getenv("CASCADENCE_SERVICES_DIR");
  REQUIRE_MESSAGE((base != nullptr && *base != '\0'),
                  "CASCADENCE_SERVICES_DIR is not set: run this test through ctest, whose nginx fixture starts "
                  "nginx (scripts/services/nginx start)");
  nginx_service s{std::filesystem::path(base) / "nginx", {}};
  std::ifstream port_file(s.dir / "port");
  REQUIRE_MESSAGE(port_file.good(),
                  "no nginx port in " << (s.dir / "port").string() << ": the nginx fixture did not start it");
  port_file >> s.port;
  REQUIRE_FALSE(s.port.empty());
  return s;
}

client_options one_attempt() {
  client_options o;
  o.max_attempts = 1;
  return o;
}

}  // namespace

TEST_CASE("a GET to nginx succeeds when its self-signed certificate is trusted explicitly, with SNI" *
          doctest::timeout(30)) {
  const auto nginx = started_nginx();
  boost::asio::io_context io;
  auto options = one_attempt();
  options.ca_file = nginx.localhost_cert();
  http_client client(io.get_executor(), options);

  auto res = test::run_async(io, client.get(nginx.url("localhost", "/hello")));
  REQUIRE_MESSAGE(res.has_value(), res.error().message);
  CHECK(res->status == 200);
  // nginx picked the `localhost` server because the client sent that name.
  CHECK(res->body == "hello from nginx, sni=localhost\n");

  auto missing = test::run_async(io, client.get(nginx.url("localhost", "/nowhere")));
  REQUIRE(missing.has_value());
  CHECK(missing->status == 404);
  CHECK(client.stats().connections_opened == 1);  // the second request reused the TLS connection
}

TEST_CASE("without trusting nginx's certificate the handshake fails and says why" * doctest::timeout(30)) {
  const auto nginx = started_nginx();
  boost::asio::io_context io;
  http_client client(io.get_executor(), one_attempt());  // the system trust store only

  auto res = test::run_async(io, client.get(nginx.url("localhost", "/hello")));
  REQUIRE_FALSE(res.has_value());
  CHECK(res.error().code == client_errc::tls_failed);
  const auto& message = res.error().message;
  INFO("message: " << message);
  CHECK(message.find("TLS handshake with localhost:" + nginx.port) != std::string::npos);
  CHECK(message.find("certificate") != std::string::npos);
}

TEST_CASE("a client that sends no server name gets nginx's default certificate, refused for that host" *
          doctest::timeout(30)) {
  const auto nginx = started_nginx();
  boost::asio::io_context io;
  auto options = one_attempt();
  // Both certificates trusted: only the name check can refuse.
  options.ca_file = (nginx.dir / "both.pem").string();
  {
    std::ofstream both(options.ca_file);
    both << std::ifstream(nginx.localhost_cert()).rdbuf() << std::ifstream(nginx.dir / "default.pem").rdbuf();
  }
  http_client client(io.get_executor(), options);

  // An IP literal is never sent as SNI (RFC 6066 3), so nginx answers with
  // its default server's certificate (default.invalid), not localhost's.
  auto by_address = test::run_async(io, client.get(nginx.url("127.0.0.1", "/hello")));
  REQUIRE_FALSE(by_address.has_value());
  CHECK(by_address.error().code == client_errc::tls_failed);
  auto by_name = test::run_async(io, client.get(nginx.url("localhost", "/hello")));
  REQUIRE_MESSAGE(by_name.has_value(), by_name.error().message);
  CHECK(by_name->body == "hello from nginx, sni=localhost\n");
}
