#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <utility>

namespace cascadence::core {

/// At most `limit` things at once (runs started over HTTP, say): try_acquire()
/// hands out a permit while there is room and nothing when there is not, so
/// the caller can refuse at once (503) instead of queueing without bound.
/// Not thread-safe: use it from one executor's thread. It must outlive its
/// permits.
class concurrency_limit final {
 public:
  /// Called with the new count whenever a permit is taken or given back
  /// (to keep a gauge), and with `refused` true on a refusal (to count it).
  using observer = std::function<void(std::size_t in_use, bool refused)>;

  /// `limit` 0 means no limit.
  explicit concurrency_limit(std::size_t limit, observer obs = {}) : limit_(limit), observer_(std::move(obs)) {}
  concurrency_limit(const concurrency_limit&) = delete;
  concurrency_limit& operator=(const concurrency_limit&) = delete;

  /// One taken place, given back on destruction.
  class permit final {
   public:
    permit(permit&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    permit& operator=(permit&& other) noexcept {
      if (this != &other) {
        if (owner_ != nullptr) owner_->release();
        owner_ = std::exchange(other.owner_, nullptr);
      }
      return *this;
    }
    permit(const permit&) = delete;
    permit& operator=(const permit&) = delete;
    ~permit() {
      if (owner_ != nullptr) owner_->release();
    }

   private:
    friend class concurrency_limit;
    explicit permit(concurrency_limit& owner) noexcept : owner_(&owner) {}
    concurrency_limit* owner_;
  };

  /// A permit when fewer than limit() are out, else nothing (counted as a refusal).
  [[nodiscard]] std::optional<permit> try_acquire() {
    if (limit_ != 0 && in_use_ >= limit_) {
      ++refused_;
      if (observer_) observer_(in_use_, true);
      return std::nullopt;
    }
    ++in_use_;
    if (observer_) observer_(in_use_, false);
    return permit(*this);
  }

  /// Counts a refusal decided by the caller (it needed more than one permit
  /// and has_room() said no).
  void refuse() {
    ++refused_;
    if (observer_) observer_(in_use_, true);
  }

  /// True when `n` more permits could be taken now.
  [[nodiscard]] bool has_room(std::size_t n = 1) const noexcept { return limit_ == 0 || in_use_ + n <= limit_; }

  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }
  /// Changes the limit (a reload); permits already out stay valid.
  void set_limit(std::size_t limit) noexcept { limit_ = limit; }
  [[nodiscard]] std::size_t in_use() const noexcept { return in_use_; }
  [[nodiscard]] std::size_t refused() const noexcept { return refused_; }

 private:
  void release() noexcept {
    --in_use_;
    // An observer that throws would end the program here (noexcept): they
    // only set gauges.
    if (observer_) observer_(in_use_, false);
  }

  std::size_t limit_;
  observer observer_;
  std::size_t in_use_ = 0;
  std::size_t refused_ = 0;
};

}  // namespace cascadence::core
