#include "plugins/library.hpp"

namespace cascadence::plugins {

core::result<plugin_file, std::string> stage(const std::filesystem::path& path, const std::filesystem::path&) {
  return path.string() + ": not implemented";
}
std::filesystem::path default_cache_dir() {
  return {};
}
bool is_go_binary(const std::filesystem::path&) {
  return false;
}
bool valid_processor_name(std::string_view) noexcept {
  return false;
}
core::result<plugin_descriptor, std::string> parse_descriptor(std::string_view, const std::vector<std::string_view>&) {
  return std::string("not implemented");
}
core::result<std::shared_ptr<library>, std::string> library::open(const plugin_file& file, const cascadence_host_t&) {
  return file.path.string() + ": not implemented";
}
library::~library() = default;

}  // namespace cascadence::plugins
