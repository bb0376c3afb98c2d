#include "scheduling/fire_state_store.hpp"

#include "core/checksum.hpp"
#include "scheduling/atomic_file.hpp"
#include "scheduling/task_state_store.hpp"

#include <yaml-cpp/yaml.h>

#include <date/date.h>

#include <charconv>
#include <chrono>
#include <optional>
#include <string_view>

namespace cascadence::scheduling {

namespace {

constexpr std::string_view header_start = "# cascadence fire state: generation ";
// YAML allows an implicit key ("key": value) of 1024 characters at most;
// longer ones are written as explicit keys ("? key" then ": value").
constexpr std::size_t max_implicit_key = 1000;

// `fire-state.yml` -> `fire-state.alt.yml`; `state` -> `state.alt`.
std::filesystem::path alternate(const std::filesystem::path& file) {
  auto alt = file;
  alt.replace_filename(file.stem().string() + ".alt" + file.extension().string());
  return alt;
}

// Reads the unsigned number at the front of `text` and drops it and the
// `suffix` after it; false when either is missing.
bool take_number(std::string_view& text, std::uint64_t& value, std::string_view suffix, int base = 10) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc{} || end == text.data()) return false;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  if (!text.starts_with(suffix)) return false;
  text.remove_prefix(suffix.size());
  return true;
}

// `text` inside a YAML double-quoted scalar: double quotes, backslashes
// and control characters escaped.
void append_quoted(std::string& out, std::string_view text) {
  static constexpr std::string_view hex = "0123456789abcdef";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += hex[u >> 4U];
      out += hex[u & 15U];
    } else {
      out += c;
    }
  }
}

struct snapshot {
  std::uint64_t generation = 0;
  std::string_view body;
  int first_line = 1;  // of the body in the file, for error messages
};

// The body of a save whose header and checksum agree; nullopt for a torn or
// foreign file. A file without our header is taken whole, as generation 0:
// earlier versions replaced the file atomically and wrote no header.
std::optional<snapshot> whole_save(std::string_view text) {
  if (!text.starts_with(header_start)) {
    if (text.starts_with("# cascadence fire state")) return std::nullopt;  // a header cut short
    return snapshot{0, text, 1};
  }
  auto rest = text.substr(header_start.size());
  std::uint64_t generation = 0;
  std::uint64_t length = 0;
  std::uint64_t checksum = 0;
  if (!take_number(rest, generation, ", ") || !take_number(rest, length, " bytes, fnv1a64 ") ||
      !take_number(rest, checksum, "\n", 16)) {
    return std::nullopt;
  }
  if (length > rest.size()) return std::nullopt;  // cut short
  const auto body = rest.substr(0, length);       // anything after is an older, longer save's tail
  if (core::fnv1a64(body) != checksum) return std::nullopt;
  return snapshot{generation, body, 2};
}

