#include "adapters/temporal/temporal_client.hpp"

#include "adapters/temporal/detail/json_fields.hpp"
#include "adapters/temporal/payloads.hpp"
#include "engine/duration.hpp"
#include "engine/run_id.hpp"
#include "net/http_client.hpp"
#include "net/json.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <cctype>

namespace cascadence::adapters::temporal {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

using detail::member;
using detail::object_at;
using detail::string_at;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// Above the server's long-poll hold (history.longPollExpirationInterval, 20 s).
constexpr std::chrono::seconds long_poll_timeout{70};
constexpr std::chrono::milliseconds reconnect_first{200};
constexpr std::chrono::milliseconds reconnect_max{std::chrono::seconds(2)};

std::string strip_prefix(std::string text, std::string_view prefix) {
  if (text.starts_with(prefix)) text.erase(0, prefix.size());
  return text;
}

// "10s", "0.500s": protobuf's Duration in JSON.
std::string proto_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  auto text = std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    auto frac = std::to_string(1000 + ms % 1000).substr(1);
    text += "." + frac;
  }
  return text + "s";
}

error make_error(errc code, std::string message, std::string run_id = {}) {
  return error{code, std::move(message), std::move(run_id)};
}

// The grpc-gateway error body `{code, message, details}` mapped to ours.
error server_error(const std::string& prefix, unsigned status, const std::string& body) {
  auto parsed = net::parse_json(body);
  std::string message;
  int grpc_code = -1;
  std::string run_id;
  if (parsed) {
    message = string_at(*parsed, "message");
    if (const auto* c = member(*parsed, "code"); c != nullptr && c->is_int64())
      grpc_code = static_cast<int>(c->as_int64());
    if (const auto* d = member(*parsed, "details"); d != nullptr && d->is_array()) {
      for (const auto& detail : d->get_array()) {
        if (auto r = string_at(detail, "runId"); !r.empty()) run_id = r;
      }
    }
  }
  if (message.empty()) message = "HTTP " + std::to_string(status);
  const auto text = prefix + message;
  if (grpc_code == 6 || status == 409) return make_error(errc::already_started, text, run_id);
  if (grpc_code == 5 || status == 404) return make_error(errc::not_found, text);
  if (status == 401 || status == 403 || grpc_code == 7 || grpc_code == 16) return make_error(errc::denied, text);
  if (status >= 500 || grpc_code == 14) return make_error(errc::unavailable, text);
  return make_error(errc::invalid, text);
}

json::object task_queue_json(const std::string& name) {
  return json::object{{"name", name}, {"kind", "TASK_QUEUE_KIND_NORMAL"}};
}

// The attributes of the close events, by the name of their attributes key
// (the same in both spellings of the event type).
struct close_kind final {
  std::string_view key;
  close_status status;
};
constexpr std::array<close_kind, 6> close_kinds{{
    {"workflowExecutionCompletedEventAttributes", close_status::completed},
    {"workflowExecutionFailedEventAttributes", close_status::failed},
    {"workflowExecutionCanceledEventAttributes", close_status::canceled},
    {"workflowExecutionTerminatedEventAttributes", close_status::terminated},
    {"workflowExecutionTimedOutEventAttributes", close_status::timed_out},
    {"workflowExecutionContinuedAsNewEventAttributes", close_status::continued_as_new},
}};

std::string retry_note(const json::object& attrs) {
  const auto state = enum_words(string_at(attrs, "retryState"), "RETRY_STATE_");
  if (state.empty() || state == "unspecified" || state == "in progress") return {};
  return " (retry state: " + state + ")";
}

}  // namespace

std::string_view to_string(close_status s) noexcept {
  switch (s) {
    case close_status::completed:
      return "completed";
    case close_status::failed:
      return "failed";
    case close_status::canceled:
      return "canceled";
    case close_status::terminated:
      return "terminated";
    case close_status::timed_out:
      return "timed out";
    case close_status::continued_as_new:
      return "continued as new";
  }
  return "closed";
}

