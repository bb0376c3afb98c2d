#pragma once

// The address the server's per-client connection limit counts a client by.
// Only net's own .cpp files (and its tests) include this.

#include <boost/asio/ip/address.hpp>

namespace cascadence::net::detail {

/// IPv4 addresses as they are, IPv4-mapped IPv6 addresses as the IPv4
/// address they carry (a dual-stack socket reports those), other IPv6
/// addresses by their /64 prefix: one host commonly holds a whole /64, so
/// counting its addresses one by one would not limit it.
[[nodiscard]] boost::asio::ip::address client_key(const boost::asio::ip::address& address) noexcept;

}  // namespace cascadence::net::detail
