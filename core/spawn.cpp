#include "core/spawn.hpp"

#include "core/describe.hpp"

#include <boost/asio/co_spawn.hpp>

namespace cascadence::core {

void spawn(const boost::asio::any_io_executor& ex, boost::asio::awaitable<void> work, std::string what,
           escape_handler on_escape) {
  boost::asio::co_spawn(ex, std::move(work),
                        [what = std::move(what), on_escape = std::move(on_escape)](const std::exception_ptr& e) {
                          if (e && on_escape) on_escape(what, describe(e));
                        });
}

}  // namespace cascadence::core
