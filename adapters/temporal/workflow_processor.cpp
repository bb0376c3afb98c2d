#include "adapters/temporal/workflow_processor.hpp"

#include "engine/duration.hpp"
#include "engine/processor.hpp"
#include "engine/run_id.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <utility>
#include <vector>

namespace cascadence::adapters::temporal {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// The clients used on one execution context: an Asio service, so they and
// their sockets go away with the io_context that runs them.
class client_registry final : public asio::execution_context::service {
 public:
  using key_type = client_registry;
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables): Asio's service identity
  static inline asio::execution_context::id id;

  explicit client_registry(asio::execution_context& ctx) : asio::execution_context::service(ctx) {}

  client& get(const asio::any_io_executor& ex, const settings& s) {
    for (auto& [known, c] : clients_) {
      if (known == s) return *c;
    }
    clients_.emplace_back(s, std::make_unique<client>(ex, s));
    return *clients_.back().second;
  }

 private:
  void shutdown() override { clients_.clear(); }

  std::vector<std::pair<settings, std::unique_ptr<client>>> clients_;
};

class workflow_processor final : public engine::processor {
 public:
  workflow_processor(settings s, workflow_target target) : settings_(std::move(s)), target_(std::move(target)) {}

  asio::awaitable<engine::outcome> run(engine::task_context& ctx) override {
    using namespace asio::experimental::awaitable_operators;
    const auto ex = co_await asio::this_coro::executor;
    auto& c = client_on(ex, settings_);

    start_request req;
    req.workflow_id = target_.task + "-" + ctx.id().to_string();
    if (ctx.attempt() > 1) req.workflow_id += "-" + std::to_string(ctx.attempt());
    req.workflow_type = target_.workflow_type;
    req.args.push_back(ctx.run_input());
    req.request_id = engine::run_id::derived("cascadence-start/" + req.workflow_id).to_string();
    req.execution_timeout = target_.execution_timeout;
    req.memo = json::object{{"cascadence_task", target_.task}, {"cascadence_run_id", ctx.id().to_string()}};

    auto started = co_await c.start(req);
    if (!started) co_return engine::outcome::failure(started.error().message);
    const auto exec = *started;
    ctx.emit_output(engine::output_stream::err, "temporal: started workflow " + exec.workflow_id + " (type " +
                                                    req.workflow_type + ", run " + exec.run_id + ")");

    auto closed_result = co_await c.await_close(exec);
    if (!closed_result && closed_result.error().code == errc::cancelled) {
      // The run was cancelled here: ask the workflow to cancel, then give
      // it kill_grace to close. Awaiting while cancelled would throw.
      co_await asio::this_coro::reset_cancellation_state();
      auto asked = co_await c.cancel(exec, "cancelled by cascadence (run " + ctx.id().to_string() + ")");
      if (!asked) {
        co_return engine::outcome::failure("workflow " + exec.workflow_id + " not cancelled: " + asked.error().message);
      }
      asio::steady_timer grace(ex, ctx.kill_grace());
      auto waited = co_await (c.await_close(exec) || grace.async_wait(asio::use_awaitable));
      std::string what = "workflow " + exec.workflow_id + " asked to cancel; it did not close within " +
                         engine::format_duration(ctx.kill_grace()) + " (kill_grace)";
      if (auto* closed = std::get_if<0>(&waited); closed != nullptr && *closed) {
        what = "workflow " + exec.workflow_id + " " + std::string(to_string((*closed)->status)) + " on cancellation" +
               ((*closed)->failure.empty() ? std::string() : ": " + (*closed)->failure);
      }
      // The run reports its own cancellation; this says what became of the workflow.
      ctx.emit_output(engine::output_stream::err, "temporal: " + what);
      co_return engine::outcome::failure(what);
    }
    if (!closed_result) co_return engine::outcome::failure(closed_result.error().message);
    auto& closed = *closed_result;
    if (closed.status == close_status::completed) {
      ctx.emit_output(engine::output_stream::out, closed.result.is_string() ? std::string(closed.result.get_string())
                                                                            : json::serialize(closed.result));
      co_return engine::outcome::success(std::move(closed.result));
    }
    // The failure text may open with the status word itself ("terminated:
    // <reason>"): said once.
    const std::string status(to_string(closed.status));
    auto failure = closed.failure;
    if (failure.starts_with(status))
      failure.erase(0, failure.starts_with(status + ": ") ? status.size() + 2 : status.size());
    co_return engine::outcome::failure("workflow " + exec.workflow_id + " " + status +
                                       (failure.empty()            ? std::string()
                                        : failure.starts_with(" ") ? failure
                                                                   : ": " + failure));
  }

 private:
  settings settings_;
  workflow_target target_;
};

}  // namespace

client& client_on(const asio::any_io_executor& ex, const settings& s) {
  return asio::use_service<client_registry>(asio::query(ex, asio::execution::context)).get(ex, s);
}

std::shared_ptr<engine::processor> make_workflow_processor(settings s, workflow_target target) {
  return std::make_shared<workflow_processor>(std::move(s), std::move(target));
}

}  // namespace cascadence::adapters::temporal
