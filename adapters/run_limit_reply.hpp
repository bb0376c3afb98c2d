#pragma once

// The answer to a request that would start a run past `http.max_runs`,
// shared by the webhook routes and the REST API.

#include "net/http_message.hpp"

namespace cascadence::core {
class concurrency_limit;
}

namespace cascadence::adapters {

/// 503 `{"error": "too many runs in progress (http.max_runs is N); retry
/// later"}` with `Retry-After: 1`.
[[nodiscard]] net::response run_limit_reply(const core::concurrency_limit& limit);

}  // namespace cascadence::adapters
