#include "adapters/webhooks/webhook_journal.hpp"

#include "core/async_event.hpp"
#include "core/checksum.hpp"
#include "scheduling/atomic_file.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <system_error>
#include <unordered_map>
#include <utility>

namespace cascadence::adapters::webhooks {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// One record: `R <length> <fnv1a64 hex>\n<body>\n`.
std::string framed(std::string_view body) {
  char hex[17];
  const auto [end, ec] = std::to_chars(hex, hex + sizeof hex, core::fnv1a64(body), 16);
  (void)ec;  // 16 hex digits always fit
  std::string out = "R " + std::to_string(body.size()) + " ";
  out.append(hex, end);
  out += '\n';
  out += body;
  out += '\n';
  return out;
}

// Reads the record at the front of `text` into `body` and drops it; false
// at the end or at a record that is cut short or does not match its
// checksum (a crash in the middle of a write).
bool take_record(std::string_view& text, std::string_view& body) {
  if (!text.starts_with("R ")) return false;
  auto rest = text.substr(2);
  std::uint64_t length = 0;
  std::uint64_t checksum = 0;
  auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), length);
  if (ec != std::errc{} || p == rest.data() + rest.size() || *p != ' ') return false;
  rest.remove_prefix(static_cast<std::size_t>(p - rest.data()) + 1);
  auto [q, ec2] = std::from_chars(rest.data(), rest.data() + rest.size(), checksum, 16);
  if (ec2 != std::errc{} || q == rest.data() + rest.size() || *q != '\n') return false;
  rest.remove_prefix(static_cast<std::size_t>(q - rest.data()) + 1);
  if (rest.size() < length + 1 || rest[length] != '\n') return false;
  body = rest.substr(0, length);
  if (core::fnv1a64(body) != checksum) return false;
  text = rest.substr(length + 1);
  return true;
}

std::string json_quoted(std::string_view s) {
  return json::serialize(json::string(s));
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string accept_record(const std::string& id, const std::string& key, std::int64_t at, const webhook_event& e,
                          std::string_view raw_payload) {
  std::string body;
  body.reserve(raw_payload.size() + 128);
  body += R"({"op":"accept","id":)" + json_quoted(id) + R"(,"key":)" + json_quoted(key) + R"(,"at":)" +
          std::to_string(at) + R"(,"source":)" + json_quoted(e.source) + R"(,"type":)" + json_quoted(e.type) +
          R"(,"payload":)";
  body += raw_payload;  // one JSON document, checked by the route
  body += '}';
  return framed(body);
}

std::string seen_record(const std::string& key, std::int64_t at) {
  return framed(R"({"op":"seen","key":)" + json_quoted(key) + R"(,"at":)" + std::to_string(at) + "}");
}

std::string errno_text(int e) {
  return std::error_code(e, std::generic_category()).message();
}

}  // namespace

// The journal's state. Commits on the pool hold it too, so that a journal
// destroyed while one is in flight leaves it valid until the commit ends.
struct webhook_journal::state final : std::enable_shared_from_this<state> {
  struct commit final {
    explicit commit(const asio::any_io_executor& ex) : done(ex) {}
    core::async_event done;
    std::string error;
  };

  state(asio::any_io_executor e, asio::thread_pool& p, journal_options o)
      : ex(std::move(e)), pool(p), options(std::move(o)), file(options.dir / "journal.log") {}
  ~state() {
    if (fd >= 0) ::close(fd);
  }

  asio::any_io_executor ex;
  asio::thread_pool& pool;
  journal_options options;
  std::filesystem::path file;
  int fd = -1;
  std::uint64_t file_bytes = 0;
  std::map<std::string, std::string, std::less<>> pending;  // id -> accept record
  std::vector<std::string> order;                           // ids in arrival order (some done)
  std::unordered_map<std::string, std::int64_t> keys;       // delivery id -> Unix seconds
  std::string batch;
  std::shared_ptr<commit> next;
  bool flushing = false;
  bool flush_posted = false;
  bool broken = false;  // a write failed; nothing is appended until a compaction succeeds

