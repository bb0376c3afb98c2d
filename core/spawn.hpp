#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace cascadence::core {

/// Hears of an exception that escaped a spawned coroutine: `what` names the
/// coroutine, `why` is describe() of the exception. Called on the
/// coroutine's executor; it must not throw.
using escape_handler = std::function<void(std::string_view what, std::string_view why)>;

/// Starts `work` on `ex` detached from the caller, like co_spawn with
/// asio::detached, except that an exception escaping it is handed to
/// `on_escape` (log it, count it) instead of vanishing. The one place where a
/// fire-and-forget coroutine is spawned; expected failures should be values
/// handled inside `work`.
void spawn(const boost::asio::any_io_executor& ex, boost::asio::awaitable<void> work, std::string what,
           escape_handler on_escape);

}  // namespace cascadence::core
