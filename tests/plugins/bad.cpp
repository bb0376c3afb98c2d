// Plugins the loader must refuse, one per BAD_* definition; DUPLICATE is a valid plugin whose processor name
// good.cpp already uses.
#include "plugins/cascadence_plugin.h"

#include <cstdint>
#include <cstring>

namespace {

const cascadence_host_t* host = nullptr;

cascadence_bytes_t bytes(const char* s) {
  return {reinterpret_cast<const std::uint8_t*>(s), std::strlen(s)};
}

cascadence_bytes_t info() {
#if defined(BAD_INFO_JSON)
  return bytes(R"({"name": "badinfo", "runtime": "cpp",)");
#elif defined(DUPLICATE)
  return bytes(R"({"name": "dup", "runtime": "c"})");
#elif FAKE_GO == 1
  return bytes(R"({"name": "gofirst", "runtime": "go"})");
#elif FAKE_GO == 2
  return bytes(R"({"name": "gosecond", "runtime": "go"})");
#else
  return bytes(R"({"name": "bad", "runtime": "cpp"})");
#endif
}
std::uint32_t processor_count() {
  return 2;
}
cascadence_bytes_t processor_descriptor(std::uint32_t i) {
#if defined(BAD_DESCRIPTOR_JSON)
  return bytes(i == 0 ? R"({"name": "bad.first"})" : "name: bad.second");
#elif defined(DUPLICATE)
  return bytes(i == 0 ? R"({"name": "dup.own"})" : R"({"name": "good.noop"})");
#elif FAKE_GO == 1
  return bytes(i == 0 ? R"({"name": "gofirst.a"})" : R"({"name": "gofirst.b"})");
#elif FAKE_GO == 2
  return bytes(i == 0 ? R"({"name": "gosecond.a"})" : R"({"name": "gosecond.b"})");
#else
  return bytes(i == 0 ? R"({"name": "bad.first"})" : R"({"name": "bad.second"})");
#endif
}
cascadence_status_t create(std::uint32_t, cascadence_bytes_t, void** out, const cascadence_sink_t*) {
  *out = nullptr;
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
#if defined(BAD_INIT)
  const char* line = "no licence key";
  h->log(h, CASCADENCE_LOG_ERROR, reinterpret_cast<const std::uint8_t*>(line), std::strlen(line));
  return CASCADENCE_STATUS_UNAVAILABLE;
#else
  return CASCADENCE_STATUS_OK;
#endif
}
void deinit() {}
const cascadence_plugin_t* get_plugin() {
  return &table;
}

}  // namespace

#if defined(FAKE_GO)
// What the Go linker writes into every Go binary, which is how the loader recognises one.
extern "C" CASCADENCE_PLUGIN_EXPORT const char go_build_info_magic[] = "\xff Go buildinf:";
#endif

#if defined(BAD_NO_ENTRY)
// The entry under another name: nothing the host looks for.
extern "C" CASCADENCE_PLUGIN_EXPORT const cascadence_plugin_entry_t cascadence_plugin_entry_v2 = {
    sizeof(cascadence_plugin_entry_t),
    CASCADENCE_PLUGIN_ABI_MAJOR,
    CASCADENCE_PLUGIN_ABI_MINOR,
    0,
    init,
    deinit,
    get_plugin};
#else
#if defined(BAD_ABI_MAJOR)
constexpr std::uint32_t major = 2;
#else
constexpr std::uint32_t major = CASCADENCE_PLUGIN_ABI_MAJOR;
#endif
extern "C" CASCADENCE_PLUGIN_EXPORT const cascadence_plugin_entry_t cascadence_plugin_entry = {
    sizeof(cascadence_plugin_entry_t), major, CASCADENCE_PLUGIN_ABI_MINOR, 0, init, deinit, get_plugin};
#endif
