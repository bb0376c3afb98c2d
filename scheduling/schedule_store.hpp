#pragma once

#include "scheduling/schedule.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace cascadence::scheduling {

/// An entry of the schedules file that could not be decoded; it is kept in
/// the file exactly as it was and reported.
struct undecodable_entry final {
  std::string key;
  /// "file:line:column: why".
  std::string problem;
};

/// The contents of the schedules file.
struct schedule_file final {
  std::vector<schedule_entry> entries;
  std::vector<undecodable_entry> undecodable;
};

/// `schedules.yml`: a YAML mapping of task name to crontab expression
/// (`example: "0 12 * * *"`), or to a mapping with `schedule`, `timezone`,
/// `overlap`, `catchup_window`, `jitter` and `paused` when any of those is
/// not the default. Updates lock the file, re-read it, apply the change and
/// replace the file atomically; entries that cannot be decoded are written
/// back untouched. A file that is not a YAML mapping at all is refused
/// (state_error), never overwritten.
class schedule_store final {
 public:
  explicit schedule_store(std::filesystem::path file);

  [[nodiscard]] schedule_file load() const;

  /// Applies `change` to the entries under the file lock and writes the
  /// result. `change` may add, edit or remove entries; it sees only the
  /// decodable ones.
  void update(const std::function<void(std::vector<schedule_entry>&)>& change);

  [[nodiscard]] const std::filesystem::path& file() const noexcept { return file_; }

 private:
  std::filesystem::path file_;
};

}  // namespace cascadence::scheduling
