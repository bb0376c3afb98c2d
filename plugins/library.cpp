#include "plugins/library.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <openssl/evp.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>

namespace cascadence::plugins {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) {
  return std::generic_category().message(err);
}

// Closes a file descriptor on every path out.
class fd_guard final {
 public:
  explicit fd_guard(int fd) noexcept : fd_(fd) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

bool write_all(int fd, const unsigned char* data, std::size_t len) {
  while (len > 0) {
    const auto n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    len -= static_cast<std::size_t>(n);
  }
  return true;
}

// A directory the cache may live in: ours, and not writable by others.
std::optional<std::string> check_cache_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return "cannot create the plugin cache " + dir.string() + " (" + ec.message() + ")";
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    return "cannot read the plugin cache " + dir.string() + " (" + errno_text(errno) + ")";
  if (st.st_uid != ::geteuid()) {
    return "refused: the plugin cache " + dir.string() + " is owned by uid " + std::to_string(st.st_uid) +
           ", not by this user (uid " + std::to_string(::geteuid()) + ")";
  }
  if ((st.st_mode & S_IWOTH) != 0) return "refused: the plugin cache " + dir.string() + " is world-writable";
  return std::nullopt;
}

std::string_view bytes_view(cascadence_bytes_t b) {
  if (b.ptr == nullptr || b.len == 0) return {};
  return {reinterpret_cast<const char*>(b.ptr), b.len};
}

const char* const name_rule = "[A-Za-z0-9_] first, then [A-Za-z0-9_.-], at most 128 bytes";

// Optional string member; error when present with another type.
std::optional<std::string> optional_string(const boost::json::object& o, std::string_view key, std::string& out) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) return "\"" + std::string(key) + "\" is not a string";
  out = std::string(v->get_string());
  return std::nullopt;
}

std::optional<std::string> optional_bool(const boost::json::object& o, std::string_view key, bool& out) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_bool()) return "\"" + std::string(key) + "\" is not true or false";
  out = v->get_bool();
  return std::nullopt;
}

// The JSON object of a descriptor text, or why it is not one.
core::result<boost::json::object, std::string> parse_object(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec) return std::string(what) + " is not JSON (" + ec.message() + ")";
  if (!v.is_object()) return std::string(what) + " is not a JSON object";
  return std::move(v.as_object());
}

}  // namespace

