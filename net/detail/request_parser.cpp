#include "net/detail/request_parser.hpp"

#include <boost/beast/http/error.hpp>

namespace cascadence::net::detail {

namespace http = boost::beast::http;

request_parser::request_parser(request& req) : req_(req) {
  req_.target.clear();
  req_.path.clear();
  req_.query.clear();
  req_.headers.clear();
  req_.body.clear();
  req_.params.clear();
  req_.route = nullptr;
}

void request_parser::on_request_impl(http::verb, string_view method_str, string_view target, int version, error_code&) {
  method_ = net::parse_method(std::string_view(method_str.data(), method_str.size()));
  version_ = static_cast<unsigned>(version);
  req_.version = version_;
  req_.target.assign(target.data(), target.size());
}

void request_parser::on_response_impl(int, string_view, int, error_code& ec) {
  ec = http::error::bad_version;  // unreachable: this parser only parses requests
}

void request_parser::on_field_impl(http::field, string_view name_string, string_view value, error_code&) {
  req_.headers.append(std::string_view(name_string.data(), name_string.size()),
                      std::string_view(value.data(), value.size()));
}

void request_parser::on_header_impl(error_code&) {}

void request_parser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code&) {
  // The parser has checked a declared length against the body limit.
  if (content_length) req_.body.reserve(static_cast<std::size_t>(*content_length));
}

std::size_t request_parser::on_body_impl(string_view body, error_code&) {
  req_.body.append(body.data(), body.size());
  return body.size();
}

void request_parser::on_chunk_header_impl(std::uint64_t, string_view, error_code&) {}

std::size_t request_parser::on_chunk_body_impl(std::uint64_t, string_view body, error_code&) {
  req_.body.append(body.data(), body.size());
  return body.size();
}

void request_parser::on_finish_impl(error_code&) {}

}  // namespace cascadence::net::detail
