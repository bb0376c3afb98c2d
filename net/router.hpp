#pragma once

#include "net/http_message.hpp"

#include <boost/asio/awaitable.hpp>

#include <concepts>
#include <functional>
#include <optional>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace cascadence::net {

/// A handler that answers on the loop, possibly suspending. The request
/// outlives the returned awaitable.
using async_handler = std::function<boost::asio::awaitable<response>(request&)>;
/// A handler that answers without suspending. It must not block the loop.
using sync_handler = std::function<response(request&)>;

/// Callables the router accepts as asynchronous handlers.
template <typename F>
concept async_handler_callable = std::is_invocable_r_v<boost::asio::awaitable<response>, F&, request&>;
/// Callables the router accepts as synchronous handlers.
template <typename F>
concept sync_handler_callable = !async_handler_callable<F> && std::is_invocable_r_v<response, F&, request&>;

/// Maps (method, path) to handlers. Patterns are absolute paths whose
/// segments are literals or `{name}` parameters; a parameter matches one
/// non-empty segment and is captured percent-decoded. A literal segment beats
/// a parameter at the same position (`/webhook/github` wins over
/// `/webhook/{source}`). A trailing slash is significant. HEAD falls back to
/// the GET route of the same path. Build it fully, then hand it to a server:
/// it is not modified afterwards.
class router final {
 public:
  /// Registers `h` for `m` on `pattern`. Throws std::invalid_argument when
  /// the pattern is malformed or (method, pattern shape) is already taken.
  template <typename F>
  requires async_handler_callable<F> || sync_handler_callable<F> router& add(http_method m, std::string_view pattern,
                                                                             F h) {
    if constexpr (async_handler_callable<F>) {
      return add_entry(m, pattern, async_handler(std::move(h)));
    } else {
      return add_entry(m, pattern, sync_handler(std::move(h)));
    }
  }
  /// Shorthands for add() with one method.
  template <typename F>
  router& get(std::string_view pattern, F h) {
    return add(http_method::get, pattern, std::move(h));
  }
  template <typename F>
  router& post(std::string_view pattern, F h) {
    return add(http_method::post, pattern, std::move(h));
  }
  template <typename F>
  router& put(std::string_view pattern, F h) {
    return add(http_method::put, pattern, std::move(h));
  }
  template <typename F>
  router& del(std::string_view pattern, F h) {
    return add(http_method::delete_, pattern, std::move(h));
  }

  /// The socket-free layer: routes `req` (setting `req.params` and
  /// `req.route`) and runs its handler. Unknown path: 404; known path, other
  /// method: 405 with an `Allow` header; undecodable path: 400. Exceptions
  /// from the handler propagate to the caller.
  [[nodiscard]] boost::asio::awaitable<response> handle(request& req) const;

  /// handle() in two steps, so that a server need not start a coroutine for
  /// a synchronous handler: routes `req` as handle() does and answers at
  /// once (the synchronous handler's response, or 404, 405, 400), except
  /// when the matched handler is asynchronous: then returns nothing, and
  /// await_handler(req) runs it. Exceptions from the handler propagate.
  [[nodiscard]] std::optional<response> dispatch(request& req) const;
  /// Runs the asynchronous handler that dispatch() matched for `req`.
  [[nodiscard]] boost::asio::awaitable<response> await_handler(request& req) const;

  /// The registered routes in registration order; stable addresses once the
  /// router is complete (request::route points into this).
  [[nodiscard]] const std::vector<route_info>& routes() const noexcept { return infos_; }

  router();
  router(router&&) noexcept;
  router& operator=(router&&) noexcept;
  router(const router&) = delete;
  router& operator=(const router&) = delete;
  ~router();

 private:
  struct segment;
  struct entry;
  using any_handler = std::variant<async_handler, sync_handler>;

  router& add_entry(http_method m, std::string_view pattern, any_handler h);

  std::vector<route_info> infos_;
  std::vector<entry> entries_;
};

}  // namespace cascadence::net
