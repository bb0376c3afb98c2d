#include "scheduling/fire_state_store.hpp"

#include "scheduling/atomic_file.hpp"
#include "scheduling/task_state_store.hpp"

#include <yaml-cpp/yaml.h>

namespace cascadence::scheduling {

fire_state_store::fire_state_store(std::filesystem::path file) : file_(std::move(file)) {}

fire_state_store::times fire_state_store::load() const {
  times out;
  const auto text = read_file_if_exists(file_);
  if (!text) return out;
  const auto where = [&](const YAML::Mark& m) {
    return file_.string() + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  };
  try {
    const auto root = YAML::Load(*text);
    if (root.IsNull()) return out;
    if (!root.IsMap()) throw state_error(where(root.Mark()) + ": expected a mapping of task names to Unix seconds");
    for (const auto& kv : root) {
      long long seconds = 0;
      if (!YAML::convert<long long>::decode(kv.second, seconds)) {
        throw state_error(where(kv.second.Mark()) + ": expected Unix seconds");
      }
      out[kv.first.Scalar()] = std::chrono::sys_seconds(std::chrono::seconds(seconds));
    }
  } catch (const YAML::Exception& e) {
    throw state_error(where(e.mark) + ": " + e.msg);
  }
  return out;
}

void fire_state_store::save(const times& state, durability d) const {
  // Written by hand: this runs on every fire, and task names are plain
  // scalars (letters, digits, '_', '-', '.'), quoted so none reads as a
  // number or boolean.
  std::string text = "# last nominal fire time of each schedule, in Unix seconds (UTC)\n";
  text.reserve(text.size() + state.size() * 40);
  for (const auto& [task, t] : state) {
    text += '"';
    text += task;
    text += "\": ";
    text += std::to_string(t.time_since_epoch().count());
    text += '\n';
  }
  write_file_atomically(file_, text, d);
}

void fire_state_store::sync() const {
  sync_file(file_);
}

}  // namespace cascadence::scheduling
