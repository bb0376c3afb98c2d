#include "service/graph_picture.hpp"

#include "core/text.hpp"
#include "engine/task.hpp"

#include <boost/json/array.hpp>

#include <array>
#include <functional>
#include <map>
#include <set>

namespace cascadence::service {

namespace {

struct status_style final {
  std::string_view status;
  std::string_view fill;
  std::string_view stroke;
};

// Fill and border of a node per status; the last is for a status this version does not know.
constexpr std::array<status_style, 8> styles{{
    {"success", "#c8e6c9", "#2e7d32"},
    {"failed", "#ffcdd2", "#c62828"},
    {"timed_out", "#ffe0b2", "#ef6c00"},
    {"cancelled", "#e1bee7", "#6a1b9a"},
    {"skipped", "#eeeeee", "#9e9e9e"},
    {"running", "#bbdefb", "#1565c0"},
    {"not_in_run", "#ffffff", "#bdbdbd"},
    {"other", "#fff9c4", "#f9a825"},
}};

const status_style& style_of(std::string_view status) {
  for (const auto& s : styles) {
    if (s.status == status) return s;
  }
  return styles.back();
}

// Outside text made safe to print: valid UTF-8, each control character a space.
std::string plain(std::string_view text) {
  auto out = core::to_valid_utf8(text);
  for (auto& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

// The lines of a node's label: name; kind (and disabled); schedule; status.
std::vector<std::string> label_lines(const picture_node& n) {
  std::vector<std::string> lines{plain(n.name), plain(n.kind) + (n.enabled ? "" : ", disabled")};
  if (n.schedule) {
    lines.push_back(plain(n.schedule->expression) + " (" + plain(n.schedule->timezone) + ")" +
                    (n.schedule->paused ? ", paused" : ""));
  }
  if (!n.status.empty()) lines.push_back(plain(n.status));
  return lines;
}

// The inside of a DOT double-quoted string. A backslash is doubled so that the text never forms an escape
// (in labels `\n`, `\N`, ...; anywhere `\"`), which also keeps distinct names distinct as ids.
std::string dot_inner(std::string_view text) {
  std::string out;
  for (const char c : plain(text)) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string dot_quoted(std::string_view text) {
  return '"' + dot_inner(text) + '"';
}

// A Mermaid label's text: its grammar ends a quoted label at `"` and reads `#...;` as an entity code, `<`
// `>` `&` as HTML and a leading backtick as Markdown; each is written as an entity code.
std::string mermaid_text(std::string_view text) {
  std::string out;
  for (const char c : plain(text)) {
    switch (c) {
      case '"':
        out += "#quot;";
        break;
      case '#':
        out += "#35;";
        break;
      case '&':
        out += "#38;";
        break;
      case '<':
        out += "#60;";
        break;
      case '>':
        out += "#62;";
        break;
      case '`':
        out += "#96;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string mermaid_class(std::string_view status) {
  return "status_" + std::string(style_of(status).status);
}

}  // namespace

graph_picture make_graph_picture(const config& cfg, const std::vector<scheduling::schedule_entry>& schedules,
                                 const std::vector<std::string>& targets) {
  std::map<std::string_view, const scheduling::schedule_entry*> schedule_of;
  for (const auto& e : schedules) schedule_of[e.task] = &e;
  graph_picture picture;
  std::set<std::string_view> seen;
  // Depth first, dependencies before their dependents, otherwise in the configuration's order.
  std::function<void(const task_config&)> visit = [&](const task_config& t) {
    if (!seen.insert(t.name).second) return;
    for (const auto& dep : t.after) {
      if (const auto* d = cfg.find(dep)) visit(*d);
    }
    picture_node n;
    n.name = t.name;
    n.kind = std::string(engine::to_string(t.settings.kind));
    n.description = t.settings.description;
    n.enabled = t.settings.enabled;
    n.after = t.after;
    if (const auto it = schedule_of.find(t.name); it != schedule_of.end()) {
      n.schedule = *it->second;
      if (n.schedule->timezone.empty()) n.schedule->timezone = cfg.timezone;
    }
    picture.nodes.push_back(std::move(n));
  };
  if (targets.empty()) {
    for (const auto& t : cfg.tasks) visit(t);
  } else {
    for (const auto& name : targets) {
      if (const auto* t = cfg.find(name)) visit(*t);
    }
  }
  return picture;
}

std::optional<std::string> colour_by_run(graph_picture& picture, const boost::json::value& run,
                                         std::vector<std::string>& missing) {
  const auto* o = run.if_object();
  if (o == nullptr) return "the run is not a JSON object";
  const auto text = [&](const boost::json::object& in, std::string_view key) -> std::optional<std::string> {
    const auto* v = in.if_contains(key);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  auto id = text(*o, "run_id");
  auto task = text(*o, "task");
  auto status = text(*o, "status");
  const auto* tasks = o->if_contains("tasks");
  if (!id || !task || !status || tasks == nullptr || !tasks->is_array()) {
    return "the run lacks a string 'run_id', 'task' or 'status', or a 'tasks' array";
  }
  std::map<std::string, std::string, std::less<>> status_of;
  for (const auto& t : tasks->as_array()) {
    const auto* r = t.if_object();
    if (r == nullptr) return "a task of the run is not a JSON object";
    auto name = text(*r, "task");
    if (!name) name = text(*r, "name");
    auto s = text(*r, "status");
    if (!name || !s) return "a task of the run lacks a string 'task' or 'status'";
    status_of[*name] = *s;
  }
  // While the run goes on, the API reports no task yet: the run's task and what it runs after are running.
  std::set<std::string, std::less<>> in_run;
  if (*status == "running") {
    std::map<std::string_view, const picture_node*> by_name;
    for (const auto& n : picture.nodes) by_name[n.name] = &n;
    std::vector<std::string_view> todo{*task};
    while (!todo.empty()) {
      const auto name = todo.back();
      todo.pop_back();
      const auto it = by_name.find(name);
      if (it == by_name.end() || !in_run.emplace(name).second) continue;
      for (const auto& dep : it->second->after) todo.emplace_back(dep);
    }
  }
  std::set<std::string_view> shown;
  for (auto& n : picture.nodes) {
    shown.insert(n.name);
    if (const auto it = status_of.find(n.name); it != status_of.end()) {
      n.status = it->second;
    } else {
      n.status = in_run.contains(n.name) ? "running" : "not_in_run";
    }
  }
  for (const auto& [name, s] : status_of) {
    if (!shown.contains(name)) missing.push_back(name);
  }
  picture.run = picture_run{std::move(*id), std::move(*task), std::move(*status)};
  return std::nullopt;
}

std::string to_dot(const graph_picture& picture) {
  std::string out =
      "digraph cascadence {\n"
      "  rankdir=LR;\n"
      "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\"];\n";
  if (picture.run) {
    out += "  label=" +
           dot_quoted("run " + picture.run->run_id + " of " + picture.run->task + ": " + picture.run->status) +
           ";\n  labelloc=t;\n";
  }
  for (const auto& n : picture.nodes) {
    // Lines joined by DOT's own `\n` escape, which the text itself can no longer form.
    std::string label;
    for (const auto& line : label_lines(n)) label += (label.empty() ? "" : "\\n") + dot_inner(line);
    out += "  " + dot_quoted(n.name) + " [label=\"" + label + '"';
    if (!n.description.empty()) out += ", tooltip=" + dot_quoted(n.description);
    if (!n.status.empty()) {
      const auto& s = style_of(n.status);
      out += ", fillcolor=\"" + std::string(s.fill) + "\", color=\"" + std::string(s.stroke) + "\"";
    }
    if (!n.enabled) out += ", style=\"rounded,filled,dashed\"";
    out += "];\n";
  }
  for (const auto& n : picture.nodes) {
    for (const auto& dep : n.after) out += "  " + dot_quoted(dep) + " -> " + dot_quoted(n.name) + ";\n";
  }
  return out + "}\n";
}

std::string mermaid_id(std::string_view name) {
  constexpr std::string_view hex = "0123456789abcdef";
  std::string out = "t_";
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= '0' && u <= '9') || (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z')) {
      out += c;
    } else if (c == '_') {
      out += "__";
    } else {
      out += '_';
      out += hex[u >> 4U];
      out += hex[u & 0xfU];
    }
  }
  return out;
}

std::string to_mermaid(const graph_picture& picture) {
  std::string out;
  out += "flowchart LR\n";
  // A comment runs to the end of its line, and plain() leaves no line break in it.
  if (picture.run) {
    out += "    %% run " + plain(picture.run->run_id) + " of " + plain(picture.run->task) + ": " +
           plain(picture.run->status) + "\n";
  }
  std::set<std::string> classes;
  for (const auto& n : picture.nodes) {
    std::string label;
    for (const auto& line : label_lines(n)) label += (label.empty() ? "" : "<br/>") + mermaid_text(line);
    out += "    " + mermaid_id(n.name) + "[\"" + label + "\"]\n";
  }
  for (const auto& n : picture.nodes) {
    for (const auto& dep : n.after) out += "    " + mermaid_id(dep) + " --> " + mermaid_id(n.name) + "\n";
  }
  for (const auto& n : picture.nodes) {
    if (!n.status.empty()) classes.insert(mermaid_class(n.status));
  }
  for (const auto& s : styles) {
    const auto name = mermaid_class(s.status);
    if (classes.contains(name)) {
      out += "    classDef " + name + " fill:" + std::string(s.fill) + ",stroke:" + std::string(s.stroke) + "\n";
    }
  }
  bool any_disabled = false;
  for (const auto& n : picture.nodes) any_disabled = any_disabled || !n.enabled;
  if (any_disabled) out += "    classDef disabled stroke-dasharray:5\n";
  for (const auto& n : picture.nodes) {
    if (!n.status.empty()) out += "    class " + mermaid_id(n.name) + " " + mermaid_class(n.status) + "\n";
    if (!n.enabled) out += "    class " + mermaid_id(n.name) + " disabled\n";
  }
  return out;
}

boost::json::object to_json(const graph_picture& picture) {
  boost::json::array nodes;
  boost::json::array edges;
  for (const auto& n : picture.nodes) {
    boost::json::array after;
    for (const auto& dep : n.after) {
      after.emplace_back(dep);
      edges.push_back(boost::json::object{{"from", dep}, {"to", n.name}});
    }
    boost::json::value schedule = nullptr;
    if (n.schedule) {
      schedule = boost::json::object{
          {"expression", n.schedule->expression}, {"timezone", n.schedule->timezone}, {"paused", n.schedule->paused}};
    }
    boost::json::object node{{"name", n.name},
                             {"kind", n.kind},
                             {"description", n.description},
                             {"enabled", n.enabled},
                             {"schedule", std::move(schedule)},
                             {"after", std::move(after)}};
    if (!n.status.empty()) node["status"] = n.status;
    nodes.push_back(std::move(node));
  }
  boost::json::object out{{"nodes", std::move(nodes)}, {"edges", std::move(edges)}};
  if (picture.run) {
    out["run"] = boost::json::object{
        {"run_id", picture.run->run_id}, {"task", picture.run->task}, {"status", picture.run->status}};
  }
  return out;
}

}  // namespace cascadence::service
