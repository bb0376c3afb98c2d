#include "plugins/registry.hpp"

namespace cascadence::plugins {

std::string_view to_string(isolation value) noexcept {
  return value == isolation::process ? "process" : "in_process";
}
std::vector<plugin_source> sources_from_environment() {
  return {};
}
const registered_processor* registry::find(std::string_view name) const noexcept {
  auto it = processors_.find(name);
  return it == processors_.end() ? nullptr : &it->second;
}
load_result load_plugins(const std::vector<plugin_source>&, const load_options&) {
  return {std::make_shared<const registry>(), {}};
}
std::string_view to_string(plugin_change::kind value) noexcept {
  switch (value) {
    case plugin_change::kind::added:
      return "added";
    case plugin_change::kind::removed:
      return "removed";
    case plugin_change::kind::reloaded:
      return "reloaded";
  }
  return "changed";
}
std::vector<plugin_change> diff(const registry&, const registry&) {
  return {};
}
std::string describe(const plugin_change&) {
  return {};
}

}  // namespace cascadence::plugins
