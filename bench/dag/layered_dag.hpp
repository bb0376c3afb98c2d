#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace cascadence::bench {

/// The shape of the layered DAG workload, shared by every implementation so
/// they all run the same graph: `layers` layers of `width` nodes; node i of
/// layer l has id l * width + i and, from the second layer on, depends on two
/// distinct nodes of layer l - 1 (one when width is 1) drawn from a
/// generator seeded with `seed`.
class layered_dag final {
 public:
  layered_dag(std::size_t layers, std::size_t width, std::uint64_t seed);

  /// Number of nodes.
  [[nodiscard]] std::size_t size() const noexcept { return layers_ * width_; }
  /// Number of dependency edges.
  [[nodiscard]] std::size_t edges() const noexcept { return deps_.size(); }
  /// The nodes `node` depends on (empty in the first layer).
  [[nodiscard]] std::span<const std::uint32_t> dependencies(std::size_t node) const noexcept;

 private:
  std::size_t layers_;
  std::size_t width_;
  std::size_t per_node_;
  std::vector<std::uint32_t> deps_;  // per_node_ entries per node after the first layer
};

}  // namespace cascadence::bench
