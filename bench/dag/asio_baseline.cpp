// The layered DAG workload with bare Asio, the floor the engine is compared
// with: every node is a lambda posted to the io_context; finishing a node
// decrements its successors' in-degree counters and posts those that reach
// zero. No graph object, records, coroutines or observers.

#include "bench/dag/layered_dag.hpp"
#include "bench/scenario.hpp"
#include "bench/stopwatch.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace cascadence::bench {

namespace asio = boost::asio;

namespace {

// Matches engine_run.cpp: blocking tasks in flight per pool thread.
constexpr std::size_t blocking_tasks_per_thread = 8;

class posted_dag final {
 public:
  explicit posted_dag(const layered_dag& dag) : indegree_(dag.size(), 0), offsets_(dag.size() + 1, 0) {
    for (std::size_t node = 0; node < dag.size(); ++node) {
      for (const auto dep : dag.dependencies(node)) {
        ++offsets_[dep + 1];
        ++indegree_[node];
      }
    }
    for (std::size_t i = 0; i < dag.size(); ++i) offsets_[i + 1] += offsets_[i];
    successors_.resize(dag.edges());
    std::vector<std::uint32_t> cursor(offsets_.begin(), offsets_.end() - 1);
    for (std::size_t node = 0; node < dag.size(); ++node) {
      for (const auto dep : dag.dependencies(node)) successors_[cursor[dep]++] = static_cast<std::uint32_t>(node);
    }
  }

  /// Runs every node once on `io` (the empty task body on `pool` when
  /// given, at most `limit` at a time) and returns how many nodes ran.
  std::size_t run(asio::io_context& io, asio::thread_pool* pool, std::size_t limit) {
    io_ = &io;
    pool_ = pool;
    limit_ = limit;
    ran_ = 0;
    pending_.assign(indegree_.begin(), indegree_.end());
    // Tasks on the pool are no work of the io_context: keep it running.
    if (pool_ != nullptr) guard_.emplace(io.get_executor());
    for (std::uint32_t node = 0; node < pending_.size(); ++node) {
      if (pending_[node] == 0) ready(node);
    }
    io.run();
    return ran_;
  }

 private:
  void ready(std::uint32_t node) {
    if (pool_ == nullptr) {
      asio::post(*io_, [this, node] { complete(node); });  // the empty task, then its bookkeeping
      return;
    }
    if (in_flight_ == limit_) {
      queued_.push_back(node);
      return;
    }
    ++in_flight_;
    asio::post(*pool_, [this, node] {
      asio::post(*io_, [this, node] {
        --in_flight_;
        complete(node);
        while (in_flight_ < limit_ && !queued_.empty()) {
          const auto next = queued_.back();
          queued_.pop_back();
          ready(next);
        }
      });
    });
  }

  void complete(std::uint32_t node) {
    if (++ran_ == pending_.size()) guard_.reset();
    for (auto i = offsets_[node]; i < offsets_[node + 1]; ++i) {
      const auto next = successors_[i];
      if (--pending_[next] == 0) ready(next);
    }
  }

  std::vector<std::uint32_t> indegree_;
  std::vector<std::uint32_t> offsets_;
  std::vector<std::uint32_t> successors_;
  std::vector<std::uint32_t> pending_;
  std::vector<std::uint32_t> queued_;
  asio::io_context* io_ = nullptr;
  asio::thread_pool* pool_ = nullptr;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::size_t limit_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t ran_ = 0;
};

}  // namespace

scenario_result run_dag_asio(const bench_config& config) {
  const layered_dag dag(config.layers, config.width, config.seed);
  scenario_result result;
  result.scenario = "dag-asio";
  result.tasks = dag.size();

  stopwatch clock;
  posted_dag posted(dag);
  result.build_seconds = clock.seconds();

  asio::io_context io(1);
  std::optional<asio::thread_pool> pool;
  std::size_t limit = config.max_concurrency;
  if (config.threads > 0) {
    pool.emplace(config.threads);
    if (limit == 0) limit = blocking_tasks_per_thread * config.threads;
  }
  clock.restart();
  const auto ran = posted.run(io, pool ? &*pool : nullptr, limit);
  result.seconds = clock.seconds();
  result.cpu_seconds = clock.cpu_seconds();
  if (pool) pool->join();
  if (ran != dag.size()) {
    throw std::runtime_error(std::to_string(ran) + " of " + std::to_string(dag.size()) + " nodes ran");
  }
  return result;
}

}  // namespace cascadence::bench
