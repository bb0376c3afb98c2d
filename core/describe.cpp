#include "core/describe.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

namespace cascadence::core {

std::string describe(const std::exception_ptr& e) {
  if (!e) return "no exception";
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& x) {
    return x.code() == boost::asio::error::operation_aborted ? "aborted" : x.what();
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

std::string describe_current() {
  return describe(std::current_exception());
}

}  // namespace cascadence::core
