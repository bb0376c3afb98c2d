// The plugin descriptor reader: a plugin's info JSON and its processors'
// descriptors, as library::open() and the plugin host hand them to
// parse_descriptor(). Input: the info, then each processor descriptor,
// separated by lines of "----". Checks that every accepted processor name
// follows the header's rule.

#include "fuzz_input.hpp"
#include "plugins/library.hpp"

using namespace cascadence;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::split(fuzz::text_of(data, size), "\n----\n");
  const std::vector<std::string_view> processors(parts.begin() + 1, parts.end());
  const auto parsed = plugins::parse_descriptor(parts[0], processors);
  if (!parsed) {
    if (parsed.error().empty()) fuzz::fail("a refusal without a reason");
    return 0;
  }
  for (const auto& p : parsed.value().processors) {
    if (!plugins::valid_processor_name(p.name)) fuzz::fail("an invalid processor name accepted", p.name);
  }
  return 0;
}
