#pragma once

#include <type_traits>
#include <utility>
#include <variant>

namespace cascadence::core {

/// A value or the error that prevented it: how every layer reports expected
/// failures (a refused connection, a timeout, unparsable JSON, a schedule that does not parse) without
/// exceptions. Accessing the wrong side throws std::bad_variant_access.
template <typename T, typename E>
class [[nodiscard]] result final {
  static_assert(!std::is_same_v<T, E>, "value and error types must differ");

 public:
  /// A default value, for frameworks that need one (co_spawn does).
  result() requires std::is_default_constructible_v<T> : v_(std::in_place_index<0>) {}
  /// A successful result.
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  /// A failed result.
  result(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  [[nodiscard]] T& value() & { return std::get<0>(v_); }
  [[nodiscard]] const T& value() const& { return std::get<0>(v_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(v_)); }
  [[nodiscard]] E& error() & { return std::get<1>(v_); }
  [[nodiscard]] const E& error() const& { return std::get<1>(v_); }
  [[nodiscard]] E&& error() && { return std::get<1>(std::move(v_)); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, E> v_;
};

}  // namespace cascadence::core
