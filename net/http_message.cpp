#include "net/http_message.hpp"

#include <boost/url/encoding_opts.hpp>
#include <boost/url/param.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <array>
#include <cctype>

namespace cascadence::net {

namespace {
constexpr std::array<std::pair<http_method, std::string_view>, 7> method_names{{
    {http_method::get, "GET"},
    {http_method::head, "HEAD"},
    {http_method::post, "POST"},
    {http_method::put, "PUT"},
    {http_method::delete_, "DELETE"},
    {http_method::patch, "PATCH"},
    {http_method::options, "OPTIONS"},
}};

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

template <typename Pairs>
std::optional<std::string_view> first_value(const Pairs& pairs, std::string_view name) noexcept {
  for (const auto& [k, v] : pairs) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}
}  // namespace

std::string_view to_string(http_method m) noexcept {
  for (const auto& [value, name] : method_names) {
    if (value == m) return name;
  }
  return "GET";
}

std::optional<http_method> parse_method(std::string_view name) noexcept {
  for (const auto& [value, known] : method_names) {
    if (known == name) return value;
  }
  return std::nullopt;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::optional<std::string_view> header_map::get(std::string_view name) const noexcept {
  for (const auto& [k, v] : *this) {
    if (iequals(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

void header_map::set(std::string name, std::string value) {
  erase(name);
  add(std::move(name), std::move(value));
}

void header_map::add(std::string name, std::string value) {
  if (size_ < fields_.size()) {
    fields_[size_] = field(std::move(name), std::move(value));
  } else {
    fields_.emplace_back(std::move(name), std::move(value));
  }
  ++size_;
}

void header_map::append(std::string_view name, std::string_view value) {
  if (size_ < fields_.size()) {
    fields_[size_].first.assign(name);
    fields_[size_].second.assign(value);
  } else {
    fields_.emplace_back(name, value);
  }
  ++size_;
}

std::size_t header_map::erase(std::string_view name) noexcept {
  const auto first = fields_.begin();
  const auto last = first + static_cast<std::ptrdiff_t>(size_);
  const auto kept = std::remove_if(first, last, [&](const field& f) { return iequals(f.first, name); });
  const auto removed = static_cast<std::size_t>(last - kept);
  size_ -= removed;
  return removed;
}

std::optional<std::string_view> request::param(std::string_view name) const noexcept {
  return first_value(params, name);
}

std::optional<std::string_view> request::query_value(std::string_view name) const noexcept {
  return first_value(query, name);
}

std::optional<request> request::from_target(http_method m, std::string_view target) {
  request req;
  if (!req.assign_target(m, target)) return std::nullopt;
  return req;
}

namespace {

// RFC 3986 pchar without pct-encoded (unreserved, sub-delims, ':', '@'), and
// '/': a target made of these after its leading '/' is an origin-form
// absolute path without query or escapes, which is its own path.
constexpr auto plain_path_chars = [] {
  std::array<bool, 256> table{};
  for (const unsigned char c : std::string_view("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                                "-._~!$&'()*+,;=:@/")) {
    table[c] = true;
  }
  return table;
}();

bool is_plain_path(std::string_view target) noexcept {
  return !target.empty() && target.front() == '/' && std::all_of(target.begin(), target.end(), [](char c) {
    return plain_path_chars[static_cast<unsigned char>(c)];
  });
}

}  // namespace

bool request::assign_target(http_method m, std::string_view new_target) {
  if (is_plain_path(new_target)) {  // the common case, without a URL parser
    method = m;
    if (new_target.data() != target.data()) target.assign(new_target);
    path.assign(new_target);
    query.clear();
    return true;
  }
  // Origin form is what clients send; absolute form must be accepted too
  // (RFC 9112 section 3.2.2). The authority form and `*` are not routable.
  auto parsed = !new_target.empty() && new_target.front() == '/' ? boost::urls::parse_origin_form(new_target)
                                                                 : boost::urls::parse_absolute_uri(new_target);
  if (!parsed) return false;
  const boost::urls::url_view url = *parsed;

  method = m;
  if (new_target.data() != target.data()) target.assign(new_target);  // the server parses `target` itself
  const std::string_view encoded_path = url.encoded_path();
  path.assign(encoded_path.empty() ? std::string_view("/") : encoded_path);
  if (path.front() != '/') return false;
  query.clear();
  if (url.has_query()) {
    for (auto p : url.params(boost::urls::encoding_opts(/*space_as_plus=*/true))) {
      query.emplace_back(std::move(p.key), std::move(p.value));
    }
  }
  return true;
}

response response::text(unsigned status, std::string body) {
  response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

response response::empty(unsigned status) {
  response r;
  r.status = status;
  r.content_type.clear();
  return r;
}

std::string percent_encode(std::string_view text) {
  static constexpr std::string_view hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4U];
      out += hex[u & 15U];
    }
  }
  return out;
}

}  // namespace cascadence::net
