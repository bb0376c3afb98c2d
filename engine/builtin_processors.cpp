#include "engine/builtin_processors.hpp"

#include "engine/processor.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

namespace cascadence::engine {

namespace asio = boost::asio;

namespace {

class echo_processor final : public immediate_processor {
 public:
  explicit echo_processor(boost::json::value message) : message_(std::move(message)) {}

  outcome run_now(task_context& ctx) override {
    auto value = message_.is_null() ? ctx.input() : message_;
    if (const auto* text = value.if_string()) {
      ctx.emit_output(output_stream::out, *text);
    } else {
      ctx.emit_output(output_stream::out, boost::json::serialize(value));
    }
    return outcome::success(std::move(value));
  }

 private:
  boost::json::value message_;
};

class sleep_processor final : public processor {
 public:
  explicit sleep_processor(std::chrono::milliseconds duration) : duration_(duration) {}

  asio::awaitable<outcome> run(task_context&) override {
    asio::steady_timer timer(co_await asio::this_coro::executor, duration_);
    // deferred rather than use_awaitable: the wait is awaited directly
    // instead of through a coroutine frame of its own (144 bytes per
    // sleeping task; a run may hold a great many).
    co_await timer.async_wait(asio::deferred);
    co_return outcome::success();
  }

 private:
  std::chrono::milliseconds duration_;
};

class noop_processor final : public immediate_processor {
 public:
  outcome run_now(task_context&) override { return outcome::success(); }
};

}  // namespace

std::shared_ptr<processor> make_echo_processor(boost::json::value message) {
  return std::make_shared<echo_processor>(std::move(message));
}

std::shared_ptr<processor> make_sleep_processor(std::chrono::milliseconds duration) {
  return std::make_shared<sleep_processor>(duration);
}

std::shared_ptr<processor> make_noop_processor() {
  return std::make_shared<noop_processor>();
}

}  // namespace cascadence::engine
