#include "adapters/cronyx/detail/answers.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

namespace cascadence::adapters::cronyx::detail {

namespace json = boost::json;

namespace {

// Retry-After bounds of the protocol (docs/plugins.md, "Runs").
constexpr std::chrono::milliseconds min_poll{50};
constexpr std::chrono::milliseconds max_poll{std::chrono::seconds(5)};
constexpr std::chrono::milliseconds default_poll{500};

bool lower_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool valid_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
  });
}

}  // namespace

const json::value* member(const json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  return o == nullptr ? nullptr : o->if_contains(key);
}

std::string string_member(const json::value& v, std::string_view key) {
  const auto* m = member(v, key);
  return m != nullptr && m->is_string() ? std::string(m->get_string()) : std::string();
}

std::string problem_text(const json::value& doc) {
  auto title = string_member(doc, "title");
  auto detail = string_member(doc, "detail");
  if (title.empty()) return detail;
  return detail.empty() ? title : title + ": " + detail;
}

std::optional<std::string> read_info(const json::value& info, catalog& found) {
  std::vector<unsigned> offered;
  const auto* versions = member(info, "protocol_versions");
  if (versions == nullptr || !versions->is_array()) {
    return "GET /v1/info: no \"protocol_versions\" list in the answer";
  }
  for (const auto& v : versions->get_array()) {
    if (const auto* n = v.if_int64(); n != nullptr && *n > 0 && *n < 1'000'000) {
      offered.push_back(static_cast<unsigned>(*n));
    } else if (const auto* u = v.if_uint64(); u != nullptr && *u > 0 && *u < 1'000'000) {
      offered.push_back(static_cast<unsigned>(*u));
    }
  }
  auto version = negotiate_version(offered);
  if (!version) return std::move(version.error());
  found.protocol_version = version.value();
  found.server_name = string_member(info, "name");
  found.server_version = string_member(info, "version");
  found.runtime = string_member(info, "runtime");
  return std::nullopt;
}

std::optional<std::string> read_task_list(const json::value& list, std::vector<task_info>& tasks) {
  const auto* items = list.if_array();
  if (items == nullptr) return "GET /tasks: the answer is not a JSON list";
  for (std::size_t i = 0; i < items->size(); ++i) {
    const auto& item = (*items)[i];
    task_info t;
    if (item.is_string()) {
      t.id = item.get_string();
    } else if (const auto* id = member(item, "id"); id != nullptr && id->is_string()) {
      t.id = id->get_string();
      t.name = string_member(item, "name");
      t.description = string_member(item, "description");
    } else {
      return "GET /tasks: item " + std::to_string(i + 1) + " is neither a string nor an object with a string \"id\"";
    }
    if (!valid_id(t.id)) {
      return "GET /tasks: task id '" + t.id + "' cannot name a task (use letters, digits, '_', '-' and '.')";
    }
    if (std::any_of(tasks.begin(), tasks.end(), [&](const task_info& k) { return k.id == t.id; })) {
      return "GET /tasks: task id '" + t.id + "' is listed twice";
    }
    tasks.push_back(std::move(t));
  }
  return std::nullopt;
}

std::optional<std::string> read_task_detail(const json::value& detail, task_info& task) {
  if (!detail.is_object()) return "GET /tasks/" + task.id + ": the answer is not a JSON object";
  if (auto d = string_member(detail, "description"); !d.empty()) task.description = std::move(d);
  if (auto n = string_member(detail, "name"); !n.empty()) task.name = std::move(n);
  if (const auto* p = member(detail, "params")) task.params = *p;
  return std::nullopt;
}

std::optional<engine::outcome> terminal_outcome(const std::string& prefix, const std::string& task_id,
                                                const json::value& doc) {
  const auto* state = member(doc, "state");
  if (state == nullptr || !state->is_string()) {
    return engine::outcome::failure(prefix + "the answer for task " + task_id +
                                    " is not a run document (no \"state\")");
  }
  const std::string_view s = state->get_string();
  if (s == "queued" || s == "running") return std::nullopt;
  if (s == "succeeded") {
    const auto* result = member(doc, "result");
    return engine::outcome::success(result != nullptr ? *result : json::value(nullptr));
  }
  std::string why;
  if (const auto* error = member(doc, "error"); error != nullptr && error->is_object()) why = problem_text(*error);
  const auto with = [&](std::string what) {
    return engine::outcome::failure(prefix + "task " + task_id + " " + what + (why.empty() ? "" : ": " + why));
  };
  if (s == "failed") return with("failed");
  if (s == "cancelled") return with("was cancelled by the server");
  if (s == "timed_out") return with("timed out on the server");
  return engine::outcome::failure(prefix + "run of task " + task_id + " has an unknown state '" + std::string(s) + "'");
}

std::chrono::milliseconds retry_after(const net::header_map& headers) {
  const auto v = headers.get("Retry-After");
  if (!v) return default_poll;
  double seconds = 0;
  const auto* end = v->data() + v->size();
  const auto [ptr, ec] = std::from_chars(v->data(), end, seconds);
  if (ec != std::errc() || ptr != end || !std::isfinite(seconds)) return default_poll;
  // Bounded before the conversion: a double beyond int64's range (-1e300)
  // does not convert (undefined behaviour).
  const auto ms = std::chrono::milliseconds(static_cast<std::int64_t>(std::clamp(seconds, 0.0, 3600.0) * 1000));
  return std::clamp(ms, min_poll, max_poll);
}

std::string_view origin_of(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {};
  const auto path = url.find('/', scheme_end + 3);
  return path == std::string_view::npos ? url : url.substr(0, path);
}

core::result<std::string, url_refusal> poll_url(std::string_view base_url, std::string_view location) {
  if (location.starts_with("/")) return std::string(origin_of(base_url)) + std::string(location);
  if (location.find("://") != std::string_view::npos) {
    if (lower_equal(origin_of(location), origin_of(base_url))) return std::string(location);
    return url_refusal{"Location " + std::string(location) + " is not on this server (not followed)"};
  }
  return std::string(base_url) + "/" + std::string(location);
}

}  // namespace cascadence::adapters::cronyx::detail
