#include "engine/processor.hpp"

#include "engine/detail/run_state.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

namespace cascadence::engine {

namespace asio = boost::asio;

std::string_view task_context::task_name() const noexcept {
  return state_->g().name(node_);
}

boost::json::value task_context::input() const {
  return snapshot_ != nullptr ? state_->input_from(node_, *snapshot_) : state_->input_of(node_);
}

void task_context::append_input_json(std::string& out) const {
  if (snapshot_ != nullptr) {
    out += boost::json::serialize(input());
    return;
  }
  state_->append_input_json(node_, out);
}

const boost::json::value& task_context::run_input() const noexcept {
  return state_->options().input;
}

const run_event* task_context::event() const noexcept {
  const auto& e = state_->options().event;
  return e ? &*e : nullptr;
}

void task_context::emit_output(output_stream stream, std::string_view line) const {
  if (snapshot_ == nullptr) {
    state_->emit_output(node_, stream, line);
    return;
  }
  // Off the loop, from whichever thread. The attempt cannot finish before
  // run_blocking() returns, and its completion is posted after this, so the
  // state outlives the post.
  asio::post(state_->executor(), [state = state_, node = node_, stream, text = std::string(line)] {
    state->emit_output(node, stream, text);
  });
}

std::chrono::milliseconds task_context::kill_grace() const noexcept {
  return state_->options().kill_grace;
}

asio::thread_pool* task_context::blocking_pool() const noexcept {
  return state_->options().pool;
}

asio::awaitable<outcome> immediate_processor::run(task_context& ctx) {
  co_return run_now(ctx);
}

asio::awaitable<outcome> blocking_processor::run(task_context& ctx) {
  auto* pool = ctx.blocking_pool();
  if (pool == nullptr) co_return outcome::failure("no thread pool was given for blocking processors");
  // Taken here, on the loop, so that the pool reads no run state: the loop
  // goes on settling other tasks meanwhile. It lives in this frame, which
  // outlives the attempt's time on the pool.
  detail::pool_snapshot snapshot;
  ctx.state_->snapshot_for_pool(ctx.node_, snapshot);
  struct on_pool final {
    task_context& ctx;
    on_pool(task_context& c, const detail::pool_snapshot& s) noexcept : ctx(c) { ctx.snapshot_ = &s; }
    on_pool(const on_pool&) = delete;
    on_pool& operator=(const on_pool&) = delete;
    ~on_pool() { ctx.snapshot_ = nullptr; }
  };
  const on_pool scope(ctx, snapshot);
  outcome out = co_await asio::async_initiate<decltype(asio::use_awaitable), void(outcome)>(
      [this, &ctx, pool](auto handler) {
        auto resume = asio::get_associated_executor(handler);
        asio::post(*pool,
                   [this, &ctx, resume, handler = std::move(handler), work = asio::make_work_guard(resume)]() mutable {
                     outcome out;
                     try {
                       out = run_blocking(ctx);
                     } catch (const std::exception& e) {
                       out = outcome::failure(e.what());
                     } catch (...) {
                       out = outcome::failure("unknown exception");
                     }
                     asio::post(resume, [handler = std::move(handler), out = std::move(out)]() mutable {
                       std::move(handler)(std::move(out));
                     });
                   });
      },
      asio::use_awaitable);
  co_return out;
}

namespace {

class function_processor final : public processor {
 public:
  explicit function_processor(async_function fn) : fn_(std::move(fn)) {}
  asio::awaitable<outcome> run(task_context& ctx) override { return fn_(ctx); }

 private:
  async_function fn_;
};

class blocking_function_processor final : public blocking_processor {
 public:
  explicit blocking_function_processor(blocking_function fn) : fn_(std::move(fn)) {}
  outcome run_blocking(task_context& ctx) override { return fn_(ctx); }

 private:
  blocking_function fn_;
};

class immediate_function_processor final : public immediate_processor {
 public:
  explicit immediate_function_processor(blocking_function fn) : fn_(std::move(fn)) {}
  outcome run_now(task_context& ctx) override { return fn_(ctx); }

 private:
  blocking_function fn_;
};

}  // namespace

std::shared_ptr<processor> make_async_processor(async_function fn) {
  return std::make_shared<function_processor>(std::move(fn));
}

std::shared_ptr<processor> make_blocking_processor(blocking_function fn) {
  return std::make_shared<blocking_function_processor>(std::move(fn));
}

std::shared_ptr<processor> make_immediate_processor(blocking_function fn) {
  return std::make_shared<immediate_function_processor>(std::move(fn));
}

}  // namespace cascadence::engine
