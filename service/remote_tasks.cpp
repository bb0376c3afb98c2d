#include "service/remote_tasks.hpp"

#include "adapters/cronyx/remote_processor.hpp"
#include "core/async_event.hpp"
#include "core/describe.hpp"
#include "engine/duration.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdlib>
#include <set>

namespace cascadence::service {

namespace asio = boost::asio;
namespace cronyx = adapters::cronyx;

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

std::chrono::milliseconds interval_from_env(const char* name, std::chrono::milliseconds fallback, const char* example) {
  const char* v = env(name);
  if (v == nullptr) return fallback;
  auto d = engine::parse_seconds_or_duration(v);
  if (!d) {
    throw config_error(std::string(name) + ": invalid interval '" + v + "' (seconds, e.g. " + example +
                       ", or a duration, e.g. " + example + "s)");
  }
  return *d;
}

std::string join_ids(const std::vector<cronyx::task_info>& tasks) {
  std::string out;
  for (const auto& t : tasks) out += (out.empty() ? "" : ", ") + t.id;
  return out.empty() ? "none" : out;
}

bool same_tasks(const std::vector<cronyx::task_info>& a, const std::vector<cronyx::task_info>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const auto& x, const auto& y) { return x.id == y.id && x.description == y.description; });
}

void reindex(config& cfg) {
  cfg.index.clear();
  for (std::size_t i = 0; i < cfg.tasks.size(); ++i) cfg.index.emplace(cfg.tasks[i].name, i);
}

}  // namespace

std::optional<cronyx::settings> remote_settings(const config& cfg) {
  const char* url_env = env("CRONYX_BASE_URL");
  const std::string url = url_env != nullptr ? url_env : cfg.cronyx.base_url;
  if (url.empty()) return std::nullopt;
  cronyx::settings s;
  auto normalized = cronyx::normalize_base_url(url);
  if (!normalized) {
    throw config_error(
        (url_env != nullptr ? std::string("CRONYX_BASE_URL") : cfg.cronyx.location + ": cronyx.base_url") + ": " +
        normalized.error().message);
  }
  s.base_url = std::move(normalized).value();
  s.timeout = interval_from_env("CRONYX_TIMEOUT", cfg.cronyx.timeout.value_or(s.timeout), "5");
  s.refresh = interval_from_env("CASCADENCE_CRONYX_REFRESH", cfg.cronyx.refresh.value_or(s.refresh), "600");
  const char* token = env("CRONYX_TOKEN");
  s.token = token != nullptr ? token : cfg.cronyx.token;
  return s;
}

remote_tasks::remote_tasks(cronyx::settings s) : server_(std::make_shared<cronyx::server>(std::move(s))) {}

const cronyx::settings& remote_tasks::settings() const noexcept {
  return server_->connection().options();
}

asio::awaitable<refresh_result> remote_tasks::refresh() {
  // Kept alive across the discovery, whatever happens to this object.
  const auto srv = server_;
  auto found = co_await srv->connection().discover();
  if (!found) {
    const bool was_reached = reached_;
    reached_ = false;
    srv->mark_unavailable(found.error());
    co_return refresh_result{false, was_reached,
                             found.error() + (known_.empty() ? std::string()
                                                             : "; its " + std::to_string(known_.size()) +
                                                                   " known task(s) fail at once until it answers")};
  }
  auto& c = found.value();
  const bool changed = !reached_ || !same_tasks(known_, c.tasks);
  known_ = std::move(c.tasks);
  reached_ = true;
  srv->mark_available();
  std::string server = c.server_name.empty() ? std::string() : ", " + c.server_name;
  if (!c.server_version.empty()) server += " " + c.server_version;
  co_return refresh_result{true, changed,
                           "remote server " + srv->base_url() + ": " + std::to_string(known_.size()) +
                               " task(s) (protocol " + std::to_string(c.protocol_version) + server +
                               "): " + join_ids(known_)};
}

