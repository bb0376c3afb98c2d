#include "adapters/n8n/workflow_check.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string_view>

namespace cascadence::adapters::n8n {

namespace json = boost::json;

namespace {

struct known_type final {
  std::string_view type;
  std::array<double, 5> versions{};
  std::size_t version_count = 0;
  bool trigger = false;
};

// The node types the exporter writes, with the typeVersions n8n 2.8.4 has
// (../shared/reference/n8n.md).
constexpr std::array<known_type, 5> known_types{{
    {"n8n-nodes-base.manualTrigger", {1}, 1, true},
    {"n8n-nodes-base.scheduleTrigger", {1, 1.1, 1.2, 1.3}, 4, true},
    {"n8n-nodes-base.httpRequest", {4, 4.1, 4.2, 4.3, 4.4}, 5, false},
    {"n8n-nodes-base.code", {2}, 1, false},
    {"n8n-nodes-base.merge", {3, 3.1, 3.2}, 3, false},
}};

const known_type* find_type(std::string_view type) {
  const auto it = std::find_if(known_types.begin(), known_types.end(), [&](const auto& k) { return k.type == type; });
  return it == known_types.end() ? nullptr : &*it;
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

}  // namespace

std::vector<std::string> check_workflow(const json::object& workflow) {
  std::vector<std::string> problems;
  const auto* name = workflow.if_contains("name");
  if (name == nullptr || !name->is_string() || name->as_string().empty()) problems.emplace_back("no workflow name");
  const auto* settings = workflow.if_contains("settings");
  const auto* order =
      settings != nullptr && settings->is_object() ? settings->as_object().if_contains("executionOrder") : nullptr;
  if (order == nullptr || !order->is_string() || order->as_string() != "v1") {
    problems.emplace_back("settings.executionOrder is not \"v1\"");
  }
  const auto* nodes = workflow.if_contains("nodes");
  if (nodes == nullptr || !nodes->is_array()) {
    problems.emplace_back("no nodes array");
    return problems;
  }
  // Node name -> how many inputs it has.
  std::map<std::string, std::int64_t, std::less<>> inputs;
  std::set<std::string, std::less<>> ids;
  bool manual = false;
  for (const auto& v : nodes->as_array()) {
    if (!v.is_object()) {
      problems.emplace_back("a node is not an object");
      continue;
    }
    const auto& n = v.as_object();
    const auto* nm = n.if_contains("name");
    if (nm == nullptr || !nm->is_string() || nm->as_string().empty()) {
      problems.emplace_back("a node has no name");
      continue;
    }
    const std::string node_name(nm->as_string());
    const auto what = "node " + quoted(node_name);
    const auto* id = n.if_contains("id");
    if (id == nullptr || !id->is_string() || id->as_string().empty()) {
      problems.push_back(what + " has no id");
    } else if (!ids.emplace(id->as_string()).second) {
      problems.push_back(what + " has the id " + quoted(id->as_string()) + " of another node");
    }
    const auto* type = n.if_contains("type");
    const known_type* known = type != nullptr && type->is_string() ? find_type(type->as_string()) : nullptr;
    std::int64_t input_count = 1;
    if (known == nullptr) {
      problems.push_back(what + " has an unknown type" +
                         (type != nullptr && type->is_string() ? " " + quoted(type->as_string()) : std::string()));
    } else {
      const auto* version = n.if_contains("typeVersion");
      const double ver = version != nullptr && version->is_number() ? version->to_number<double>() : -1;
      const auto end = known->versions.begin() + static_cast<std::ptrdiff_t>(known->version_count);
      if (std::find(known->versions.begin(), end, ver) == end) {
        problems.push_back(what + " has a typeVersion " + std::string(known->type) + " does not have");
      }
      if (known->trigger) {
        input_count = 0;
        manual = manual || known->type == "n8n-nodes-base.manualTrigger";
      }
    }
    const auto* params = n.if_contains("parameters");
    if (params == nullptr || !params->is_object()) {
      problems.push_back(what + " has no parameters object");
    } else if (known != nullptr && known->type == "n8n-nodes-base.merge") {
      const auto* count = params->as_object().if_contains("numberInputs");
      input_count = count != nullptr && count->is_int64() ? count->as_int64() : 2;
      if (input_count < 2 || input_count > 10) problems.push_back(what + " has numberInputs outside 2-10");
    }
    const auto* pos = n.if_contains("position");
    if (pos == nullptr || !pos->is_array() || pos->as_array().size() != 2 || !pos->as_array()[0].is_number() ||
        !pos->as_array()[1].is_number()) {
      problems.push_back(what + " has no position [x, y]");
    }
    if (!inputs.emplace(node_name, input_count).second) problems.push_back("two nodes are named " + quoted(node_name));
  }
  if (!manual) problems.emplace_back("no manualTrigger node to execute the workflow from");

  const auto* connections = workflow.if_contains("connections");
  if (connections == nullptr || !connections->is_object()) {
    problems.emplace_back("no connections object");
    return problems;
  }
  for (const auto& [source, outputs] : connections->as_object()) {
    const auto from = "connection from " + quoted(source);
    if (!inputs.contains(std::string_view(source))) {
      problems.push_back(from + ": no such node");
      continue;
    }
    const auto* main = outputs.is_object() ? outputs.as_object().if_contains("main") : nullptr;
    if (main == nullptr || !main->is_array()) {
      problems.push_back(from + " has no main outputs");
      continue;
    }
    for (const auto& output : main->as_array()) {
      if (!output.is_array()) {
        problems.push_back(from + ": an output is not a list");
        continue;
      }
      for (const auto& c : output.as_array()) {
        const auto* target = c.is_object() ? c.as_object().if_contains("node") : nullptr;
        const auto* index = c.is_object() ? c.as_object().if_contains("index") : nullptr;
        const auto* kind = c.is_object() ? c.as_object().if_contains("type") : nullptr;
        if (target == nullptr || !target->is_string() || index == nullptr || !index->is_int64() || kind == nullptr ||
            !kind->is_string() || kind->as_string() != "main") {
          problems.push_back(from + ": a connection lacks node, type \"main\" or an integer index");
          continue;
        }
        const auto it = inputs.find(std::string_view(target->as_string()));
        if (it == inputs.end()) {
          problems.push_back(from + " to " + quoted(target->as_string()) + ": no such node");
        } else if (index->as_int64() < 0 || index->as_int64() >= it->second) {
          problems.push_back(from + " to " + quoted(target->as_string()) + ": it has no input " +
                             std::to_string(index->as_int64()));
        }
      }
    }
  }
  return problems;
}

}  // namespace cascadence::adapters::n8n
