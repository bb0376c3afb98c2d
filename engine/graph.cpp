#include "engine/graph.hpp"

#include "engine/processor.hpp"

#include <algorithm>
#include <functional>
#include <utility>

namespace cascadence::engine {

struct graph_builder::impl {
  graph g;
  std::vector<std::pair<task_id, task_id>> edges;            // (task, dependency)
  std::vector<std::pair<task_id, std::string>> named_edges;  // resolved by build()
};

graph_builder::graph_builder() : impl_(std::make_unique<impl>()) {}
graph_builder::~graph_builder() = default;
graph_builder::graph_builder(graph_builder&&) noexcept = default;
graph_builder& graph_builder::operator=(graph_builder&&) noexcept = default;

void graph_builder::reserve(std::size_t tasks, std::size_t edges) {
  impl_->g.names_.reserve(tasks);
  impl_->g.rows_.reserve(tasks);
  impl_->edges.reserve(edges);
}

namespace {
bool same_settings(const task_settings& a, const task_settings& b) {
  return a.timeout == b.timeout && a.retry.retries == b.retry.retries && a.retry.backoff == b.retry.backoff &&
         a.retry.backoff_max == b.retry.backoff_max && a.kind == b.kind && a.enabled == b.enabled &&
         a.description == b.description;
}
}  // namespace

task_id graph_builder::add(task_spec spec) {
  auto& g = impl_->g;
  const auto id = static_cast<task_id>(g.names_.size());
  g.names_.push_back(std::move(spec.name));
  if (g.procs_.empty() || g.procs_.back() != spec.proc) {
    g.immediates_.push_back(dynamic_cast<immediate_processor*>(spec.proc.get()));
    g.procs_.push_back(std::move(spec.proc));
  }
  if (g.settings_.empty() || !same_settings(g.settings_.back(), spec.settings)) {
    g.settings_.push_back(std::move(spec.settings));
  }
  g.rows_.push_back(
      {static_cast<std::uint32_t>(g.procs_.size() - 1), static_cast<std::uint32_t>(g.settings_.size() - 1)});
  return id;
}

void graph_builder::add_dependency(task_id task, task_id dependency) {
  impl_->edges.emplace_back(task, dependency);
}

void graph_builder::add_dependency(task_id task, std::string dependency) {
  impl_->named_edges.emplace_back(task, std::move(dependency));
}

namespace {

// Compressed rows: offsets[i]..offsets[i+1] index the targets of row i.
void build_csr(std::size_t rows, const std::vector<std::pair<task_id, task_id>>& edges, bool by_first,
               std::vector<std::uint32_t>& offsets, std::vector<task_id>& targets) {
  offsets.assign(rows + 1, 0);
  for (const auto& [a, b] : edges) ++offsets[(by_first ? a : b) + 1];
  for (std::size_t i = 0; i < rows; ++i) offsets[i + 1] += offsets[i];
  targets.resize(edges.size());
  std::vector<std::uint32_t> cursor(offsets.begin(), offsets.end() - 1);
  for (const auto& [a, b] : edges) {
    const auto row = by_first ? a : b;
    targets[cursor[row]++] = by_first ? b : a;
  }
}

}  // namespace

core::result<graph, graph_error> graph_builder::build() && {
  auto& g = impl_->g;
  const std::size_t n = g.names_.size();

  std::size_t slots = 16;
  while (slots < 2 * n) slots *= 2;
  g.name_slots_.assign(slots, graph::no_task);
  for (task_id id = 0; id < n; ++id) {
    auto& slot = g.name_slots_[g.name_slot(g.names_[id])];
    if (slot != graph::no_task) {
      return graph_error{graph_error::code::duplicate_task, "duplicate task '" + g.names_[id] + "'", {g.names_[id]}};
    }
    slot = id;
    if (!g.procs_[g.rows_[id].proc]) {
      return graph_error{
          graph_error::code::missing_processor, "task '" + g.names_[id] + "' has no processor", {g.names_[id]}};
    }
  }
  for (auto& [task, name] : impl_->named_edges) {
    const auto found = g.find(name);
    if (!found) {
      return graph_error{graph_error::code::unknown_dependency,
                         "task '" + g.names_[task] + "' depends on unknown task '" + name + "'",
                         {g.names_[task], name}};
    }
    impl_->edges.emplace_back(task, *found);
  }
  auto& edges = impl_->edges;
  // A dependency named twice is one edge; sorting also makes the order of
  // dependencies deterministic.
  std::sort(edges.begin(), edges.end());
  edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
  for (const auto& [task, dep] : edges) {
    if (task == dep) {
      return graph_error{graph_error::code::cycle,
                         "dependency cycle: " + g.names_[task] + " -> " + g.names_[task],
                         {g.names_[task], g.names_[task]}};
    }
  }
  build_csr(n, edges, true, g.dep_offsets_, g.dep_edges_);
  build_csr(n, edges, false, g.succ_offsets_, g.succ_edges_);
  std::vector<std::pair<task_id, task_id>>().swap(edges);

  // Kahn's algorithm; whatever it cannot order lies on or behind a cycle.
  const auto order = g.topological_order();
  if (order.size() != n) {
    std::vector<bool> ordered(n, false);
    for (auto id : order) ordered[id] = true;
    task_id start = 0;
    while (ordered[start]) ++start;
    // Every unordered task has an unordered dependency: walk dependencies
    // until a task repeats; the walk from its first visit is a cycle.
    std::vector<std::uint32_t> seen_at(n, UINT32_MAX);
    std::vector<task_id> walk;
    task_id cur = start;
    while (seen_at[cur] == UINT32_MAX) {
      seen_at[cur] = static_cast<std::uint32_t>(walk.size());
      walk.push_back(cur);
      for (auto dep : g.dependencies(cur)) {
        if (!ordered[dep]) {
          cur = dep;
          break;
        }
      }
    }
    std::vector<task_id> cycle(walk.begin() + seen_at[cur], walk.end());
    // The walk followed "runs after"; report in execution order, starting
    // from the smallest name so the message is stable.
    std::reverse(cycle.begin(), cycle.end());
    auto first =
        std::min_element(cycle.begin(), cycle.end(), [&](task_id a, task_id b) { return g.names_[a] < g.names_[b]; });
    std::rotate(cycle.begin(), first, cycle.end());
    graph_error err{graph_error::code::cycle, "dependency cycle: ", {}};
    for (auto id : cycle) {
      err.message += g.names_[id] + " -> ";
      err.tasks.push_back(g.names_[id]);
    }
    err.message += g.names_[cycle.front()];
    err.tasks.push_back(g.names_[cycle.front()]);
    return err;
  }
  return std::move(g);
}

std::size_t graph::name_slot(std::string_view name) const noexcept {
  // Linear probing; the table is at most half full, so an empty slot ends
  // every search.
  const std::size_t mask = name_slots_.size() - 1;
  for (auto i = std::hash<std::string_view>{}(name)&mask;; i = (i + 1) & mask) {
    const auto id = name_slots_[i];
    if (id == no_task || names_[id] == name) return i;
  }
}

std::optional<task_id> graph::find(std::string_view name) const {
  if (name_slots_.empty()) return std::nullopt;
  const auto id = name_slots_[name_slot(name)];
  if (id == no_task) return std::nullopt;
  return id;
}

std::vector<task_id> graph::topological_order() const {
  const std::size_t n = size();
  std::vector<std::uint32_t> pending(n);
  std::vector<task_id> order;
  order.reserve(n);
  for (task_id id = 0; id < n; ++id) {
    pending[id] = dep_offsets_[id + 1] - dep_offsets_[id];
    if (pending[id] == 0) order.push_back(id);
  }
  for (std::size_t i = 0; i < order.size(); ++i) {
    for (auto next : dependents(order[i])) {
      if (--pending[next] == 0) order.push_back(next);
    }
  }
  return order;
}

std::vector<task_id> graph::closure(std::span<const task_id> targets) const {
  std::vector<bool> wanted(size(), false);
  std::vector<task_id> stack(targets.begin(), targets.end());
  while (!stack.empty()) {
    const auto id = stack.back();
    stack.pop_back();
    if (wanted[id]) continue;
    wanted[id] = true;
    for (auto dep : dependencies(id)) {
      if (!wanted[dep]) stack.push_back(dep);
    }
  }
  std::vector<task_id> out;
  for (auto id : topological_order()) {
    if (wanted[id]) out.push_back(id);
  }
  return out;
}

}  // namespace cascadence::engine
