#include "service/plugin_loading.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace cascadence::service {

std::vector<plugins::plugin_source> plugin_sources(const config& cfg) {
  auto sources = plugins::sources_from_environment();
  for (const auto& e : cfg.plugins) {
    plugins::plugin_source s{e.path, std::nullopt, e.location};
    if (e.isolation == "process") s.isolation = plugins::isolation::process;
    if (e.isolation == "in_process") s.isolation = plugins::isolation::in_process;
    sources.push_back(std::move(s));
  }
  return sources;
}

plugins::load_result load_configured_plugins(const config& cfg, const plugins::load_options& options) {
  return plugins::load_plugins(plugin_sources(cfg), options);
}

boost::json::value plugins_json(const plugins::registry& loaded, const std::vector<std::string>& errors) {
  boost::json::array list;
  for (const auto& p : loaded.providers()) {
    const auto& d = p->descriptor();
    boost::json::array procs;
    for (const auto& proc : d.processors) {
      procs.push_back({{"name", proc.name},
                       {"description", proc.description},
                       {"blocking", proc.blocking},
                       {"immediate", proc.immediate}});
    }
    list.push_back({{"name", d.name},
                    {"version", d.version},
                    {"description", d.description},
                    {"path", p->file().path.string()},
                    {"sha256", p->file().sha256},
                    {"abi", std::to_string(d.abi_major) + "." + std::to_string(d.abi_minor)},
                    {"runtime", d.runtime},
                    {"isolation", plugins::to_string(p->isolation())},
                    {"processors", std::move(procs)}});
  }
  boost::json::array errs;
  for (const auto& e : errors) errs.emplace_back(e);
  return boost::json::object{{"plugins", std::move(list)}, {"errors", std::move(errs)}};
}

boost::json::value changes_json(const std::vector<plugins::plugin_change>& changes) {
  boost::json::array out;
  for (const auto& c : changes) {
    out.push_back({{"change", plugins::to_string(c.what)},
                   {"name", c.name},
                   {"path", c.path.string()},
                   {"old_sha256", c.old_sha256},
                   {"new_sha256", c.new_sha256}});
  }
  return out;
}

}  // namespace cascadence::service
