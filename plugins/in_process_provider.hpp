#pragma once

#include "core/result.hpp"
#include "plugins/provider.hpp"

#include <cstddef>
#include <memory>
#include <ostream>
#include <string>

namespace boost::asio {
class thread_pool;
}

namespace cascadence::plugins {

/// How an in-process plugin is hosted.
struct in_process_options final {
  /// Backs the "cascadence.executor/1" extension; null: the extension is absent.
  boost::asio::thread_pool* pool = nullptr;
  /// Where the plugin's log() lines go, with its name in front; null: std::cerr.
  std::ostream* log = nullptr;
};

/// How many attempts of in-process plugins are waiting for their complete() (all plugins of this process):
/// what a test checks to prove nothing is left behind.
[[nodiscard]] std::size_t in_process_runs_pending() noexcept;

/// Opens `file.cached` in this process (library::open with a host of its own) and returns a provider whose
/// processors call the plugin directly. Error: library::open's.
[[nodiscard]] core::result<std::shared_ptr<provider>, std::string> make_in_process_provider(const plugin_file& file,
                                                                                            in_process_options options);

}  // namespace cascadence::plugins
