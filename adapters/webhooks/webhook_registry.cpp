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
    secrets_[std::move(source)] = std::move(secret);
  }
}

const std::string* webhook_registry::secret(std::string_view source) const noexcept {
  const auto it = secrets_.find(source);
  return it == secrets_.end() ? nullptr : &it->second;
}

bool webhook_registry::knows(std::string_view source) const noexcept {
  if (source == "github" || source == "calcom" || secrets_.contains(source)) return true;
  return std::any_of(subscriptions_.begin(), subscriptions_.end(),
                     [&](const subscription& s) { return s.source == source; });
}

std::vector<webhook_registry::subscriber> webhook_registry::subscribers(std::string_view source,
                                                                        std::string_view event_type) const {
  std::vector<subscriber> out;
  for (const auto& s : subscriptions_) {
    if (s.source != source) continue;
    if (!s.events.empty() && std::find(s.events.begin(), s.events.end(), event_type) == s.events.end()) continue;
    out.push_back(s.who);
  }
  return out;
}

}  // namespace cascadence::adapters::webhooks
