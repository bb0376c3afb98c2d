#include "service/webhook_subscriptions.hpp"

#include <set>

namespace cascadence::service {

namespace {

// A task subscribed in the configuration: each delivery starts a run of it.
class configured_task final : public adapters::webhooks::webhook_task {
 public:
  configured_task(std::string name, webhook_launch launch) : name_(std::move(name)), launch_(std::move(launch)) {}

  boost::asio::awaitable<void> handle_event(std::string source, std::string event_type,
                                            boost::json::value payload) override {
    return deliver(std::move(source), std::move(event_type), std::move(payload), {});
  }

  boost::asio::awaitable<void> deliver(std::string source, std::string event_type, boost::json::value payload,
                                       std::string delivery_id) override {
    // Named locals rather than temporaries in the co_await expression: GCC 12
    // mis-handles the lifetime of such temporaries in coroutines (ASan caught
    // a string of one freed from inside the coroutine frame).
    engine::run_event event{std::move(source), std::move(event_type), std::move(delivery_id)};
    auto run = launch_(name_, std::move(event), std::move(payload));
    co_await std::move(run);
  }

 private:
  std::string name_;
  webhook_launch launch_;
};

}  // namespace

std::shared_ptr<adapters::webhooks::webhook_registry> make_webhook_registry(const config& cfg,
                                                                            const webhook_launch& launch) {
  auto reg = std::make_shared<adapters::webhooks::webhook_registry>();
  std::set<std::string, std::less<>> sources{"github", "calcom"};
  for (const auto& t : cfg.tasks) {
    if (!t.on) continue;
    reg->subscribe(t.on->source, t.on->events, t.name, std::make_shared<configured_task>(t.name, launch));
    sources.insert(t.on->source);
  }
  for (const auto& [source, secret] : cfg.webhook_secrets) sources.insert(source);
  for (const auto& source : sources) reg->set_secret(source, webhook_secret(cfg, source));
  return reg;
}

}  // namespace cascadence::service
