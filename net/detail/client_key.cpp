#include "net/detail/client_key.hpp"

namespace cascadence::net::detail {

boost::asio::ip::address client_key(const boost::asio::ip::address& address) noexcept {
  if (!address.is_v6()) return address;
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6);
  auto bytes = v6.to_bytes();
  for (std::size_t i = 8; i < bytes.size(); ++i) bytes[i] = 0;
  return boost::asio::ip::address_v6(bytes);
}

}  // namespace cascadence::net::detail
