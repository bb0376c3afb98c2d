#include "plugins/registry.hpp"

#include "plugins/in_process_provider.hpp"
#include "plugins/isolated/isolated_provider.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <set>

namespace cascadence::plugins {

namespace fs = std::filesystem;

namespace {

// One process holds one Go runtime: the first Go plugin loaded in-process keeps its place for the life of the
// process (it is never unloaded).
std::mutex go_mu;
std::optional<fs::path> go_in_process;

struct candidate final {
  fs::path path;
  std::optional<plugins::isolation> isolation;
};

std::string short_hash(const std::string& sha) {
  return sha.substr(0, 12);
}

}  // namespace

std::string_view to_string(isolation value) noexcept {
  return value == isolation::process ? "process" : "in_process";
}

std::vector<plugin_source> sources_from_environment() {
  std::vector<plugin_source> out;
  const char* env = std::getenv("CASCADENCE_PLUGIN_PATH");
  if (env == nullptr) return out;
  std::string_view rest(env);
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    const auto part = rest.substr(0, colon);
    if (!part.empty()) out.push_back({fs::path(part), std::nullopt, "CASCADENCE_PLUGIN_PATH"});
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return out;
}

const registered_processor* registry::find(std::string_view name) const noexcept {
  auto it = processors_.find(name);
  return it == processors_.end() ? nullptr : &it->second;
}

load_result load_plugins(const std::vector<plugin_source>& sources, const load_options& options) {
  load_result out;
  std::vector<candidate> files;
  std::vector<fs::path> directories;
  std::set<fs::path> seen;
  const auto add_directory = [&](const fs::path& dir) {
    if (std::find(directories.begin(), directories.end(), dir) == directories.end()) directories.push_back(dir);
  };
  for (const auto& source : sources) {
    std::error_code ec;
    const auto path = fs::absolute(source.path, ec).lexically_normal();
    const auto status = fs::status(path, ec);
    if (fs::is_directory(status)) {
      add_directory(path);
      std::vector<fs::path> found;
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        if (entry.path().extension() == ".so" && entry.path().filename().string().front() != '.') {
          found.push_back(entry.path());
        }
      }
      if (ec) {
        out.errors.push_back(path.string() + ": cannot list the directory (" + ec.message() + ")");
        continue;
      }
      std::sort(found.begin(), found.end());
      for (auto& f : found) {
        if (seen.insert(f).second) files.push_back({std::move(f), source.isolation});
      }
    } else if (fs::exists(status)) {
      add_directory(path.parent_path());
      if (seen.insert(path).second) files.push_back({path, source.isolation});
    } else {
      // Watched all the same, so that a plugin put there later is picked up by a reload.
      if (fs::is_directory(path.parent_path(), ec)) add_directory(path.parent_path());
      out.errors.push_back(path.string() + ": no such file or directory" +
                           (source.origin.empty() ? std::string() : " (named by " + source.origin + ")"));
    }
  }

  const auto cache = options.cache_dir.empty() ? default_cache_dir() : options.cache_dir;
  std::vector<std::shared_ptr<provider>> providers;
  std::map<std::string, registered_processor, std::less<>> processors;
  for (const auto& c : files) {
    auto staged = stage(c.path, cache);
    if (!staged) {
      out.errors.push_back(std::move(staged.error()));
      continue;
    }
    const auto& file = staged.value();
    std::shared_ptr<provider> loaded;
    if (options.previous) {
      for (const auto& p : options.previous->providers()) {
        const bool same_isolation = !c.isolation || *c.isolation == p->isolation();
        if (p->file().path == file.path && p->file().sha256 == file.sha256 && same_isolation) loaded = p;
      }
    }
    if (!loaded) {
      const bool go = is_go_binary(file.cached);
      const auto how = c.isolation ? *c.isolation : go ? isolation::process : isolation::in_process;
      if (how == isolation::process) {
        auto made = make_isolated_provider(file, {options.host_program, options.log});
        if (!made) {
          const auto& why = made.error();
          out.errors.push_back(why.starts_with(file.path.string() + ":") ? why : file.path.string() + ": " + why);
          continue;
        }
        loaded = std::move(made.value());
      } else {
        if (go) {
          const std::lock_guard lock(go_mu);
          if (go_in_process && *go_in_process != file.cached) {
            out.errors.push_back(file.path.string() + ": refused: a Go plugin is already loaded in this process (" +
                                 go_in_process->string() +
                                 "), and a process holds one Go runtime (load this one with isolation: process)");
            continue;
          }
          go_in_process = file.cached;
        }
        auto made = make_in_process_provider(file, {options.pool, options.log});
        if (!made) {
          out.errors.push_back(std::move(made.error()));
          continue;
        }
        loaded = std::move(made.value());
      }
    }
    // Every name first, then register: a refused plugin leaves nothing behind.
    std::optional<std::string> clash;
    for (const auto& p : loaded->descriptor().processors) {
      if (const auto it = processors.find(p.name); it != processors.end()) {
        clash = file.path.string() + ": refused: processor \"" + p.name + "\" is already provided by " +
                it->second.provider->file().path.string();
        break;
      }
    }
    if (clash) {
      out.errors.push_back(std::move(*clash));
      continue;
    }
    for (const auto& p : loaded->descriptor().processors) processors.emplace(p.name, registered_processor{loaded, p});
    providers.push_back(std::move(loaded));
  }
  out.plugins = std::make_shared<const registry>(std::move(providers), std::move(processors), std::move(directories));
  return out;
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

std::vector<plugin_change> diff(const registry& before, const registry& after) {
  std::vector<plugin_change> out;
  const auto find = [](const registry& r, const fs::path& path) -> const provider* {
    for (const auto& p : r.providers()) {
      if (p->file().path == path) return p.get();
    }
    return nullptr;
  };
  for (const auto& p : after.providers()) {
    const auto* old = find(before, p->file().path);
    if (old == nullptr) {
      out.push_back({plugin_change::kind::added, p->descriptor().name, p->file().path, {}, p->file().sha256});
    } else if (old->file().sha256 != p->file().sha256) {
      out.push_back(
          {plugin_change::kind::reloaded, p->descriptor().name, p->file().path, old->file().sha256, p->file().sha256});
    }
  }
  for (const auto& p : before.providers()) {
    if (find(after, p->file().path) == nullptr) {
      out.push_back({plugin_change::kind::removed, p->descriptor().name, p->file().path, p->file().sha256, {}});
    }
  }
  return out;
}

std::string describe(const plugin_change& change) {
  std::string line = "plugins: " + std::string(to_string(change.what)) + " " + change.name + " (";
  switch (change.what) {
    case plugin_change::kind::added:
      line += change.path.string() + ", sha256 " + short_hash(change.new_sha256);
      break;
    case plugin_change::kind::removed:
      line += change.path.string();
      break;
    case plugin_change::kind::reloaded:
      line += "sha256 " + short_hash(change.old_sha256) + " -> " + short_hash(change.new_sha256);
      break;
  }
  return line + ")";
}

}  // namespace cascadence::plugins
