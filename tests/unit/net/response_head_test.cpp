#include "net/detail/response_head.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace cascadence::net;
using cascadence::net::detail::head_options;
using cascadence::net::detail::write_response_head;

namespace {

std::string head_of(const response& res, head_options options) {
  std::string out;
  REQUIRE(write_response_head(res, options, out));
  return out;
}

}  // namespace

TEST_CASE("a response head has the status line, Server, the handler's fields, type and length") {
  auto res = response::text(202, "{}");
  res.content_type = "application/json";
  res.headers.add("X-Request-Id", "7");
  CHECK(head_of(res, {11, true, "cascadence"}) ==
        "HTTP/1.1 202 Accepted\r\nServer: cascadence\r\nX-Request-Id: 7\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\n\r\n");
  CHECK(head_of(response::empty(404), {11, true, ""}) == "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
}

TEST_CASE("Connection follows the version and keep-alive, and framing fields are the server's") {
  auto res = response::text(200, "hi");
  res.headers.add("Content-Length", "999");
  res.headers.add("Transfer-Encoding", "chunked");
  res.headers.add("Connection", "upgrade");
  const auto closing = head_of(res, {11, false, ""});
  CHECK(closing.find("Connection: close\r\n") != std::string::npos);
  CHECK(closing.find("Content-Length: 2\r\n") != std::string::npos);
  CHECK(closing.find("999") == std::string::npos);
  CHECK(closing.find("chunked") == std::string::npos);
  CHECK(closing.find("upgrade") == std::string::npos);
  CHECK(head_of(res, {11, true, ""}).find("Connection") == std::string::npos);
  const auto http10 = head_of(res, {10, true, ""});
  CHECK(http10.starts_with("HTTP/1.0 200 OK\r\n"));
  CHECK(http10.find("Connection: keep-alive\r\n") != std::string::npos);
  CHECK(head_of(res, {10, false, ""}).find("Connection") == std::string::npos);
}

TEST_CASE("204 and 304 carry no Content-Length; unknown codes get Beast's placeholder reason") {
  CHECK(head_of(response::empty(204), {11, true, ""}) == "HTTP/1.1 204 No Content\r\n\r\n");
  CHECK(head_of(response::empty(304), {11, true, ""}).find("Content-Length") == std::string::npos);
  CHECK(head_of(response::empty(299), {11, true, ""}).starts_with("HTTP/1.1 299 <unknown-status>\r\n"));
}

TEST_CASE("a status outside 200-599 or an injected field is refused") {
  std::string out;
  CHECK_FALSE(write_response_head(response::empty(101), {}, out));
  CHECK_FALSE(write_response_head(response::empty(600), {}, out));
  auto res = response::text(200, "x");
  res.headers.set("X-Injected", "a\r\nSet-Cookie: evil=1");
  CHECK_FALSE(write_response_head(res, {}, out));
  res = response::text(200, "x");
  res.headers.set("Bad Name", "v");
  CHECK_FALSE(write_response_head(res, {}, out));
  res = response::text(200, "x");
  res.content_type = "text/plain\r\nX: y";
  CHECK_FALSE(write_response_head(res, {}, out));
}
