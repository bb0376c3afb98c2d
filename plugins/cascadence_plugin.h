/*
 * cascadence_plugin.h: the Cascadence native plugin ABI, version 1.0.
 *
 * The only file a plugin compiles against. Plain C (C99 and later, and C++),
 * usable from Rust (#[repr(C)]) and Go (cgo). docs/plugins.md walks through
 * writing a plugin in each language; the rules below are the contract.
 *
 * Rules.
 *  - One exported symbol: the entry struct `cascadence_plugin_entry`
 *    (CASCADENCE_PLUGIN_ENTRY_SYMBOL). Build with hidden visibility and
 *    export nothing else; the plugin never looks up host symbols and never
 *    links against the host.
 *  - Versions: CASCADENCE_PLUGIN_ABI_MAJOR must be equal on both sides; a
 *    higher minor only adds (members at the end of structs, extensions).
 *  - Every struct starts with `uint32_t struct_size` and only grows at its
 *    end. A reader uses min(struct_size, the size it knows) and treats the
 *    members past a smaller struct_size as absent (NULL).
 *  - Optional features are looked up by versioned string id with
 *    get_extension() on either side ("cascadence.executor/1"); NULL means
 *    absent, and every caller must handle NULL.
 *  - Data crosses as {ptr, len} UTF-8, not necessarily NUL-terminated:
 *    params, inputs, outputs and descriptors are JSON texts.
 *  - Ownership. Everything the host passes in is borrowed for the duration
 *    of the call only. Everything the plugin hands out goes through a host
 *    callback that copies it (emit_result, set_error, the sinks). The
 *    descriptor texts the plugin returns are plugin-owned and stay valid
 *    until deinit. Nobody frees the other side's memory.
 *  - Errors: a cascadence_status_t plus a message through a host callback;
 *    never errno or a thread-local "last error".
 *  - Nothing unwinds across the boundary: C++ exports are noexcept and catch
 *    everything (-> CASCADENCE_STATUS_INTERNAL), Rust exports use
 *    catch_unwind, Go exports recover(). No language-specific types cross.
 *  - Threads: every function says who may call it and from which thread.
 *    [main] = never concurrently with any other call into the plugin;
 *    [thread-safe] = any thread, concurrently; [any-thread] (host callbacks)
 *    = any thread, including threads the plugin created itself.
 */
#ifndef CASCADENCE_PLUGIN_H
#define CASCADENCE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define CASCADENCE_PLUGIN_ABI_MAJOR 1u
#define CASCADENCE_PLUGIN_ABI_MINOR 0u

/* The name of the one symbol the host looks up. */
#define CASCADENCE_PLUGIN_ENTRY_SYMBOL "cascadence_plugin_entry"

#if defined(_WIN32)
#define CASCADENCE_PLUGIN_EXPORT __declspec(dllexport)
#else
#define CASCADENCE_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Basic types                                                             */

/* A borrowed byte range: UTF-8 text, usually JSON. ptr may be NULL when len
 * is 0. */
typedef struct cascadence_bytes {
  const uint8_t* ptr;
  size_t len;
} cascadence_bytes_t;

/* Status codes. The same numbers are the `code` names of the remote protocol
 * (docs/plugins.md): "OK", "INVALID_ARGUMENT", ... */
typedef int32_t cascadence_status_t;
#define CASCADENCE_STATUS_OK 0
#define CASCADENCE_STATUS_INVALID_ARGUMENT 1
#define CASCADENCE_STATUS_NOT_FOUND 2
#define CASCADENCE_STATUS_CANCELLED 3
#define CASCADENCE_STATUS_DEADLINE_EXCEEDED 4
#define CASCADENCE_STATUS_UNAVAILABLE 5
#define CASCADENCE_STATUS_INTERNAL 6
#define CASCADENCE_STATUS_UNSUPPORTED 7

/* The host's token for one attempt of one task: never 0, never reused within
 * a process. Valid from start() until the plugin's complete() for it. */
typedef uint64_t cascadence_run_t;

/* Log levels for cascadence_host_t.log. */
#define CASCADENCE_LOG_DEBUG 0
#define CASCADENCE_LOG_INFO 1
#define CASCADENCE_LOG_WARNING 2
#define CASCADENCE_LOG_ERROR 3

/* Streams for cascadence_host_t.emit_output. */
#define CASCADENCE_OUTPUT_STDOUT 0
#define CASCADENCE_OUTPUT_STDERR 1