std::optional<std::string> refuse_workflow_id(std::string_view id) {
  if (id.empty()) return "a workflow id is empty";
  if (id.find('/') != std::string_view::npos) {
    return "workflow id '" + std::string(id) +
           "' contains '/', which Temporal's HTTP API cannot address (choose an id without '/')";
  }
  if (id.size() > 1000) return "a workflow id is longer than 1000 bytes";
  return std::nullopt;
}

closed decode_close_event(const json::object& event) {
  closed out;
  const json::value wrapped(event);
  for (const auto& kind : close_kinds) {
    const auto* attrs_value = event.if_contains(kind.key);
    if (attrs_value == nullptr || !attrs_value->is_object()) continue;
    const auto& attrs = attrs_value->get_object();
    out.status = kind.status;
    out.new_run_id = string_at(*attrs_value, "newExecutionRunId");
    switch (kind.status) {
      case close_status::completed:
        if (const auto* r = attrs.if_contains("result")) {
          auto values = decode_payloads(*r);
          if (!values.empty()) out.result = std::move(values.front());
        }
        break;
      case close_status::failed:
        out.failure =
            (attrs.contains("failure") ? describe_failure(attrs.at("failure")) : "failed") + retry_note(attrs);
        break;
      case close_status::timed_out:
        out.failure = "timed out" + retry_note(attrs);
        break;
      case close_status::terminated: {
        auto reason = string_at(*attrs_value, "reason");
        out.failure = "terminated" + (reason.empty() ? std::string() : ": " + reason);
        if (auto who = string_at(*attrs_value, "identity"); !who.empty()) out.failure += " (by " + who + ")";
        break;
      }
      case close_status::canceled:
        out.failure = "canceled";
        break;
      case close_status::continued_as_new:
        break;
    }
    return out;
  }
  out.status = close_status::failed;
  out.failure = "the history's last event is not a close event";
  return out;
}

struct client::impl final {
  impl(asio::any_io_executor ex, settings s)
      : opts(std::move(s)),
        http(ex, client_options(opts, opts.timeout, 3)),
        poll(ex, client_options(opts, long_poll_timeout, 1)),
        prefix("temporal " + opts.http_address + ": "),
        ns_path("/api/v1/namespaces/" + net::percent_encode(opts.ns)) {}

  static net::client_options client_options(const settings& s, std::chrono::milliseconds request_timeout,
                                            unsigned attempts) {
    net::client_options o;
    o.connect_timeout = s.timeout;
    o.request_timeout = request_timeout;
    o.max_attempts = attempts;
    o.backoff = std::chrono::milliseconds(200);
    o.backoff_max = std::chrono::seconds(2);
    o.verify_peer = s.verify_peer;
    o.ca_file = s.ca_file;
    o.user_agent = "cascadence-temporal";
    o.body_limit = 64 * 1024 * 1024;
    return o;
  }

  std::string workflow_path(const std::string& workflow_id) const {
    return ns_path + "/workflows/" + net::percent_encode(workflow_id);
  }

  // One call: `path` below http_address, with `query` already encoded.
  asio::awaitable<result<json::value>> call(net::http_method method, const std::string& path,
                                            const std::optional<json::value>& body = std::nullopt,
                                            bool long_poll = false) {
    net::client_request req;
    req.method = method;
    req.url = opts.http_address + path;
    req.headers.set("Accept", "application/json");
    if (!opts.api_key.empty()) req.headers.set("Authorization", "Bearer " + opts.api_key);
    if (body) {
      req.body = json::serialize(*body);
      if (req.body.size() > max_request_bytes) {
        co_return make_error(errc::too_large, prefix + "the request is " + std::to_string(req.body.size()) +
                                                  " bytes, more than the 4 MiB Temporal's HTTP API accepts");
      }
      req.headers.set("Content-Type", std::string(net::json_content_type));
    }
    const auto what = std::string(net::to_string(method)) + " " + path.substr(0, path.find('?'));
    auto sent = co_await (long_poll ? poll : http).send(std::move(req));
    if (!sent) {
      const auto& e = sent.error();
      if (e.code == net::client_errc::cancelled) co_return make_error(errc::cancelled, prefix + what + ": cancelled");
      if (e.code == net::client_errc::timeout) {
        co_return make_error(errc::unavailable,
                             prefix + what + ": no answer within " +
                                 engine::format_duration(long_poll ? long_poll_timeout : opts.timeout) +
                                 " (temporal.timeout)");
      }
      if (e.code == net::client_errc::invalid_url || e.code == net::client_errc::unsupported_scheme) {
        co_return make_error(errc::invalid, prefix + "invalid temporal.http_address (" + e.message + ")");
      }
      co_return make_error(errc::unavailable, prefix + what + ": " + e.message);
    }
    if (!sent->ok()) co_return server_error(prefix + what + ": ", sent->status, sent->body);
    if (sent->body.empty()) co_return json::value(json::object());
    auto parsed = net::parse_json(sent->body);
    if (!parsed)
      co_return make_error(errc::bad_answer, prefix + what + ": the answer is not JSON (" + parsed.error() + ")");
    if (!parsed->is_object())
      co_return make_error(errc::bad_answer, prefix + what + ": the answer is not a JSON object");
    co_return std::move(*parsed);
  }

