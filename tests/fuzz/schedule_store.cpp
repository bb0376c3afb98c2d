// The schedules file reader and writer (schedule_store). Input: the file.
// A file that loads is updated with no change and loaded again: the
// writer must give back every decodable entry as it was read, and keep
// every undecodable one (under its key) untouched.

#include "scheduling/schedule_store.hpp"
#include "fuzz_input.hpp"
#include "scheduling/atomic_file.hpp"
#include "scheduling/task_state_store.hpp"

#include <algorithm>

using namespace cascadence;

namespace {

// The undecodable entries' keys an update keeps: all but those of a
// decodable entry (a file with a key twice), which replaces them.
std::vector<std::string> kept_keys(const scheduling::schedule_file& f) {
  std::vector<std::string> keys;
  for (const auto& u : f.undecodable) {
    if (std::none_of(f.entries.begin(), f.entries.end(), [&](const auto& e) { return e.task == u.key; })) {
      keys.push_back(u.key);
    }
  }
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto file = fuzz::scratch_dir() / "schedules.yml";
  fuzz::write_file(file, fuzz::text_of(data, size));
  scheduling::schedule_store store(file);
  scheduling::schedule_file before;
  try {
    before = store.load();
  } catch (const scheduling::state_error&) {
    return 0;  // refused, and so never rewritten
  }
  try {
    store.update([](std::vector<scheduling::schedule_entry>&) {});
  } catch (const scheduling::state_error&) {
    // Refused to rewrite: the file must be as it was.
    if (scheduling::read_file_if_exists(file) != std::string(fuzz::text_of(data, size))) {
      fuzz::fail("a refused update changed the schedules file");
    }
    return 0;
  }
  scheduling::schedule_file after;
  try {
    after = store.load();
  } catch (const scheduling::state_error& e) {
    fuzz::fail("a rewritten schedules file does not read back", e.what());
  }
  if (after.entries != before.entries) fuzz::fail("a rewritten schedules file has other entries");
  if (kept_keys(after) != kept_keys(before)) fuzz::fail("a rewritten schedules file lost an undecodable entry's key");
  return 0;
}