  void open_for_append() {
    if (fd >= 0) ::close(fd);
    fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + file.string());
  }

  void queue(std::string record) {
    file_bytes += record.size();
    batch += record;
    if (!flush_posted && !flushing) {
      flush_posted = true;
      asio::post(ex, [self = shared_from_this()] {
        self->flush_posted = false;
        self->flush();
      });
    }
  }

  // Writes and syncs what was queued, on the pool; what is queued meanwhile
  // waits for the next commit, started when this one ends.
  void flush() {
    if (flushing || batch.empty()) return;
    if (fd < 0) {
      // The first record of a journal that did not exist yet.
      try {
        std::filesystem::create_directories(options.dir);
        open_for_append();
      } catch (const std::exception& e) {
        batch.clear();
        file_bytes = 0;
        if (auto c = std::exchange(next, nullptr)) {
          c->error = e.what();
          c->done.set();
        }
        return;
      }
    }
    flushing = true;
    auto c = std::exchange(next, nullptr);
    asio::post(pool, [self = shared_from_this(), data = std::exchange(batch, {}), c, out = fd]() mutable {
      std::string error;
      std::string_view rest(data);
      while (!rest.empty()) {
        const auto n = ::write(out, rest.data(), rest.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          error = "cannot write " + self->file.string() + ": " + errno_text(errno);
          break;
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
      }
      if (error.empty() && ::fdatasync(out) != 0)
        error = "cannot sync " + self->file.string() + ": " + errno_text(errno);
      asio::post(self->ex, [self, c = std::move(c), error = std::move(error)] {
        self->flushing = false;
        if (c) {
          c->error = error;
          c->done.set();
        }
        // A failed write may have left part of a record: rewrite the file
        // whole before anything is appended after it.
        if (!error.empty()) self->broken = true;
        if (self->broken || self->file_bytes > self->options.max_bytes / 4 * 3) {
          self->compact();
        } else {
          self->flush();
        }
      });
    });
  }

  // Forgets delivery ids older than the window, and the oldest beyond what
  // half the file may hold, so that remembering them never fills the
  // journal: at a high rate the window is shorter than configured.
  void prune_keys(std::int64_t now) {
    const auto oldest = now - options.dedupe_window.count();
    std::erase_if(keys, [&](const auto& kv) { return kv.second < oldest; });
    constexpr std::size_t bytes_per_key = 96;  // a seen record with a GitHub delivery id
    const std::size_t room = options.max_bytes / 2 / bytes_per_key;
    if (keys.size() <= room) return;
    std::vector<std::int64_t> times;
    times.reserve(keys.size());
    for (const auto& kv : keys) times.push_back(kv.second);
    auto cut = times.begin() + static_cast<std::ptrdiff_t>(keys.size() - room);
    std::nth_element(times.begin(), cut, times.end());
    const auto keep_from = *cut;
    std::erase_if(keys, [&](const auto& kv) { return kv.second < keep_from; });
  }

  // Rewrites the file with what must survive (undelivered events, delivery
  // ids within the window) and what is queued, atomically, and completes
  // the queued commit's waiters: the rewrite is synced. Only between commits.
  void compact() {
    if (flushing) return;
    prune_keys(unix_now());
    std::erase_if(order, [&](const std::string& id) { return !pending.contains(id); });
    std::string text;
    for (const auto& [key, at] : keys) text += seen_record(key, at);
    for (const auto& id : order) text += pending.find(id)->second;
    auto c = std::exchange(next, nullptr);
    batch.clear();
    try {
      scheduling::write_file_atomically(file, text);
      open_for_append();
      file_bytes = text.size();
      broken = false;
    } catch (const std::exception& e) {
      // The old file and its records stay; what was queued is lost to disk,
      // so its senders are told (503) and will retry.
      broken = true;
      if (c) c->error = std::string("cannot compact the webhook journal: ") + e.what();
    }
    if (c) c->done.set();
  }
};

webhook_journal::webhook_journal(asio::any_io_executor ex, asio::thread_pool& pool, journal_options options)
    : s_(std::make_shared<state>(std::move(ex), pool, std::move(options))) {}

webhook_journal::~webhook_journal() = default;

