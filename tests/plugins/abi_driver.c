/*
 * abi_driver: loads one native plugin through plugins/cascadence_plugin.h
 * alone, the way a host does, and runs one of its processors once. It is a
 * test of the plugin's side of the ABI contract that needs nothing of
 * Cascadence, so a plugin in any language can be checked before (and
 * independently of) the real loader.
 *
 *   abi_driver LIB --list
 *   abi_driver LIB PROCESSOR PARAMS_JSON INPUT_JSON [options]
 *     --cancel-after-ms N   cancel the run N ms after start() returned, if it
 *                           has not completed by then (is_cancelled() turns 1,
 *                           then the plugin's cancel() is called)
 *     --timeout-ms N        how long to wait for complete() (default 10000)
 *     --executor            offer "cascadence.executor/1" (one thread a job)
 *     --executor-refuse     offer it, but submit() answers UNAVAILABLE
 *
 * stdout, one JSON document a line:
 *   {"info": INFO}                      the plugin's info text, as it is
 *   {"descriptor": DESCRIPTOR}          one a processor, in index order
 *   {"output": {"stream": "stdout", "line": "..."}}   each emit_output, live
 *   {"stage": "create"|"start"|"complete", "status": "OK", "result": JSON|null,
 *    "error": "..."|null, "cancel_sent": false, "outputs": N, "violations": [...]}
 * The last line says where the run ended (create() or start() refused, or the
 * status complete() gave), the last emit_result and set_error (or what the
 * error sink got from create()), and every breach of the contract seen: a
 * callback naming a dead or unknown run, a second complete(), complete()
 * after start() failed, a result that is not JSON, a bad status number.
 * The plugin's log() lines go to stderr as "log LEVEL: message".
 *
 * init() is called twice and deinit() twice (the contract says init is
 * counted); get_plugin() must be NULL before init(). The run token is above
 * 2^32 so that a plugin that truncates it names an unknown run.
 *
 * Exit: 0 the run completed OK, 1 it did not (refused or completed with
 * another status), 2 usage or load error ("error: <what> (<why>)" on
 * stderr), 3 the plugin broke the contract (violations, or no complete()
 * within --timeout-ms; the process then exits without destroy/deinit).
 */
#define _POSIX_C_SOURCE 200809L

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cascadence_plugin.h"

/* ---------------------------------------------------------------------- */
/* A strict RFC 8259 validator: the host refuses text that is not JSON, so
 * the driver does too, and it only ever echoes valid JSON on stdout. */

enum { json_max_depth = 256 };

typedef struct json_cursor {
  const unsigned char* p;
  const unsigned char* end;
} json_cursor;

static void json_ws(json_cursor* c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) {
    ++c->p;
  }
}

static int json_is_digit(json_cursor* c) {
  return c->p < c->end && *c->p >= '0' && *c->p <= '9';
}

static int json_hex(unsigned char ch) {
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* Returns 1 with c->p past the closing quote, 0 on malformed text. */
static int json_string(json_cursor* c) {
  if (c->p >= c->end || *c->p != '"') return 0;
  ++c->p;
  while (c->p < c->end) {
    unsigned char ch = *c->p++;
    if (ch == '"') return 1;
    if (ch < 0x20) return 0;
    if (ch == '\\') {
      if (c->p >= c->end) return 0;
      ch = *c->p++;
      if (ch == 'u') {
        for (int i = 0; i < 4; ++i) {
          if (c->p >= c->end || !json_hex(*c->p)) return 0;
          ++c->p;
        }
      } else if (!strchr("\"\\/bfnrt", ch)) {
        return 0;
      }
    }
  }
  return 0;
}

static int json_literal(json_cursor* c, const char* word) {
  size_t n = strlen(word);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return 0;
  c->p += n;
  return 1;
}

static int json_number(json_cursor* c) {
  if (c->p < c->end && *c->p == '-') ++c->p;
  if (c->p < c->end && *c->p == '0') {
    ++c->p;
  } else if (json_is_digit(c)) {
    while (json_is_digit(c)) ++c->p;
  } else {
    return 0;
  }
  if (c->p < c->end && *c->p == '.') {
    ++c->p;
    if (!json_is_digit(c)) return 0;
    while (json_is_digit(c)) ++c->p;
  }
  if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
    ++c->p;
    if (c->p < c->end && (*c->p == '+' || *c->p == '-')) ++c->p;
    if (!json_is_digit(c)) return 0;
    while (json_is_digit(c)) ++c->p;
  }
  return 1;
}

