#include "adapters/temporal/history.hpp"

#include "adapters/temporal/detail/json_fields.hpp"
#include "adapters/temporal/payloads.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <cctype>
#include <charconv>
#include <set>

namespace cascadence::adapters::temporal {

namespace json = boost::json;
using detail::member;
using detail::object_at;
using detail::string_at;

namespace {

constexpr std::string_view type_prefix = "EVENT_TYPE_";

std::int64_t integer(const json::value* v) {
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_string()) {
    const auto& s = v->get_string();
    std::int64_t out = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && end == s.data() + s.size()) return out;
  }
  return -1;
}

// The one `<name>EventAttributes` member of an event.
const json::object* attributes_of(const json::object& ev) {
  for (const auto& [key, value] : ev) {
    if (key.ends_with("EventAttributes") && value.is_object()) return &value.get_object();
  }
  return nullptr;
}

std::string result_text(const json::value* payloads) {
  if (payloads == nullptr) return {};
  auto values = decode_payloads(*payloads);
  if (values.empty()) return {};
  if (values.size() == 1) return json::serialize(values.front());
  return json::serialize(json::array(values.begin(), values.end()));
}

std::optional<history_error> read_event(const json::value& v, long index, history_event& out) {
  const auto fail = [&](std::string why) { return history_error{index, std::move(why)}; };
  if (!v.is_object()) return fail("the event is not an object");
  const auto& ev = v.get_object();
  const auto id = integer(member(ev, "eventId"));
  if (id <= 0) return fail("the event has no eventId (a positive integer)");
  const auto* type = member(ev, "eventType");
  if (type == nullptr || !type->is_string() || type->get_string().empty()) {
    return fail("event " + std::to_string(id) + " has no eventType");
  }
  out.id = id;
  out.time = string_at(ev, "eventTime");
  out.type = canonical_event_type(type->get_string());
  const auto* attrs = attributes_of(ev);
  if (attrs == nullptr) return std::nullopt;
  out.scheduled_event_id = std::max<std::int64_t>(integer(member(*attrs, "scheduledEventId")), 0);
  out.attempt = static_cast<int>(std::max<std::int64_t>(integer(member(*attrs, "attempt")), 0));
  if (const auto* at = member(*attrs, "activityType")) out.activity = string_at(*at, "name");
  if (const auto* wt = member(*attrs, "workflowType")) out.workflow_type = string_at(*wt, "name");
  if (const auto* failure = member(*attrs, "failure"); failure != nullptr && failure->is_object()) {
    out.detail = describe_failure(*failure);
  } else if (const auto* result = member(*attrs, "result")) {
    out.detail = result_text(result);
  } else if (const auto* last = member(*attrs, "lastFailure"); last != nullptr && last->is_object()) {
    out.detail = "retried after: " + describe_failure(*last);
  } else if (out.type == "WORKFLOW_EXECUTION_TERMINATED") {
    out.detail = string_at(*attrs, "reason");
  }
  return std::nullopt;
}

// How many events began before `offset`: the index of the one the text
// broke in (counting the "eventId" keys is enough for exported histories).
long events_before(std::string_view text, std::size_t offset) {
  long n = 0;
  for (auto at = text.find("\"eventId\""); at != std::string_view::npos && at < offset;
       at = text.find("\"eventId\"", at + 1)) {
    ++n;
  }
  return n == 0 ? -1 : n - 1;
}

}  // namespace

std::string canonical_event_type(std::string_view spelling) {
  if (spelling.starts_with(type_prefix)) return std::string(spelling.substr(type_prefix.size()));
  std::string out;
  for (std::size_t i = 0; i < spelling.size(); ++i) {
    const auto c = static_cast<unsigned char>(spelling[i]);
    if (std::isupper(c) != 0 && i > 0) out += '_';
    out += static_cast<char>(std::toupper(c));
  }
  return out;
}

std::optional<history_error> read_events(const json::value& events, std::vector<history_event>& out) {
  if (!events.is_array()) return history_error{-1, "\"events\" is not an array"};
  out.clear();
  long index = 0;
  std::map<std::int64_t, std::string> activities;  // scheduled event id -> activity type
  for (const auto& v : events.get_array()) {
    history_event ev;
    if (auto e = read_event(v, index, ev)) return e;
    if (ev.type == "ACTIVITY_TASK_SCHEDULED") {
      activities.emplace(ev.id, ev.activity);
    } else if (ev.activity.empty() && ev.type.starts_with("ACTIVITY_TASK_")) {
      if (const auto a = activities.find(ev.scheduled_event_id); a != activities.end()) ev.activity = a->second;
    }
    out.push_back(std::move(ev));
    ++index;
  }
  return std::nullopt;
}

