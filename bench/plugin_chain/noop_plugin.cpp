// The plugin of the plugin-chain scenario: processors whose start() completes at once, as cheap as a plugin
// can be, so the scenario measures the host's cost of the C ABI. bench.noop says so in its descriptor
// ("immediate": the host runs it inline); bench.noop_async is the same code without the promise.
#include "plugins/cascadence_plugin.h"

#include <cstdint>
#include <cstring>

namespace {

const cascadence_host_t* host = nullptr;

cascadence_bytes_t text(const char* s) {
  return {reinterpret_cast<const std::uint8_t*>(s), std::strlen(s)};
}
cascadence_bytes_t info() {
  return text(R"({"name": "bench", "version": "1", "runtime": "cpp"})");
}
std::uint32_t processor_count() {
  return 2;
}
cascadence_bytes_t processor_descriptor(std::uint32_t index) {
  return text(index == 0 ? R"({"name": "bench.noop", "immediate": true})" : R"({"name": "bench.noop_async"})");
}
cascadence_status_t create(std::uint32_t, cascadence_bytes_t, void** instance, const cascadence_sink_t*) {
  *instance = nullptr;
  return CASCADENCE_STATUS_OK;
}
void destroy(void*) {}
cascadence_status_t start(void*, cascadence_run_t run, cascadence_bytes_t) {
  host->complete(host, run, CASCADENCE_STATUS_OK);
  return CASCADENCE_STATUS_OK;
}
const cascadence_plugin_t table = {sizeof(cascadence_plugin_t),
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
  return &table;
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
