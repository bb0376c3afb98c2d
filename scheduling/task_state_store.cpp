#include "scheduling/task_state_store.hpp"

#include "scheduling/atomic_file.hpp"

#include <yaml-cpp/yaml.h>

namespace cascadence::scheduling {

namespace {

std::map<std::string, bool> parse(const std::filesystem::path& file, const std::string& text) {
  std::map<std::string, bool> out;
  const auto where = [&](const YAML::Mark& m) {
    return file.string() + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  };
  try {
    const auto root = YAML::Load(text);
    if (root.IsNull()) return out;
    if (!root.IsMap()) throw state_error(where(root.Mark()) + ": expected a mapping");
    for (const auto& entry : root) {
      const auto key = entry.first.as<std::string>();
      if (key != "enabled") throw state_error(where(entry.first.Mark()) + ": unknown key '" + key + "'");
      if (entry.second.IsNull()) continue;
      if (!entry.second.IsMap())
        throw state_error(where(entry.second.Mark()) + ": 'enabled' must map task names to true/false");
      for (const auto& task : entry.second) {
        bool value = false;
        if (!YAML::convert<bool>::decode(task.second, value)) {
          throw state_error(where(task.second.Mark()) + ": expected true or false");
        }
        out[task.first.as<std::string>()] = value;
      }
    }
  } catch (const YAML::Exception& e) {
    throw state_error(where(e.mark) + ": " + e.msg);
  }
  return out;
}

std::string render(const std::map<std::string, bool>& state) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "enabled" << YAML::Value << YAML::BeginMap;
  for (const auto& [task, enabled] : state) out << YAML::Key << task << YAML::Value << enabled;
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace

task_state_store::task_state_store(std::filesystem::path file) : file_(std::move(file)) {}

std::map<std::string, bool> task_state_store::load() const {
  const auto text = read_file_if_exists(file_);
  return text ? parse(file_, *text) : std::map<std::string, bool>{};
}

void task_state_store::set_enabled(const std::string& task, bool enabled) {
  const file_lock lock(file_);
  auto state = load();
  state[task] = enabled;
  write_file_atomically(file_, render(state));
}

}  // namespace cascadence::scheduling
