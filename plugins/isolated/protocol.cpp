#include "plugins/isolated/protocol.hpp"

#include <stdexcept>

namespace cascadence::plugins::isolated {

void append_frame(std::string& out, std::string_view json) {
  const auto n = static_cast<std::uint32_t>(json.size());
  const char head[4] = {static_cast<char>(n & 0xFFU), static_cast<char>((n >> 8U) & 0xFFU),
                        static_cast<char>((n >> 16U) & 0xFFU), static_cast<char>((n >> 24U) & 0xFFU)};
  out.append(head, sizeof head);
  out.append(json);
}

std::optional<std::string_view> frame_reader::next() {
  // Consumed bytes are dropped lazily, once they are most of the buffer, so
  // that a burst of small frames costs no memmove per frame.
  if (start_ > 0 && start_ * 2 >= buffer_.size()) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  if (buffer_.size() - start_ < 4) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + start_);
  const std::size_t n = static_cast<std::size_t>(p[0]) | (static_cast<std::size_t>(p[1]) << 8U) |
                        (static_cast<std::size_t>(p[2]) << 16U) | (static_cast<std::size_t>(p[3]) << 24U);
  if (n > max_frame_bytes) {
    throw std::runtime_error("frame of " + std::to_string(n) + " bytes, more than the " +
                             std::to_string(max_frame_bytes) + " allowed");
  }
  if (buffer_.size() - start_ - 4 < n) return std::nullopt;
  const std::string_view frame(buffer_.data() + start_ + 4, n);
  start_ += 4 + n;
  return frame;
}

}  // namespace cascadence::plugins::isolated
