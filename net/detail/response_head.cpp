#include "net/detail/response_head.hpp"

#include "net/detail/beast_message.hpp"

#include <boost/beast/http/status.hpp>

#include <charconv>

namespace cascadence::net::detail {

namespace {

void append_number(std::string& out, std::uint64_t n) {
  char digits[24];
  const auto r = std::to_chars(std::begin(digits), std::end(digits), n);
  out.append(digits, r.ptr);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

}  // namespace

bool write_response_head(const response& res, const head_options& options, std::string& out) {
  if (res.status < 200 || res.status > 599) return false;
  out += options.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  append_number(out, res.status);
  out += ' ';
  const auto reason = boost::beast::http::obsolete_reason(boost::beast::http::int_to_status(res.status));
  out.append(reason.data(), reason.size());
  out += "\r\n";
  if (!options.server_name.empty()) append_field(out, "Server", options.server_name);
  for (const auto& [name, value] : res.headers) {
    if (!valid_field_name(name) || !valid_field_value(value)) return false;
    if (is_framing_field(name)) continue;
    append_field(out, name, value);
  }
  if (!res.content_type.empty()) {
    if (!valid_field_value(res.content_type)) return false;
    append_field(out, "Content-Type", res.content_type);
  }
  if (status_allows_body(res.status)) {
    out += "Content-Length: ";
    append_number(out, res.body.size());
    out += "\r\n";
  }
  if (options.version == 10) {
    if (options.keep_alive) out += "Connection: keep-alive\r\n";
  } else if (!options.keep_alive) {
    out += "Connection: close\r\n";
  }
  out += "\r\n";
  return true;
}

}  // namespace cascadence::net::detail
