#pragma once

// JSON helpers for both sides of net: answering with JSON, sending JSON,
// reading JSON bodies. Boost.JSON values throughout.

#include "core/result.hpp"
#include "net/http_client.hpp"
#include "net/http_message.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace cascadence::net {

using core::result;

/// The content type net uses for JSON bodies.
inline constexpr std::string_view json_content_type = "application/json";

/// `value` serialized, always valid UTF-8: strings and keys holding bytes
/// that are not (a source name from a URL, a description from a file) have
/// them replaced by U+FFFD. Every JSON document Cascadence writes goes
/// through it.
[[nodiscard]] std::string json_text(const boost::json::value& value);

/// A response whose body is json_text(value), typed application/json.
[[nodiscard]] response json_response(unsigned status, const boost::json::value& value);

/// Parses `body` as one JSON document, allocating from `storage` (the
/// default resource when null); the error says where parsing failed.
[[nodiscard]] result<boost::json::value, std::string> parse_json(std::string_view body,
                                                                 boost::json::storage_ptr storage = {});

/// A client request with `value` as its JSON body and JSON accepted back.
[[nodiscard]] client_request json_request(http_method method, std::string url, const boost::json::value& value);

/// Sends `req` (with `Accept: application/json`) and parses a 2xx response
/// body as JSON. Other statuses are http_status errors (with the status),
/// an unparsable body an invalid_json error.
[[nodiscard]] boost::asio::awaitable<result<boost::json::value, client_error>> fetch_json(http_client& client,
                                                                                          client_request req);

}  // namespace cascadence::net
