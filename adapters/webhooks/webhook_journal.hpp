#pragma once

// The webhook journal: what makes `202 Accepted` mean "will be delivered".
// An accepted event is appended to a file and fsynced before its reply is
// sent; it is marked done once every run it started has settled; at start
// the events accepted and not done are handed back to be delivered again.

#include "adapters/webhooks/webhook_routes.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class thread_pool;
}

namespace cascadence::adapters::webhooks {

struct journal_options final {
  /// The directory of the journal (created); its file is `journal.log`.
  std::filesystem::path dir;
  /// The file's size limit. Past it the file is compacted (delivered events
  /// dropped); when what is undelivered does not fit either, appends are
  /// refused (the routes answer 503 with Retry-After).
  std::uint64_t max_bytes = 64U << 20U;
  /// How long a delivery id (`X-GitHub-Delivery`, `Idempotency-Key`) is
  /// remembered: a redelivery within it is answered and not delivered again.
  /// The ids remembered take at most half of max_bytes (about 96 bytes
  /// each); past that the oldest are forgotten first.
  std::chrono::seconds dedupe_window{std::chrono::hours(24)};
};

/// An event read back from the journal, not yet marked done.
struct journaled_event final {
  /// The journal's own id of it (unique).
  std::string id;
  /// What the task sees as CASCADENCE_DELIVERY_ID: the sender's delivery id
  /// when it gave one, else `id`.
  std::string delivery_id;
  webhook_event event;
};

/// The journal of one server, used on its executor's thread. Appends are
/// group-committed: the events accepted while one write and fdatasync run
/// on the pool are written and synced together by the next one, so a burst
/// of deliveries costs a few fsyncs, not one each. File format: records of
/// `R <length> <fnv1a64 hex>\n<JSON object>\n`; a record cut short by a
/// crash, or whose checksum does not match, ends the readable journal.
class webhook_journal final {
 public:
  webhook_journal(boost::asio::any_io_executor ex, boost::asio::thread_pool& pool, journal_options options);
  ~webhook_journal();
  webhook_journal(const webhook_journal&) = delete;
  webhook_journal& operator=(const webhook_journal&) = delete;

  /// Reads the journal (an empty one when there is none), compacts it, and
  /// returns the events not marked done, oldest first. Throws
  /// std::system_error when the directory or file cannot be used.
  std::vector<journaled_event> open();

  enum class admission : std::uint8_t { accept, duplicate, full };
  /// Whether an event of `bytes` (its payload's size) with delivery id `key`
  /// (the sender's, empty when none was given) may be appended now: not a
  /// redelivery within the window, and room in the file. May compact it.
  [[nodiscard]] admission admit(std::string_view key, std::size_t bytes);

  /// Appends the event under `id` (unique) and waits until it is on disk.
  /// Returns an empty string, or why it could not be kept (the caller
  /// answers 503 and delivers nothing).
  [[nodiscard]] boost::asio::awaitable<std::string> append(std::string id, std::string key, const webhook_event& event,
                                                           std::string_view raw_payload);

  /// Records that every run of event `id` settled (written with the next
  /// commit; after a crash before it the event is delivered again).
  void mark_done(const std::string& id);

  /// Events appended and not marked done.
  [[nodiscard]] std::size_t undelivered() const noexcept;
  /// The journal file's size, with what is queued for the next commit.
  [[nodiscard]] std::uint64_t bytes() const noexcept;
  [[nodiscard]] const std::filesystem::path& file() const noexcept;

 private:
  struct state;  // shared with the commits in flight on the pool
  std::shared_ptr<state> s_;
};

/// The delivery id of a request: `X-GitHub-Delivery`, else
/// `Idempotency-Key`, else empty.
[[nodiscard]] std::string delivery_key(const net::request& req);

}  // namespace cascadence::adapters::webhooks
