#pragma once

// The status line and header fields of a response, written straight into a
// string: what the server sends before the body, without building a Beast
// message and running its serializer for every answer. Only net's own .cpp
// files include this.

#include "net/http_message.hpp"

#include <string>
#include <string_view>

namespace cascadence::net::detail {

/// What the server decides about a response besides the handler's fields.
struct head_options final {
  /// 10 or 11: the request's version.
  unsigned version = 11;
  /// False adds `Connection: close` (HTTP/1.1); true adds
  /// `Connection: keep-alive` to an HTTP/1.0 response.
  bool keep_alive = true;
  /// The Server field; empty sends none.
  std::string_view server_name;
};

/// True when `status` may carry a body (not 1xx, 204 or 304).
[[nodiscard]] constexpr bool status_allows_body(unsigned status) noexcept {
  return status >= 200 && status != 204 && status != 304;
}

/// Appends the head of `res` to `out`: status line with the standard reason
/// phrase, Server, the handler's fields (framing fields dropped: the server
/// owns them), Content-Type unless empty, Content-Length of `res.body`
/// unless the status allows no body, Connection as keep-alive requires, and
/// the blank line. False, with `out` unspecified, when `res` must not be
/// sent: a status outside 200-599, or a field name that is not a token or a
/// value holding CR, LF or NUL (header injection).
[[nodiscard]] bool write_response_head(const response& res, const head_options& options, std::string& out);

/// The interim `100 Continue` response, head only.
inline constexpr std::string_view continue_head = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace cascadence::net::detail
