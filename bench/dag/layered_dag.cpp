#include "bench/dag/layered_dag.hpp"

#include <random>

namespace cascadence::bench {

layered_dag::layered_dag(std::size_t layers, std::size_t width, std::uint64_t seed)
    : layers_(layers), width_(width), per_node_(width > 1 ? 2 : 1) {
  std::mt19937_64 rng(seed);
  deps_.reserve(layers > 1 ? (layers - 1) * width * per_node_ : 0);
  for (std::size_t layer = 1; layer < layers; ++layer) {
    const auto previous = (layer - 1) * width;
    for (std::size_t i = 0; i < width; ++i) {
      // Two distinct picks: the second is drawn from the other width - 1.
      const auto a = rng() % width;
      deps_.push_back(static_cast<std::uint32_t>(previous + a));
      if (per_node_ == 2) {
        auto b = rng() % (width - 1);
        if (b >= a) ++b;
        deps_.push_back(static_cast<std::uint32_t>(previous + b));
      }
    }
  }
}

std::span<const std::uint32_t> layered_dag::dependencies(std::size_t node) const noexcept {
  if (node < width_) return {};
  const auto first = (node - width_) * per_node_;
  return {deps_.data() + first, per_node_};
}

}  // namespace cascadence::bench