std::optional<history_error> read_history(std::string_view text, std::vector<history_event>& out) {
  json::stream_parser p;
  boost::system::error_code ec;
  const auto used = p.write(text.data(), text.size(), ec);
  const bool broke_inside = static_cast<bool>(ec);
  if (!ec) p.finish(ec);
  if (ec) {
    const auto at = broke_inside ? used : text.size();
    const auto index = events_before(text, at);
    std::string where = at >= text.size() ? "it ends early (truncated?)" : "invalid JSON at byte " + std::to_string(at);
    return history_error{index, where + ": " + ec.message()};
  }
  const auto doc = p.release();
  const json::value* events = &doc;
  if (doc.is_object()) {
    events = member(doc, "events");
    if (events == nullptr) events = member(object_at(doc, "history"), "events");
    if (events == nullptr) return history_error{-1, "no \"events\" array (not a workflow history)"};
  }
  return read_events(*events, out);
}

std::optional<divergence> check_history(const std::vector<history_event>& events, const dependency_map* graph) {
  if (events.empty()) return divergence{0, "a WorkflowExecutionStarted event", "no events"};
  if (events.front().type != "WORKFLOW_EXECUTION_STARTED") {
    return divergence{events.front().id, "WORKFLOW_EXECUTION_STARTED first", events.front().type};
  }
  std::map<std::int64_t, std::string> scheduled;  // event id -> activity
  std::set<std::int64_t> closed_activities;       // scheduled ids completed, failed for good, ...
  std::set<std::string> completed_tasks;
  std::optional<std::int64_t> closed_at;
  std::int64_t previous = 0;
  for (const auto& ev : events) {
    if (ev.id != previous + 1) {
      return divergence{ev.id, "event id " + std::to_string(previous + 1), "event id " + std::to_string(ev.id)};
    }
    previous = ev.id;
    if (closed_at) {
      return divergence{ev.id, "no event after the workflow closed (event " + std::to_string(*closed_at) + ")",
                        ev.type};
    }
    if (ev.type.starts_with("WORKFLOW_EXECUTION_") && ev.type != "WORKFLOW_EXECUTION_STARTED" &&
        ev.type != "WORKFLOW_EXECUTION_SIGNALED" && ev.type != "WORKFLOW_EXECUTION_CANCEL_REQUESTED" &&
        ev.type != "WORKFLOW_EXECUTION_UPDATE_ACCEPTED" && ev.type != "WORKFLOW_EXECUTION_UPDATE_COMPLETED" &&
        ev.type != "WORKFLOW_EXECUTION_UPDATE_ADMITTED" && ev.type != "WORKFLOW_EXECUTION_UPDATE_REJECTED" &&
        ev.type != "WORKFLOW_EXECUTION_OPTIONS_UPDATED" && ev.type != "WORKFLOW_EXECUTION_PROPERTIES_MODIFIED") {
      closed_at = ev.id;
      if (ev.type == "WORKFLOW_EXECUTION_COMPLETED") {
        for (const auto& [id, activity] : scheduled) {
          if (!closed_activities.contains(id)) {
            return divergence{ev.id,
                              "activity " + activity + " (scheduled in event " + std::to_string(id) +
                                  ") finished before the workflow completed",
                              "WORKFLOW_EXECUTION_COMPLETED with it unfinished"};
          }
        }
      }
      continue;
    }
    if (ev.type == "ACTIVITY_TASK_SCHEDULED") {
      if (graph != nullptr) {
        const auto task = graph->find(ev.activity);
        if (task == graph->end()) {
          std::string known;
          for (const auto& [name, deps] : *graph) known += (known.empty() ? "" : ", ") + name;
          return divergence{ev.id, "an activity of a task of the graph (" + known + ")", "activity " + ev.activity};
        }
        for (const auto& dep : task->second) {
          if (!completed_tasks.contains(dep)) {
            return divergence{ev.id, ev.activity + " scheduled after " + dep + " completed",
                              ev.activity + " scheduled while " + dep + " had not completed"};
          }
        }
      }
      scheduled.emplace(ev.id, ev.activity);
      continue;
    }
    if (ev.type.starts_with("ACTIVITY_TASK_") && ev.type != "ACTIVITY_TASK_CANCEL_REQUESTED") {
      const auto s = scheduled.find(ev.scheduled_event_id);
      if (s == scheduled.end()) {
        return divergence{ev.id, "an activity event referring to a scheduled activity",
                          ev.type + " for scheduled event " + std::to_string(ev.scheduled_event_id)};
      }
      if (ev.type == "ACTIVITY_TASK_STARTED") continue;
      if (closed_activities.contains(ev.scheduled_event_id)) {
        return divergence{ev.id, "activity " + s->second + " (event " + std::to_string(s->first) + ") closed once",
                          ev.type + " after it had closed"};
      }
      closed_activities.insert(ev.scheduled_event_id);
      if (ev.type == "ACTIVITY_TASK_COMPLETED") {
        if (graph != nullptr && !completed_tasks.insert(s->second).second) {
          return divergence{ev.id, "task " + s->second + " completed once", "task " + s->second + " completed again"};
        }
        completed_tasks.insert(s->second);
      }
    }
  }
  return std::nullopt;
}

}  // namespace cascadence::adapters::temporal
