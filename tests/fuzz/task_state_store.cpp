// The task state file reader and writer (task_state_store). Input: the
// file. A file that loads gets one more override written (set_enabled) and
// is loaded again: every override read must come back unchanged.

#include "scheduling/task_state_store.hpp"
#include "fuzz_input.hpp"
#include "scheduling/atomic_file.hpp"

using namespace cascadence;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto file = fuzz::scratch_dir() / "task-state.yml";
  fuzz::write_file(file, fuzz::text_of(data, size));
  scheduling::task_state_store store(file);
  std::map<std::string, bool> before;
  try {
    before = store.load();
  } catch (const scheduling::state_error&) {
    return 0;  // refused, and so never rewritten
  }
  try {
    store.set_enabled("fuzz-probe", false);
  } catch (const scheduling::state_error&) {
    // Refused to rewrite: the file must be as it was.
    if (scheduling::read_file_if_exists(file) != std::string(fuzz::text_of(data, size))) {
      fuzz::fail("a refused update changed the task state file");
    }
    return 0;
  }
  before["fuzz-probe"] = false;
  try {
    if (store.load() != before) fuzz::fail("a rewritten task state file reads back different");
  } catch (const scheduling::state_error& e) {
    fuzz::fail("a rewritten task state file does not read back", e.what());
  }
  return 0;
}
