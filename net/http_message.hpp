#pragma once

// Our own HTTP request and response types: what handlers and client callers
// see. No Beast type appears here; the server and client convert at the edge.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cascadence::net {

/// The request methods the router dispatches on and the client sends.
enum class http_method : std::uint8_t { get, head, post, put, delete_, patch, options };

/// The method's name as written on the wire ("GET", "DELETE", ...).
[[nodiscard]] std::string_view to_string(http_method m) noexcept;
/// The method with this exact (case-sensitive) name, if it is one we know.
[[nodiscard]] std::optional<http_method> parse_method(std::string_view name) noexcept;

/// An ordered list of header fields with case-insensitive names. Repeated
/// fields are kept, in order. Cleared fields keep their storage for the
/// fields added next (a server reuses one map for a connection's requests).
class header_map final {
 public:
  using field = std::pair<std::string, std::string>;
  using const_iterator = std::vector<field>::const_iterator;

  /// The value of the first field named `name`, if any.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const noexcept;
  /// True when a field named `name` is present.
  [[nodiscard]] bool contains(std::string_view name) const noexcept { return get(name).has_value(); }
  /// Replaces every field named `name` with one field holding `value`.
  void set(std::string name, std::string value);
  /// Appends a field, keeping any existing one of the same name.
  void add(std::string name, std::string value);
  /// Appends a copy of a field, into storage left by cleared fields when
  /// there is some.
  void append(std::string_view name, std::string_view value);
  /// Removes every field named `name`; returns how many were removed.
  std::size_t erase(std::string_view name) noexcept;
  /// Removes every field.
  void clear() noexcept { size_ = 0; }

  [[nodiscard]] const_iterator begin() const noexcept { return fields_.begin(); }
  [[nodiscard]] const_iterator end() const noexcept { return fields_.begin() + static_cast<std::ptrdiff_t>(size_); }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

 private:
  // The fields are [0, size_); what follows is storage kept for reuse.
  std::vector<field> fields_;
  std::size_t size_ = 0;
};

/// True when `a` and `b` are equal ignoring ASCII case (header names, schemes).
[[nodiscard]] bool iequals(std::string_view a, std::string_view b) noexcept;

/// `text` percent-encoded for a URL path segment or query value: RFC 3986
/// unreserved characters kept, every other byte as %XX.
[[nodiscard]] std::string percent_encode(std::string_view text);

/// A registered route: its method and its pattern (`/api/v1/runs/{id}`).
struct route_info final {
  http_method method = http_method::get;
  std::string pattern;
};

/// An HTTP request as a handler sees it.
struct request final {
  http_method method = http_method::get;
  /// The request target as received: percent-encoded path and query.
  std::string target;
  /// The percent-encoded path component of the target.
  std::string path;
  /// The query parameters in order, percent-decoded ('+' is a space).
  std::vector<std::pair<std::string, std::string>> query;
  header_map headers;
  std::string body;
  /// 10 for HTTP/1.0, 11 for HTTP/1.1.
  unsigned version = 11;
  /// The peer's IP address, when the request came over a socket.
  std::string remote_address;
  /// Path parameters captured by the matched route, percent-decoded.
  std::vector<std::pair<std::string, std::string>> params;
  /// The route that matched, set by the router; null when none did.
  const route_info* route = nullptr;

  /// The path parameter `name` of the matched route, if captured.
  [[nodiscard]] std::optional<std::string_view> param(std::string_view name) const noexcept;
  /// The first query parameter named `name`, if present.
  [[nodiscard]] std::optional<std::string_view> query_value(std::string_view name) const noexcept;
  /// The first header named `name`, if present.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const noexcept {
    return headers.get(name);
  }

  /// A request for `target` (origin form `/p?q` or absolute form
  /// `http://h/p?q`), with `path` and `query` split out and decoded; nothing
  /// when the target is not a valid URI reference of those forms.
  [[nodiscard]] static std::optional<request> from_target(http_method m, std::string_view target);
  /// Sets `method`, `target`, `path` and `query` as from_target() makes
  /// them, reusing this request's storage; false (and those fields
  /// unspecified) when the target is not valid.
  [[nodiscard]] bool assign_target(http_method m, std::string_view target);
};

/// An HTTP response as a handler produces it.
struct response final {
  unsigned status = 200;
  /// Sent as the Content-Type header unless empty.
  std::string content_type = "text/plain; charset=utf-8";
  header_map headers;
  std::string body;

  /// A response with a plain-text body.
  [[nodiscard]] static response text(unsigned status, std::string body);
  /// A response without a body or content type.
  [[nodiscard]] static response empty(unsigned status);
};

/// The status class a response belongs to: 1 for 1xx ... 5 for 5xx, 0 outside.
[[nodiscard]] constexpr unsigned status_class(unsigned status) noexcept {
  return status >= 100 && status < 600 ? status / 100 : 0;
}

}  // namespace cascadence::net
