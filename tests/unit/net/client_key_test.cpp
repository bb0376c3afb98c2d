#include "net/detail/client_key.hpp"

#include <doctest/doctest.h>

using boost::asio::ip::make_address;
using cascadence::net::detail::client_key;

TEST_CASE("an IPv4 client is counted by its address") {
  CHECK(client_key(make_address("127.0.0.2")) == make_address("127.0.0.2"));
  CHECK(client_key(make_address("127.0.0.2")) != client_key(make_address("127.0.0.3")));
}

TEST_CASE("an IPv4-mapped IPv6 client is counted as the IPv4 address it carries") {
  CHECK(client_key(make_address("::ffff:192.0.2.7")) == make_address("192.0.2.7"));
}

TEST_CASE("IPv6 clients of one /64 are counted as one") {
  CHECK(client_key(make_address("2001:db8:1:2:aaaa::1")) == make_address("2001:db8:1:2::"));
  CHECK(client_key(make_address("2001:db8:1:2:aaaa::1")) == client_key(make_address("2001:db8:1:2:ffff:1:2:3")));
  CHECK(client_key(make_address("2001:db8:1:2::1")) != client_key(make_address("2001:db8:1:3::1")));
  CHECK(client_key(make_address("::1")) == make_address("::"));
}