static int json_value(json_cursor* c, int depth) {
  if (depth > json_max_depth) return 0;
  json_ws(c);
  if (c->p >= c->end) return 0;
  switch (*c->p) {
    case '{':
      ++c->p;
      json_ws(c);
      if (c->p < c->end && *c->p == '}') {
        ++c->p;
        return 1;
      }
      for (;;) {
        json_ws(c);
        if (!json_string(c)) return 0;
        json_ws(c);
        if (c->p >= c->end || *c->p != ':') return 0;
        ++c->p;
        if (!json_value(c, depth + 1)) return 0;
        json_ws(c);
        if (c->p < c->end && *c->p == ',') {
          ++c->p;
          continue;
        }
        if (c->p < c->end && *c->p == '}') {
          ++c->p;
          return 1;
        }
        return 0;
      }
    case '[':
      ++c->p;
      json_ws(c);
      if (c->p < c->end && *c->p == ']') {
        ++c->p;
        return 1;
      }
      for (;;) {
        if (!json_value(c, depth + 1)) return 0;
        json_ws(c);
        if (c->p < c->end && *c->p == ',') {
          ++c->p;
          continue;
        }
        if (c->p < c->end && *c->p == ']') {
          ++c->p;
          return 1;
        }
        return 0;
      }
    case '"':
      return json_string(c);
    case 't':
      return json_literal(c, "true");
    case 'f':
      return json_literal(c, "false");
    case 'n':
      return json_literal(c, "null");
    default:
      return json_number(c);
  }
}

static int json_valid(const void* ptr, size_t len) {
  if (ptr == NULL) return 0;
  json_cursor c = {(const unsigned char*)ptr, (const unsigned char*)ptr + len};
  if (!json_value(&c, 0)) return 0;
  json_ws(&c);
  return c.p == c.end;
}

/* The raw text (between the quotes, escapes left as they are) of the string
 * member `key` of a top-level object. Returns 1 found, 0 absent, -1 present
 * but not a string. The text must already be valid JSON. */
static int json_member_string(const void* ptr, size_t len, const char* key, const unsigned char** out,
                              size_t* out_len) {
  json_cursor c = {(const unsigned char*)ptr, (const unsigned char*)ptr + len};
  json_ws(&c);
  if (c.p >= c.end || *c.p != '{') return 0;
  ++c.p;
  size_t key_len = strlen(key);
  for (;;) {
    json_ws(&c);
    if (c.p >= c.end || *c.p != '"') return 0;
    const unsigned char* name = c.p + 1;
    json_string(&c);
    size_t name_len = (size_t)(c.p - 1 - name);
    json_ws(&c);
    ++c.p; /* ':' */
    json_ws(&c);
    const unsigned char* value = c.p;
    json_value(&c, 0);
    if (name_len == key_len && memcmp(name, key, key_len) == 0) {
      if (*value != '"') return -1;
      *out = value + 1;
      *out_len = (size_t)(c.p - 1 - (value + 1));
      return 1;
    }
    json_ws(&c);
    if (c.p >= c.end || *c.p != ',') return 0;
    ++c.p;
  }
}

static int json_is_object(const void* ptr, size_t len) {
  json_cursor c = {(const unsigned char*)ptr, (const unsigned char*)ptr + len};
  json_ws(&c);
  return c.p < c.end && *c.p == '{';
}

static void print_json_string(FILE* out, const void* ptr, size_t len) {
  const unsigned char* p = (const unsigned char*)ptr;
  fputc('"', out);
  for (size_t i = 0; i < len; ++i) {
    unsigned char ch = p[i];
    if (ch == '"' || ch == '\\') {
      fputc('\\', out);
      fputc(ch, out);
    } else if (ch == '\n') {
      fputs("\\n", out);
    } else if (ch == '\r') {
      fputs("\\r", out);
    } else if (ch == '\t') {
      fputs("\\t", out);
    } else if (ch < 0x20 || ch == 0x7f) {
      fprintf(out, "\\u%04x", ch);
    } else {
      fputc(ch, out);
    }
  }
  fputc('"', out);
}

/* ---------------------------------------------------------------------- */
/* The driver's state: one run at a time, shared with the callbacks, which
 * may come from any thread. */

enum { max_violations = 32, max_jobs = 64 };

typedef struct buffer {
  unsigned char* ptr;
  size_t len;
  int set;
} buffer;

