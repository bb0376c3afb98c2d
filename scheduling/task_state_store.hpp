#pragma once

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cascadence::scheduling {

/// A state file that cannot be read back; says which file, where and why.
class state_error final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws state_error naming the line and column when `text`, the contents
/// of `file`, is not UTF-8. yaml-cpp reads such bytes as they are but writes
/// U+FFFD in their place, so a state file that is not UTF-8 cannot be
/// rewritten unchanged: updates refuse it, never overwrite it.
void require_utf8(const std::filesystem::path& file, std::string_view text);

/// Persists per-task enabled/disabled overrides across processes, as a YAML
/// file `enabled: {NAME: true|false}`. Updates lock the file, re-read it and
/// replace it atomically; a file that does not parse is reported, never
/// overwritten.
class task_state_store final {
 public:
  explicit task_state_store(std::filesystem::path file);

  /// The overrides on disk (empty when the file does not exist yet).
  [[nodiscard]] std::map<std::string, bool> load() const;
  /// Records that `task` is enabled or disabled.
  void set_enabled(const std::string& task, bool enabled);

  [[nodiscard]] const std::filesystem::path& file() const noexcept { return file_; }

 private:
  std::filesystem::path file_;
};

}  // namespace cascadence::scheduling
