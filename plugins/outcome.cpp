#include "plugins/outcome.hpp"

#include "plugins/library.hpp"

#include <boost/json/parse.hpp>

namespace cascadence::plugins {

engine::outcome completed_outcome(const std::string& plugin, cascadence_status_t status,
                                  const std::optional<std::string>& result, const std::string& error) {
  if (status != CASCADENCE_STATUS_OK) {
    return engine::outcome::failure(describe_status(status) + (error.empty() ? "" : ": " + error));
  }
  if (!result) return engine::outcome::success();
  boost::system::error_code ec;
  auto value = boost::json::parse(*result, ec);
  if (ec) {
    return engine::outcome::failure("plugin " + plugin + " returned a result that is not JSON (" + ec.message() + ")");
  }
  return engine::outcome::success(std::move(value));
}

engine::outcome refused_outcome(cascadence_status_t status, const std::string& error) {
  return engine::outcome::failure(error.empty() ? "start() failed with " + describe_status(status) : error);
}

}  // namespace cascadence::plugins
