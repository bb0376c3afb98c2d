/* The C side of the native Go plugin: small helpers through which Go calls
 * the host's function pointers (cgo cannot call a C function pointer), and
 * the sink writer. The entry struct and the shims Go's exports sit behind
 * are in shim.c. */
#ifndef GO_EXAMPLE_SHIM_H
#define GO_EXAMPLE_SHIM_H

#include "cascadence_plugin.h"

void goex_log(const cascadence_host_t* host, int32_t level, const void* message, size_t len);
void goex_emit_result(const cascadence_host_t* host, cascadence_run_t run, const void* json, size_t len);
void goex_set_error(const cascadence_host_t* host, cascadence_run_t run, const void* message, size_t len);
void goex_complete(const cascadence_host_t* host, cascadence_run_t run, cascadence_status_t status);
void goex_sink_write(const cascadence_sink_t* sink, const void* text, size_t len);

#endif
