#pragma once

#include "core/result.hpp"
#include "plugins/library.hpp"

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace cascadence::engine {
class processor;
}

namespace cascadence::plugins {

/// Where a plugin's code runs.
enum class isolation : std::uint8_t { in_process, process };

/// "in_process" / "process".
[[nodiscard]] std::string_view to_string(isolation value) noexcept;

/// One loaded plugin, in-process or in a plugin host process; what the registry holds.
class provider {
 public:
  virtual ~provider() = default;
  [[nodiscard]] virtual const plugin_file& file() const noexcept = 0;
  [[nodiscard]] virtual const plugin_descriptor& descriptor() const noexcept = 0;
  [[nodiscard]] virtual plugins::isolation isolation() const noexcept = 0;
  /// An engine processor for one task's `params` (calls the plugin's create()); the error text is the
  /// plugin's message and becomes a configuration error with the task's file:line:column.
  [[nodiscard]] virtual core::result<std::shared_ptr<engine::processor>, std::string> make_processor(
      const processor_descriptor& which, const boost::json::value& params) = 0;
};

}  // namespace cascadence::plugins
