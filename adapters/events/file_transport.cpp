// The `file` transport: JSON lines appended to a file.

#include "adapters/events/transports.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace cascadence::adapters::events {

namespace {

class file_transport final : public transport {
 public:
  explicit file_transport(const std::string& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)), path_(path) {
    if (fd_ < 0) throw std::runtime_error("cannot open " + path + " for events (" + std::strerror(errno) + ")");
  }
  ~file_transport() override { ::close(fd_); }
  file_transport(const file_transport&) = delete;
  file_transport& operator=(const file_transport&) = delete;

  [[nodiscard]] std::string_view name() const noexcept override { return "file"; }

  // Appending a line to a local file takes microseconds: it is done here,
  // on the loop, rather than paying for a trip to the pool.
  boost::asio::awaitable<std::optional<send_failure>> send(std::vector<event> batch,
                                                           std::chrono::milliseconds) override {
    std::size_t delivered = 0;
    std::string line;
    for (const auto& e : batch) {
      line.assign(e.json);
      line += '\n';
      ssize_t n = 0;
      do {
        n = ::write(fd_, line.data(), line.size());
      } while (n < 0 && errno == EINTR);
      if (n != static_cast<ssize_t>(line.size())) {
        const std::string why = n < 0 ? std::strerror(errno) : "short write";
        co_return send_failure{"send_failed", "writing " + path_ + ": " + why, delivered};
      }
      ++delivered;
    }
    co_return std::nullopt;
  }

 private:
  int fd_;
  std::string path_;
};

}  // namespace

std::unique_ptr<transport> make_file_transport(const std::string& path) {
  return std::make_unique<file_transport>(path);
}

}  // namespace cascadence::adapters::events
