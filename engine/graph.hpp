#pragma once

#include "core/result.hpp"
#include "engine/task.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cascadence::engine {

/// Index of a task inside one graph; stable for the graph's lifetime.
using task_id = std::uint32_t;

/// Why a set of tasks does not form a valid graph.
struct graph_error final {
  enum class code : std::uint8_t { duplicate_task, unknown_dependency, cycle, missing_processor };
  code kind;
  /// One line for humans, naming the culprits (`cycle: a -> b -> c -> a`).
  std::string message;
  /// The tasks involved, in order (for a cycle: the path, first repeated last).
  std::vector<std::string> tasks;
};

class graph;

/// Collects tasks and edges, then validates them into an immutable graph.
class graph_builder final {
 public:
  graph_builder();
  ~graph_builder();
  graph_builder(graph_builder&&) noexcept;
  graph_builder& operator=(graph_builder&&) noexcept;

  /// Reserves room for `tasks` tasks and `edges` dependency edges.
  void reserve(std::size_t tasks, std::size_t edges);

  /// Adds a task and returns its id (duplicates are reported by build()).
  task_id add(task_spec spec);
  /// Declares that `task` runs after `dependency` (both ids from add()).
  void add_dependency(task_id task, task_id dependency);
  /// Declares a dependency by name; resolved (and checked) by build().
  void add_dependency(task_id task, std::string dependency);

  /// Validates (duplicates, unknown dependencies, cycles) and freezes.
  [[nodiscard]] core::result<graph, graph_error> build() &&;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// An immutable, validated task graph in compact (CSR) form. Cheap to share
/// by const reference among concurrent runs.
class graph final {
 public:
  graph() = default;
  // A graph may hold millions of tasks: share it, never copy it by accident.
  graph(const graph&) = delete;
  graph& operator=(const graph&) = delete;
  graph(graph&&) noexcept = default;
  graph& operator=(graph&&) noexcept = default;

  [[nodiscard]] std::size_t size() const noexcept { return names_.size(); }
  [[nodiscard]] std::string_view name(task_id id) const noexcept { return names_[id]; }
  [[nodiscard]] const task_settings& settings(task_id id) const noexcept { return settings_[rows_[id].settings]; }
  [[nodiscard]] processor& proc(task_id id) const noexcept { return *procs_[rows_[id].proc]; }
  /// The task's processor when it finishes without waiting, else null.
  [[nodiscard]] immediate_processor* immediate(task_id id) const noexcept { return immediates_[rows_[id].proc]; }
  [[nodiscard]] std::span<const task_id> dependencies(task_id id) const noexcept {
    return {dep_edges_.data() + dep_offsets_[id], dep_edges_.data() + dep_offsets_[id + 1]};
  }
  [[nodiscard]] std::span<const task_id> dependents(task_id id) const noexcept {
    return {succ_edges_.data() + succ_offsets_[id], succ_edges_.data() + succ_offsets_[id + 1]};
  }
  /// The id of a task by name.
  [[nodiscard]] std::optional<task_id> find(std::string_view name) const;
  /// Tasks in a dependency-respecting order (dependencies first).
  [[nodiscard]] std::vector<task_id> topological_order() const;
  /// `targets` and all their transitive dependencies, dependencies first.
  [[nodiscard]] std::vector<task_id> closure(std::span<const task_id> targets) const;

 private:
  friend class graph_builder;

  // Processors and settings are shared between tasks that share them
  // (consecutive tasks with the same processor object or equal settings, as
  // a benchmark's million tasks do); each task's row points at its entries,
  // so what the runner reads per task sits in one 8-byte row.
  struct task_row {
    std::uint32_t proc;
    std::uint32_t settings;
  };
  std::vector<std::string> names_;
  std::vector<task_row> rows_;
  std::vector<std::shared_ptr<processor>> procs_;
  std::vector<immediate_processor*> immediates_;  // per entry of procs_: the same object, or null
  std::vector<task_settings> settings_;
  std::vector<std::uint32_t> dep_offsets_;
  std::vector<task_id> dep_edges_;
  std::vector<std::uint32_t> succ_offsets_;
  std::vector<task_id> succ_edges_;
  // Names to ids: an open-addressing table of ids (no_task when empty),
  // hashed by the name each id has; 4 bytes a slot, at most half full.
  static constexpr task_id no_task = UINT32_MAX;
  std::vector<task_id> name_slots_;

  // The slot holding `name`, or the empty slot where it would go.
  [[nodiscard]] std::size_t name_slot(std::string_view name) const noexcept;
};

}  // namespace cascadence::engine