  json::object start_body(const start_request& req) const {
    json::object body{
        {"workflowId", req.workflow_id},
        {"workflowType", json::object{{"name", req.workflow_type}}},
        {"taskQueue", task_queue_json(req.task_queue.empty() ? opts.task_queue : req.task_queue)},
        {"identity", opts.identity},
    };
    if (!req.args.empty()) body["input"] = encode_payloads(req.args);
    if (!req.request_id.empty()) body["requestId"] = req.request_id;
    if (req.execution_timeout.count() > 0) body["workflowExecutionTimeout"] = proto_duration(req.execution_timeout);
    if (!req.memo.empty()) {
      json::object fields;
      for (const auto& [k, v] : req.memo) {
        auto encoded = encode_payloads({v});
        fields[k] = encoded.at("payloads").at(0);
      }
      body["memo"] = json::object{{"fields", std::move(fields)}};
    }
    return body;
  }

  settings opts;
  net::http_client http;
  net::http_client poll;
  std::string prefix;
  std::string ns_path;
};

client::client(asio::any_io_executor ex, settings s) : impl_(std::make_unique<impl>(std::move(ex), std::move(s))) {}
client::~client() = default;

const settings& client::options() const noexcept {
  return impl_->opts;
}

asio::awaitable<result<std::string>> client::server_version() {
  auto got = co_await impl_->call(net::http_method::get, "/api/v1/system-info");
  if (!got) co_return got.error();
  co_return string_at(*got, "serverVersion");
}

asio::awaitable<result<json::object>> client::describe_namespace() {
  auto got = co_await impl_->call(net::http_method::get, impl_->ns_path);
  if (!got) {
    auto e = got.error();
    if (e.code == errc::not_found) e.message = impl_->prefix + "namespace '" + impl_->opts.ns + "' does not exist";
    co_return e;
  }
  co_return got->get_object();
}

asio::awaitable<result<execution>> client::start(const start_request& req) {
  if (auto why = refuse_workflow_id(req.workflow_id)) co_return make_error(errc::invalid, impl_->prefix + *why);
  auto got = co_await impl_->call(net::http_method::post, impl_->workflow_path(req.workflow_id),
                                  json::value(impl_->start_body(req)));
  if (!got) {
    auto e = got.error();
    if (e.code == errc::already_started) {
      e.message = impl_->prefix + "workflow " + req.workflow_id + " is already running" +
                  (e.run_id.empty() ? std::string() : ", run id " + e.run_id);
    }
    co_return e;
  }
  co_return execution{req.workflow_id, string_at(*got, "runId")};
}

asio::awaitable<result<json::object>> client::describe(const execution& e) {
  if (auto why = refuse_workflow_id(e.workflow_id)) co_return make_error(errc::invalid, impl_->prefix + *why);
  auto path = impl_->workflow_path(e.workflow_id);
  if (!e.run_id.empty()) path += "?execution.runId=" + net::percent_encode(e.run_id);
  auto got = co_await impl_->call(net::http_method::get, path);
  if (!got) co_return got.error();
  co_return got->get_object();
}