static void buffer_assign(buffer* b, const void* ptr, size_t len) {
  unsigned char* copy = malloc(len + 1);
  if (copy == NULL) abort();
  if (len) memcpy(copy, ptr, len);
  copy[len] = 0;
  free(b->ptr);
  b->ptr = copy;
  b->len = len;
  b->set = 1;
}

static void buffer_append(buffer* b, const void* ptr, size_t len) {
  unsigned char* grown = realloc(b->ptr, b->len + len + 1);
  if (grown == NULL) abort();
  if (len) memcpy(grown + b->len, ptr, len);
  grown[b->len + len] = 0;
  b->ptr = grown;
  b->len += len;
  b->set = 1;
}

static struct driver {
  pthread_mutex_t mutex;
  pthread_cond_t completed_cv;
  cascadence_run_t run; /* the run between start() and complete(), else 0 */
  int completed;
  cascadence_run_t completed_run; /* the run complete() ended */
  cascadence_status_t status;
  buffer result;
  buffer error;
  unsigned outputs;
  atomic_int cancelled;
  char violations[max_violations][256];
  int violation_count;
  int executor_mode; /* 0 none, 1 offered, 2 offered but refusing */
  pthread_t jobs[max_jobs];
  int job_count;
} d = {.mutex = PTHREAD_MUTEX_INITIALIZER};

/* With d.mutex held. */
static void violation(const char* format, ...) {
  if (d.violation_count == max_violations) return;
  va_list args;
  va_start(args, format);
  vsnprintf(d.violations[d.violation_count++], sizeof d.violations[0], format, args);
  va_end(args);
}

static const char* status_name(cascadence_status_t status) {
  static const char* const names[] = {"OK",          "INVALID_ARGUMENT", "NOT_FOUND",  "CANCELLED", "DEADLINE_EXCEEDED",
                                      "UNAVAILABLE", "INTERNAL",         "UNSUPPORTED"};
  return status >= 0 && status <= CASCADENCE_STATUS_UNSUPPORTED ? names[status] : "UNKNOWN";
}

/* With d.mutex held: 1 when `run` is the live run, else records the
 * violation (the host ignores and logs such calls). */
