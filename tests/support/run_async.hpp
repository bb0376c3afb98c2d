#pragma once

// One helper for every async test: runs a coroutine to completion on a test
// io_context and returns its result or rethrows its exception.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <exception>
#include <optional>
#include <stdexcept>

namespace cascadence::test {

template <typename T>
T run_async(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr error;
  boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result.emplace(std::move(value));
  });
  io.run();
  io.restart();
  if (error) std::rethrow_exception(error);
  if (!result) throw std::logic_error("coroutine did not complete");
  return std::move(*result);
}

template <typename T>
T run_async(boost::asio::awaitable<T> task) {
  boost::asio::io_context io;
  return run_async(io, std::move(task));
}

}  // namespace cascadence::test
