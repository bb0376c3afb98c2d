#include "adapters/cronyx/cronyx_client.hpp"

#include "adapters/cronyx/detail/answers.hpp"
#include "adapters/cronyx/detail/client_pool.hpp"
#include "engine/duration.hpp"
#include "engine/processor.hpp"
#include "net/http_client.hpp"
#include "net/json.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <algorithm>
#include <optional>

namespace cascadence::adapters::cronyx {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

constexpr std::chrono::milliseconds max_sync_wait{1000};

std::string join(const std::vector<unsigned>& versions) {
  std::string out;
  for (const auto v : versions) out += (out.empty() ? "" : ", ") + std::to_string(v);
  return out.empty() ? "none" : out;
}

// What one exchange with the server gave: a JSON answer, or why not.
struct answer final {
  unsigned status = 0;
  net::header_map headers;
  json::value body;
};
struct failure final {
  std::string message;
  bool cancelled = false;
};
using exchange_result = core::result<answer, failure>;

class session final {
 public:
  session(const settings& s, net::http_client& http) : s_(s), http_(http) {}

  [[nodiscard]] std::string prefix() const { return "remote server " + s_.base_url + ": "; }

  // One request and its JSON answer. `path` is below the base URL unless
  // `absolute` is set (a Location already checked to be on the server).
  asio::awaitable<exchange_result> exchange(net::http_method method, const std::string& path,
                                            std::optional<json::value> body = std::nullopt,
                                            const net::header_map& extra = {}, bool absolute = false) {
    net::client_request req;
    req.method = method;
    req.url = absolute ? path : s_.base_url + path;
    req.headers.set("Accept", "application/json, application/problem+json");
    if (!s_.token.empty()) req.headers.set("Authorization", "Bearer " + s_.token);
    for (const auto& [k, v] : extra) req.headers.set(k, v);
    if (body) {
      req.body = json::serialize(*body);
      req.headers.set("Content-Type", std::string(net::json_content_type));
    }
    const std::string what = std::string(net::to_string(method)) + " " + (absolute ? path_of(path) : path);
    auto sent = co_await http_.send(std::move(req));
    if (!sent) {
      const auto& e = sent.error();
      switch (e.code) {
        case net::client_errc::cancelled:
          co_return failure{what + ": cancelled", true};
        case net::client_errc::timeout:
          co_return failure{what + ": no answer within " + engine::format_duration(s_.timeout) + " (CRONYX_TIMEOUT)"};
        case net::client_errc::response_too_large:
          co_return failure{what + ": the answer is larger than " + std::to_string(s_.body_limit) + " bytes (refused)"};
        default:
          co_return failure{what + ": " + e.message + attempts_note(e.attempts)};
      }
    }
    auto& res = sent.value();
    if (net::status_class(res.status) == 3) {
      const auto location = res.headers.get("Location");
      co_return failure{what + ": answered " + std::to_string(res.status) + " redirecting to " +
                        (location ? std::string(*location) : std::string("(no Location)")) +
                        " (redirects are not followed)"};
    }
    json::value doc;
    if (!res.body.empty() || res.ok()) {
      auto parsed = net::parse_json(res.body);
      if (!parsed) {
        const auto type = res.headers.get("Content-Type");
        co_return failure{what + ": the answer (" + std::to_string(res.status) + ", " +
                          (type ? std::string(*type) : std::string("no Content-Type")) + ") is not JSON"};
      }
      doc = std::move(parsed).value();
    }
    if (!res.ok()) {
      auto text = detail::problem_text(doc);
      co_return failure{std::to_string(res.status) + " " + (text.empty() ? what + " failed" : text) +
                        attempts_note(res.attempts)};
    }
    co_return answer{res.status, std::move(res.headers), std::move(doc)};
  }

  // Where a 202 says to poll, or why it is refused: only this server.
  [[nodiscard]] core::result<std::string, url_refusal> poll_url(std::string_view location) const {
    return detail::poll_url(s_.base_url, location);
  }

 private:
  static std::string attempts_note(unsigned attempts) {
    return attempts > 1 ? " (after " + std::to_string(attempts) + " attempts)" : std::string();
  }
  [[nodiscard]] std::string path_of(std::string_view url) const {
    return std::string(url.substr(detail::origin_of(url).size()));
  }

  const settings& s_;
  net::http_client& http_;
};

// True once the engine asked the attempt to stop. Checked inline: awaiting
// a helper coroutine while cancelled would throw.
bool stopping(const engine::task_context& ctx, const asio::cancellation_state& state) {
  return ctx.stop_requested() || state.cancelled() != asio::cancellation_type::none;
}

}  // namespace

core::result<std::string, url_refusal> normalize_base_url(std::string_view text) {
  std::string url(text);
  while (url.ends_with('/')) url.pop_back();
  const bool http = url.starts_with("http://") || url.starts_with("https://");
  const auto host_start = url.find("://") + 3;
  if (!http || url.size() <= host_start || url[host_start] == '/') {
    return url_refusal{"'" + std::string(text) + "' is not an http:// or https:// URL with a host"};
  }
  if (url.find_first_of("?# ") != std::string::npos) {
    return url_refusal{"'" + std::string(text) + "' has a query, a fragment or a space"};
  }
  return url;
}

