#pragma once

#include "adapters/webhooks/webhook_observer.hpp"
#include "adapters/webhooks/webhook_registry.hpp"
#include "core/concurrency_limit.hpp"
#include "net/http_message.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cascadence::net {
class router;
}

namespace cascadence::adapters::webhooks {

class webhook_journal;

/// An authenticated, parsed webhook delivery.
struct webhook_event final {
  std::string source;
  std::string type;
  boost::json::value payload;
};

/// What handle_delivery() decided: the reply, and the event to deliver when
/// the delivery was accepted (202).
struct delivery_decision final {
  net::response reply;
  std::optional<webhook_event> event;
};

/// The socket-free part of `POST /webhook/{source}`, in order:
/// unknown source → 404; a secret is configured and the signature header
/// is missing or wrong → 401 (GitHub `X-Hub-Signature-256: sha256=<hex>`,
/// Cal.com `X-Cal-Signature-256: <hex>`, others
/// `X-Cascadence-Signature-256: [sha256=]<hex>`, HMAC-SHA256 of the raw body,
/// compared in constant time); body not one JSON document → 400; no event
/// type → 400. The event type is GitHub's `X-GitHub-Event` header, Cal.com's
/// `triggerEvent` body member, and for other sources the
/// `X-Cascadence-Event` header, else a string `type` body member, else
/// `event`. Accepted: 202 `{"status":"received"}` with the event.
[[nodiscard]] delivery_decision handle_delivery(const net::request& req, std::string_view source,
                                                const webhook_registry& registry);

/// Receives the failures of detached deliveries (a subscriber threw).
using delivery_error_sink = std::function<void(std::string_view message)>;

/// Where the webhook routes find the registry: called once per request, so
/// a reload can swap in another registry while the server runs. A request
/// keeps the registry it got until it is answered.
using registry_source = std::function<std::shared_ptr<const webhook_registry>()>;

/// Registers `POST /webhook/github`, `/webhook/calcom` and
/// `/webhook/{source}` on `routes`. Each accepted event is handed to every
/// matching subscriber in its own coroutine spawned on `ex`; the reply does
/// not wait for them, and each delivery keeps its subscriber alive until it
/// ends, whatever happens to the registry meanwhile. `observer` (optional,
/// not owned, must outlive the routes) hears of every answer and hand-off.
/// With `limit` (optional, not owned, must outlive every delivery), each
/// delivery holds one of its permits while it runs, and an event whose
/// deliveries do not all fit is refused whole: 503 with `Retry-After`.
/// With `journal` (optional, not owned, must outlive every delivery), an
/// accepted event is answered 202 only once the journal has it on disk, a
/// redelivery (the same `X-GitHub-Delivery` or `Idempotency-Key` within the
/// window) is answered 202 `{"status":"duplicate"}` and not delivered, and
/// when the journal is full or cannot be written the answer is 503 with
/// `Retry-After`; each event is marked done once all its deliveries ended.
void add_webhook_routes(net::router& routes, boost::asio::any_io_executor ex, registry_source registry,
                        delivery_error_sink on_error, webhook_observer* observer = nullptr,
                        core::concurrency_limit* limit = nullptr, webhook_journal* journal = nullptr);

/// The same with one registry for the routes' whole life.
void add_webhook_routes(net::router& routes, boost::asio::any_io_executor ex,
                        std::shared_ptr<const webhook_registry> registry, delivery_error_sink on_error,
                        webhook_observer* observer = nullptr, core::concurrency_limit* limit = nullptr,
                        webhook_journal* journal = nullptr);

/// How deliver_event() hands an event over.
struct delivery_context final {
  delivery_error_sink on_error;
  webhook_observer* observer = nullptr;
  /// Each delivery takes one of its permits (the caller checked for room).
  core::concurrency_limit* limit = nullptr;
  /// Marks `journal_id` done once every delivery ended (null: no journal).
  webhook_journal* journal = nullptr;
  std::string journal_id;
  /// What the tasks see as the delivery's id.
  std::string delivery_id;
};

/// Hands `e` to each of its subscribers in `registry`, each delivery in its
/// own coroutine on `ex`; returns how many. What the routes do with an
/// accepted event, and what a restarted server does with the journal's
/// undelivered ones.
std::size_t deliver_event(const boost::asio::any_io_executor& ex, const webhook_registry& registry, webhook_event e,
                          const delivery_context& context);

}  // namespace cascadence::adapters::webhooks
