#include "scheduling/schedule_store.hpp"

#include "engine/duration.hpp"
#include "scheduling/atomic_file.hpp"
#include "scheduling/detail/yaml_keys.hpp"
#include "scheduling/task_state_store.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>

namespace cascadence::scheduling {

namespace {

constexpr std::array<std::string_view, 5> overlap_names{"skip", "buffer_one", "buffer_all", "cancel_other",
                                                        "allow_all"};

struct decoded {
  schedule_file file;
  std::vector<std::pair<std::string, YAML::Node>> raw;  // undecodable, kept as read
};

std::string where(const std::filesystem::path& file, const YAML::Mark& m) {
  return file.string() + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

// Decodes one entry; returns the reason when it cannot.
std::optional<std::string> decode(const std::filesystem::path& file, const std::string& task, const YAML::Node& v,
                                  schedule_entry& out) {
  out.task = task;
  if (v.IsScalar()) {
    out.expression = v.Scalar();
    return std::nullopt;
  }
  if (!v.IsMap()) return where(file, v.Mark()) + ": expected a cron expression or a mapping with 'schedule'";
  for (const auto& kv : v) {
    const auto key = kv.first.Scalar();
    const auto& value = kv.second;
    const auto bad = [&](const std::string& why) { return where(file, value.Mark()) + ": " + key + ": " + why; };
    if (!value.IsScalar()) return bad("expected a single value");
    const auto& text = value.Scalar();
    if (key == "schedule") {
      out.expression = text;
    } else if (key == "timezone") {
      out.timezone = text;
    } else if (is_policy_key(key)) {
      if (auto why = set_policy(out.policy, key, text)) return bad(*why);
    } else if (key == "paused") {
      bool paused = false;
      if (!YAML::convert<bool>::decode(value, paused)) return bad("expected true or false");
      out.paused = paused;
    } else {
      return where(file, kv.first.Mark()) + ": unknown key '" + key + "'";
    }
  }
  if (out.expression.empty()) return where(file, v.Mark()) + ": missing 'schedule'";
  return std::nullopt;
}

decoded decode_file(const std::filesystem::path& file, const std::optional<std::string>& text) {
  decoded d;
  if (!text) return d;
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    throw state_error(where(file, e.mark) + ": " + e.msg + " (the file is left as it is)");
  }
  if (root.IsNull()) return d;
  if (!root.IsMap()) {
    throw state_error(where(file, root.Mark()) +
                      ": expected a mapping of task names to schedules (the file is left as it is)");
  }
  for (const auto& kv : root) {
    const auto key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
    schedule_entry entry;
    if (auto problem = decode(file, key, kv.second, entry)) {
      d.file.undecodable.push_back({key, *problem});
      d.raw.emplace_back(key, kv.second);
    } else {
      d.file.entries.push_back(std::move(entry));
    }
  }
  return d;
}

std::string render(const std::vector<schedule_entry>& entries,
                   const std::vector<std::pair<std::string, YAML::Node>>& raw) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const auto& e : entries) {
    out << detail::key_format(e.task) << YAML::Key << e.task << YAML::Value;
    if (e.is_plain()) {
      out << YAML::DoubleQuoted << e.expression;
      continue;
    }
    out << YAML::BeginMap << YAML::Key << "schedule" << YAML::Value << YAML::DoubleQuoted << e.expression;
    if (!e.timezone.empty()) out << YAML::Key << "timezone" << YAML::Value << e.timezone;
    const schedule_policy defaults;
    if (e.policy.overlap != defaults.overlap) {
      out << YAML::Key << "overlap" << YAML::Value << std::string(to_string(e.policy.overlap));
    }
    if (e.policy.catchup_window != defaults.catchup_window) {
      out << YAML::Key << "catchup_window" << YAML::Value << engine::format_duration(e.policy.catchup_window);
    }
    if (e.policy.jitter != defaults.jitter) {
      out << YAML::Key << "jitter" << YAML::Value << engine::format_duration(e.policy.jitter);
    }
    if (e.paused) out << YAML::Key << "paused" << YAML::Value << true;
    out << YAML::EndMap;
  }
  for (const auto& [key, node] : raw) out << detail::key_format(key) << YAML::Key << key << YAML::Value << node;
  out << YAML::EndMap;
  if (entries.empty() && raw.empty()) return "{}\n";
  return std::string(out.c_str()) + "\n";
}

}  // namespace

std::string_view to_string(overlap_policy p) noexcept {
  return overlap_names[static_cast<std::size_t>(p)];
}

std::optional<overlap_policy> parse_overlap_policy(std::string_view name) noexcept {
  for (std::size_t i = 0; i < overlap_names.size(); ++i) {
    if (overlap_names[i] == name) return static_cast<overlap_policy>(i);
  }
  return std::nullopt;
}

bool is_policy_key(std::string_view key) noexcept {
  return key == "overlap" || key == "catchup_window" || key == "jitter";
}

std::optional<std::string> set_policy(schedule_policy& policy, std::string_view key, std::string_view text) {
  if (key == "overlap") {
    const auto p = parse_overlap_policy(text);
    if (!p) {
      return "unknown overlap policy '" + std::string(text) +
             "' (known: skip, buffer_one, buffer_all, cancel_other, allow_all)";
    }
    policy.overlap = *p;
    return std::nullopt;
  }
  const auto d = engine::parse_duration(text);
  if (!d) return engine::duration_error(text);
  (key == "jitter" ? policy.jitter : policy.catchup_window) = *d;
  return std::nullopt;
}

schedule_store::schedule_store(std::filesystem::path file) : file_(std::move(file)) {}

schedule_file schedule_store::load() const {
  return decode_file(file_, read_file_if_exists(file_)).file;
}

void schedule_store::update(const std::function<void(std::vector<schedule_entry>&)>& change) {
  const file_lock lock(file_);
  const auto text = read_file_if_exists(file_);
  if (text) require_utf8(file_, *text);
  auto d = decode_file(file_, text);
  change(d.file.entries);
  // A decodable entry written under the key of an undecodable one replaces it.
  std::erase_if(d.raw, [&](const auto& raw) {
    return std::any_of(d.file.entries.begin(), d.file.entries.end(),
                       [&](const schedule_entry& e) { return e.task == raw.first; });
  });
  // Never write what does not read back the same: yaml-cpp writes some
  // values it reads in a form it refuses (a long key nested in an
  // undecodable entry) or reads otherwise (a plain scalar ending in CR).
  const auto rendered = render(d.file.entries, d.raw);
  const auto refuse = [this](const std::string& why) {
    throw state_error(file_.string() + ": rewriting it would give a file that does not read back the same (" + why +
                      "; the file is left as it is)");
  };
  decoded back;
  try {
    back = decode_file(file_, rendered);
  } catch (const state_error& e) {
    refuse(e.what());
  }
  if (back.file.entries != d.file.entries || back.raw.size() != d.raw.size() ||
      !std::equal(back.raw.begin(), back.raw.end(), d.raw.begin(),
                  [](const auto& x, const auto& y) { return x.first == y.first; })) {
    refuse("an entry would change");
  }
  write_file_atomically(file_, rendered);
}

}  // namespace cascadence::scheduling
