#include "core/async_event.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace cascadence::core {

namespace asio = boost::asio;

struct async_event::waiter final {
  asio::steady_timer timer;
  bool signalled = false;
};

void async_event::set() {
  set_ = true;
  // A waiter leaves the list only once it resumes, after this loop: cancel()
  // posts the completion, so nothing is resumed in here.
  for (auto* w : waiters_) {
    w->signalled = true;
    w->timer.cancel();
  }
}

asio::awaitable<bool> async_event::wait() {
  return wait_until(std::chrono::steady_clock::time_point::max());
}

asio::awaitable<bool> async_event::wait_until(std::chrono::steady_clock::time_point deadline) {
  if (set_) co_return true;
  waiter w{asio::steady_timer(ex_, deadline)};
  waiters_.push_back(&w);
  struct unlist final {
    std::vector<waiter*>& list;
    waiter* w;
    ~unlist() { list.erase(std::find(list.begin(), list.end(), w)); }
  } guard{waiters_, &w};
  // The timer expires at the deadline; operation_aborted is set() (which
  // marks the waiter) or a cancellation of the awaiting coroutine.
  (void)co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return w.signalled;
}

}  // namespace cascadence::core
