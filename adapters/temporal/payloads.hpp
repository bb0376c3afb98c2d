#pragma once

// Temporal's payloads and failures as JSON (docs/temporal.md): the standard
// form `{"payloads":[{"metadata":{"encoding":<base64>},"data":<base64>}]}`
// and the HTTP API's shorthand (a bare array of values) both read; the
// standard form written, which every server accepts.

#include <boost/json/fwd.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cascadence::adapters::temporal {

/// Standard base64 with padding.
[[nodiscard]] std::string base64_encode(std::string_view bytes);
/// Standard or URL-safe base64, padding optional; nothing when `text` is
/// not base64.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);

/// The values of a `Payloads` (either form) or of a single `Payload`:
/// json/plain and json/protobuf as their JSON, binary/null as null, other
/// encodings as a string "<N bytes of ENCODING>".
[[nodiscard]] std::vector<boost::json::value> decode_payloads(const boost::json::value& payloads);

/// `values` as a standard `Payloads` of json/plain payloads.
[[nodiscard]] boost::json::value encode_payloads(const std::vector<boost::json::value>& values);

/// A Temporal `Failure` in one line: its message, what kind it is (the
/// application error type and non-retryable, the timeout type, canceled,
/// terminated, the activity and its retry state), then `: caused by: ...`
/// for its causes (at most 8 deep).
[[nodiscard]] std::string describe_failure(const boost::json::value& failure);

/// An enum value in words, without its prefix, in either spelling:
/// RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED and MaximumAttemptsReached both give
/// "maximum attempts reached".
[[nodiscard]] std::string enum_words(std::string text, std::string_view prefix);

}  // namespace cascadence::adapters::temporal
