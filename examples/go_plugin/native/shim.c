/* The plugin's one exported symbol, cascadence_plugin_entry, and the C
 * functions its tables point at. Go cannot export data, so the tables live
 * here; each function forwards to a //export'ed Go function (plugin.go).
 * Instances cross as integer ids in the void*, never as Go pointers. */
#include <stdint.h>

#include "_cgo_export.h"
#include "shim.h"

void goex_log(const cascadence_host_t* host, int32_t level, const void* message, size_t len) {
  if (host && host->log) host->log(host, level, (const uint8_t*)message, len);
}

void goex_emit_result(const cascadence_host_t* host, cascadence_run_t run, const void* json, size_t len) {
  host->emit_result(host, run, (const uint8_t*)json, len);
}

void goex_set_error(const cascadence_host_t* host, cascadence_run_t run, const void* message, size_t len) {
  host->set_error(host, run, (const uint8_t*)message, len);
}

void goex_complete(const cascadence_host_t* host, cascadence_run_t run, cascadence_status_t status) {
  host->complete(host, run, status);
}

void goex_sink_write(const cascadence_sink_t* sink, const void* text, size_t len) {
  if (sink && sink->write) sink->write(sink->context, (const uint8_t*)text, len);
}

static cascadence_bytes_t shim_info(void) {
  return goexInfo();
}

static uint32_t shim_processor_count(void) {
  return goexProcessorCount();
}

static cascadence_bytes_t shim_processor_descriptor(uint32_t index) {
  return goexProcessorDescriptor(index);
}

static cascadence_status_t shim_create(uint32_t index, cascadence_bytes_t params, void** instance,
                                       const cascadence_sink_t* error) {
  uint64_t id = 0;
  cascadence_status_t status = goexCreate(index, params, &id, (cascadence_sink_t*)error);
  if (status == CASCADENCE_STATUS_OK) *instance = (void*)(uintptr_t)id;
  return status;
}

static void shim_destroy(void* instance) {
  goexDestroy((uint64_t)(uintptr_t)instance);
}

static cascadence_status_t shim_start(void* instance, cascadence_run_t run, cascadence_bytes_t input) {
  return goexStart((uint64_t)(uintptr_t)instance, run, input);
}

static void shim_cancel(void* instance, cascadence_run_t run) {
  goexCancel((uint64_t)(uintptr_t)instance, run);
}

static const void* shim_get_extension(const char* id) {
  (void)id;
  return NULL;
}

static const cascadence_plugin_t plugin = {
    .struct_size = sizeof(cascadence_plugin_t),
    .reserved0 = 0,
    .info = shim_info,
    .processor_count = shim_processor_count,
    .processor_descriptor = shim_processor_descriptor,
    .create = shim_create,
    .destroy = shim_destroy,
    .start = shim_start,
    .cancel = shim_cancel,
    .get_extension = shim_get_extension,
};

static cascadence_status_t shim_init(const cascadence_host_t* host) {
  return goexInit((cascadence_host_t*)host);
}

static void shim_deinit(void) {
  goexDeinit();
}

static const cascadence_plugin_t* shim_get_plugin(void) {
  return goexInitialized() ? &plugin : NULL;
}

CASCADENCE_PLUGIN_EXPORT const cascadence_plugin_entry_t cascadence_plugin_entry = {
    .struct_size = sizeof(cascadence_plugin_entry_t),
    .abi_major = CASCADENCE_PLUGIN_ABI_MAJOR,
    .abi_minor = CASCADENCE_PLUGIN_ABI_MINOR,
    .reserved0 = 0,
    .init = shim_init,
    .deinit = shim_deinit,
    .get_plugin = shim_get_plugin,
};