std::vector<journaled_event> webhook_journal::open() {
  const auto existing = scheduling::read_file_if_exists(s_->file);
  if (!existing) return {};  // created with the first event
  const auto& text = *existing;
  std::string_view rest(text);
  std::string_view body;
  std::map<std::string, journaled_event, std::less<>> found;
  while (take_record(rest, body)) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    const auto* o = ec ? nullptr : v.if_object();
    if (o == nullptr) break;
    const auto* op = o->if_contains("op");
    const auto* id = o->if_contains("id");
    const auto* key = o->if_contains("key");
    const auto* at = o->if_contains("at");
    if (op == nullptr || !op->is_string()) break;
    if (key != nullptr && key->is_string() && !key->as_string().empty() && at != nullptr && at->is_int64()) {
      s_->keys[std::string(key->as_string())] = at->as_int64();
    }
    if (op->as_string() == "accept" && id != nullptr && id->is_string()) {
      const std::string name(id->as_string());
      const auto* source = o->if_contains("source");
      const auto* type = o->if_contains("type");
      const auto* payload = o->if_contains("payload");
      if (source == nullptr || !source->is_string() || type == nullptr || !type->is_string() || payload == nullptr) {
        break;
      }
      const std::string given = key != nullptr && key->is_string() ? std::string(key->as_string()) : std::string();
      found[name] = journaled_event{name,
                                    given.empty() ? name : given,
                                    {std::string(source->as_string()), std::string(type->as_string()), *payload}};
      s_->pending[name] = framed(body);
      s_->order.push_back(name);
    } else if (op->as_string() == "done" && id != nullptr && id->is_string()) {
      found.erase(std::string(id->as_string()));
      s_->pending.erase(std::string(id->as_string()));
    }
  }
  std::vector<journaled_event> out;
  for (const auto& id : s_->order) {
    auto it = found.find(id);
    if (it != found.end()) out.push_back(std::move(it->second));
  }
  // Anything after the last whole record (a torn write) goes with this.
  s_->compact();
  if (s_->broken) throw std::system_error(EIO, std::generic_category(), "cannot rewrite " + s_->file.string());
  return out;
}

webhook_journal::admission webhook_journal::admit(std::string_view key, std::size_t bytes) {
  if (!key.empty()) {
    const auto it = s_->keys.find(std::string(key));
    if (it != s_->keys.end() && it->second >= unix_now() - s_->options.dedupe_window.count()) {
      return admission::duplicate;
    }
  }
  const auto wanted = bytes + key.size() + 512;
  if (s_->broken || s_->file_bytes + wanted > s_->options.max_bytes) s_->compact();
  return s_->broken || s_->file_bytes + wanted > s_->options.max_bytes ? admission::full : admission::accept;
}

asio::awaitable<std::string> webhook_journal::append(std::string id, std::string key, const webhook_event& event,
                                                     std::string_view raw_payload) {
  const auto at = unix_now();
  auto record = accept_record(id, key, at, event, raw_payload);
  if (!key.empty()) s_->keys[key] = at;
  s_->pending[id] = record;
  s_->order.push_back(id);
  if (!s_->next) s_->next = std::make_shared<state::commit>(s_->ex);
  auto c = s_->next;
  s_->queue(std::move(record));
  (void)co_await c->done.wait();
  if (!c->error.empty()) {
    // Not kept: not delivered either (the sender retries after the 503).
    s_->pending.erase(id);
    co_return c->error;
  }
  co_return std::string();
}

void webhook_journal::mark_done(const std::string& id) {
  if (s_->pending.erase(id) == 0) return;
  s_->queue(framed(R"({"op":"done","id":)" + json_quoted(id) + "}"));
}

std::size_t webhook_journal::undelivered() const noexcept {
  return s_->pending.size();
}

std::uint64_t webhook_journal::bytes() const noexcept {
  return s_->file_bytes;
}

const std::filesystem::path& webhook_journal::file() const noexcept {
  return s_->file;
}

std::string delivery_key(const net::request& req) {
  if (auto h = req.header("X-GitHub-Delivery"); h && !h->empty()) return std::string(*h);
  if (auto h = req.header("Idempotency-Key"); h && !h->empty()) return std::string(*h);
  return {};
}

}  // namespace cascadence::adapters::webhooks
