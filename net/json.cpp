#include "net/json.hpp"

#include "core/text.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace cascadence::net {

namespace {

boost::json::value with_valid_utf8(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::string:
      return boost::json::string(core::to_valid_utf8(v.get_string()));
    case boost::json::kind::array: {
      boost::json::array out;
      out.reserve(v.get_array().size());
      for (const auto& e : v.get_array()) out.push_back(with_valid_utf8(e));
      return out;
    }
    case boost::json::kind::object: {
      boost::json::object out;
      out.reserve(v.get_object().size());
      for (const auto& [k, e] : v.get_object()) out[core::to_valid_utf8(k)] = with_valid_utf8(e);
      return out;
    }
    default:
      return v;
  }
}

}  // namespace

std::string json_text(const boost::json::value& value) {
  std::string text = boost::json::serialize(value);
  // Boost.JSON copies string bytes through unchecked; repair only when needed.
  if (core::is_valid_utf8(text)) return text;
  return boost::json::serialize(with_valid_utf8(value));
}

response json_response(unsigned status, const boost::json::value& value) {
  // Built whole: a default response would first allocate its text/plain type.
  return response{status, std::string(json_content_type), {}, json_text(value)};
}

result<boost::json::value, std::string> parse_json(std::string_view body, boost::json::storage_ptr storage) {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec, std::move(storage));
  if (ec) return "invalid JSON (" + ec.message() + ")";
  return value;
}

client_request json_request(http_method method, std::string url, const boost::json::value& value) {
  client_request req;
  req.method = method;
  req.url = std::move(url);
  req.body = json_text(value);
  req.headers.set("Content-Type", std::string(json_content_type));
  req.headers.set("Accept", std::string(json_content_type));
  return req;
}

boost::asio::awaitable<result<boost::json::value, client_error>> fetch_json(http_client& client, client_request req) {
  if (!req.headers.contains("Accept")) req.headers.set("Accept", std::string(json_content_type));
  const std::string url = req.url;
  auto out = co_await client.send(std::move(req));
  if (!out) co_return std::move(out).error();
  if (!out->ok()) {
    co_return client_error{client_errc::http_status, url + " answered " + std::to_string(out->status), out->attempts,
                           out->status};
  }
  auto parsed = parse_json(out->body);
  if (!parsed) {
    co_return client_error{client_errc::invalid_json, url + ": " + parsed.error(), out->attempts, out->status};
  }
  co_return std::move(parsed).value();
}

}  // namespace cascadence::net
