#include "core/describe.hpp"

#include <doctest/doctest.h>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <stdexcept>

using cascadence::core::describe;
using cascadence::core::describe_current;

TEST_CASE("describe says what a std::exception says") {
  CHECK(describe(std::make_exception_ptr(std::runtime_error("disk full"))) == "disk full");
}

TEST_CASE("describe calls a cancelled Asio operation aborted") {
  const boost::system::system_error aborted(boost::asio::error::operation_aborted);
  CHECK(describe(std::make_exception_ptr(aborted)) == "aborted");
  const boost::system::system_error refused(boost::asio::error::connection_refused);
  CHECK(describe(std::make_exception_ptr(refused)) == refused.what());
}

TEST_CASE("describe names what is not a std::exception, and no exception") {
  CHECK(describe(std::make_exception_ptr(42)) == "unknown exception");
  CHECK(describe(nullptr) == "no exception");
}

TEST_CASE("describe_current describes the exception being handled") {
  try {
    throw std::logic_error("bad state");
  } catch (...) {
    CHECK(describe_current() == "bad state");
  }
}
