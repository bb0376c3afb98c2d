// The fire state files reader and writer (fire_state_store). Input: the
// main file, optionally followed by a line "====" and the alternate file.
// A part that starts with "#G=<number>\n" gets a valid header of that
// generation (length and checksum of the rest), so that the fuzzer reaches
// the body's parser and the choice between the two saves. What loads is
// saved again and must load back the same.

#include "scheduling/fire_state_store.hpp"
#include "core/checksum.hpp"
#include "fuzz_input.hpp"
#include "scheduling/task_state_store.hpp"

#include <charconv>

using namespace cascadence;

namespace {

// The header fire_state_store writes (scheduling/fire_state_store.cpp).
std::string with_header(std::string_view part) {
  if (!part.starts_with("#G=")) return std::string(part);
  part.remove_prefix(3);
  const auto line_end = part.find('\n');
  if (line_end == std::string_view::npos) return std::string(part);
  const auto generation = part.substr(0, line_end);
  const auto body = part.substr(line_end + 1);
  char hex[17];
  const auto [end, ec] = std::to_chars(hex, hex + sizeof hex, cascadence::core::fnv1a64(body), 16);
  (void)ec;
  return "# cascadence fire state: generation " + std::string(generation) + ", " + std::to_string(body.size()) +
         " bytes, fnv1a64 " + std::string(hex, end) + "\n" + std::string(body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto file = fuzz::scratch_dir() / "fire-state.yml";
  static const auto alt = fuzz::scratch_dir() / "fire-state.alt.yml";
  const auto parts = fuzz::split(fuzz::text_of(data, size), "\n====\n");
  fuzz::write_file(file, with_header(parts[0]));
  std::error_code ec;
  std::filesystem::remove(alt, ec);
  if (parts.size() > 1) fuzz::write_file(alt, with_header(parts[1]));

  scheduling::fire_state_store store(file);
  scheduling::fire_state_store::times before;
  try {
    before = store.load();
  } catch (const scheduling::state_error&) {
    return 0;
  }
  // An unusable file was moved aside: gone from the next input's way.
  for (const auto& e : std::filesystem::directory_iterator(fuzz::scratch_dir())) {
    if (e.path().filename().string().find(".corrupt-") != std::string::npos) std::filesystem::remove(e.path(), ec);
  }
  store.save(before, scheduling::durability::process_crash);
  scheduling::fire_state_store reader(file);
  try {
    if (reader.load() != before) fuzz::fail("a saved fire state reads back different");
    if (!reader.problems().empty()) fuzz::fail("a saved fire state is not usable", reader.problems().front());
  } catch (const scheduling::state_error& e) {
    fuzz::fail("a saved fire state does not read back", e.what());
  }
  return 0;
}