bool valid_processor_name(std::string_view name) noexcept {
  const auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  if (name.empty() || name.size() > 128 || !word(name.front())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

core::result<plugin_descriptor, std::string> parse_descriptor(
    std::string_view info, const std::vector<std::string_view>& processor_descriptors) {
  plugin_descriptor d;
  auto object = parse_object(info, "info");
  if (!object) return std::move(object.error());
  const auto& o = object.value();
  const auto* name = o.if_contains("name");
  if (name == nullptr || !name->is_string()) return std::string("info: no \"name\" string");
  d.name = std::string(name->get_string());
  if (!valid_processor_name(d.name)) return "info: name \"" + d.name + "\" is not valid (" + name_rule + ")";
  const auto* runtime = o.if_contains("runtime");
  if (runtime == nullptr || !runtime->is_string()) return std::string("info: no \"runtime\" string");
  d.runtime = std::string(runtime->get_string());
  if (d.runtime != "c" && d.runtime != "cpp" && d.runtime != "rust" && d.runtime != "go") {
    return "info: runtime \"" + d.runtime + "\" is not one of c, cpp, rust, go";
  }
  if (auto why = optional_string(o, "version", d.version)) return "info: " + *why;
  if (auto why = optional_string(o, "description", d.description)) return "info: " + *why;
  if (auto why = optional_bool(o, "unload_safe", d.unload_safe)) return "info: " + *why;
  // Rust and Go runtimes cannot be unloaded safely (thread-locals, the Go runtime): the header allows it to C
  // and C++ only.
  if (d.runtime != "c" && d.runtime != "cpp") d.unload_safe = false;

  for (std::uint32_t i = 0; i < processor_descriptors.size(); ++i) {
    const std::string where = "processor " + std::to_string(i);
    auto p = parse_object(processor_descriptors[i], where + ": descriptor");
    if (!p) return std::move(p.error());
    processor_descriptor pd;
    pd.index = i;
    const auto* pname = p->if_contains("name");
    if (pname == nullptr || !pname->is_string()) return where + ": no \"name\" string";
    pd.name = std::string(pname->get_string());
    if (!valid_processor_name(pd.name)) return where + ": name \"" + pd.name + "\" is not valid (" + name_rule + ")";
    if (auto why = optional_string(*p, "description", pd.description)) return where + ": " + *why;
    if (auto why = optional_bool(*p, "blocking", pd.blocking)) return where + ": " + *why;
    if (auto why = optional_bool(*p, "immediate", pd.immediate)) return where + ": " + *why;
    if (pd.blocking && pd.immediate) return where + ": \"blocking\" and \"immediate\" exclude each other";
    for (const auto& other : d.processors) {
      if (other.name == pd.name) {
        return "processors " + std::to_string(other.index) + " and " + std::to_string(i) + " are both named \"" +
               pd.name + "\"";
      }
    }
    d.processors.push_back(std::move(pd));
  }
  return d;
}

fs::path default_cache_dir() {
  if (const char* home = std::getenv("CASCADENCE_HOME"); home != nullptr && *home != '\0') {
    return fs::path(home) / "plugin-cache";
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return fs::path(xdg) / "cascadence" / "plugins";
  }
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr && *home != '\0' ? home : "/tmp") / ".cache" / "cascadence" / "plugins";
}

bool is_go_binary(const fs::path& path) {
  static constexpr std::string_view magic = "\xff Go buildinf:";
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  // Chunks that overlap by the magic's length, so a match across a boundary is found.
  std::vector<char> buffer(1 << 20);
  std::size_t kept = 0;
  const std::boyer_moore_horspool_searcher searcher(magic.begin(), magic.end());
  while (in) {
    in.read(buffer.data() + kept, static_cast<std::streamsize>(buffer.size() - kept));
    const auto got = kept + static_cast<std::size_t>(in.gcount());
    if (got == kept) break;
    const auto end = buffer.begin() + static_cast<std::ptrdiff_t>(got);
    if (std::search(buffer.begin(), end, searcher) != end) return true;
    kept = std::min(got, magic.size() - 1);
    std::copy(end - static_cast<std::ptrdiff_t>(kept), end, buffer.begin());
  }
  return false;
}

core::result<plugin_file, std::string> stage(const fs::path& path, const fs::path& cache_dir) {
  std::error_code ec;
  plugin_file out;
  out.path = fs::absolute(path, ec).lexically_normal();
  if (ec) out.path = path;
  const auto fail = [&](const std::string& why) { return out.path.string() + ": " + why; };

  const fd_guard fd(::open(out.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return fail("cannot open (" + errno_text(errno) + ")");
  // Checked on the open file: what is hashed and copied is what was checked.
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail("cannot stat (" + errno_text(errno) + ")");
  if (!S_ISREG(st.st_mode)) return fail("not a regular file");
  if (st.st_uid != ::geteuid()) {
    return fail("refused: owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
                std::to_string(::geteuid()) + ")");
  }
  if ((st.st_mode & S_IWOTH) != 0) return fail("refused: the file is world-writable");
  const auto dir = out.path.parent_path();
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) != 0) return fail("cannot stat its directory (" + errno_text(errno) + ")");
  if ((dst.st_mode & S_IWOTH) != 0) return fail("refused: its directory " + dir.string() + " is world-writable");

  std::string content;
  content.resize(static_cast<std::size_t>(st.st_size));
  std::size_t have = 0;
  while (have < content.size()) {
    const auto n = ::read(fd.get(), content.data() + have, content.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot read (" + errno_text(errno) + ")");
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
  }
  content.resize(have);

  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_len = 0;
  if (EVP_Digest(content.data(), content.size(), digest.data(), &digest_len, EVP_sha256(), nullptr) != 1) {
    return fail("cannot hash (OpenSSL EVP_Digest failed)");
  }
  static constexpr std::string_view hex = "0123456789abcdef";
  for (unsigned i = 0; i < digest_len; ++i) {
    out.sha256 += hex[digest[i] >> 4];
    out.sha256 += hex[digest[i] & 0xf];
  }

  const auto cache = cache_dir.empty() ? default_cache_dir() : cache_dir;
  if (auto why = check_cache_dir(cache)) return fail(*why);
  out.cached = cache / (out.sha256 + ".so");
  if (fs::exists(out.cached, ec)) return out;  // same name, same content: never overwritten

  std::string temp = (cache / ("." + out.sha256 + ".XXXXXX")).string();
  const fd_guard tfd(::mkostemp(temp.data(), O_CLOEXEC));
  if (tfd.get() < 0) return fail("cannot write to the plugin cache " + cache.string() + " (" + errno_text(errno) + ")");
  const bool written = write_all(tfd.get(), reinterpret_cast<const unsigned char*>(content.data()), content.size()) &&
                       ::fchmod(tfd.get(), 0500) == 0 && ::fsync(tfd.get()) == 0;
  const int write_errno = errno;
  // link() refuses an existing name where rename() would replace it: a copy that another process staged at
  // the same moment has the same content and wins.
  const bool linked = written && (::link(temp.c_str(), out.cached.c_str()) == 0 || errno == EEXIST);
  const int link_errno = errno;
  ::unlink(temp.c_str());
  if (!written)
    return fail("cannot write to the plugin cache " + cache.string() + " (" + errno_text(write_errno) + ")");
  if (!linked) return fail("cannot write to the plugin cache " + cache.string() + " (" + errno_text(link_errno) + ")");
  return out;
}

std::string_view status_name(cascadence_status_t status) noexcept {
  switch (status) {
    case CASCADENCE_STATUS_OK:
      return "OK";
    case CASCADENCE_STATUS_INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case CASCADENCE_STATUS_NOT_FOUND:
      return "NOT_FOUND";
    case CASCADENCE_STATUS_CANCELLED:
      return "CANCELLED";
    case CASCADENCE_STATUS_DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case CASCADENCE_STATUS_UNAVAILABLE:
      return "UNAVAILABLE";
    case CASCADENCE_STATUS_INTERNAL:
      return "INTERNAL";
    case CASCADENCE_STATUS_UNSUPPORTED:
      return "UNSUPPORTED";
    default:
      return {};
  }
}

void write_log_line(std::ostream* out, std::string_view line) {
  static std::mutex mu;
  const std::lock_guard lock(mu);
  auto& to = out != nullptr ? *out : std::cerr;
  to << line << '\n' << std::flush;
}

std::string describe_status(cascadence_status_t status) {
  const auto name = status_name(status);
  return name.empty() ? "status " + std::to_string(status) : std::string(name);
}

core::result<std::shared_ptr<library>, std::string> library::open(const plugin_file& file,
                                                                  const cascadence_host_t& host) {
  const auto fail = [&](const std::string& why) { return file.path.string() + ": " + why; };
  // Never closed on failure either: the library's constructors ran, and the C++, Rust or Go runtime it
  // started may not survive an unmap.
  dlerror();
  void* handle = ::dlopen(file.cached.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return fail(std::string("cannot load (") + (why != nullptr ? why : "dlopen failed") + ")");
  }
  const auto* raw = static_cast<const cascadence_plugin_entry_t*>(::dlsym(handle, CASCADENCE_PLUGIN_ENTRY_SYMBOL));
  if (raw == nullptr) return fail("missing entry symbol " CASCADENCE_PLUGIN_ENTRY_SYMBOL);
  constexpr auto entry_min = offsetof(cascadence_plugin_entry_t, get_plugin) + sizeof(raw->get_plugin);
  if (raw->abi_major != CASCADENCE_PLUGIN_ABI_MAJOR) {
    return fail("ABI major " + std::to_string(raw->abi_major) + ", this host speaks " +
                std::to_string(CASCADENCE_PLUGIN_ABI_MAJOR));
  }
  if (raw->struct_size < entry_min) {
    return fail("entry struct_size " + std::to_string(raw->struct_size) + " is smaller than ABI 1.0's " +
                std::to_string(entry_min));
  }
  cascadence_plugin_entry_t entry{};
  std::memcpy(&entry, raw, std::min<std::size_t>(raw->struct_size, sizeof entry));
  if (entry.init == nullptr || entry.deinit == nullptr || entry.get_plugin == nullptr) {
    return fail("the entry lacks init, deinit or get_plugin");
  }

  if (const auto status = entry.init(&host); status != CASCADENCE_STATUS_OK) {
    return fail("init() failed with " + describe_status(status));
  }
  std::shared_ptr<library> lib(new library());
  lib->file_ = file;
  lib->deinit_ = entry.deinit;
  lib->handle_ = handle;
  // From here on a failure deinit()s through the destructor (unload_safe is still false: no dlclose).
  const auto* table = entry.get_plugin();
  if (table == nullptr) return fail("get_plugin() returned NULL");
  constexpr auto table_min = offsetof(cascadence_plugin_t, cancel);
  if (table->struct_size < table_min) {
    return fail("plugin table struct_size " + std::to_string(table->struct_size) + " is smaller than ABI 1.0's " +
                std::to_string(table_min));
  }
  std::memcpy(&lib->api_, table, std::min<std::size_t>(table->struct_size, sizeof lib->api_));
  const auto& api = lib->api_;
  if (api.info == nullptr || api.processor_count == nullptr || api.processor_descriptor == nullptr ||
      api.create == nullptr || api.destroy == nullptr || api.start == nullptr) {
    return fail("the plugin table lacks one of info, processor_count, processor_descriptor, create, destroy, start");
  }
  constexpr std::uint32_t max_processors = 4096;
  const auto count = api.processor_count();
  if (count > max_processors) {
    return fail("processor_count() is " + std::to_string(count) + ", more than " + std::to_string(max_processors));
  }
  std::vector<std::string_view> descriptors;
  descriptors.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) descriptors.push_back(bytes_view(api.processor_descriptor(i)));
  auto parsed = parse_descriptor(bytes_view(api.info()), descriptors);
  if (!parsed) return fail(parsed.error());
  lib->descriptor_ = std::move(parsed.value());
  lib->descriptor_.abi_major = entry.abi_major;
  lib->descriptor_.abi_minor = entry.abi_minor;
  return lib;
}

library::~library() {
  if (deinit_ != nullptr) deinit_();
  if (descriptor_.unload_safe && handle_ != nullptr) ::dlclose(handle_);
}

}  // namespace cascadence::plugins
