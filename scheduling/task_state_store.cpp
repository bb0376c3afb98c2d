#include "scheduling/task_state_store.hpp"

#include "core/text.hpp"
#include "scheduling/atomic_file.hpp"
#include "scheduling/detail/yaml_keys.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>

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
  for (const auto& [task, enabled] : state)
    out << detail::key_format(task) << YAML::Key << task << YAML::Value << enabled;
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace

void require_utf8(const std::filesystem::path& file, std::string_view text) {
  const auto bad = core::invalid_utf8_at(text);
  if (!bad) return;
  const auto before = text.substr(0, *bad);
  const auto line = std::count(before.begin(), before.end(), '\n');
  const auto line_start = before.rfind('\n');
  const auto column = line_start == std::string_view::npos ? *bad : *bad - line_start - 1;
  throw state_error(file.string() + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) +
                    ": not UTF-8 text, which cannot be rewritten unchanged (the file is left as it is)");
}

task_state_store::task_state_store(std::filesystem::path file) : file_(std::move(file)) {}

std::map<std::string, bool> task_state_store::load() const {
  const auto text = read_file_if_exists(file_);
  return text ? parse(file_, *text) : std::map<std::string, bool>{};
}

void task_state_store::set_enabled(const std::string& task, bool enabled) {
  const file_lock lock(file_);
  const auto text = read_file_if_exists(file_);
  if (text) require_utf8(file_, *text);
  auto state = text ? parse(file_, *text) : std::map<std::string, bool>{};
  state[task] = enabled;
  // Never write what does not read back the same (yaml-cpp writes some
  // names it reads in a form it reads otherwise).
  const auto rendered = render(state);
  const auto refuse = [this](const std::string& why) {
    throw state_error(file_.string() + ": rewriting it would give a file that does not read back the same (" + why +
                      "; the file is left as it is)");
  };
  std::map<std::string, bool> back;
  try {
    back = parse(file_, rendered);
  } catch (const state_error& e) {
    refuse(e.what());
  }
  if (back != state) refuse("a name would change");
  write_file_atomically(file_, rendered);
}

}  // namespace cascadence::scheduling
