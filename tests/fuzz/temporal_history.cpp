// The Temporal history reader (adapters/temporal/history): read_history()
// on the input, as `task replay-history` reads an exported file, then the
// checks of the history on its own and against a small pipeline graph.
// An unreadable history names an event index inside the document.

#include "adapters/temporal/history.hpp"
#include "fuzz_input.hpp"

using namespace cascadence;
namespace temporal = adapters::temporal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const temporal::dependency_map graph{
      {"extract", {}}, {"transform", {"extract"}}, {"load", {"transform"}}, {"flaky", {}}, {"fails", {}}};
  std::vector<temporal::history_event> events;
  if (const auto error = temporal::read_history(fuzz::text_of(data, size), events)) {
    if (error->index < -1 || error->message.empty()) fuzz::fail("an error without a place or a reason");
    return 0;
  }
  (void)temporal::check_history(events, nullptr);
  (void)temporal::check_history(events, &graph);
  for (const auto& e : events) (void)temporal::canonical_event_type(e.type);
  return 0;
}