/* A host-owned place to write a text into; write() copies. [any-thread],
 * but only during the call that handed the sink over. */
typedef struct cascadence_sink {
  uint32_t struct_size;
  uint32_t reserved0; /* 0 */
  void* context;      /* pass back unchanged */
  void (*write)(void* context, const uint8_t* ptr, size_t len);
} cascadence_sink_t;

/* ---------------------------------------------------------------------- */
/* Host services: one const table, handed to init() and valid until deinit()
 * returns. Every callback is [any-thread]. */

typedef struct cascadence_host {
  uint32_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  uint32_t reserved0;  /* 0 */
  const char* name;    /* "cascadence", NUL-terminated, host-owned */
  const char* version; /* the host's version, e.g. "0.1.0" */
  void* host_data;     /* the host's; the plugin never touches it */

  /* An optional host feature by id ("cascadence.executor/1"), or NULL. The
   * returned table is host-owned and valid until deinit(). [thread-safe] */
  const void* (*get_extension)(const struct cascadence_host* host, const char* id);

  /* A line for the host's log, with the plugin's name in front. */
  void (*log)(const struct cascadence_host* host, int32_t level, const uint8_t* message, size_t len);

  /* ---- run callbacks: valid for `run` from start() until its complete();
   * calls for an unknown or completed run are ignored and logged. */

  /* Sets the attempt's output, a JSON text (copied; the last call wins). An
   * attempt that completes OK without one has a null output. Text that is
   * not JSON fails the attempt. */
  void (*emit_result)(const struct cascadence_host* host, cascadence_run_t run, const uint8_t* json, size_t len);

  /* Sets the attempt's error message (copied; the last call wins), used
   * when it completes with a status other than OK. */
  void (*set_error)(const struct cascadence_host* host, cascadence_run_t run, const uint8_t* message, size_t len);

  /* Streams one line of task output (CASCADENCE_OUTPUT_*), as a command's
   * stdout and stderr lines are: shown live, kept in the run's log. */
  void (*emit_output)(const struct cascadence_host* host, cascadence_run_t run, int32_t stream, const uint8_t* line,
                      size_t len);

  /* 1 once the host asked the attempt to stop (its timeout passed, or the run
   * was cancelled), else 0. Long work polls it (or waits for cancel()). */
  int32_t (*is_cancelled)(const struct cascadence_host* host, cascadence_run_t run);

  /* Ends the attempt: exactly once per successful start(), from any thread,
   * at any time (also from inside start()). After it, `run` is dead: every
   * call naming it is ignored. A second complete() is ignored and logged;
   * a complete() after cancellation is accepted and discarded (the host
   * already settled the attempt as cancelled or timed out). */
  void (*complete)(const struct cascadence_host* host, cascadence_run_t run, cascadence_status_t status);
} cascadence_host_t;

/* Host extension "cascadence.executor/1": the host's thread pool for blocking
 * work. A plugin that gets NULL (or has submit() refuse) uses threads of its
 * own. */
#define CASCADENCE_HOST_EXECUTOR_ID "cascadence.executor/1"
typedef struct cascadence_host_executor {
  uint32_t struct_size;
  uint32_t reserved0;
  /* Runs fn(context) once on a pool thread. Returns CASCADENCE_STATUS_OK
   * when accepted, UNAVAILABLE when the host is stopping (fn is then never
   * called). fn must not unwind. [any-thread] */
  cascadence_status_t (*submit)(const cascadence_host_t* host, void (*fn)(void* context), void* context);
} cascadence_host_executor_t;

/* ---------------------------------------------------------------------- */
/* What the plugin provides. */

/*
 * Plugin info, the JSON text info() returns:
 *   {"name": "acme", "version": "1.2.0", "runtime": "c" | "cpp" | "rust" | "go",
 *    "description": "...", "unload_safe": false}
 * `name` and `runtime` are required. "go" plugins are loaded in-process at
 * most once per host and run with `isolation: process` by default.
 * `unload_safe: true` (C and C++ only) allows dlclose on unload.
 *
 * Processor descriptor, the JSON text processor_descriptor(i) returns:
 *   {"name": "acme.http_probe", "description": "...", "blocking": false,
 *    "params": {...JSON Schema, informative...}}
 * `name` is required: [A-Za-z0-9_] first, then [A-Za-z0-9_.-], at most 128
 * bytes, unique among every loaded plugin. `blocking: true` asks the host
 * to call start() on its thread pool instead of its event loop.
 * `immediate: true` promises that start() calls complete() before it
 * returns, on the calling thread, for every attempt (pure computation: no
 * I/O, no threads, no waiting); an in-process host may then run the
 * processor inline, as its own immediate tasks, with no coroutine. A start()
 * that returns OK without completing fails its attempt. It excludes
 * `blocking`. A host that does not know the key ignores it.
 */