asio::awaitable<result<closed>> client::await_close(execution e, bool follow) {
  if (auto why = refuse_workflow_id(e.workflow_id)) co_return make_error(errc::invalid, impl_->prefix + *why);
  auto& io = *impl_;
  std::string token;
  auto backoff = reconnect_first;
  auto last_answer = std::chrono::steady_clock::now();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    auto path = io.workflow_path(e.workflow_id) + "/history?waitNewEvent=true&historyEventFilterType=2";
    if (!e.run_id.empty()) path += "&execution.runId=" + net::percent_encode(e.run_id);
    if (!token.empty()) path += "&nextPageToken=" + net::percent_encode(token);
    auto got = co_await io.call(net::http_method::get, path, std::nullopt, true);
    if (!got) {
      if (got.error().code != errc::unavailable) co_return got.error();
      // The server went away (or restarts): reconnect with back-off, for
      // up to temporal.timeout since it last answered.
      if (std::chrono::steady_clock::now() - last_answer > io.opts.timeout) {
        co_return make_error(errc::timed_out, got.error().message + "; gave up waiting for workflow " + e.workflow_id +
                                                  " after " + engine::format_duration(io.opts.timeout) +
                                                  " without an answer");
      }
      timer.expires_after(backoff);
      auto [ec] = co_await timer.async_wait(use_tuple);
      if (ec)
        co_return make_error(errc::cancelled, io.prefix + "waiting for workflow " + e.workflow_id + ": cancelled");
      backoff = std::min(backoff * 2, reconnect_max);
      continue;
    }
    last_answer = std::chrono::steady_clock::now();
    backoff = reconnect_first;
    token = string_at(*got, "nextPageToken");
    const auto* events = member(object_at(*got, "history"), "events");
    if (events == nullptr || !events->is_array() || events->get_array().empty()) continue;
    const auto& last = events->get_array().back();
    if (!last.is_object()) co_return make_error(errc::bad_answer, io.prefix + "a history event is not an object");
    auto out = decode_close_event(last.get_object());
    out.run_id = e.run_id;
    const bool next_run = !out.new_run_id.empty() && (out.status != close_status::completed);
    if (follow && next_run) {
      e.run_id = out.new_run_id;
      token.clear();
      continue;
    }
    co_return out;
  }
}

asio::awaitable<result<std::monostate>> client::signal(const execution& e, std::string_view name,
                                                       std::vector<json::value> args) {
  if (auto why = refuse_workflow_id(e.workflow_id)) co_return make_error(errc::invalid, impl_->prefix + *why);
  json::object body{{"identity", impl_->opts.identity}, {"requestId", engine::run_id::random().to_string()}};
  if (!e.run_id.empty()) body["workflowExecution"] = json::object{{"workflowId", e.workflow_id}, {"runId", e.run_id}};
  if (!args.empty()) body["input"] = encode_payloads(args);
  auto got = co_await impl_->call(
      net::http_method::post, impl_->workflow_path(e.workflow_id) + "/signal/" + net::percent_encode(std::string(name)),
      json::value(std::move(body)));
  if (!got) co_return got.error();
  co_return std::monostate{};
}

asio::awaitable<result<std::monostate>> client::cancel(const execution& e, std::string_view reason) {
  if (auto why = refuse_workflow_id(e.workflow_id)) co_return make_error(errc::invalid, impl_->prefix + *why);
  json::object body{{"identity", impl_->opts.identity},
                    {"requestId", engine::run_id::random().to_string()},
                    {"reason", std::string(reason)}};
  if (!e.run_id.empty()) body["workflowExecution"] = json::object{{"workflowId", e.workflow_id}, {"runId", e.run_id}};
  auto got = co_await impl_->call(net::http_method::post, impl_->workflow_path(e.workflow_id) + "/cancel",
                                  json::value(std::move(body)));
  if (!got) co_return got.error();
  co_return std::monostate{};
}

asio::awaitable<result<std::monostate>> client::terminate(const execution& e, std::string_view reason) {
  if (auto why = refuse_workflow_id(e.workflow_id)) co_return make_error(errc::invalid, impl_->prefix + *why);
  json::object body{{"identity", impl_->opts.identity}, {"reason", std::string(reason)}};
  if (!e.run_id.empty()) body["workflowExecution"] = json::object{{"workflowId", e.workflow_id}, {"runId", e.run_id}};
  auto got = co_await impl_->call(net::http_method::post, impl_->workflow_path(e.workflow_id) + "/terminate",
                                  json::value(std::move(body)));
  if (!got) co_return got.error();
  co_return std::monostate{};
}

