#include "adapters/events/event_json.hpp"

#include "core/text.hpp"
#include "core/time_text.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"

#include <charconv>

namespace cascadence::adapters::events {

namespace {

// `text` as a JSON string; bytes that are not UTF-8 become U+FFFD.
void append_string(std::string& out, std::string_view text) {
  std::string repaired;
  if (!core::is_valid_utf8(text)) {
    repaired = core::to_valid_utf8(text);
    text = repaired;
  }
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  // Runs of characters that need no escape are appended whole.
  const auto plain = [](char c) { return c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20; };
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && plain(text[j])) ++j;
    out.append(text.data() + i, j - i);
    if (j == text.size()) break;
    const char c = text[j];
    i = j + 1;
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      switch (c) {
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          out += "\\u00";
          out += hex[u >> 4U];
          out += hex[u & 0xFU];
      }
    }
  }
  out += '"';
}

void append_number(std::string& out, unsigned n) {
  char buf[16];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

void append_id(std::string& out, const engine::run_id& id) {
  out += '"';
  id.append_to(out);
  out += '"';
}

void append_hash(std::string& out, const engine::task_record& record) {
  if (record.user_hash.empty()) {
    out += "null";
  } else {
    append_string(out, record.user_hash);
  }
}

void append_time(std::string& out, std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point{}) {
    out += "null";
    return;
  }
  out += '"';
  core::append_utc(out, t);
  out += '"';
}

// The members of the seed's task spec, without braces.
void append_spec_members(std::string& out, const engine::graph& g, const engine::task_record& record) {
  out += "\"id\":";
  append_id(out, record.id);
  out += ",\"name\":";
  append_string(out, g.name(record.task));
  out += ",\"description\":";
  append_string(out, g.settings(record.task).description);
  out += ",\"user_hash\":";
  append_hash(out, record);
}

}  // namespace

std::string task_started_event(const engine::graph& g, const engine::task_record& record, unsigned attempt) {
  std::string out;
  out.reserve(256 + g.settings(record.task).description.size());
  out += '{';
  append_spec_members(out, g, record);
  out += ",\"version\":";
  append_number(out, schema_version);
  out += ",\"type\":\"task_spec\",\"run_id\":";
  append_id(out, record.run);
  out += ",\"attempt\":";
  append_number(out, attempt);
  out += '}';
  return out;
}

std::string task_settled_event(const engine::graph& g, const engine::task_record& record) {
  std::string out;
  out.reserve(448 + g.settings(record.task).description.size() + record.error.size());
  out += "{\"version\":";
  append_number(out, schema_version);
  out += ",\"type\":\"task_run\",\"spec\":{";
  append_spec_members(out, g, record);
  out += "},\"run_id\":";
  append_id(out, record.run);
  out += ",\"status\":\"";
  out += engine::to_string(record.status);
  out += "\",\"started_at\":";
  // A task that never ran an attempt (skipped, cancelled first) never started.
  append_time(out, record.attempts == 0 ? std::chrono::system_clock::time_point{} : record.started);
  out += ",\"finished_at\":";
  append_time(out, record.finished);
  out += ",\"user_hash\":";
  append_hash(out, record);
  out += ",\"attempt\":";
  append_number(out, record.attempts);
  out += ",\"error\":";
  if (record.error.empty()) {
    out += "null";
  } else {
    append_string(out, record.error);
  }
  out += '}';
  return out;
}

}  // namespace cascadence::adapters::events