fire_state_store::times parse(const snapshot& save, const std::filesystem::path& file) {
  fire_state_store::times out;
  const auto where = [&](const YAML::Mark& m) {
    return file.string() + ":" + std::to_string(m.line + save.first_line) + ":" + std::to_string(m.column + 1);
  };
  try {
    const auto root = YAML::Load(std::string(save.body));
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

// `file` renamed to `file.corrupt-<UTC time>` (a number added if that is
// taken); what the report says about it. Throws state_error when it cannot
// be moved.
std::string set_aside(const std::filesystem::path& file, const std::string& why) {
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const auto stamp = date::format("%Y%m%dT%H%M%SZ", now);
  auto aside = file;
  aside += ".corrupt-" + stamp;
  for (int n = 1; std::filesystem::exists(aside); ++n) {
    aside = file;
    aside += ".corrupt-" + stamp + "-" + std::to_string(n);
  }
  std::error_code ec;
  std::filesystem::rename(file, aside, ec);
  if (ec) {
    throw state_error(file.string() + ": " + why + "; cannot move it aside (" + ec.message() +
                      "), so it is neither used nor saved over");
  }
  return file.string() + ": " + why + "; kept as " + aside.filename().string() + ", starting without it";
}

}  // namespace

fire_state_store::fire_state_store(std::filesystem::path file) : files_{file, alternate(file)} {}

fire_state_store::times fire_state_store::load() {
  problems_.clear();
  kept_ = {false, false};
  std::array<std::optional<std::string>, 2> texts{read_file_if_exists(files_[0]), read_file_if_exists(files_[1])};
  std::array<std::optional<snapshot>, 2> saves{};
  std::array<std::optional<times>, 2> parsed{};
  std::array<std::string, 2> why{};  // why an existing file is unusable
  for (std::size_t i = 0; i < 2; ++i) {
    if (!texts[i]) continue;
    saves[i] = whole_save(*texts[i]);
    if (!saves[i]) {
      why[i] = "not a whole save (torn by a crash, or not written by Cascadence)";
      continue;
    }
    try {
      parsed[i] = parse(*saves[i], files_[i]);
    } catch (const state_error& e) {
      why[i] = e.what();
    }
  }
  std::optional<std::size_t> newest;
  for (std::size_t i = 0; i < 2; ++i) {
    if (parsed[i] && (!newest || saves[i]->generation > saves[*newest]->generation)) newest = i;
  }
  // An unusable file is moved aside before anything is saved over it,
  // except a save of ours torn by a crash beside a whole one: recovering
  // from exactly that is what the two files are for.
  for (std::size_t i = 0; i < 2; ++i) {
    if (!texts[i] || parsed[i]) continue;
    const bool torn_save = texts[i]->starts_with("# cascadence fire state") && !saves[i];
    if (torn_save && newest) continue;
    try {
      problems_.push_back(set_aside(files_[i], why[i]));
    } catch (const state_error& e) {
      problems_.emplace_back(e.what());
      kept_[i] = true;
    }
  }
  if (!newest) {
    generation_ = 0;
    next_ = 0;
    return {};
  }
  generation_ = saves[*newest]->generation;
  next_ = 1 - *newest;
  return std::move(*parsed[*newest]);
}

void fire_state_store::save(const times& state, durability d) {
  // Written by hand: this runs before every batch of fires. Names are
  // double-quoted so none reads as a number or boolean; the task names of a
  // configuration need no escapes, but names read from an older or edited
  // file may hold any character.
  std::string body;
  body.reserve(state.size() * 40);
  for (const auto& [task, t] : state) {
    const auto key_start = body.size();
    body += '"';
    append_quoted(body, task);
    if (body.size() - key_start < max_implicit_key) {
      body += "\": ";
    } else {
      body.insert(key_start, "? ");
      body += "\"\n: ";
    }
    body += std::to_string(t.time_since_epoch().count());
    body += '\n';
  }
  char checksum[17];
  const auto [end, ec] = std::to_chars(checksum, checksum + sizeof checksum, core::fnv1a64(body), 16);
  (void)ec;  // 16 hex digits always fit
  std::string text(header_start);
  text += std::to_string(generation_ + 1);
  text += ", ";
  text += std::to_string(body.size());
  text += " bytes, fnv1a64 ";
  text.append(checksum, end);
  text += '\n';
  text += body;
  // A file that could not be moved aside is never saved over.
  if (kept_[next_]) next_ = 1 - next_;
  if (kept_[next_]) {
    throw state_error(files_[0].string() + " and " + files_[1].filename().string() +
                      " are unusable and could not be moved aside: not saving over them");
  }
  // On failure the file may be torn: the next save tries it again, keeping
  // the other (the newest whole save) intact.
  overwrite_file(files_[next_], text, d);
  ++generation_;
  next_ = 1 - next_;
}

void fire_state_store::sync() const {
  for (const auto& f : files_) {
    std::error_code ec;
    if (std::filesystem::exists(f, ec)) sync_file(f);
  }
}

}  // namespace cascadence::scheduling
