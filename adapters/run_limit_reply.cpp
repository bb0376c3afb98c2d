#include "adapters/run_limit_reply.hpp"

#include "core/concurrency_limit.hpp"
#include "net/json.hpp"

#include <boost/json/object.hpp>

#include <string>

namespace cascadence::adapters {

net::response run_limit_reply(const core::concurrency_limit& limit) {
  auto r =
      net::json_response(503, boost::json::object{{"error", "too many runs in progress (http.max_runs is " +
                                                                std::to_string(limit.limit()) + "); retry later"}});
  r.headers.set("Retry-After", "1");
  return r;
}

}  // namespace cascadence::adapters
