#include "adapters/api/api_service.hpp"

#include "adapters/events/user_hash.hpp"

#include "adapters/run_limit_reply.hpp"
#include "core/async_event.hpp"
#include "core/time_text.hpp"
#include "net/hmac.hpp"
#include "net/json.hpp"
#include "net/router.hpp"

#include <boost/json/object.hpp>

#include <cstdio>
#include <ctime>

namespace cascadence::adapters::api {

namespace asio = boost::asio;
using clock = std::chrono::system_clock;

namespace {

net::response error_reply(unsigned status, std::string reason) {
  return net::json_response(status, boost::json::object{{"error", std::move(reason)}});
}

}  // namespace

void run_table::started(const engine::run_id& id, std::string task, clock::time_point at) {
  auto key = id.to_string();
  while (rows_.size() >= capacity_ && !order_.empty()) {
    rows_.erase(order_.front());
    order_.pop_front();
  }
  row r;
  r.task = std::move(task);
  r.started = at;
  if (rows_.emplace(key, std::move(r)).second) order_.push_back(std::move(key));
}

void run_table::finished(const engine::run_id& id, finished_run result, clock::time_point at) {
  const auto it = rows_.find(id.to_string());
  if (it == rows_.end()) return;  // dropped while running
  it->second.status = std::move(result.status);
  it->second.tasks = std::move(result.tasks);
  it->second.cancel_reason = std::move(result.cancel_reason);
  it->second.finished = at;
}

std::optional<boost::json::value> run_table::find(std::string_view id) const {
  const auto it = rows_.find(id);
  if (it == rows_.end()) return std::nullopt;
  const auto& r = it->second;
  boost::json::object o;
  o["run_id"] = it->first;
  o["task"] = r.task;
  o["status"] = r.status;
  o["started"] = core::format_utc(r.started);
  o["finished"] = r.finished ? boost::json::value(core::format_utc(*r.finished)) : boost::json::value(nullptr);
  o["tasks"] = r.tasks;
  if (!r.cancel_reason.empty()) o["cancel_reason"] = r.cancel_reason;
  return o;
}

api_service::api_service(asio::any_io_executor ex, std::shared_ptr<api_backend> backend, api_options options)
    : ex_(std::move(ex)), backend_(std::move(backend)), options_(std::move(options)), runs_(options_.max_runs) {}

std::optional<net::response> api_service::check_auth(const net::request& req) const {
  if (!options_.require_token) return std::nullopt;
  const auto h = req.header("Authorization");
  constexpr std::string_view scheme = "Bearer ";
  if (!h || h->size() < scheme.size() || !net::iequals(h->substr(0, scheme.size()), scheme)) {
    auto r = error_reply(401, "missing bearer token (Authorization: Bearer TOKEN)");
    r.headers.set("WWW-Authenticate", "Bearer");
    return r;
  }
  if (options_.token.empty() || !net::constant_time_equal(h->substr(scheme.size()), options_.token)) {
    auto r = error_reply(401, "invalid bearer token");
    r.headers.set("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    return r;
  }
  return std::nullopt;
}

net::response api_service::list_tasks(const net::request& req) const {
  if (auto denied = check_auth(req)) return std::move(*denied);
  boost::json::array out;
  for (const auto& t : backend_->tasks()) {
    out.push_back(boost::json::object{
        {"name", t.name},
        {"kind", t.kind},
        {"enabled", t.enabled},
        {"schedule", t.schedule.empty() ? boost::json::value(nullptr) : boost::json::value(t.schedule)}});
  }
  return net::json_response(200, boost::json::object{{"tasks", std::move(out)}});
}

asio::awaitable<net::response> api_service::start_run(net::request& req) {
  if (auto denied = check_auth(req)) co_return std::move(*denied);
  std::string name(req.param("name").value_or(""));  // not const: the run coroutine moves its copy
  if (!backend_->has_task(name)) co_return error_reply(404, "unknown task '" + name + "'");
  boost::json::value input;
  if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    auto parsed = net::parse_json(req.body);
    if (!parsed) co_return error_reply(400, "malformed JSON body: " + parsed.error());
    input = std::move(parsed).value();
  }
  // The user the run is for (an empty id is an id, as the seed hashes it):
  // hashed here, the clear id goes no further.
  std::string user_hash;
  if (const auto user = req.header("X-Cascadence-User-Id")) {
    user_hash = adapters::events::hash_user_id(*user);
  }
  std::optional<core::concurrency_limit::permit> permit;
  if (options_.run_limit != nullptr) {
    permit = options_.run_limit->try_acquire();
    if (!permit) co_return run_limit_reply(*options_.run_limit);
  }
  const auto wait = req.query_value("wait");
  const auto dependencies = req.query_value("dependencies");
  if (dependencies && *dependencies != "true" && *dependencies != "false") {
    co_return error_reply(400, "dependencies must be true or false, not '" + std::string(*dependencies) + "'");
  }
  const bool with_dependencies = !dependencies || *dependencies == "true";
  const auto id = engine::run_id::random();
  runs_.started(id, name, clock::now());
  const bool waiting = wait && (*wait == "true" || *wait == "1");
  // The run always goes on in its own coroutine, detached from the request:
  // a waiting client that goes away (or the handler timeout) does not cancel
  // it, and its result stays readable by id.
  auto done = std::make_shared<core::async_event>(ex_);
  core::spawn(ex_,
              run_detached(shared_from_this(), name, std::move(input), id, with_dependencies, std::move(user_hash),
                           done, std::move(permit)),
              "api-run of " + name, options_.on_escape);
  if (!waiting) co_return net::json_response(202, boost::json::object{{"run_id", id.to_string()}});
  if (!co_await done->wait()) co_return error_reply(503, "stopped waiting for run " + id.to_string());
  auto row = runs_.find(id.to_string());
  co_return net::json_response(200, row ? *row : boost::json::value(boost::json::object{{"run_id", id.to_string()}}));
}

asio::awaitable<void> api_service::run_detached(std::shared_ptr<api_service> self, std::string task,
                                                boost::json::value input, engine::run_id id, bool with_dependencies,
                                                std::string user_hash, std::shared_ptr<core::async_event> done,
                                                std::optional<core::concurrency_limit::permit> permit) {
  co_await self->execute(std::move(task), std::move(input), id, with_dependencies, std::move(user_hash));
  permit.reset();  // the run is over: its place is free before waiters resume
  done->set();
}

asio::awaitable<void> api_service::execute(std::string task, boost::json::value input, engine::run_id id,
                                           bool with_dependencies, std::string user_hash) {
  finished_run result;
  try {
    result = co_await backend_->run(std::move(task), std::move(input), id, with_dependencies, std::move(user_hash));
  } catch (const std::exception& e) {
    result.status = "failed";
    result.tasks = boost::json::array{boost::json::object{{"error", e.what()}}};
  }
  runs_.finished(id, std::move(result), clock::now());
}

net::response api_service::get_run(const net::request& req) const {
  if (auto denied = check_auth(req)) return std::move(*denied);
  const auto id = req.param("id").value_or("");
  auto row = runs_.find(id);
  if (!row)
    return error_reply(404, "unknown run '" + std::string(id) + "' (runs are kept in memory, the latest " +
                                std::to_string(options_.max_runs) + ")");
  return net::json_response(200, *row);
}

void add_api_routes(net::router& routes, const std::shared_ptr<api_service>& service) {
  routes.get("/api/v1/tasks", [service](net::request& req) { return service->list_tasks(req); });
  routes.post("/api/v1/tasks/{name}/runs", [service](net::request& req) { return service->start_run(req); });
  routes.get("/api/v1/runs/{id}", [service](net::request& req) { return service->get_run(req); });
}

void add_health_route(net::router& routes) {
  routes.get("/healthz", [](net::request&) { return net::json_response(200, boost::json::object{{"status", "ok"}}); });
}

}  // namespace cascadence::adapters::api
