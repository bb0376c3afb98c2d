#include "adapters/webhooks/webhook_routes.hpp"

#include "adapters/run_limit_reply.hpp"
#include "adapters/webhooks/webhook_journal.hpp"
#include "core/describe.hpp"
#include "engine/run_id.hpp"
#include "net/hmac.hpp"
#include "net/json.hpp"
#include "net/router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>

#include <exception>
#include <optional>

namespace cascadence::adapters::webhooks {

namespace asio = boost::asio;

namespace {

net::response error_reply(unsigned status, std::string reason) {
  return net::json_response(status, boost::json::object{{"error", std::move(reason)}});
}

struct signature_scheme final {
  std::string_view header;
  std::string_view prefix;  // required before the hex digest
  bool prefix_optional = false;
};

signature_scheme scheme_of(std::string_view source) {
  if (source == "github") return {"X-Hub-Signature-256", "sha256=", false};
  if (source == "calcom") return {"X-Cal-Signature-256", "", false};
  return {"X-Cascadence-Signature-256", "sha256=", true};
}

// Empty when the request carries a valid signature of its body.
std::string signature_problem(const net::request& req, std::string_view source, const net::hmac_sha256& key) {
  const auto scheme = scheme_of(source);
  const auto header = req.header(scheme.header);
  if (!header || header->empty()) return "missing signature (" + std::string(scheme.header) + ")";
  std::string_view given = *header;
  if (given.starts_with(scheme.prefix)) {
    given.remove_prefix(scheme.prefix.size());
  } else if (!scheme.prefix_optional) {
    return "invalid signature (" + std::string(scheme.header) + ")";
  }
  if (!key.verify_hex(req.body, given)) return "invalid signature (" + std::string(scheme.header) + ")";
  return {};
}

// An event's deliveries still running; the last to end marks the event
// done in the journal.
struct event_settle final {
  webhook_journal* journal;
  std::string id;
  std::size_t remaining;
};

// The end of one detached delivery: reports its failure, if any, and holds
// its subscriber until then, since a reload may replace (and free) the
// registry that named it while the delivery is suspended.
struct delivery_end final {
  delivery_error_sink on_error;
  std::shared_ptr<webhook_task> task;
  std::string name;
  std::string source;
  std::string type;
  // Its place under http.max_runs, given back when the delivery ends.
  std::optional<core::concurrency_limit::permit> permit;
  std::shared_ptr<event_settle> settle;

