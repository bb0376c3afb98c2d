#include "adapters/webhooks/webhook_registry.hpp"

#include <algorithm>

namespace cascadence::adapters::webhooks {

namespace {

class function_task final : public webhook_task {
 public:
  explicit function_task(std::function<boost::asio::awaitable<void>(std::string, std::string, boost::json::value)> fn)
      : fn_(std::move(fn)) {}
  boost::asio::awaitable<void> handle_event(std::string source, std::string event_type,
                                            boost::json::value payload) override {
    return fn_(std::move(source), std::move(event_type), std::move(payload));
  }

 private:
  std::function<boost::asio::awaitable<void>(std::string, std::string, boost::json::value)> fn_;
};

}  // namespace

std::shared_ptr<webhook_task> make_webhook_task(
    std::function<boost::asio::awaitable<void>(std::string, std::string, boost::json::value)> fn) {
  return std::make_shared<function_task>(std::move(fn));
}

void webhook_registry::subscribe(std::string source, std::vector<std::string> events, std::string name,
                                 std::shared_ptr<webhook_task> task) {
  subscriptions_.push_back({std::move(source), std::move(events), {std::move(name), std::move(task)}});
}

void webhook_registry::set_secret(std::string source, std::string secret) {
  if (secret.empty()) {
    secrets_.erase(source);
  } else {
    net::hmac_sha256 key(secret);
    secrets_.insert_or_assign(std::move(source), signing{std::move(secret), std::move(key)});
  }
}

const std::string* webhook_registry::secret(std::string_view source) const noexcept {
  const auto it = secrets_.find(source);
  return it == secrets_.end() ? nullptr : &it->second.secret;
}

const net::hmac_sha256* webhook_registry::signing_key(std::string_view source) const noexcept {
  const auto it = secrets_.find(source);
  return it == secrets_.end() ? nullptr : &it->second.key;
}

bool webhook_registry::subscription::matches(std::string_view src, std::string_view event_type) const noexcept {
  return source == src && (events.empty() || std::find(events.begin(), events.end(), event_type) != events.end());
}

bool webhook_registry::knows(std::string_view source) const noexcept {
  if (source == "github" || source == "calcom" || secrets_.contains(source)) return true;
  return std::any_of(subscriptions_.begin(), subscriptions_.end(),
                     [&](const subscription& s) { return s.source == source; });
}

std::vector<webhook_registry::subscriber> webhook_registry::subscribers(std::string_view source,
                                                                        std::string_view event_type) const {
  std::vector<subscriber> out;
  for_each_subscriber(source, event_type, [&](const subscriber& who, bool) { out.push_back(who); });
  return out;
}

}  // namespace cascadence::adapters::webhooks