asio::awaitable<result<std::vector<workflow_summary>>> client::list(std::string_view query, std::size_t limit) {
  std::vector<workflow_summary> out;
  std::string token;
  do {
    auto path = impl_->ns_path + "/workflows?pageSize=" + std::to_string(std::min<std::size_t>(limit, 1000));
    if (!query.empty()) path += "&query=" + net::percent_encode(query);
    if (!token.empty()) path += "&nextPageToken=" + net::percent_encode(token);
    auto got = co_await impl_->call(net::http_method::get, path);
    if (!got) co_return got.error();
    if (const auto* list = member(*got, "executions"); list != nullptr && list->is_array()) {
      for (const auto& item : list->get_array()) {
        workflow_summary s;
        const auto& exec = object_at(item, "execution");
        s.exec.workflow_id = string_at(exec, "workflowId");
        s.exec.run_id = string_at(exec, "runId");
        s.type = string_at(object_at(item, "type"), "name");
        s.status = strip_prefix(string_at(item, "status"), "WORKFLOW_EXECUTION_STATUS_");
        s.start_time = string_at(item, "startTime");
        s.close_time = string_at(item, "closeTime");
        out.push_back(std::move(s));
        if (out.size() >= limit) co_return out;
      }
    }
    token = string_at(*got, "nextPageToken");
  } while (!token.empty());
  co_return out;
}

asio::awaitable<result<json::array>> client::history(const execution& e) {
  if (auto why = refuse_workflow_id(e.workflow_id)) co_return make_error(errc::invalid, impl_->prefix + *why);
  json::array events;
  std::string token;
  do {
    auto path = impl_->workflow_path(e.workflow_id) + "/history?noPayloadShorthand&maximumPageSize=1000";
    if (!e.run_id.empty()) path += "&execution.runId=" + net::percent_encode(e.run_id);
    if (!token.empty()) path += "&nextPageToken=" + net::percent_encode(token);
    auto got = co_await impl_->call(net::http_method::get, path);
    if (!got) co_return got.error();
    if (const auto* page = member(object_at(*got, "history"), "events"); page != nullptr && page->is_array()) {
      for (const auto& ev : page->get_array()) events.push_back(ev);
    }
    token = string_at(*got, "nextPageToken");
  } while (!token.empty());
  co_return events;
}

namespace {

json::object schedule_body(const settings& opts, const schedule_request& req, json::object start) {
  start.erase("identity");
  start.erase("requestId");
  json::object policies{{"overlapPolicy", "SCHEDULE_OVERLAP_POLICY_" + req.overlap}};
  if (req.catchup_window.count() > 0) policies["catchupWindow"] = proto_duration(req.catchup_window);
  json::object state;
  if (req.paused) state["paused"] = true;
  if (!req.note.empty()) state["notes"] = req.note;
  (void)opts;
  return json::object{{"spec", req.spec},
                      {"action", json::object{{"startWorkflow", std::move(start)}}},
                      {"policies", std::move(policies)},
                      {"state", std::move(state)}};
}

// `{KEY: value, identity, requestId}`, the shape of the schedule calls.
json::value request_envelope(std::string_view key, json::value value, const std::string& identity) {
  json::object out;
  out[key] = std::move(value);
  out["identity"] = identity;
  out["requestId"] = engine::run_id::random().to_string();
  return out;
}

schedule_info schedule_from(std::string id, const json::value& schedule, const json::value& info) {
  schedule_info out;
  out.id = std::move(id);
  out.spec = object_at(schedule, "spec");
  const auto& start = object_at(object_at(schedule, "action"), "startWorkflow");
  out.workflow_type = string_at(object_at(start, "workflowType"), "name");
  if (out.workflow_type.empty()) out.workflow_type = string_at(object_at(info, "workflowType"), "name");
  const auto& state = object_at(schedule, "state");
  if (const auto* p = state.if_contains("paused"); p != nullptr && p->is_bool()) out.paused = p->get_bool();
  out.note = string_at(state, "notes");
  const auto& policies = object_at(schedule, "policies");
  out.overlap = strip_prefix(string_at(policies, "overlapPolicy"), "SCHEDULE_OVERLAP_POLICY_");
  out.catchup_window = string_at(policies, "catchupWindow");
  if (const auto* times = member(info, "futureActionTimes"); times != nullptr && times->is_array()) {
    for (const auto& t : times->get_array()) {
      if (t.is_string()) out.next_times.emplace_back(t.get_string());
    }
  }
  if (const auto* recent = member(info, "recentActions"); recent != nullptr && recent->is_array()) {
    for (const auto& a : recent->get_array()) out.recent_times.push_back(string_at(a, "actualTime"));
  }
  return out;
}

}  // namespace