  void operator()(std::exception_ptr p) const {
    if (settle && --settle->remaining == 0) settle->journal->mark_done(settle->id);
    if (!p || !on_error) return;
    on_error("webhook " + source + "/" + type + " to " + name + " failed: " + core::describe(p));
  }
};

net::response unavailable(std::string why) {
  auto reply = error_reply(503, std::move(why));
  reply.headers.set("Retry-After", "5");
  return reply;
}

net::response accepted_reply() {
  // Built whole: a default response would first allocate its text/plain type.
  return net::response{202, std::string(net::json_content_type), {}, R"({"status":"received"})"};
}

}  // namespace

delivery_decision handle_delivery(const net::request& req, std::string_view source, const webhook_registry& registry) {
  if (!registry.knows(source)) return {error_reply(404, "unknown webhook source '" + std::string(source) + "'"), {}};
  if (const auto* key = registry.signing_key(source)) {
    if (auto problem = signature_problem(req, source, *key); !problem.empty()) {
      return {error_reply(401, std::move(problem)), {}};
    }
  }
  // One arena per payload, shared by its copies and freed with the last:
  // parsing into it costs a few allocations instead of one per node.
  auto parsed = net::parse_json(
      req.body, boost::json::make_shared_resource<boost::json::monotonic_resource>(2 * req.body.size() + 256));
  if (!parsed) return {error_reply(400, "malformed JSON body: " + parsed.error()), {}};
  webhook_event event{std::string(source), {}, std::move(parsed).value()};
  const auto* object = event.payload.if_object();
  const auto string_member = [&](std::string_view key) -> std::optional<std::string> {
    if (object == nullptr) return std::nullopt;
    const auto* v = object->if_contains(key);
    if (v == nullptr || !v->is_string() || v->as_string().empty()) return std::nullopt;
    return std::string(v->as_string());
  };
  if (source == "github") {
    const auto h = req.header("X-GitHub-Event");
    if (!h || h->empty()) return {error_reply(400, "missing event type (X-GitHub-Event header)"), {}};
    event.type = *h;
  } else if (source == "calcom") {
    // The seed's original reads Cal.com's event type from this header first.
    if (const auto h = req.header("Cal-Event-Type"); h && !h->empty()) {
      event.type = *h;
    } else if (auto t = string_member("triggerEvent")) {
      event.type = std::move(*t);
    } else {
      return {error_reply(400,
                          "missing event type (a Cal-Event-Type header or a string 'triggerEvent' in the JSON "
                          "body)"),
              {}};
    }
  } else if (const auto h = req.header("X-Cascadence-Event"); h && !h->empty()) {
    event.type = *h;
  } else {
    event.type = string_member("type").value_or("event");
  }
  return {accepted_reply(), std::move(event)};
}

std::size_t deliver_event(const asio::any_io_executor& ex, const webhook_registry& registry, webhook_event e,
                          const delivery_context& context) {
  std::size_t wanted = 0;
  registry.for_each_subscriber(e.source, e.type, [&](const webhook_registry::subscriber&, bool) { ++wanted; });
  std::shared_ptr<event_settle> settle;
  if (context.journal != nullptr) {
    if (wanted == 0) {
      context.journal->mark_done(context.journal_id);
      return 0;
    }
    settle = std::make_shared<event_settle>(event_settle{context.journal, context.journal_id, wanted});
  }
  registry.for_each_subscriber(e.source, e.type, [&](const webhook_registry::subscriber& sub, bool last) {
    if (context.observer != nullptr) context.observer->on_delivery(e.source, sub.name);
    // Each delivery runs detached: its failure is reported, never thrown
    // into the server (which has long answered the sender). The last
    // subscriber gets the payload itself, the others a copy.
    auto payload = last ? std::move(e.payload) : boost::json::value(e.payload);
    delivery_end end{context.on_error, sub.task, sub.name, e.source, e.type, {}, settle};
    if (context.limit != nullptr) end.permit = context.limit->try_acquire();  // the caller made room
    // Started here rather than inside a wrapping coroutine, which would
    // cost a frame per delivery; a task that throws before it returns
    // its awaitable is reported like one that fails later.
    std::optional<asio::awaitable<void>> delivery;
    try {
      delivery.emplace(sub.task->deliver(e.source, e.type, std::move(payload), context.delivery_id));
    } catch (...) {
      end(std::current_exception());
      return;
    }
    asio::co_spawn(ex, std::move(*delivery), std::move(end));
  });
  return wanted;
}

void add_webhook_routes(net::router& routes, asio::any_io_executor ex, registry_source registry,
                        delivery_error_sink on_error, webhook_observer* observer, core::concurrency_limit* limit,
                        webhook_journal* journal) {
  // Everything up to the decision to deliver: the reply when there is
  // nothing to deliver, else the event with the registry that routes it.
  auto decide = [registry = std::move(registry), limit](std::string_view source, net::request& req,
                                                        std::shared_ptr<const webhook_registry>& current) {
    current = registry();  // this request's view, whatever a reload does meanwhile
    auto decision = handle_delivery(req, source, *current);
    if (decision.event && limit != nullptr) {
      // Every delivery of the event needs a place, or none is made: the
      // sender is told to retry rather than getting a partial delivery.
      std::size_t wanted = 0;
      current->for_each_subscriber(decision.event->source, decision.event->type,
                                   [&](const webhook_registry::subscriber&, bool) { ++wanted; });
      if (!limit->has_room(wanted)) {
        limit->refuse();
        decision = {run_limit_reply(*limit), std::nullopt};
      }
    }
    return decision;
  };
  const auto answered = [observer](const webhook_registry& current, std::string_view source, unsigned status) {
    if (observer != nullptr) observer->on_request(current.knows(source) ? source : unknown_source, status);
  };
  if (journal == nullptr) {
    auto handler = [ex, decide, answered, on_error, observer, limit](std::string_view source, net::request& req) {
      std::shared_ptr<const webhook_registry> current;
      auto decision = decide(source, req, current);
      answered(*current, source, decision.reply.status);
      if (decision.event) {
        (void)deliver_event(ex, *current, std::move(*decision.event), {on_error, observer, limit, nullptr, {}, {}});
      }
      return std::move(decision.reply);
    };
    routes.post("/webhook/github", [handler](net::request& req) { return handler("github", req); });
    routes.post("/webhook/calcom", [handler](net::request& req) { return handler("calcom", req); });
    routes.post("/webhook/{source}",
                [handler](net::request& req) { return handler(req.param("source").value_or(""), req); });
    return;
  }
  // With the journal, 202 is sent once the event is on disk.
  auto handler = [ex, decide, answered, on_error, observer, limit, journal](
                     std::string source, net::request& req) -> asio::awaitable<net::response> {
    std::shared_ptr<const webhook_registry> current;
    auto decision = decide(source, req, current);
    if (decision.event) {
      auto key = delivery_key(req);
      switch (journal->admit(key, req.body.size())) {
        case webhook_journal::admission::duplicate:
          decision = {net::json_response(202, boost::json::object{{"status", "duplicate"}}), std::nullopt};
          break;
        case webhook_journal::admission::full:
          decision = {unavailable("webhook journal full (webhook.journal_limit is " + std::to_string(journal->bytes()) +
                                  " bytes in use); retry later"),
                      std::nullopt};
          break;
        case webhook_journal::admission::accept: {
          auto id = engine::run_id::random().to_string();
          const std::string delivery_id = key.empty() ? id : key;
          auto kept = journal->append(id, std::move(key), *decision.event, req.body);
          if (auto error = co_await std::move(kept); !error.empty()) {
            decision = {unavailable("cannot keep the delivery: " + error), std::nullopt};
            break;
          }
          (void)deliver_event(ex, *current, std::move(*decision.event),
                              {on_error, observer, limit, journal, std::move(id), delivery_id});
          decision.event.reset();
          break;
        }
      }
    }
    answered(*current, source, decision.reply.status);
    co_return std::move(decision.reply);
  };
  routes.post("/webhook/github", [handler](net::request& req) { return handler("github", req); });
  routes.post("/webhook/calcom", [handler](net::request& req) { return handler("calcom", req); });
  routes.post("/webhook/{source}",
              [handler](net::request& req) { return handler(std::string(req.param("source").value_or("")), req); });
}

void add_webhook_routes(net::router& routes, asio::any_io_executor ex, std::shared_ptr<const webhook_registry> registry,
                        delivery_error_sink on_error, webhook_observer* observer, core::concurrency_limit* limit,
                        webhook_journal* journal) {
  add_webhook_routes(
      routes, std::move(ex), [registry = std::move(registry)] { return registry; }, std::move(on_error), observer,
      limit, journal);
}

}  // namespace cascadence::adapters::webhooks