static int live_run(const char* callback, cascadence_run_t run) {
  if (d.run != 0 && run == d.run) return 1;
  if (d.completed_run != 0 && run == d.completed_run) {
    violation("%s() after complete() for the run", callback);
  } else {
    violation("%s() for an unknown run %llu", callback, (unsigned long long)run);
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* The host table. */

static cascadence_status_t executor_submit(const cascadence_host_t* host, void (*fn)(void*), void* context);

static const cascadence_host_executor_t executor = {
    .struct_size = sizeof(cascadence_host_executor_t), .reserved0 = 0, .submit = executor_submit};

static const void* host_get_extension(const cascadence_host_t* host, const char* id) {
  (void)host;
  if (id != NULL && d.executor_mode != 0 && strcmp(id, CASCADENCE_HOST_EXECUTOR_ID) == 0) return &executor;
  return NULL;
}

static void host_log(const cascadence_host_t* host, int32_t level, const uint8_t* message, size_t len) {
  (void)host;
  static const char* const levels[] = {"debug", "info", "warning", "error"};
  pthread_mutex_lock(&d.mutex);
  fprintf(stderr, "log %s: %.*s\n", level >= 0 && level <= 3 ? levels[level] : "?", (int)len, (const char*)message);
  if (level < 0 || level > 3) violation("log() with level %d", (int)level);
  pthread_mutex_unlock(&d.mutex);
}

static void host_emit_result(const cascadence_host_t* host, cascadence_run_t run, const uint8_t* json, size_t len) {
  (void)host;
  pthread_mutex_lock(&d.mutex);
  if (live_run("emit_result", run)) {
    if (json_valid(json, len)) {
      buffer_assign(&d.result, json, len);
    } else {
      violation("emit_result() with text that is not JSON: %.*s", (int)(len > 80 ? 80 : len), (const char*)json);
    }
  }
  pthread_mutex_unlock(&d.mutex);
}

static void host_set_error(const cascadence_host_t* host, cascadence_run_t run, const uint8_t* message, size_t len) {
  (void)host;
  pthread_mutex_lock(&d.mutex);
  if (live_run("set_error", run)) buffer_assign(&d.error, message, len);
  pthread_mutex_unlock(&d.mutex);
}

static void host_emit_output(const cascadence_host_t* host, cascadence_run_t run, int32_t stream, const uint8_t* line,
                             size_t len) {
  (void)host;
  pthread_mutex_lock(&d.mutex);
  if (live_run("emit_output", run)) {
    if (stream != CASCADENCE_OUTPUT_STDOUT && stream != CASCADENCE_OUTPUT_STDERR) {
      violation("emit_output() with stream %d", (int)stream);
    } else {
      ++d.outputs;
      printf("{\"output\": {\"stream\": \"%s\", \"line\": ", stream == CASCADENCE_OUTPUT_STDOUT ? "stdout" : "stderr");
      print_json_string(stdout, line, len);
      printf("}}\n");
      fflush(stdout);
    }
  }
  pthread_mutex_unlock(&d.mutex);
}

static int32_t host_is_cancelled(const cascadence_host_t* host, cascadence_run_t run) {
  (void)host;
  pthread_mutex_lock(&d.mutex);
  int live = live_run("is_cancelled", run);
  pthread_mutex_unlock(&d.mutex);
  return live && atomic_load(&d.cancelled) ? 1 : 0;
}

static void host_complete(const cascadence_host_t* host, cascadence_run_t run, cascadence_status_t status) {
  (void)host;
  pthread_mutex_lock(&d.mutex);
  if (d.completed_run != 0 && run == d.completed_run) {
    violation("complete() called twice (the second with %s)", status_name(status));
  } else if (live_run("complete", run)) {
    if (status < CASCADENCE_STATUS_OK || status > CASCADENCE_STATUS_UNSUPPORTED) {
      violation("complete() with status %d", (int)status);
    }
    d.completed = 1;
    d.completed_run = run;
    d.status = status;
    d.run = 0;
    pthread_cond_broadcast(&d.completed_cv);
  }
  pthread_mutex_unlock(&d.mutex);
}

typedef struct job {
  void (*fn)(void*);
  void* context;
} job;

static void* job_thread(void* arg) {
  job j = *(job*)arg;
  free(arg);
  j.fn(j.context);
  return NULL;
}

static cascadence_status_t executor_submit(const cascadence_host_t* host, void (*fn)(void*), void* context) {
  (void)host;
  pthread_mutex_lock(&d.mutex);
  cascadence_status_t status = CASCADENCE_STATUS_UNAVAILABLE;
  if (d.executor_mode == 1 && d.job_count < max_jobs && fn != NULL) {
    job* j = malloc(sizeof *j);
    if (j != NULL) {
      j->fn = fn;
      j->context = context;
      if (pthread_create(&d.jobs[d.job_count], NULL, job_thread, j) == 0) {
        ++d.job_count;
        status = CASCADENCE_STATUS_OK;
      } else {
        free(j);
      }
    }
  }
  pthread_mutex_unlock(&d.mutex);
  return status;
}

static const cascadence_host_t host = {
    .struct_size = sizeof(cascadence_host_t),
    .abi_major = CASCADENCE_PLUGIN_ABI_MAJOR,
    .abi_minor = CASCADENCE_PLUGIN_ABI_MINOR,
    .reserved0 = 0,
    .name = "cascadence",
    .version = "abi_driver",
    .host_data = NULL,
    .get_extension = host_get_extension,
    .log = host_log,
    .emit_result = host_emit_result,
    .set_error = host_set_error,
    .emit_output = host_emit_output,
    .is_cancelled = host_is_cancelled,
    .complete = host_complete,
};

static void error_sink_write(void* context, const uint8_t* ptr, size_t len) {
  pthread_mutex_lock(&d.mutex);
  buffer_append((buffer*)context, ptr, len);
  pthread_mutex_unlock(&d.mutex);
}

/* ---------------------------------------------------------------------- */

static const char* program = "abi_driver";

static void usage(void) {
  fprintf(stderr,
          "usage: %s LIB --list\n"
          "       %s LIB PROCESSOR PARAMS_JSON INPUT_JSON [--cancel-after-ms N] [--timeout-ms N]\n"
          "                  [--executor | --executor-refuse]\n",
          program, program);
  exit(2);
}

static void fail(int code, const char* format, ...) {
  va_list args;
  va_start(args, format);
  fputs("error: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  fflush(stdout);
  exit(code);
}

static long parse_ms(const char* option, const char* text) {
  char* end = NULL;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != 0 || value < 0) {
    fprintf(stderr, "error: %s wants a number of milliseconds (got '%s')\n", option, text);
    exit(2);
  }
  return value;
}

static struct timespec after_ms(long ms) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_sec += ms / 1000;
  t.tv_nsec += (ms % 1000) * 1000000L;
  if (t.tv_nsec >= 1000000000L) {
    ++t.tv_sec;
    t.tv_nsec -= 1000000000L;
  }
  return t;
}

static int before(const struct timespec* a, const struct timespec* b) {
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static int valid_processor_name(const unsigned char* name, size_t len) {
  if (len == 0 || len > 128) return 0;
  for (size_t i = 0; i < len; ++i) {
    unsigned char ch = name[i];
    int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
    if (!alnum && (i == 0 || (ch != '.' && ch != '-'))) return 0;
  }
  return 1;
}

/* Prints the last line and exits; with d.mutex not held. */
static void finish(const char* stage, cascadence_status_t status, int cancel_sent) {
  pthread_mutex_lock(&d.mutex);
  printf("{\"stage\": \"%s\", \"status\": \"%s\", \"result\": ", stage, status_name(status));
  if (d.result.set) {
    fwrite(d.result.ptr, 1, d.result.len, stdout);
  } else {
    fputs("null", stdout);
  }
  fputs(", \"error\": ", stdout);
  if (d.error.set) {
    print_json_string(stdout, d.error.ptr, d.error.len);
  } else {
    fputs("null", stdout);
  }
  printf(", \"cancel_sent\": %s, \"outputs\": %u, \"violations\": [", cancel_sent ? "true" : "false", d.outputs);
  for (int i = 0; i < d.violation_count; ++i) {
    if (i) fputs(", ", stdout);
    print_json_string(stdout, d.violations[i], strlen(d.violations[i]));
  }
  fputs("]}\n", stdout);
  fflush(stdout);
  int code = d.violation_count ? 3 : status == CASCADENCE_STATUS_OK ? 0 : 1;
  pthread_mutex_unlock(&d.mutex);
  exit(code);
}

int main(int argc, char** argv) {
  const char* positional[4] = {NULL, NULL, NULL, NULL};
  int positional_count = 0;
  int list = 0;
  long cancel_after_ms = -1;
  long timeout_ms = 10000;
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (strcmp(arg, "--list") == 0) {
      list = 1;
    } else if (strcmp(arg, "--cancel-after-ms") == 0 && i + 1 < argc) {
      cancel_after_ms = parse_ms(arg, argv[++i]);
    } else if (strcmp(arg, "--timeout-ms") == 0 && i + 1 < argc) {
      timeout_ms = parse_ms(arg, argv[++i]);
    } else if (strcmp(arg, "--executor") == 0) {
      d.executor_mode = 1;
    } else if (strcmp(arg, "--executor-refuse") == 0) {
      d.executor_mode = 2;
    } else if (strncmp(arg, "--", 2) == 0 || positional_count == 4) {
      usage();
    } else {
      positional[positional_count++] = arg;
    }
  }
  if (positional_count != (list ? 1 : 4)) usage();
  const char* lib = positional[0];
  const char* processor = positional[1];
  const char* params = positional[2];
  const char* input = positional[3];
  if (!list && !json_valid(params, strlen(params))) fail(2, "PARAMS_JSON is not JSON (%s)", params);
  if (!list && !json_valid(input, strlen(input))) fail(2, "INPUT_JSON is not JSON (%s)", input);

  pthread_condattr_t cv_attr;
  pthread_condattr_init(&cv_attr);
  pthread_condattr_setclock(&cv_attr, CLOCK_MONOTONIC);
  pthread_cond_init(&d.completed_cv, &cv_attr);

  /* ---- load and check the entry */
  void* handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL) fail(2, "cannot load %s (%s)", lib, dlerror());
  const cascadence_plugin_entry_t* entry = dlsym(handle, CASCADENCE_PLUGIN_ENTRY_SYMBOL);
  if (entry == NULL) fail(2, "%s has no " CASCADENCE_PLUGIN_ENTRY_SYMBOL " (%s)", lib, dlerror());
  if (entry->struct_size < offsetof(cascadence_plugin_entry_t, get_plugin) + sizeof entry->get_plugin) {
    fail(2, "%s's entry is too small (struct_size %u, at least %zu needed)", lib, entry->struct_size,
         offsetof(cascadence_plugin_entry_t, get_plugin) + sizeof entry->get_plugin);
  }
  if (entry->abi_major != CASCADENCE_PLUGIN_ABI_MAJOR) {
    fail(2, "%s speaks ABI %u.%u, this host %u.%u (the majors must be equal)", lib, entry->abi_major, entry->abi_minor,
         CASCADENCE_PLUGIN_ABI_MAJOR, CASCADENCE_PLUGIN_ABI_MINOR);
  }
  if (entry->init == NULL || entry->deinit == NULL || entry->get_plugin == NULL) {
    fail(2, "%s's entry lacks init, deinit or get_plugin (NULL)", lib);
  }
  pthread_mutex_lock(&d.mutex);
  if (entry->reserved0 != 0) violation("entry.reserved0 is %u, not 0", entry->reserved0);
  pthread_mutex_unlock(&d.mutex);
  if (entry->get_plugin() != NULL) {
    pthread_mutex_lock(&d.mutex);
    violation("get_plugin() is not NULL before init()");
    pthread_mutex_unlock(&d.mutex);
  }

  /* ---- init, counted */
  for (int i = 0; i < 2; ++i) {
    cascadence_status_t status = entry->init(&host);
    if (status != CASCADENCE_STATUS_OK) {
      fail(2, "init() #%d of %s failed with %s (its log says why, above)", i + 1, lib, status_name(status));
    }
  }
  const cascadence_plugin_t* plugin = entry->get_plugin();
  if (plugin == NULL) fail(2, "get_plugin() of %s is NULL after init()", lib);
  if (plugin->struct_size < offsetof(cascadence_plugin_t, start) + sizeof plugin->start) {
    fail(2, "%s's plugin table is too small (struct_size %u)", lib, plugin->struct_size);
  }
  if (plugin->info == NULL || plugin->processor_count == NULL || plugin->processor_descriptor == NULL ||
      plugin->create == NULL || plugin->destroy == NULL || plugin->start == NULL) {
    fail(2, "%s's plugin table lacks a required function (NULL)", lib);
  }
  void (*cancel)(void*, cascadence_run_t) =
      plugin->struct_size >= offsetof(cascadence_plugin_t, cancel) + sizeof plugin->cancel ? plugin->cancel : NULL;

  /* ---- info and descriptors */
  cascadence_bytes_t info = plugin->info();
  if (!json_valid(info.ptr, info.len) || !json_is_object(info.ptr, info.len)) {
    fail(3, "%s's info is not a JSON object (%.*s)", lib, (int)info.len, (const char*)info.ptr);
  }
  const unsigned char* text = NULL;
  size_t text_len = 0;
  if (json_member_string(info.ptr, info.len, "name", &text, &text_len) != 1 || text_len == 0) {
    fail(3, "%s's info has no \"name\" string", lib);
  }
  int has_runtime = json_member_string(info.ptr, info.len, "runtime", &text, &text_len) == 1;
  int known_runtime = 0;
  static const char* const runtimes[] = {"c", "cpp", "rust", "go"};
  for (size_t i = 0; has_runtime && i < sizeof runtimes / sizeof runtimes[0]; ++i) {
    known_runtime |= text_len == strlen(runtimes[i]) && memcmp(text, runtimes[i], text_len) == 0;
  }
  if (!known_runtime) fail(3, "%s's info has no \"runtime\" of c, cpp, rust or go", lib);
  printf("{\"info\": %.*s}\n", (int)info.len, (const char*)info.ptr);

  uint32_t count = plugin->processor_count();
  int64_t index = -1;
  buffer names = {0};
  for (uint32_t i = 0; i < count; ++i) {
    cascadence_bytes_t descriptor = plugin->processor_descriptor(i);
    if (!json_valid(descriptor.ptr, descriptor.len) || !json_is_object(descriptor.ptr, descriptor.len)) {
      fail(3, "descriptor %u of %s is not a JSON object (%.*s)", i, lib, (int)descriptor.len,
           (const char*)descriptor.ptr);
    }
    if (json_member_string(descriptor.ptr, descriptor.len, "name", &text, &text_len) != 1 ||
        !valid_processor_name(text, text_len)) {
      fail(3, "descriptor %u of %s has no valid \"name\" ([A-Za-z0-9_] then [A-Za-z0-9_.-], at most 128)", i, lib);
    }
    /* names holds " a b c " so that a unique name is " name " absent. */
    if (names.len == 0) buffer_append(&names, " ", 1);
    buffer_append(&names, text, text_len);
    buffer_append(&names, " ", 1);
    char needle[132];
    snprintf(needle, sizeof needle, " %.*s ", (int)text_len, (const char*)text);
    if (strstr((const char*)names.ptr, needle) != (const char*)names.ptr + names.len - strlen(needle)) {
      fail(3, "descriptor %u of %s repeats the name %.*s", i, lib, (int)text_len, (const char*)text);
    }
    if (!list && text_len == strlen(processor) && memcmp(text, processor, text_len) == 0) index = i;
    printf("{\"descriptor\": %.*s}\n", (int)descriptor.len, (const char*)descriptor.ptr);
  }
  fflush(stdout);

  if (list) {
    entry->deinit();
    entry->deinit();
    finish("list", CASCADENCE_STATUS_OK, 0);
  }
  if (index < 0) {
    if (names.len) names.ptr[--names.len] = 0; /* the trailing space */
    fail(2, "no processor %s in %s (it has:%s)", processor, lib, names.len ? (char*)names.ptr : " none");
  }

  /* ---- create */
  buffer create_error = {0};
  cascadence_sink_t sink = {
      .struct_size = sizeof(cascadence_sink_t), .reserved0 = 0, .context = &create_error, .write = error_sink_write};
  void* instance = NULL;
  cascadence_bytes_t params_bytes = {(const uint8_t*)params, strlen(params)};
  cascadence_status_t status = plugin->create((uint32_t)index, params_bytes, &instance, &sink);
  if (status != CASCADENCE_STATUS_OK) {
    pthread_mutex_lock(&d.mutex);
    if (create_error.set) buffer_assign(&d.error, create_error.ptr, create_error.len);
    pthread_mutex_unlock(&d.mutex);
    entry->deinit();
    entry->deinit();
    finish("create", status, 0);
  }

  /* ---- start, then wait for complete(), cancelling on the way if asked */
  const cascadence_run_t run = 0x100000000ull + 42u;
  pthread_mutex_lock(&d.mutex);
  d.run = run;
  pthread_mutex_unlock(&d.mutex);
  cascadence_bytes_t input_bytes = {(const uint8_t*)input, strlen(input)};
  status = plugin->start(instance, run, input_bytes);
  pthread_mutex_lock(&d.mutex);
  if (status != CASCADENCE_STATUS_OK) {
    if (d.completed) violation("complete() called although start() returned %s", status_name(status));
    d.run = 0;
    d.completed = 1;
    pthread_mutex_unlock(&d.mutex);
    plugin->destroy(instance);
    entry->deinit();
    entry->deinit();
    finish("start", status, 0);
  }

  int cancel_sent = 0;
  struct timespec deadline = after_ms(timeout_ms);
  struct timespec cancel_at = after_ms(cancel_after_ms < 0 ? 0 : cancel_after_ms);
  while (!d.completed) {
    int cancel_due = cancel_after_ms >= 0 && !cancel_sent;
    const struct timespec* wake = cancel_due && before(&cancel_at, &deadline) ? &cancel_at : &deadline;
    int rc = pthread_cond_timedwait(&d.completed_cv, &d.mutex, wake);
    if (d.completed) break;
    if (rc == ETIMEDOUT && wake == &cancel_at) {
      cancel_sent = 1;
      atomic_store(&d.cancelled, 1);
      pthread_mutex_unlock(&d.mutex);
      if (cancel != NULL) cancel(instance, run);
      pthread_mutex_lock(&d.mutex);
    } else if (rc == ETIMEDOUT) {
      violation("complete() not called within %ld ms", timeout_ms);
      pthread_mutex_unlock(&d.mutex);
      /* The run may still be going: destroying its instance would be the
       * driver's fault, not the plugin's. */
      finish("wait", CASCADENCE_STATUS_DEADLINE_EXCEEDED, cancel_sent);
    }
  }
  cascadence_status_t final_status = d.status;
  pthread_mutex_unlock(&d.mutex);

  /* ---- tear down: the instance, the executor's threads, init's count */
  plugin->destroy(instance);
  pthread_mutex_lock(&d.mutex);
  int jobs = d.job_count;
  pthread_mutex_unlock(&d.mutex);
  for (int i = 0; i < jobs; ++i) pthread_join(d.jobs[i], NULL);
  entry->deinit();
  entry->deinit();
  finish("complete", final_status, cancel_sent);
}
