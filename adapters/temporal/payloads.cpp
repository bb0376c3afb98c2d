#include "adapters/temporal/payloads.hpp"

#include "adapters/temporal/detail/json_fields.hpp"
#include "core/text.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cctype>
#include <cstdint>

namespace cascadence::adapters::temporal {

namespace json = boost::json;

namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// 0-63 for both alphabets' characters, -1 otherwise.
constexpr std::array<int, 256> decoding_table() {
  std::array<int, 256> t{};
  for (auto& v : t) v = -1;
  for (std::size_t i = 0; i < alphabet.size(); ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
  t['-'] = 62;
  t['_'] = 63;
  return t;
}
constexpr auto decoding = decoding_table();

using detail::member;
using detail::string_at;

// A standard payload: an object of exactly `metadata` and `data`, whose
// metadata values are base64 strings.
bool is_standard_payload(const json::value& v) {
  const auto* o = v.if_object();
  if (o == nullptr || !o->contains("metadata")) return false;
  for (const auto& [k, x] : *o) {
    if (k != "metadata" && k != "data") return false;
    if (k == "data" && !x.is_string()) return false;
  }
  const auto* md = o->at("metadata").if_object();
  if (md == nullptr) return false;
  for (const auto& [k, x] : *md) {
    if (!x.is_string() || !base64_decode(x.get_string())) return false;
  }
  return true;
}

json::value decode_one(const json::value& payload) {
  if (!is_standard_payload(payload)) return payload;  // shorthand: the value itself
  const auto& md = payload.at("metadata").get_object();
  std::string encoding;
  if (const auto* e = md.if_contains("encoding")) encoding = base64_decode(e->get_string()).value_or("");
  const auto data = base64_decode(string_at(payload, "data")).value_or("");
  if (encoding == "binary/null") return nullptr;
  if (encoding == "json/plain" || encoding == "json/protobuf") {
    boost::system::error_code ec;
    auto v = json::parse(data, ec);
    if (!ec) return v;
    return json::value("<" + std::to_string(data.size()) + " bytes of " + encoding + " that do not parse>");
  }
  // The name goes into a JSON string, which must stay UTF-8.
  const auto name = encoding.empty()                  ? std::string("unknown encoding")
                    : core::invalid_utf8_at(encoding) ? std::string("an encoding whose name is not UTF-8")
                                                      : encoding;
  return json::value("<" + std::to_string(data.size()) + " bytes of " + name + ">");
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16U |
                   static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8U |
                   static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[n >> 18U & 63U];
    out += alphabet[n >> 12U & 63U];
    out += alphabet[n >> 6U & 63U];
    out += alphabet[n & 63U];
  }
  if (const auto rest = bytes.size() - i; rest > 0) {
    auto n = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16U;
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8U;
    out += alphabet[n >> 18U & 63U];
    out += alphabet[n >> 12U & 63U];
    out += rest == 2 ? alphabet[n >> 6U & 63U] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = decoding[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = acc << 6U | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>(acc >> static_cast<unsigned>(bits) & 0xFFU);
    }
  }
  return out;
}

std::vector<json::value> decode_payloads(const json::value& payloads) {
  std::vector<json::value> out;
  if (const auto* list = payloads.if_array()) {
    for (const auto& p : *list) out.push_back(decode_one(p));
    return out;
  }
  if (const auto* standard = member(payloads, "payloads"); standard != nullptr && standard->is_array()) {
    for (const auto& p : standard->get_array()) out.push_back(decode_one(p));
    return out;
  }
  if (payloads.is_object() && payloads.get_object().empty()) return out;
  out.push_back(decode_one(payloads));  // a single Payload
  return out;
}

json::value encode_payloads(const std::vector<json::value>& values) {
  static const auto json_plain = base64_encode("json/plain");
  static const auto binary_null = base64_encode("binary/null");
  json::array list;
  for (const auto& v : values) {
    if (v.is_null()) {
      list.push_back(json::object{{"metadata", json::object{{"encoding", binary_null}}}, {"data", ""}});
    } else {
      list.push_back(json::object{{"metadata", json::object{{"encoding", json_plain}}},
                                  {"data", base64_encode(json::serialize(v))}});
    }
  }
  return json::object{{"payloads", std::move(list)}};
}

std::string describe_failure(const json::value& failure) {
  std::string out;
  const json::value* f = &failure;
  for (int depth = 0; f != nullptr && f->is_object() && depth < 8; ++depth) {
    if (depth > 0) out += ": caused by: ";
    auto message = string_at(*f, "message");
    std::vector<std::string> notes;
    if (const auto* app = member(*f, "applicationFailureInfo"); app != nullptr && app->is_object()) {
      if (auto type = string_at(*app, "type"); !type.empty()) notes.push_back("type " + type);
      if (const auto* nr = member(*app, "nonRetryable"); nr != nullptr && nr->is_bool() && nr->get_bool()) {
        notes.emplace_back("non-retryable");
      }
    } else if (const auto* timeout = member(*f, "timeoutFailureInfo"); timeout != nullptr) {
      notes.push_back(enum_words(string_at(*timeout, "timeoutType"), "TIMEOUT_TYPE_") + " timeout");
    } else if (member(*f, "canceledFailureInfo") != nullptr) {
      notes.emplace_back("canceled");
    } else if (member(*f, "terminatedFailureInfo") != nullptr) {
      notes.emplace_back("terminated");
    } else if (const auto* act = member(*f, "activityFailureInfo"); act != nullptr && act->is_object()) {
      if (const auto* type = member(*act, "activityType"); type != nullptr) {
        notes.push_back("activity " + string_at(*type, "name"));
      }
      if (auto state = string_at(*act, "retryState"); !state.empty()) {
        notes.push_back("retry state: " + enum_words(state, "RETRY_STATE_"));
      }
    } else if (member(*f, "serverFailureInfo") != nullptr) {
      notes.emplace_back("server failure");
    }
    if (message.empty()) message = notes.empty() ? std::string("failure") : notes.front();
    out += message;
    if (!notes.empty() && notes.front() != message) {
      out += " (";
      for (std::size_t i = 0; i < notes.size(); ++i) out += (i == 0 ? "" : ", ") + notes[i];
      out += ")";
    }
    f = member(*f, "cause");
  }
  return out;
}

std::string enum_words(std::string text, std::string_view prefix) {
  if (text.starts_with(prefix)) text.erase(0, prefix.size());
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (text[i] == '_') {
      out += ' ';
    } else if (std::isupper(c) != 0 && i > 0 && std::islower(static_cast<unsigned char>(text[i - 1])) != 0) {
      out += ' ';  // the legacy PascalCase spelling
      out += static_cast<char>(std::tolower(c));
    } else {
      out += static_cast<char>(std::tolower(c));
    }
  }
  return out;
}

}  // namespace cascadence::adapters::temporal
