#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace cascadence::scheduling {

/// Watches files for replacement or rewrite (inotify on their directories,
/// so atomic renames and editors' save-as-new-file are seen), on the loop.
class file_watcher final {
 public:
  /// Starts watching `files`; their directories must exist.
  file_watcher(const boost::asio::any_io_executor& ex, std::vector<std::filesystem::path> files);
  ~file_watcher();
  file_watcher(const file_watcher&) = delete;
  file_watcher& operator=(const file_watcher&) = delete;

  /// Completes with the watched files that changed, once changes have been
  /// quiet for `settle` (a burst of writes is one change). Throws
  /// operation_aborted after close().
  [[nodiscard]] boost::asio::awaitable<std::vector<std::filesystem::path>> changed(std::chrono::milliseconds settle);

  /// Stops watching; a pending changed() completes with operation_aborted.
  void close();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace cascadence::scheduling
