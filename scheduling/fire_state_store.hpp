#pragma once

#include "scheduling/atomic_file.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace cascadence::scheduling {

/// The last nominal fire time of each schedule, so a restarted scheduler
/// never fires the same instant twice and knows what it missed: a YAML
/// mapping of task name to Unix seconds.
///
/// It is saved before every batch of fires, so a save must cost little. Two
/// files take turns, `NAME` and `NAME.alt` with `.alt` before the extension
/// (`fire-state.yml`, `fire-state.alt.yml`): each save overwrites the older
/// one in place under a header line (a YAML comment) with a generation
/// number, the body's length and its checksum, and load() takes the newest
/// file that is whole. A crash in the middle of a save leaves the other
/// file, one save older, intact: the fire being saved had not started, so
/// firing it again after a restart is right. No file is created or renamed
/// per save (a rename over a file costs about half a millisecond on ext4,
/// which flushes the replaced file first).
class fire_state_store final {
 public:
  using times = std::map<std::string, std::chrono::sys_seconds>;

  explicit fire_state_store(std::filesystem::path file);

  /// The newest whole save on disk (empty when there is none). Also reads
  /// the single file earlier versions wrote. A file that is not usable (not
  /// ours, hand-edited, a wrong shape or value) is renamed to
  /// `NAME.corrupt-<UTC time>` before any save could overwrite it, and
  /// problems() says so; a save of ours torn by a crash beside a whole one
  /// is the one unusable file left for the next save to overwrite. One that
  /// cannot be moved aside (a read-only directory) is never saved over.
  [[nodiscard]] times load();
  /// What the last load() found unusable and where it put it, one sentence
  /// per file.
  [[nodiscard]] const std::vector<std::string>& problems() const noexcept { return problems_; }
  /// Saves `state` over the older of the two files; durable against a
  /// machine crash only with durability::synced (else call sync() later).
  void save(const times& state, durability d = durability::synced);
  /// Makes the last save survive a machine crash. Touches no member that
  /// save() changes: callable on another thread while the owner saves.
  void sync() const;

  [[nodiscard]] const std::filesystem::path& file() const noexcept { return files_[0]; }

 private:
  std::array<std::filesystem::path, 2> files_;
  std::uint64_t generation_ = 0;  // of the newest save
  std::size_t next_ = 0;          // the file the next save overwrites
  std::vector<std::string> problems_;
  std::array<bool, 2> kept_{};  // unusable, and could not be moved aside
};

}  // namespace cascadence::scheduling
