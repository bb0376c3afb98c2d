#include "scheduling/file_watcher.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/inotify.h>
#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <system_error>

namespace cascadence::scheduling {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

struct file_watcher::impl {
  explicit impl(const asio::any_io_executor& ex) : stream(ex), settle_timer(ex) {}
  asio::posix::stream_descriptor stream;
  asio::steady_timer settle_timer;
  std::map<int, std::filesystem::path> dirs;  // watch descriptor -> directory
  std::set<std::filesystem::path> files;
  bool closed = false;
  alignas(inotify_event) char buffer[16384];

  // Reads what is queued; adds watched files that changed to `out`.
  void collect(std::size_t n, std::set<std::filesystem::path>& out) const {
    for (std::size_t off = 0; off + sizeof(inotify_event) <= n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buffer + off);
      off += sizeof(inotify_event) + ev->len;
      if (ev->len == 0) continue;
      auto it = dirs.find(ev->wd);
      if (it == dirs.end()) continue;
      auto path = it->second / ev->name;
      if (files.count(path) != 0U) out.insert(std::move(path));
    }
  }
};

file_watcher::file_watcher(const asio::any_io_executor& ex, std::vector<std::filesystem::path> files)
    : impl_(std::make_unique<impl>(ex)) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
  impl_->stream.assign(fd);
  for (auto& f : files) {
    auto abs = std::filesystem::absolute(f).lexically_normal();
    const auto dir = abs.parent_path();
    const int wd = ::inotify_add_watch(fd, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_CREATE);
    if (wd < 0) throw std::system_error(errno, std::generic_category(), "cannot watch " + dir.string());
    impl_->dirs[wd] = dir;
    impl_->files.insert(std::move(abs));
  }
}

file_watcher::~file_watcher() = default;

asio::awaitable<std::vector<std::filesystem::path>> file_watcher::changed(std::chrono::milliseconds settle) {
  auto& m = *impl_;
  std::set<std::filesystem::path> seen;
  while (seen.empty()) {
    auto [ec, n] = co_await m.stream.async_read_some(asio::buffer(m.buffer), asio::as_tuple(asio::use_awaitable));
    if (ec) throw boost::system::system_error(ec, "reading file change events");
    m.collect(n, seen);
  }
  // Let a burst settle: keep reading until nothing arrives for `settle`.
  for (;;) {
    m.settle_timer.expires_after(settle);
    auto quiet = co_await (m.stream.async_read_some(asio::buffer(m.buffer), asio::as_tuple(asio::use_awaitable)) ||
                           m.settle_timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    // close() cancels the settle timer too, which then wins the race: that
    // is not quiet but the end, or shutdown would reload what changed.
    if (m.closed) throw boost::system::system_error(asio::error::operation_aborted, "file watcher closed");
    if (quiet.index() == 1) break;
    auto [ec, n] = std::get<0>(quiet);
    if (ec) throw boost::system::system_error(ec, "reading file change events");
    m.collect(n, seen);
  }
  co_return std::vector<std::filesystem::path>(seen.begin(), seen.end());
}

void file_watcher::close() {
  boost::system::error_code ec;
  impl_->closed = true;
  impl_->settle_timer.cancel();
  impl_->stream.close(ec);
}

}  // namespace cascadence::scheduling
