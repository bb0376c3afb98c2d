// A plugin that misbehaves the way isolation: process is for: crashy.ok completes at once, crashy.segv
// dies of SIGSEGV in start(), crashy.abort calls abort(), crashy.hang never completes. Written
// against the C header only.
#include "plugins/cascadence_plugin.h"

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace {

const cascadence_host_t* host = nullptr;

cascadence_bytes_t bytes(const char* text) {
  return {reinterpret_cast<const std::uint8_t*>(text), std::strlen(text)};
}

const char* const descriptors[] = {
    "{\"name\": \"crashy.ok\", \"description\": \"completes at once\"}",
    "{\"name\": \"crashy.segv\", \"description\": \"segfaults in start\"}",
    "{\"name\": \"crashy.abort\", \"description\": \"aborts in start\"}",
    "{\"name\": \"crashy.hang\", \"description\": \"never completes\"}",
};
constexpr std::uint32_t count = sizeof descriptors / sizeof descriptors[0];

// One static instance per processor: the instance pointer is its index.
std::uint32_t indices[count] = {0, 1, 2, 3};

cascadence_bytes_t info() {
  return bytes("{\"name\": \"crashy\", \"version\": \"1\", \"runtime\": \"cpp\"}");
}
std::uint32_t processor_count() {
  return count;
}
cascadence_bytes_t processor_descriptor(std::uint32_t i) {
  return bytes(i < count ? descriptors[i] : "null");
}

cascadence_status_t create(std::uint32_t index, cascadence_bytes_t, void** instance, const cascadence_sink_t*) {
  if (index >= count) return CASCADENCE_STATUS_NOT_FOUND;
  *instance = &indices[index];
  return CASCADENCE_STATUS_OK;
}
void destroy(void*) {}

cascadence_status_t start(void* instance, cascadence_run_t run, cascadence_bytes_t) {
  switch (*static_cast<std::uint32_t*>(instance)) {
    case 0: {
      const char* result = "{\"ok\": true}";
      host->emit_result(host, run, reinterpret_cast<const std::uint8_t*>(result), std::strlen(result));
      host->complete(host, run, CASCADENCE_STATUS_OK);
      return CASCADENCE_STATUS_OK;
    }
    case 1:
      // A real SIGSEGV death, the same in every build: sanitizer builds install a SEGV handler in the host
      // process that would turn a null dereference into "exit status 1" (and UBSan flags it first), which
      // is not what a crashing plugin does in a plain build. Back to the default action, then the signal.
      std::signal(SIGSEGV, SIG_DFL);
      std::raise(SIGSEGV);
      return CASCADENCE_STATUS_INTERNAL;
    case 2:
      std::abort();
    default:
      return CASCADENCE_STATUS_OK;
  }
}

const cascadence_plugin_t plugin = {sizeof(cascadence_plugin_t),
                                    0,
                                    info,
                                    processor_count,
                                    processor_descriptor,
                                    create,
                                    destroy,
                                    start,
                                    nullptr,
                                    nullptr};

cascadence_status_t init(const cascadence_host_t* h) {
  host = h;
  return CASCADENCE_STATUS_OK;
}
void deinit() {}
const cascadence_plugin_t* get_plugin() {
  return &plugin;
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
