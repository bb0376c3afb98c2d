#pragma once

// The webhook side of a configuration: which tasks `on: {webhook: ...}`
// subscribes, and the secret of each source.

#include "adapters/webhooks/webhook_registry.hpp"
#include "engine/run_event.hpp"
#include "service/config.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <string>

namespace cascadence::service {

/// Runs the configured task `task` for one delivery: `event` says where it
/// came from, `payload` is the run input.
using webhook_launch =
    std::function<boost::asio::awaitable<void>(std::string task, engine::run_event event, boost::json::value payload)>;

/// A registry for `cfg`: every task with `on:` subscribed under its own
/// name, its deliveries running through `launch`; and every source that is
/// built in, subscribed to or listed under `webhook.secrets` given its
/// secret (webhook_secret(): CASCADENCE_WEBHOOK_SECRET_<SOURCE> wins). The
/// registry is returned unshared so that built-in C++ webhook tasks can
/// subscribe to it too before it is handed to the routes.
[[nodiscard]] std::shared_ptr<adapters::webhooks::webhook_registry> make_webhook_registry(const config& cfg,
                                                                                          const webhook_launch& launch);

}  // namespace cascadence::service