asio::awaitable<result<std::monostate>> client::upsert_schedule(const schedule_request& req) {
  auto& io = *impl_;
  const auto path = io.ns_path + "/schedules/" + net::percent_encode(req.id);
  auto body = schedule_body(io.opts, req, io.start_body(req.action));
  json::value request = request_envelope("schedule", json::value(std::move(body)), io.opts.identity);
  auto created = co_await io.call(net::http_method::post, path, request);
  if (created) co_return std::monostate{};
  if (created.error().code != errc::already_started) co_return created.error();
  // It exists: replace its spec, action, policies and state.
  auto updated = co_await io.call(net::http_method::post, path + "/update", request);
  if (!updated) co_return updated.error();
  co_return std::monostate{};
}

asio::awaitable<result<schedule_info>> client::describe_schedule(std::string_view id) {
  auto got = co_await impl_->call(net::http_method::get, impl_->ns_path + "/schedules/" + net::percent_encode(id));
  if (!got) {
    auto e = got.error();
    if (e.code == errc::not_found) e.message = impl_->prefix + "no schedule '" + std::string(id) + "'";
    co_return e;
  }
  co_return schedule_from(std::string(id), json::value(object_at(*got, "schedule")),
                          json::value(object_at(*got, "info")));
}

asio::awaitable<result<std::vector<schedule_info>>> client::list_schedules() {
  std::vector<schedule_info> out;
  std::string token;
  do {
    auto path = impl_->ns_path + "/schedules?maximumPageSize=1000";
    if (!token.empty()) path += "&nextPageToken=" + net::percent_encode(token);
    auto got = co_await impl_->call(net::http_method::get, path);
    if (!got) co_return got.error();
    if (const auto* list = member(*got, "schedules"); list != nullptr && list->is_array()) {
      for (const auto& item : list->get_array()) {
        // The list carries a summary only; describe each for the whole of it.
        auto id = string_at(item, "scheduleId");
        auto one = co_await describe_schedule(id);
        if (one) {
          out.push_back(std::move(*one));
        } else if (one.error().code != errc::not_found) {
          co_return one.error();
        }
      }
    }
    token = string_at(*got, "nextPageToken");
  } while (!token.empty());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  co_return out;
}

asio::awaitable<result<std::monostate>> client::delete_schedule(std::string_view id) {
  auto got = co_await impl_->call(net::http_method::delete_, impl_->ns_path + "/schedules/" + net::percent_encode(id));
  if (!got) {
    auto e = got.error();
    if (e.code == errc::not_found) e.message = impl_->prefix + "no schedule '" + std::string(id) + "'";
    co_return e;
  }
  co_return std::monostate{};
}

asio::awaitable<result<std::monostate>> client::pause_schedule(std::string_view id, bool pause, std::string_view note) {
  json::object patch;
  patch[pause ? "pause" : "unpause"] = std::string(note);
  const json::value request = request_envelope("patch", json::value(std::move(patch)), impl_->opts.identity);
  auto got = co_await impl_->call(net::http_method::post,
                                  impl_->ns_path + "/schedules/" + net::percent_encode(id) + "/patch", request);
  if (!got) {
    auto e = got.error();
    if (e.code == errc::not_found) e.message = impl_->prefix + "no schedule '" + std::string(id) + "'";
    co_return e;
  }
  co_return std::monostate{};
}

}  // namespace cascadence::adapters::temporal
