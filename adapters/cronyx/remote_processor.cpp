#include "adapters/cronyx/remote_processor.hpp"

#include "engine/processor.hpp"

namespace cascadence::adapters::cronyx {

namespace {

class remote_processor final : public engine::processor {
 public:
  remote_processor(std::shared_ptr<server> srv, std::string task_id, boost::json::value params)
      : server_(std::move(srv)), task_id_(std::move(task_id)), params_(std::move(params)) {}

  boost::asio::awaitable<engine::outcome> run(engine::task_context& ctx) override {
    // Kept alive for the attempt: a refresh may replace the server object.
    const auto srv = server_;
    if (const auto& why = srv->unavailable()) {
      // The reason is a discovery error, which names the server already.
      const auto named = "remote server " + srv->base_url() + ": ";
      const std::string_view reason = why->starts_with(named) ? std::string_view(*why).substr(named.size()) : *why;
      co_return engine::outcome::failure(named + "unavailable (" + std::string(reason) + ")");
    }
    co_return co_await srv->connection().run(ctx, task_id_, params_);
  }

 private:
  std::shared_ptr<server> server_;
  std::string task_id_;
  boost::json::value params_;
};

}  // namespace

std::shared_ptr<engine::processor> make_remote_processor(std::shared_ptr<server> srv, std::string task_id,
                                                         boost::json::value params) {
  return std::make_shared<remote_processor>(std::move(srv), std::move(task_id), std::move(params));
}

}  // namespace cascadence::adapters::cronyx
