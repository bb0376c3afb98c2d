// cpp_example: a native Cascadence plugin in C++ with two processors,
//   cpp_example.sha256       finishes inside start() (complete() before start returns);
//   cpp_example.count_lines  works on a thread (the host's executor when offered,
//                            else one of its own) and honours cancellation.
// Only cascadence_plugin.h crosses the boundary: every export is noexcept and
// catches everything (an exception leaving it would unwind into C).
#include <boost/json/src.hpp>  // header-only: this DSO's own, hidden copy

#include <openssl/evp.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cascadence_plugin.h"

namespace {

namespace json = boost::json;

// [main] only (init/deinit), read by everything else between them.
const cascadence_host_t* host = nullptr;
int init_count = 0;

std::string_view view(cascadence_bytes_t bytes) {
  return {reinterpret_cast<const char*>(bytes.ptr), bytes.len};
}

cascadence_bytes_t bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

void log(int32_t level, std::string_view message) {
  if (host != nullptr) host->log(host, level, reinterpret_cast<const uint8_t*>(message.data()), message.size());
}

void set_error(cascadence_run_t run, std::string_view message) {
  host->set_error(host, run, reinterpret_cast<const uint8_t*>(message.data()), message.size());
}

void emit_result(cascadence_run_t run, const json::value& result) {
  const std::string text = json::serialize(result);
  host->emit_result(host, run, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

void emit_output(cascadence_run_t run, std::string_view line) {
  host->emit_output(host, run, CASCADENCE_OUTPUT_STDOUT, reinterpret_cast<const uint8_t*>(line.data()), line.size());
}

// A refusal with the message the user sees: create() writes it to the error
// sink, start() to set_error.
struct refusal : std::runtime_error {
  cascadence_status_t status;
  refusal(cascadence_status_t s, const std::string& message) : std::runtime_error(message), status(s) {}
};

json::object parse_params(std::string_view name, cascadence_bytes_t params) {
  json::error_code ec;
  json::value value = json::parse(view(params), ec);
  if (ec)
    throw refusal(CASCADENCE_STATUS_INVALID_ARGUMENT,
                  std::string(name) + ": params are not JSON (" + ec.message() + ")");
  if (value.is_null()) return {};
  if (!value.is_object())
    throw refusal(CASCADENCE_STATUS_INVALID_ARGUMENT, std::string(name) + ": params must be an object");
  return std::move(value.as_object());
}

std::optional<std::string> string_param(std::string_view name, const json::object& params, std::string_view key) {
  const json::value* value = params.if_contains(key);
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (!value->is_string()) {
    throw refusal(CASCADENCE_STATUS_INVALID_ARGUMENT,
                  std::string(name) + ": `" + std::string(key) + "` must be a string");
  }
  return std::string(value->as_string());
}

std::string read_file(std::string_view name, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    throw refusal(CASCADENCE_STATUS_NOT_FOUND,
                  std::string(name) + ": cannot read " + path + " (" + std::strerror(error) + ")");
  }
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// ---- cpp_example.sha256

constexpr std::string_view sha256_name = "cpp_example.sha256";

struct sha256_instance {
  std::optional<std::string> text;
  std::optional<std::string> file;
};

std::string sha256_hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest failed");
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

void* sha256_create(cascadence_bytes_t params_bytes) {
  const json::object params = parse_params(sha256_name, params_bytes);
  auto instance = std::make_unique<sha256_instance>();
  instance->text = string_param(sha256_name, params, "text");
  instance->file = string_param(sha256_name, params, "file");
  if (instance->text && instance->file) {
    throw refusal(CASCADENCE_STATUS_INVALID_ARGUMENT, "cpp_example.sha256: give `text` or `file`, not both");
  }
  return instance.release();
}

// The data to hash when params have neither text nor file: the string output
// of the task's single dependency.
std::string dependency_text(cascadence_bytes_t input_bytes) {
  json::error_code ec;
  const json::value input = json::parse(view(input_bytes), ec);
  const json::object* dependencies = nullptr;
  if (!ec && input.is_object()) {
    if (const json::value* deps = input.as_object().if_contains("dependencies")) dependencies = deps->if_object();
  }
  const std::size_t count = dependencies == nullptr ? 0 : dependencies->size();
  if (count != 1) {
    throw refusal(CASCADENCE_STATUS_INVALID_ARGUMENT,
                  "cpp_example.sha256: no `text` or `file` in params, and the task has " + std::to_string(count) +
                      " dependencies (one, with a string output, is needed)");
  }
  const auto& [dependency, output] = *dependencies->begin();
  if (!output.is_string()) {
    throw refusal(CASCADENCE_STATUS_INVALID_ARGUMENT,
                  "cpp_example.sha256: the output of dependency `" + std::string(dependency) + "` is not a string");
  }
  return std::string(output.as_string());
}

void sha256_start(const sha256_instance& instance, cascadence_run_t run, cascadence_bytes_t input) {
  cascadence_status_t status = CASCADENCE_STATUS_OK;
  try {
    const std::string data = instance.text   ? *instance.text
                             : instance.file ? read_file(sha256_name, *instance.file)
                                             : dependency_text(input);
    emit_result(run, json::object{{"sha256", sha256_hex(data)}, {"bytes", data.size()}});
  } catch (const refusal& e) {
    set_error(run, e.what());
    status = e.status;
  }
  host->complete(host, run, status);
}

// ---- cpp_example.count_lines

constexpr std::string_view count_lines_name = "cpp_example.count_lines";

struct count_job {
  cascadence_run_t run;
  std::atomic<bool> cancelled{false};
};

struct count_lines_instance {
  std::string file;
  std::int64_t delay_ms = 0;
  std::mutex mutex;
  std::map<cascadence_run_t, std::shared_ptr<count_job>> jobs;  // running, not yet completed
  std::vector<std::thread> threads;                             // own threads, joined by destroy()
};

void* count_lines_create(cascadence_bytes_t params_bytes) {
  const json::object params = parse_params(count_lines_name, params_bytes);
  auto instance = std::make_unique<count_lines_instance>();
  auto file = string_param(count_lines_name, params, "file");
  if (!file) throw refusal(CASCADENCE_STATUS_INVALID_ARGUMENT, "cpp_example.count_lines: `file` is required");
  instance->file = *file;
  if (const json::value* delay = params.if_contains("delay_ms"); delay != nullptr && !delay->is_null()) {
    if (!delay->is_int64() || delay->as_int64() < 0) {
      throw refusal(CASCADENCE_STATUS_INVALID_ARGUMENT,
                    "cpp_example.count_lines: `delay_ms` must be a non-negative integer");
    }
    instance->delay_ms = delay->as_int64();
  }
  return instance.release();
}

struct counts {
  std::uint64_t lines = 0, words = 0, bytes = 0;
};

// wc's rules: lines are newline characters, words are runs of non-space.
counts count(std::string_view data) {
  counts c;
  c.bytes = data.size();
  bool in_word = false;
  for (const char ch : data) {
    if (ch == '\n') ++c.lines;
    const bool space = ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
    if (!space && !in_word) ++c.words;
    in_word = !space;
  }
  return c;
}

// The work of one attempt, on a pool thread or its own. The last thing it
// touches is complete(): after it the host may destroy the instance.
void count_lines_work(count_lines_instance& instance, const std::shared_ptr<count_job>& job) noexcept {
  const cascadence_run_t run = job->run;
  cascadence_status_t status = CASCADENCE_STATUS_OK;
  try {
    emit_output(run, "counting " + instance.file);
    const auto stop = [&] { return job->cancelled.load() || host->is_cancelled(host, run) != 0; };
    // The delay in 10 ms slices, so that a cancel is seen within one.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(instance.delay_ms);
    while (!stop() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(10), until - std::chrono::steady_clock::now()));
    }
    if (stop()) {
      set_error(run, "cpp_example.count_lines: cancelled");
      status = CASCADENCE_STATUS_CANCELLED;
    } else {
      const counts c = count(read_file(count_lines_name, instance.file));
      emit_output(run, instance.file + ": " + std::to_string(c.lines) + " lines, " + std::to_string(c.words) +
                           " words, " + std::to_string(c.bytes) + " bytes");
      emit_result(run, json::object{{"lines", c.lines}, {"words", c.words}, {"bytes", c.bytes}});
    }
  } catch (const refusal& e) {
    set_error(run, e.what());
    status = e.status;
  } catch (const std::exception& e) {
    set_error(run, std::string("cpp_example.count_lines: ") + e.what());
    status = CASCADENCE_STATUS_INTERNAL;
  } catch (...) {
    set_error(run, "cpp_example.count_lines: unknown exception");
    status = CASCADENCE_STATUS_INTERNAL;
  }
  {
    // Out of the map before complete(): a cancel() racing with it then finds nothing.
    const std::lock_guard lock(instance.mutex);
    instance.jobs.erase(run);
  }
  host->complete(host, run, status);
}

struct pool_task {
  count_lines_instance* instance;
  std::shared_ptr<count_job> job;
};

void run_pool_task(void* context) {
  const std::unique_ptr<pool_task> task(static_cast<pool_task*>(context));
  count_lines_work(*task->instance, task->job);
}

void count_lines_start(count_lines_instance& instance, cascadence_run_t run) {
  auto job = std::make_shared<count_job>();
  job->run = run;
  {
    const std::lock_guard lock(instance.mutex);
    instance.jobs.emplace(run, job);
  }
  const auto* executor =
      static_cast<const cascadence_host_executor_t*>(host->get_extension(host, CASCADENCE_HOST_EXECUTOR_ID));
  if (executor != nullptr && executor->struct_size >= offsetof(cascadence_host_executor_t, submit) + sizeof(void*) &&
      executor->submit != nullptr) {
    auto task = std::make_unique<pool_task>(pool_task{&instance, job});
    if (executor->submit(host, run_pool_task, task.get()) == CASCADENCE_STATUS_OK) {
      task.release();  // run_pool_task owns it now
      return;
    }
  }
  // No executor, or it refused: a thread of our own, joined by destroy().
  const std::lock_guard lock(instance.mutex);
  instance.threads.emplace_back([&instance, job] { count_lines_work(instance, job); });
}

void count_lines_cancel(count_lines_instance& instance, cascadence_run_t run) {
  const std::lock_guard lock(instance.mutex);
  if (const auto it = instance.jobs.find(run); it != instance.jobs.end()) it->second->cancelled = true;
}

void count_lines_destroy(count_lines_instance* instance) {
  std::vector<std::thread> threads;
  {
    const std::lock_guard lock(instance->mutex);
    threads.swap(instance->threads);
  }
  for (auto& thread : threads) thread.join();
  delete instance;
}

// ---- the table

// An instance: which processor, and its state.
struct instance_box {
  uint32_t index;
  void* state;
};

constexpr std::string_view info_json =
    R"({"name": "cpp_example", "version": "1.0.0", "runtime": "cpp",)"
    R"( "description": "SHA-256 of a text, a file or a dependency's output; line, word and byte counts of a file",)"
    R"( "unload_safe": false})";

constexpr std::string_view descriptors[] = {
    R"({"name": "cpp_example.sha256", "blocking": true,)"
    R"( "description": "SHA-256 of params.text, of the file params.file, or of the string output of the task's one dependency",)"
    R"( "params": {"type": "object", "properties": {"text": {"type": "string"}, "file": {"type": "string"}}}})",
    R"({"name": "cpp_example.count_lines", "blocking": false,)"
    R"j( "description": "Lines, words and bytes of the file params.file, after params.delay_ms (cancellable)",)j"
    R"( "params": {"type": "object", "required": ["file"], "properties": {"file": {"type": "string"},)"
    R"( "delay_ms": {"type": "integer", "minimum": 0}}}})",
};
constexpr uint32_t sha256_index = 0;
constexpr uint32_t count_lines_index = 1;

cascadence_bytes_t plugin_info() noexcept {
  return bytes(info_json);
}

uint32_t plugin_processor_count() noexcept {
  return static_cast<uint32_t>(std::size(descriptors));
}

cascadence_bytes_t plugin_processor_descriptor(uint32_t index) noexcept {
  return index < std::size(descriptors) ? bytes(descriptors[index]) : cascadence_bytes_t{nullptr, 0};
}

void write_sink(const cascadence_sink_t* sink, std::string_view message) noexcept {
  if (sink != nullptr && sink->write != nullptr) {
    sink->write(sink->context, reinterpret_cast<const uint8_t*>(message.data()), message.size());
  }
}

cascadence_status_t plugin_create(uint32_t index, cascadence_bytes_t params, void** instance,
                                  const cascadence_sink_t* error) noexcept {
  try {
    void* state = nullptr;
    if (index == sha256_index) {
      state = sha256_create(params);
    } else if (index == count_lines_index) {
      state = count_lines_create(params);
    } else {
      write_sink(error, "cpp_example: no processor " + std::to_string(index));
      return CASCADENCE_STATUS_NOT_FOUND;
    }
    *instance = new instance_box{index, state};
    return CASCADENCE_STATUS_OK;
  } catch (const refusal& e) {
    write_sink(error, e.what());
    return e.status;
  } catch (const std::exception& e) {
    write_sink(error, std::string("cpp_example: ") + e.what());
  } catch (...) {
    write_sink(error, "cpp_example: unknown exception");
  }
  return CASCADENCE_STATUS_INTERNAL;
}

void plugin_destroy(void* instance) noexcept {
  try {
    auto* box = static_cast<instance_box*>(instance);
    if (box->index == sha256_index) {
      delete static_cast<sha256_instance*>(box->state);
    } else {
      count_lines_destroy(static_cast<count_lines_instance*>(box->state));
    }
    delete box;
  } catch (...) {
    log(CASCADENCE_LOG_ERROR, "destroy: unknown exception");
  }
}

cascadence_status_t plugin_start(void* instance, cascadence_run_t run, cascadence_bytes_t input) noexcept {
  try {
    const auto* box = static_cast<instance_box*>(instance);
    if (box->index == sha256_index) {
      sha256_start(*static_cast<sha256_instance*>(box->state), run, input);
    } else {
      count_lines_start(*static_cast<count_lines_instance*>(box->state), run);
    }
    return CASCADENCE_STATUS_OK;
  } catch (const std::exception& e) {
    // Only reached before complete() or a thread took the run over.
    set_error(run, std::string("cpp_example: ") + e.what());
  } catch (...) {
    set_error(run, "cpp_example: unknown exception");
  }
  return CASCADENCE_STATUS_INTERNAL;
}

void plugin_cancel(void* instance, cascadence_run_t run) noexcept {
  try {
    const auto* box = static_cast<instance_box*>(instance);
    // sha256 runs are over before start() returns: nothing to cancel.
    if (box->index == count_lines_index) count_lines_cancel(*static_cast<count_lines_instance*>(box->state), run);
  } catch (...) {
    log(CASCADENCE_LOG_ERROR, "cancel: unknown exception");
  }
}

const void* plugin_get_extension(const char* /*id*/) noexcept {
  return nullptr;
}

constexpr cascadence_plugin_t plugin_table = {
    sizeof(cascadence_plugin_t),
    0,
    plugin_info,
    plugin_processor_count,
    plugin_processor_descriptor,
    plugin_create,
    plugin_destroy,
    plugin_start,
    plugin_cancel,
    plugin_get_extension,
};

cascadence_status_t entry_init(const cascadence_host_t* h) noexcept {
  if (h == nullptr || h->abi_major != CASCADENCE_PLUGIN_ABI_MAJOR) return CASCADENCE_STATUS_UNSUPPORTED;
  host = h;
  ++init_count;
  return CASCADENCE_STATUS_OK;
}

void entry_deinit() noexcept {
  if (init_count > 0 && --init_count == 0) host = nullptr;
}

const cascadence_plugin_t* entry_get_plugin() noexcept {
  return init_count > 0 ? &plugin_table : nullptr;
}

}  // namespace

extern "C" CASCADENCE_PLUGIN_EXPORT const cascadence_plugin_entry_t cascadence_plugin_entry = {
    sizeof(cascadence_plugin_entry_t),
    CASCADENCE_PLUGIN_ABI_MAJOR,
    CASCADENCE_PLUGIN_ABI_MINOR,
    0,
    entry_init,
    entry_deinit,
    entry_get_plugin,
};
