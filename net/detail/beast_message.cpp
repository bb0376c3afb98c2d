#include "net/detail/beast_message.hpp"

#include <algorithm>

namespace cascadence::net::detail {

namespace http = boost::beast::http;

http::verb to_verb(http_method m) noexcept {
  switch (m) {
    case http_method::get:
      return http::verb::get;
    case http_method::head:
      return http::verb::head;
    case http_method::post:
      return http::verb::post;
    case http_method::put:
      return http::verb::put;
    case http_method::delete_:
      return http::verb::delete_;
    case http_method::patch:
      return http::verb::patch;
    case http_method::options:
      return http::verb::options;
  }
  return http::verb::get;
}

bool valid_field_name(std::string_view name) noexcept {
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           extra.find(c) != std::string_view::npos;
  });
}

bool valid_field_value(std::string_view value) noexcept {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool is_framing_field(std::string_view name) noexcept {
  return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") || iequals(name, "Connection");
}

header_map import_fields(const http::fields& fields) {
  header_map out;
  for (const auto& f : fields) out.add(std::string(f.name_string()), std::string(f.value()));
  return out;
}

bool export_fields(const header_map& headers, http::fields& out) {
  for (const auto& [name, value] : headers) {
    if (!valid_field_name(name) || !valid_field_value(value)) return false;
    if (is_framing_field(name)) continue;
    out.insert(name, value);
  }
  return true;
}

}  // namespace cascadence::net::detail
