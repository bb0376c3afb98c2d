#pragma once

// Conversions between our message types and Beast's, shared by the server
// and the client. Only net's own .cpp files include this.

#include "net/http_message.hpp"

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

#include <string_view>

namespace cascadence::net::detail {

/// The Beast verb of `m`.
[[nodiscard]] boost::beast::http::verb to_verb(http_method m) noexcept;

/// True when `name` is an RFC 9110 token (a valid field name).
[[nodiscard]] bool valid_field_name(std::string_view name) noexcept;

/// True when `value` holds no CR, LF or NUL (no header injection).
[[nodiscard]] bool valid_field_value(std::string_view value) noexcept;

/// True for the fields that frame a message (Content-Length,
/// Transfer-Encoding, Connection): the serializer owns them.
[[nodiscard]] bool is_framing_field(std::string_view name) noexcept;

/// Copies Beast fields into a header_map, in order.
[[nodiscard]] header_map import_fields(const boost::beast::http::fields& fields);

/// Copies user fields into Beast fields, skipping framing fields. False (and
/// nothing guaranteed about `out`) when a name or value is invalid.
[[nodiscard]] bool export_fields(const header_map& headers, boost::beast::http::fields& out);

}  // namespace cascadence::net::detail
