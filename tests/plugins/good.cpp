// A well-behaved test plugin, and the misbehaving processors the host must survive (never completing,
// completing twice, completing after cancellation). Built twice, with VERSION 1 and 2, for the hot-reload tests.
#include "plugins/cascadence_plugin.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifndef VERSION
#define VERSION 1
#endif

namespace {

const cascadence_host_t* host = nullptr;
int inits = 0;

enum kind : std::uint32_t {
  noop,
  echo,
  delay,
  fail,
  refuse_start,
  throws,
  hang,
  twice,
  late,
  blocking,
  version,
  quick,
  unkept,
  count
};

const char* const descriptors[count] = {
    R"j({"name": "good.noop", "description": "completes at once"})j",
    R"j({"name": "good.echo", "description": "returns its params, prints a line"})j",
    R"j({"name": "good.delay", "description": "completes from its own thread after params.ms; honours cancel"})j",
    R"j({"name": "good.fail", "description": "completes INTERNAL with a message"})j",
    R"j({"name": "good.refuse_start", "description": "start() returns INVALID_ARGUMENT"})j",
    R"j({"name": "good.throws", "description": "throws inside start() and catches it"})j",
    R"j({"name": "good.hang", "description": "never calls complete()"})j",
    R"j({"name": "good.twice", "description": "calls complete() twice"})j",
    R"j({"name": "good.late", "description": "completes only after cancellation, later"})j",
    R"j({"name": "good.blocking", "description": "sleeps params.ms inside start()", "blocking": true})j",
    R"j({"name": "good.version", "description": "returns the plugin's version"})j",
    R"j({"name": "good.quick", "description": "good.echo, declared immediate", "immediate": true})j",
    R"j({"name": "good.unkept", "description": "good.delay, declared immediate all the same", "immediate": true})j",
};

cascadence_bytes_t bytes(const char* s) {
  return {reinterpret_cast<const std::uint8_t*>(s), std::strlen(s)};
}

// The few params the processors read: {"ms": N}; create() refuses {"bad": ...}.
int ms_of(const std::string& params) {
  const auto at = params.find("\"ms\":");
  return at == std::string::npos ? 0 : std::stoi(params.substr(at + 5));
}

struct instance final {
  kind what;
  std::string params;
  std::mutex mu;
  std::condition_variable cv;
  std::set<cascadence_run_t> cancelled;
  std::vector<std::thread> threads;
};

void result(cascadence_run_t run, const std::string& json) {
  host->emit_result(host, run, reinterpret_cast<const std::uint8_t*>(json.data()), json.size());
}
void error(cascadence_run_t run, const std::string& text) {
  host->set_error(host, run, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

cascadence_bytes_t info() {
  return bytes(VERSION == 1 ? R"({"name": "good", "version": "1", "runtime": "cpp", "description": "test plugin"})"
                            : R"({"name": "good", "version": "2", "runtime": "cpp", "description": "test plugin"})");
}
std::uint32_t processor_count() {
  return count;
}
cascadence_bytes_t processor_descriptor(std::uint32_t i) {
  return i < count ? bytes(descriptors[i]) : cascadence_bytes_t{nullptr, 0};
}

cascadence_status_t create(std::uint32_t index, cascadence_bytes_t params, void** out,
                           const cascadence_sink_t* sink) noexcept {
  try {
    std::string text(reinterpret_cast<const char*>(params.ptr), params.len);
    if (text.find("\"bad\"") != std::string::npos) {
      const std::string why = "params.bad is not allowed";
      sink->write(sink->context, reinterpret_cast<const std::uint8_t*>(why.data()), why.size());
      return CASCADENCE_STATUS_INVALID_ARGUMENT;
    }
    *out = new instance{static_cast<kind>(index), std::move(text), {}, {}, {}, {}};
    return CASCADENCE_STATUS_OK;
  } catch (...) {
    return CASCADENCE_STATUS_INTERNAL;
  }
}

void destroy(void* p) {
  auto* self = static_cast<instance*>(p);
  for (auto& t : self->threads) t.join();
  delete self;
}

// Waits params.ms or until cancelled; true when cancelled.
bool wait(instance& self, cascadence_run_t run, int ms) {
  std::unique_lock lock(self.mu);
  return self.cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return self.cancelled.count(run) != 0; });
}

cascadence_status_t start(void* p, cascadence_run_t run, cascadence_bytes_t input) noexcept {
  auto& self = *static_cast<instance*>(p);
  try {
    switch (self.what) {
      case noop:
        host->complete(host, run, CASCADENCE_STATUS_OK);
        break;
      case echo:
      case quick: {
        const std::string line = "echo " + self.params;
        host->emit_output(host, run, CASCADENCE_OUTPUT_STDOUT, reinterpret_cast<const std::uint8_t*>(line.data()),
                          line.size());
        result(run, "{\"params\": " + self.params +
                        ", \"input\": " + std::string(reinterpret_cast<const char*>(input.ptr), input.len) + "}");
        host->complete(host, run, CASCADENCE_STATUS_OK);
        break;
      }
      case delay:
      case late:
      case unkept: {
        const int ms = ms_of(self.params);
        const std::lock_guard lock(self.mu);
        self.threads.emplace_back([&self, run, ms] {
          const std::string line = "working";
          host->emit_output(host, run, CASCADENCE_OUTPUT_STDERR, reinterpret_cast<const std::uint8_t*>(line.data()),
                            line.size());
          if (self.what == late) {
            // Ignores the request for a while, then completes as if it had not seen it.
            while (host->is_cancelled(host, run) == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            result(run, "\"too late\"");
            host->complete(host, run, CASCADENCE_STATUS_OK);
            return;
          }
          if (wait(self, run, ms)) {
            error(run, "stopped");
            host->complete(host, run, CASCADENCE_STATUS_CANCELLED);
            return;
          }
          const std::string done = "version " + std::to_string(VERSION);
          host->emit_output(host, run, CASCADENCE_OUTPUT_STDOUT, reinterpret_cast<const std::uint8_t*>(done.data()),
                            done.size());
          result(run, "{\"version\": " + std::to_string(VERSION) + ", \"slept_ms\": " + std::to_string(ms) + "}");
          host->complete(host, run, CASCADENCE_STATUS_OK);
        });
        break;
      }
      case fail:
        error(run, "boom");
        host->complete(host, run, CASCADENCE_STATUS_INTERNAL);
        break;
      case refuse_start:
        error(run, "this input is refused");
        return CASCADENCE_STATUS_INVALID_ARGUMENT;
      case throws:
        throw std::runtime_error("kaboom");
      case hang:
        break;
      case twice:
        result(run, "1");
        host->complete(host, run, CASCADENCE_STATUS_OK);
        host->complete(host, run, CASCADENCE_STATUS_OK);
        break;
      case blocking:
        std::this_thread::sleep_for(std::chrono::milliseconds(ms_of(self.params)));
        result(run, "\"slept on the pool\"");
        host->complete(host, run, CASCADENCE_STATUS_OK);
        break;
      case version:
        result(run, "{\"version\": " + std::to_string(VERSION) + "}");
        host->complete(host, run, CASCADENCE_STATUS_OK);
        break;
      case count:
        return CASCADENCE_STATUS_INTERNAL;
    }
    return CASCADENCE_STATUS_OK;
  } catch (const std::exception& e) {
    error(run, e.what());
    return CASCADENCE_STATUS_INTERNAL;
  } catch (...) {
    return CASCADENCE_STATUS_INTERNAL;
  }
}

void cancel(void* p, cascadence_run_t run) noexcept {
  auto& self = *static_cast<instance*>(p);
  try {
    {
      const std::lock_guard lock(self.mu);
      self.cancelled.insert(run);
    }
    self.cv.notify_all();
  } catch (...) {
  }
}

const void* get_extension(const char*) {
  return nullptr;
}

const cascadence_plugin_t table = {sizeof(cascadence_plugin_t),
                                   0,
                                   info,
                                   processor_count,
                                   processor_descriptor,
                                   create,
                                   destroy,
                                   start,
                                   cancel,
                                   get_extension};

cascadence_status_t init(const cascadence_host_t* h) {
  host = h;
  ++inits;
  const char* line = "init";
  h->log(h, CASCADENCE_LOG_INFO, reinterpret_cast<const std::uint8_t*>(line), std::strlen(line));
  return CASCADENCE_STATUS_OK;
}
void deinit() {
  --inits;
}
const cascadence_plugin_t* get_plugin() {
  return inits > 0 ? &table : nullptr;
}

}  // namespace

extern "C" CASCADENCE_PLUGIN_EXPORT const cascadence_plugin_entry_t cascadence_plugin_entry = {
    sizeof(cascadence_plugin_entry_t),
    CASCADENCE_PLUGIN_ABI_MAJOR,
    CASCADENCE_PLUGIN_ABI_MINOR,
    0,
    init,
    deinit,
    get_plugin};
