// Command native is the Go example built -buildmode=c-shared as the native
// plugin "go_example" (runtime "go"): the tasks package behind the C ABI of
// plugins/cascadence_plugin.h. shim.c holds the entry struct and forwards
// to the exports below.
//
// The cgo rules this keeps (https://pkg.go.dev/cmd/cgo#hdr-Passing_pointers):
// the host never gets a Go pointer to keep. Descriptors are C memory made at
// init; instances are integer ids; results and messages are handed to the
// host's copying callbacks for the duration of the call only. No export lets
// a panic out: each one recovers, and a panic in a run fails that run with
// INTERNAL and the panic's message.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../../../plugins -fvisibility=hidden
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"unsafe"

	"cascadence.dev/examples/go_plugin/tasks"
)

const (
	pluginName    = "go_example"
	pluginVersion = "1.0.0"
)

// The tasks served natively, in descriptor order.
var processors = []string{"fetch", "sha256_file", "echo", "sleep"}

var (
	// Guarded by the host's rule that init and deinit are [main]; read by
	// [thread-safe] functions only between them, hence the atomic count.
	initCount   atomic.Int32
	host        *C.cascadence_host_t
	infoText    C.cascadence_bytes_t
	descriptors []C.cascadence_bytes_t

	mu        sync.Mutex
	nextID    uint64
	instances = map[uint64]*instance{}
	runs      = map[C.cascadence_run_t]context.CancelCauseFunc{}
)

var errCancelled = errors.New("cancelled by the host")

type instance struct {
	task   *tasks.Task
	runner tasks.Runner
}

func main() {} // required by -buildmode=c-shared, never called

func cBytes(data []byte) C.cascadence_bytes_t {
	return C.cascadence_bytes_t{ptr: (*C.uint8_t)(C.CBytes(data)), len: C.size_t(len(data))}
}

func goBytes(b C.cascadence_bytes_t) []byte {
	if b.ptr == nil || b.len == 0 {
		return nil
	}
	return C.GoBytes(unsafe.Pointer(b.ptr), C.int(b.len))
}

// withText hands text to a C callback for the duration of the call: a Go
// pointer to memory holding no Go pointers, which C may read but not keep.
func withText(text string, f func(unsafe.Pointer, C.size_t)) {
	if text == "" {
		f(nil, 0)
		return
	}
	data := []byte(text)
	f(unsafe.Pointer(&data[0]), C.size_t(len(data)))
}

func logLine(level C.int32_t, text string) {
	if host == nil {
		return
	}
	withText(text, func(p unsafe.Pointer, n C.size_t) { C.goex_log(host, level, p, n) })
}

func panicMessage(v any) string {
	return fmt.Sprintf("panic: %v", v)
}

//export goexInit
func goexInit(h *C.cascadence_host_t) (status C.cascadence_status_t) {
	defer func() {
		if v := recover(); v != nil {
			logLine(C.CASCADENCE_LOG_ERROR, "init: "+panicMessage(v))
			status = C.CASCADENCE_STATUS_INTERNAL
		}
	}()
	if h == nil || h.abi_major != C.CASCADENCE_PLUGIN_ABI_MAJOR {
		return C.CASCADENCE_STATUS_UNSUPPORTED
	}
	if initCount.Load() > 0 {
		initCount.Add(1)
		return C.CASCADENCE_STATUS_OK
	}
	host = h
	info, _ := json.Marshal(map[string]any{
		"name": pluginName, "version": pluginVersion, "runtime": "go", "unload_safe": false,
		"description": "The Go example: fetch a URL, hash a file (examples/go_plugin)",
	})
	infoText = cBytes(info)
	descriptors = descriptors[:0]
	for _, id := range processors {
		t := tasks.ByID(id)
		d, _ := json.Marshal(map[string]any{
			"name": pluginName + "." + t.ID, "description": t.Description, "blocking": false, "params": t.Params,
		})
		descriptors = append(descriptors, cBytes(d))
	}
	initCount.Store(1)
	return C.CASCADENCE_STATUS_OK
}

//export goexDeinit
func goexDeinit() {
	defer func() { _ = recover() }()
	if initCount.Load() == 0 || initCount.Add(-1) > 0 {
		return
	}
	C.free(unsafe.Pointer(infoText.ptr))
	infoText = C.cascadence_bytes_t{}
	for _, d := range descriptors {
		C.free(unsafe.Pointer(d.ptr))
	}
	descriptors = descriptors[:0]
	host = nil
}

//export goexInitialized
func goexInitialized() C.int {
	if initCount.Load() > 0 {
		return 1
	}
	return 0
}

//export goexInfo
func goexInfo() (out C.cascadence_bytes_t) {
	defer func() {
		if recover() != nil {
			out = C.cascadence_bytes_t{}
		}
	}()
	return infoText
}

//export goexProcessorCount
func goexProcessorCount() C.uint32_t {
	return C.uint32_t(len(descriptors))
}

//export goexProcessorDescriptor
func goexProcessorDescriptor(index C.uint32_t) (out C.cascadence_bytes_t) {
	defer func() {
		if recover() != nil {
			out = C.cascadence_bytes_t{}
		}
	}()
	if int(index) >= len(descriptors) {
		return C.cascadence_bytes_t{}
	}
	return descriptors[index]
}

