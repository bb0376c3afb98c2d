#include "scheduling/atomic_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <random>
#include <system_error>

namespace cascadence::scheduling {

namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

// Closes the descriptor on every path out of a scope.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

void write_all(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    const auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", path);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::filesystem::path directory_of(const std::filesystem::path& path) {
  return path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
}

void sync_directory_of(const std::filesystem::path& path) {
  const auto dir = directory_of(path);
  fd_guard dirfd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dirfd.fd < 0 || ::fsync(dirfd.fd) != 0) fail("cannot fsync directory", dir);
}

// Temporary files of `path` left by writers that died before their rename
// (`.NAME.tmp.PID.RANDOM` whose PID no longer runs) are removed; those of
// live processes are theirs. Best effort: a failure here is no write error.
void remove_stale_temporaries(const std::filesystem::path& dir, const std::string& prefix) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    std::string_view rest(name);
    rest.remove_prefix(prefix.size());
    pid_t pid = 0;
    const auto [ptr, parse_ec] = std::from_chars(rest.data(), rest.data() + rest.size(), pid);
    if (parse_ec != std::errc{} || ptr == rest.data() || *ptr != '.' || pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) != 0 && errno == ESRCH) ::unlink(it->path().c_str());
  }
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  write_file_atomically(path, contents, durability::synced);
}

void sync_file(const std::filesystem::path& path) {
  fd_guard file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0 || ::fsync(file.fd) != 0) fail("cannot fsync", path);
  sync_directory_of(path);
}

void write_file_atomically(const std::filesystem::path& path, std::string_view contents, durability d) {
  const auto dir = directory_of(path);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string prefix = "." + path.filename().string() + ".tmp.";
  remove_stale_temporaries(dir, prefix);
  const auto tmp = dir / (prefix + std::to_string(::getpid()) + "." + std::to_string(std::random_device{}()));
  {
    fd_guard file{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
    if (file.fd < 0) fail("cannot create", tmp);
    try {
      write_all(file.fd, contents, tmp);
      if (d == durability::synced && ::fsync(file.fd) != 0) fail("cannot fsync", tmp);
    } catch (...) {
      ::unlink(tmp.c_str());
      throw;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    fail("cannot replace", path);
  }
  if (d == durability::process_crash) return;
  sync_directory_of(path);  // the rename is durable only once the directory entry is
}

void overwrite_file(const std::filesystem::path& path, std::string_view contents, durability d) {
  fd_guard file{::open(path.c_str(), O_WRONLY | O_CLOEXEC)};
  bool created = false;
  if (file.fd < 0 && errno == ENOENT) {
    std::error_code ec;
    std::filesystem::create_directories(directory_of(path), ec);
    file.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    created = true;
  }
  if (file.fd < 0) fail("cannot open", path);
  write_all(file.fd, contents, path);
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) fail("cannot stat", path);
  if (static_cast<std::uintmax_t>(st.st_size) > contents.size() &&
      ::ftruncate(file.fd, static_cast<off_t>(contents.size())) != 0) {
    fail("cannot truncate", path);
  }
  if (d == durability::process_crash) return;
  if (::fsync(file.fd) != 0) fail("cannot fsync", path);
  if (created) sync_directory_of(path);
}

std::optional<std::string> read_file_if_exists(const std::filesystem::path& path) {
  fd_guard file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail("cannot open", path);
  }
  std::string out;
  char buf[65536];
  for (;;) {
    const auto n = ::read(file.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

file_lock::file_lock(const std::filesystem::path& path) {
  const auto lock_path = std::filesystem::path(path.string() + ".lock");
  if (lock_path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(lock_path.parent_path(), ec);
  }
  fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot open lock file", lock_path);
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) {
      ::close(fd_);
      fail("cannot lock", lock_path);
    }
  }
}

file_lock::~file_lock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace cascadence::scheduling