core::result<unsigned, std::string> negotiate_version(const std::vector<unsigned>& offered) {
  unsigned best = 0;
  for (const auto v : offered) {
    if (std::find(supported_versions.begin(), supported_versions.end(), v) != supported_versions.end())
      best = std::max(best, v);
  }
  if (best != 0) return best;
  return "no protocol version in common (server: " + join(offered) +
         "; client: " + join({supported_versions.begin(), supported_versions.end()}) + ")";
}

client::client(settings s) : settings_(std::make_shared<const settings>(std::move(s))) {}

asio::awaitable<core::result<catalog, std::string>> client::discover() const {
  // Keeps the settings alive across suspensions, whatever the caller does.
  const auto s = settings_;
  session io(
      *s,
      detail::client_pool::of(co_await asio::this_coro::executor).client_for(co_await asio::this_coro::executor, *s));
  const auto fail = [&](const std::string& why) { return core::result<catalog, std::string>(io.prefix() + why); };

  catalog found;
  auto info = co_await io.exchange(net::http_method::get, "/v1/info");
  if (!info) co_return fail(info.error().message);
  if (auto refused = detail::read_info(info->body, found)) co_return fail(*refused);

  auto list = co_await io.exchange(net::http_method::get, "/tasks");
  if (!list) co_return fail(list.error().message);
  if (auto refused = detail::read_task_list(list->body, found.tasks)) co_return fail(*refused);
  for (auto& t : found.tasks) {
    auto answer = co_await io.exchange(net::http_method::get, "/tasks/" + net::percent_encode(t.id));
    if (!answer) co_return fail(answer.error().message);
    if (auto refused = detail::read_task_detail(answer->body, t)) co_return fail(*refused);
  }
  co_return found;
}

asio::awaitable<engine::outcome> client::run(engine::task_context& ctx, const std::string& task_id,
                                             const json::value& params) const {
  const auto s = settings_;
  const auto ex = co_await asio::this_coro::executor;
  session io(*s, detail::client_pool::of(ex).client_for(ex, *s));
  const auto fail = [&](const std::string& why) { return engine::outcome::failure(io.prefix() + why); };

  // The server may hold a sync request this long before answering 202:
  // short, since a run cancelled meanwhile has no id to cancel yet, and
  // within CRONYX_TIMEOUT, which must also carry the answer back.
  const auto wait_ms = std::clamp<std::int64_t>(s->timeout.count() * 4 / 5, 1, max_sync_wait.count());
  const json::value body = json::object{{"params", params.is_null() ? json::value(json::object()) : params},
                                        {"input", ctx.input()},
                                        {"mode", "sync"},
                                        {"timeout_ms", wait_ms}};
  net::header_map extra;
  extra.set("Idempotency-Key", ctx.id().to_string() + "-" + std::to_string(ctx.attempt()));
  const auto start_path = "/v1/tasks/" + net::percent_encode(task_id) + "/runs";
  auto started = co_await io.exchange(net::http_method::post, start_path, body, extra);
  if (!started && started.error().cancelled) {
    // Cancelled before the server said which run it started: the same key
    // and body give the same run back (docs/plugins.md), which is then
    // cancelled like any other.
    co_await asio::this_coro::reset_cancellation_state();
    auto again = co_await io.exchange(net::http_method::post, start_path, body, extra);
    const auto run_id = again ? detail::string_member(again->body, "run_id") : std::string();
    if (!run_id.empty() && !detail::terminal_outcome(io.prefix(), task_id, again->body)) {
      (void)co_await io.exchange(net::http_method::post, "/v1/runs/" + net::percent_encode(run_id) + "/cancel",
                                 json::object());
    }
    co_return fail("run of task " + task_id + " cancelled");
  }
  if (!started) co_return fail(started.error().message);
  if (auto done = detail::terminal_outcome(io.prefix(), task_id, started->body)) co_return std::move(*done);
  if (started->status == 200) co_return fail("POST /v1/tasks/" + task_id + "/runs answered 200 with a run still going");

  const auto run_id = detail::string_member(started->body, "run_id");
  const auto location = started->headers.get("Location");
  if (!location && run_id.empty()) co_return fail("202 without a Location or a \"run_id\" to poll");
  auto where = io.poll_url(location ? *location : "/v1/runs/" + net::percent_encode(run_id));
  if (!where) co_return fail(where.error().message);
  auto pause = detail::retry_after(started->headers);

  asio::steady_timer timer(ex);
  for (;;) {
    timer.expires_after(pause);
    (void)co_await timer.async_wait(use_tuple);
    if (stopping(ctx, co_await asio::this_coro::cancellation_state)) break;
    auto polled = co_await io.exchange(net::http_method::get, where.value(), std::nullopt, {}, true);
    if (!polled && !polled.error().cancelled) co_return fail(polled.error().message);
    if (stopping(ctx, co_await asio::this_coro::cancellation_state)) break;
    if (auto done = detail::terminal_outcome(io.prefix(), task_id, polled->body)) co_return std::move(*done);
    pause = detail::retry_after(polled->headers);
  }
  // Cancelled (timeout or run cancellation): tell the server, bounded by one
  // request, then stop waiting. Awaiting a coroutine while cancellation is
  // pending would throw, hence the reset first.
  co_await asio::this_coro::reset_cancellation_state();
  if (!run_id.empty()) {
    (void)co_await io.exchange(net::http_method::post, "/v1/runs/" + net::percent_encode(run_id) + "/cancel",
                               json::object());
  }
  co_return fail("run " + run_id + " of task " + task_id + " cancelled");
}

}  // namespace cascadence::adapters::cronyx
