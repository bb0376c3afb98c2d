#pragma once

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>

namespace cascadence::scheduling {

/// A state file that cannot be read back; says which file, where and why.
class state_error final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

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
