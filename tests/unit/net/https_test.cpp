// HTTPS end to end: our server over TLS with a self-signed certificate made
// at test time by the openssl command, and our client verifying it.

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "tests/unit/net/net_test_support.hpp"

#include <doctest/doctest.h>
#include <boost/asio/ssl/context.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

using namespace cascadence::net;
using namespace cascadence::test;
using namespace std::chrono_literals;

namespace {

// A key and a self-signed certificate for `names` (subjectAltName syntax) in
// a fresh directory, removed again at the end of the test.
struct self_signed final {
  std::filesystem::path dir;
  std::filesystem::path cert;
  std::filesystem::path key;

  explicit self_signed(const std::string& names = "DNS:localhost,IP:127.0.0.1") {
    dir = std::filesystem::temp_directory_path() / ("cascadence-net-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    cert = dir / "cert.pem";
    key = dir / "key.pem";
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost"
        " -addext subjectAltName=" +
        names + " -keyout '" + key.string() + "' -out '" + cert.string() + "' >/dev/null 2>&1";
    REQUIRE(std::system(command.c_str()) == 0);
  }
  ~self_signed() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  self_signed(const self_signed&) = delete;
  self_signed& operator=(const self_signed&) = delete;
};

router hello_router() {
  router r;
  r.get("/hello", [](request& req) { return response::text(200, "hello over " + std::string(*req.header("host"))); });
  return r;
}

}  // namespace

TEST_CASE("the client refuses a self-signed certificate by default and accepts it as an explicit CA" *
          doctest::timeout(60)) {
  self_signed pki;
  asio::io_context io;
  asio::ssl::context tls(asio::ssl::context::tls_server);
  tls.use_certificate_chain_file(pki.cert.string());
  tls.use_private_key_file(pki.key.string(), asio::ssl::context::pem);
  http_server server(io.get_executor(), hello_router(), server_options{}, tls);
  REQUIRE_FALSE(server.start());
  const std::string url = "https://localhost:" + std::to_string(server.port()) + "/hello";

  http_client strict(io.get_executor());
  client_options trusting_options;
  trusting_options.ca_file = pki.cert.string();
  http_client trusting(io.get_executor(), trusting_options);

  struct outcome {
    client_result refused;
    client_result accepted;
    client_result reused;
  };
  auto got = run_with_server(io, server, [](http_client& s, http_client& t, std::string u) -> asio::awaitable<outcome> {
    outcome out;
    out.refused = co_await s.get(u);
    out.accepted = co_await t.get(u);
    out.reused = co_await t.get(u);
    co_return out;
  }(strict, trusting, url));

  REQUIRE_FALSE(got.refused.has_value());
  CHECK(got.refused.error().code == client_errc::tls_failed);
  CHECK(got.refused.error().attempts == 1);
  CHECK(got.refused.error().message.find("certificate") != std::string::npos);

  REQUIRE(got.accepted.has_value());
  CHECK(got.accepted->status == 200);
  CHECK(got.accepted->body == "hello over localhost:" + std::to_string(server.port()));
  REQUIRE(got.reused.has_value());
  CHECK(trusting.stats().connections_opened == 1);
  CHECK(trusting.stats().connections_reused == 1);
}

TEST_CASE("a certificate for another host name is refused even when it is trusted" * doctest::timeout(60)) {
  self_signed pki("DNS:other.example");
  asio::io_context io;
  asio::ssl::context tls(asio::ssl::context::tls_server);
  tls.use_certificate_chain_file(pki.cert.string());
  tls.use_private_key_file(pki.key.string(), asio::ssl::context::pem);
  http_server server(io.get_executor(), hello_router(), server_options{}, tls);
  REQUIRE_FALSE(server.start());
  client_options o;
  o.ca_file = pki.cert.string();
  http_client client(io.get_executor(), o);
  auto res = run_with_server(io, server, client.get("https://localhost:" + std::to_string(server.port()) + "/hello"));
  REQUIRE_FALSE(res.has_value());
  CHECK(res.error().code == client_errc::tls_failed);
}

TEST_CASE("plain HTTP sent to the TLS port is dropped without harming the server" * doctest::timeout(60)) {
  self_signed pki;
  asio::io_context io;
  asio::ssl::context tls(asio::ssl::context::tls_server);
  tls.use_certificate_chain_file(pki.cert.string());
  tls.use_private_key_file(pki.key.string(), asio::ssl::context::pem);
  http_server server(io.get_executor(), hello_router(), server_options{}, tls);
  REQUIRE_FALSE(server.start());
  client_options o;
  o.ca_file = pki.cert.string();
  http_client client(io.get_executor(), o);
  const auto port = server.port();
  auto res = run_with_server(io, server, [](http_client& c, std::uint16_t p) -> asio::awaitable<client_result> {
    (void)co_await raw_exchange(p, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    co_return co_await c.get("https://localhost:" + std::to_string(p) + "/hello");
  }(client, port));
  REQUIRE(res.has_value());
  CHECK(res->status == 200);
  CHECK(server.stats().session_errors == 0);
}