//export goexCreate
func goexCreate(index C.uint32_t, params C.cascadence_bytes_t, id *C.uint64_t, sink *C.cascadence_sink_t) (status C.cascadence_status_t) {
	fail := func(status C.cascadence_status_t, message string) C.cascadence_status_t {
		withText(message, func(p unsafe.Pointer, n C.size_t) { C.goex_sink_write(sink, p, n) })
		return status
	}
	defer func() {
		if v := recover(); v != nil {
			status = fail(C.CASCADENCE_STATUS_INTERNAL, panicMessage(v))
		}
	}()
	if int(index) >= len(processors) {
		return fail(C.CASCADENCE_STATUS_NOT_FOUND, fmt.Sprintf("no processor #%d (there are %d)", index, len(processors)))
	}
	t := tasks.ByID(processors[index])
	runner, err := t.Prepare(goBytes(params))
	if err != nil {
		return fail(C.CASCADENCE_STATUS_INVALID_ARGUMENT, fmt.Sprintf("%s.%s: %v", pluginName, t.ID, err))
	}
	mu.Lock()
	nextID++
	n := nextID
	instances[n] = &instance{task: t, runner: runner}
	mu.Unlock()
	*id = C.uint64_t(n)
	return C.CASCADENCE_STATUS_OK
}

//export goexDestroy
func goexDestroy(id C.uint64_t) {
	defer func() { _ = recover() }()
	mu.Lock()
	delete(instances, uint64(id))
	mu.Unlock()
}

func statusOf(code tasks.Code) C.cascadence_status_t {
	switch code {
	case tasks.InvalidArgument:
		return C.CASCADENCE_STATUS_INVALID_ARGUMENT
	case tasks.NotFound:
		return C.CASCADENCE_STATUS_NOT_FOUND
	case tasks.Cancelled:
		return C.CASCADENCE_STATUS_CANCELLED
	case tasks.DeadlineExceeded:
		return C.CASCADENCE_STATUS_DEADLINE_EXCEEDED
	case tasks.Unavailable:
		return C.CASCADENCE_STATUS_UNAVAILABLE
	case tasks.Unsupported:
		return C.CASCADENCE_STATUS_UNSUPPORTED
	}
	return C.CASCADENCE_STATUS_INTERNAL
}

//export goexStart
func goexStart(id C.uint64_t, run C.cascadence_run_t, input C.cascadence_bytes_t) (status C.cascadence_status_t) {
	h := host
	refuse := func(status C.cascadence_status_t, message string) C.cascadence_status_t {
		withText(message, func(p unsafe.Pointer, n C.size_t) { C.goex_set_error(h, run, p, n) })
		return status
	}
	defer func() {
		if v := recover(); v != nil {
			status = refuse(C.CASCADENCE_STATUS_INTERNAL, panicMessage(v))
		}
	}()
	mu.Lock()
	inst := instances[uint64(id)]
	if inst == nil {
		mu.Unlock()
		return refuse(C.CASCADENCE_STATUS_INVALID_ARGUMENT, fmt.Sprintf("no instance #%d", id))
	}
	if _, dup := runs[run]; dup {
		mu.Unlock()
		return refuse(C.CASCADENCE_STATUS_INVALID_ARGUMENT, fmt.Sprintf("run %d is already going", run))
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	runs[run] = cancel
	mu.Unlock()

	data := goBytes(input) // the host's input is borrowed for this call only
	go execute(h, inst, run, ctx, data)
	return C.CASCADENCE_STATUS_OK
}

// execute runs one attempt on its own goroutine and completes it exactly once.
func execute(h *C.cascadence_host_t, inst *instance, run C.cascadence_run_t, ctx context.Context, input []byte) {
	status, result, message := outcome(inst, ctx, input)
	mu.Lock()
	cancel := runs[run]
	delete(runs, run)
	mu.Unlock()
	if cancel != nil {
		cancel(nil)
	}
	if result != nil {
		C.goex_emit_result(h, run, unsafe.Pointer(&result[0]), C.size_t(len(result)))
	}
	if message != "" {
		withText(message, func(p unsafe.Pointer, n C.size_t) { C.goex_set_error(h, run, p, n) })
	}
	C.goex_complete(h, run, status)
}

// outcome runs the task and says how it ended, a panic included.
func outcome(inst *instance, ctx context.Context, input []byte) (status C.cascadence_status_t, result []byte, message string) {
	defer func() {
		if v := recover(); v != nil {
			logLine(C.CASCADENCE_LOG_ERROR, fmt.Sprintf("%s.%s: %s\n%s", pluginName, inst.task.ID, panicMessage(v), debug.Stack()))
			status, result, message = C.CASCADENCE_STATUS_INTERNAL, nil, panicMessage(v)
		}
	}()
	out, err := inst.runner(ctx, input)
	var te *tasks.Error
	switch {
	case errors.As(err, &te):
		return statusOf(te.Code), nil, te.Error()
	case context.Cause(ctx) == errCancelled:
		return C.CASCADENCE_STATUS_CANCELLED, nil, "cancelled"
	case err != nil:
		return C.CASCADENCE_STATUS_INTERNAL, nil, err.Error()
	}
	data, err := json.Marshal(out)
	if err != nil {
		return C.CASCADENCE_STATUS_INTERNAL, nil, "the result is not JSON: " + err.Error()
	}
	return C.CASCADENCE_STATUS_OK, data, ""
}

//export goexCancel
func goexCancel(id C.uint64_t, run C.cascadence_run_t) {
	defer func() { _ = recover() }()
	mu.Lock()
	cancel := runs[run]
	mu.Unlock()
	if cancel != nil { // a run we no longer know is completing elsewhere: nothing to do
		cancel(errCancelled)
	}
}
