// The YAML configuration loader: parse_config() on the input, then what
// `task` does next with a configuration that loads: its graph (without
// plugins), its Temporal settings and its webhook secrets. Every refusal
// must be a config_error.

#include "service/config.hpp"
#include "engine/graph.hpp"
#include "fuzz_input.hpp"

using namespace cascadence;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(fuzz::text_of(data, size));
  service::config cfg;
  try {
    cfg = service::parse_config(text, "/fuzz/cascadence.yml");
  } catch (const service::config_error& e) {
    if (std::string_view(e.what()).empty()) fuzz::fail("a config_error without a message");
    return 0;
  }
  try {
    (void)service::build_graph(cfg);
  } catch (const service::config_error&) {
  }
  try {
    (void)service::temporal_settings(cfg);
  } catch (const service::config_error&) {
  }
  for (const auto& [source, secret] : cfg.webhook_secrets) {
    if (service::webhook_secret(cfg, source).empty()) fuzz::fail("a configured webhook secret is lost", source);
  }
  return 0;
}