typedef struct cascadence_plugin {
  uint32_t struct_size;
  uint32_t reserved0; /* 0 */

  /* The plugin info JSON (plugin-owned, valid until deinit). [thread-safe] */
  cascadence_bytes_t (*info)(void); /* NOLINT(modernize-redundant-void-arg): C needs (void) */

  /* The number of processors and the descriptor JSON of each (plugin-owned,
   * valid until deinit). [thread-safe] */
  uint32_t (*processor_count)(void); /* NOLINT(modernize-redundant-void-arg): C needs (void) */
  cascadence_bytes_t (*processor_descriptor)(uint32_t index);

  /* Makes a processor instance for one task's `params` (JSON, borrowed).
   * Called when a configuration is loaded, so bad params are a configuration
   * error: return a status other than OK and write the reason to `error`;
   * `*instance` is then ignored. The instance may keep what it parsed.
   * [thread-safe] */
  cascadence_status_t (*create)(uint32_t index, cascadence_bytes_t params, void** instance,
                                const cascadence_sink_t* error);

  /* Frees an instance once no attempt of it is running and none will start
   * (the host drains runs first). [thread-safe] */
  void (*destroy)(void* instance);

  /* Starts one attempt and returns at once (never blocks on I/O or waits for
   * the work, unless the descriptor says `blocking`). `input` is the task's
   * input JSON, borrowed for the call:
   *   {"task": NAME, "input": RUN_INPUT, "dependencies": {DEP: OUTPUT, ...}}
   * OK: the plugin will call host->complete(run, ...) exactly once.
   * Any other status: the attempt failed at once with the message written by
   * host->set_error() (if any), and complete() must NOT be called.
   * Attempts of one instance may run concurrently; a plugin that cannot
   * allow that serialises them itself. [thread-safe] */
  cascadence_status_t (*start)(void* instance, cascadence_run_t run, cascadence_bytes_t input);

  /* Asks a running attempt to stop (timeout or run cancellation); returns at
   * once. The attempt still ends with complete() (CANCELLED is fitting).
   * May arrive for a run that is completing on another thread at the same
   * moment: ignore runs you no longer know. NULL = not supported (the host
   * still stops waiting and sets is_cancelled). [thread-safe] */
  void (*cancel)(void* instance, cascadence_run_t run);

  /* An optional plugin feature by id, or NULL. [thread-safe] */
  const void* (*get_extension)(const char* id);
} cascadence_plugin_t;

/* The entry: the one exported symbol,
 *   CASCADENCE_PLUGIN_EXPORT const cascadence_plugin_entry_t cascadence_plugin_entry = {...};
 */
typedef struct cascadence_plugin_entry {
  uint32_t struct_size; /* sizeof(cascadence_plugin_entry_t) */
  uint32_t abi_major;   /* CASCADENCE_PLUGIN_ABI_MAJOR */
  uint32_t abi_minor;   /* CASCADENCE_PLUGIN_ABI_MINOR */
  uint32_t reserved0;   /* 0 */

  /* Fast, no I/O, no threads started that outlive a failure. Counted: a
   * second init() without deinit() must succeed and be matched by a second
   * deinit(). Returns OK, or another status after host->log() says why.
   * `host` stays valid until the matching deinit() returns. [main] */
  cascadence_status_t (*init)(const cascadence_host_t* host);

  /* Undoes init() once no instance is left. [main] */
  void (*deinit)(void); /* NOLINT(modernize-redundant-void-arg): C needs (void) */

  /* The plugin's function table (plugin-owned, static), valid between init()
   * and deinit(); NULL if init() was not called. [thread-safe] */
  const cascadence_plugin_t* (*get_plugin)(void); /* NOLINT(modernize-redundant-void-arg): C needs (void) */
} cascadence_plugin_entry_t;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CASCADENCE_PLUGIN_H */