std::vector<std::string> remote_tasks::apply(config& cfg) const {
  std::vector<std::string> notes;
  std::erase_if(cfg.tasks, [](const task_config& t) {
    const auto* r = std::get_if<remote_spec>(&t.processor);
    return r != nullptr && r->discovered;
  });
  reindex(cfg);
  for (auto& t : cfg.tasks) {
    if (auto* r = std::get_if<remote_spec>(&t.processor)) {
      r->bound = cronyx::make_remote_processor(server_, r->id, r->params);
      const auto k = std::find_if(known_.begin(), known_.end(), [&](const auto& x) { return x.id == r->id; });
      if (t.settings.description.empty() && k != known_.end()) t.settings.description = k->description;
    }
  }
  const std::string where = "remote server " + server_->base_url();
  const auto add = [&](const std::string& id, const std::string& description) {
    task_config t;
    t.name = id;
    t.processor = remote_spec{id, nullptr, true, cronyx::make_remote_processor(server_, id, nullptr)};
    t.settings.kind = engine::task_kind::remote;
    t.settings.description = description;
    t.location = where;
    cfg.index.emplace(id, cfg.tasks.size());
    cfg.tasks.push_back(std::move(t));
  };
  for (const auto& k : known_) {
    if (const auto* local = cfg.find(k.id)) {
      const auto* r = std::get_if<remote_spec>(&local->processor);
      if (r == nullptr || r->id != k.id) {
        notes.push_back(where + " advertises task '" + k.id + "'; the local task of that name (" + local->location +
                        ") wins");
      }
      continue;
    }
    add(k.id, k.description.empty() ? k.name : k.description);
  }
  if (!reached_) {
    // Names only the server could define, while it cannot be asked: known
    // as its tasks (failing fast) rather than breaking the whole graph.
    std::set<std::string, std::less<>> missing;
    for (const auto& t : cfg.tasks) {
      for (const auto& dep : t.after) {
        if (cfg.find(dep) == nullptr) missing.insert(dep);
      }
    }
    for (const auto& name : missing) add(name, "not discovered yet");
  }
  return notes;
}

std::shared_ptr<remote_tasks> discover_remote_tasks(config& cfg, const std::function<void(const std::string&)>& warn) {
  auto s = remote_settings(cfg);
  if (!s) return nullptr;
  auto tasks = std::make_shared<remote_tasks>(*s);
  asio::io_context io;
  asio::cancellation_signal cancel;
  asio::steady_timer deadline(io, s->timeout);
  bool late = false;
  std::optional<refresh_result> result;
  std::exception_ptr failure;
  deadline.async_wait([&](const boost::system::error_code& ec) {
    if (ec) return;
    late = true;
    cancel.emit(asio::cancellation_type::terminal);
  });
  auto discover = [](remote_tasks& t, std::optional<refresh_result>& out) -> asio::awaitable<void> {
    out = co_await t.refresh();
  };
  asio::co_spawn(io, discover(*tasks, result),
                 asio::bind_cancellation_slot(cancel.slot(), [&](const std::exception_ptr& e) {
                   failure = e;
                   deadline.cancel();
                 }));
  io.run();
  if (failure) std::rethrow_exception(failure);
  if (late) {
    warn("remote server " + s->base_url + ": discovery took longer than " + engine::format_duration(s->timeout) +
         " (CRONYX_TIMEOUT); its tasks are not known");
  } else if (result && !result->ok) {
    warn(result->message);
  }
  for (const auto& note : tasks->apply(cfg)) warn(note);
  return tasks;
}

struct remote_refresher::state final {
  state(asio::any_io_executor executor, std::shared_ptr<remote_tasks> t, std::function<void()> c,
        std::function<void(const std::string&)> i, std::function<void(const std::string&)> e)
      : ex(std::move(executor)),
        tasks(std::move(t)),
        changed(std::move(c)),
        info(std::move(i)),
        error(std::move(e)),
        timer(ex),
        done(ex) {}

  asio::any_io_executor ex;
  std::shared_ptr<remote_tasks> tasks;
  std::function<void()> changed;
  std::function<void(const std::string&)> info;
  std::function<void(const std::string&)> error;
  asio::steady_timer timer;
  asio::cancellation_signal cancel;
  core::async_event done;
  bool started = false;
  bool stopping = false;
};

remote_refresher::remote_refresher(asio::any_io_executor ex, std::shared_ptr<remote_tasks> tasks,
                                   std::function<void()> changed, std::function<void(const std::string&)> info,
                                   std::function<void(const std::string&)> error)
    : state_(std::make_shared<state>(std::move(ex), std::move(tasks), std::move(changed), std::move(info),
                                     std::move(error))) {}

remote_refresher::~remote_refresher() {
  state_->stopping = true;
  state_->cancel.emit(asio::cancellation_type::terminal);
  state_->timer.cancel();
}

asio::awaitable<void> remote_refresher::loop(std::shared_ptr<state> st) {
  while (!st->stopping) {
    const auto r = co_await st->tasks->refresh();
    if (st->stopping) break;
    (r.ok ? st->info : st->error)(r.message);
    if (r.changed) st->changed();
    st->timer.expires_after(st->tasks->settings().refresh);
    (void)co_await st->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void remote_refresher::start() {
  auto st = state_;
  st->started = true;
  asio::co_spawn(st->ex, loop(st), asio::bind_cancellation_slot(st->cancel.slot(), [st](std::exception_ptr e) {
                   if (e) st->error("remote refresh ended with an unexpected exception: " + core::describe(e));
                   st->done.set();
                 }));
}

asio::awaitable<void> remote_refresher::stop() {
  auto st = state_;
  if (!st->started) co_return;
  st->stopping = true;
  st->cancel.emit(asio::cancellation_type::terminal);
  st->timer.cancel();
  (void)co_await st->done.wait();
}

}  // namespace cascadence::service
