#pragma once

// A Beast parser that writes a request straight into our request type:
// no Beast message or fields container in between, and the request's
// strings and vectors keep their storage from one request to the next.
// Only net's own .cpp files include this.

#include "net/http_message.hpp"

#include <boost/beast/http/basic_parser.hpp>

#include <cstdint>
#include <optional>

namespace cascadence::net::detail {

/// Parses one HTTP/1.x request into a net::request. Like any Beast parser it
/// parses one message; make a fresh one for each request.
class request_parser final : public boost::beast::http::basic_parser<true> {
 public:
  /// Parses into `req`, which is cleared first (its storage is kept).
  explicit request_parser(request& req);

  /// The request's method, when it is one we know (else it is answered
  /// 501). Meaningful once the header is done.
  [[nodiscard]] std::optional<http_method> method() const noexcept { return method_; }
  /// 10 for HTTP/1.0, 11 for HTTP/1.1. Meaningful once the header is done.
  [[nodiscard]] unsigned version() const noexcept { return version_; }

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb method, string_view method_str, string_view target, int version,
                       error_code& ec) override;
  void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length, error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, string_view extensions, error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, string_view body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override;

  request& req_;
  std::optional<http_method> method_;
  unsigned version_ = 11;
};

}  // namespace cascadence::net::detail
