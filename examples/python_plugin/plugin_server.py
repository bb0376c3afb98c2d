#!/usr/bin/env python3
"""A Cascadence remote plugin server (protocol v1 of docs/plugins.md), standard library only.

    python3 plugin_server.py --listen 127.0.0.1:8700 [--token SECRET]

Tasks: `transform` (JSON transforms), `sha256_file` (hash a file), `sleep`
(a cancellable wait). README.md documents each one's params and output.
"""

import argparse
import datetime
import hashlib
import hmac
import http
import http.server
import json
import math
import os
import signal
import sys
import threading
import time
import uuid

PROTOCOL_VERSIONS = [1]
SERVER_NAME = "python-example"
SERVER_VERSION = "1.0.0"

MAX_BODY_BYTES = 1 << 20
# How long a sync request waits when the client leaves timeout_ms to us.
DEFAULT_SYNC_WAIT_S = 10.0
# Idempotency keys (and their runs) are kept at least this long (docs/plugins.md).
KEEP_RUNS_S = 24 * 3600.0
# An idle keep-alive connection is closed after this long, so idle clients
# cannot hold threads for ever.
IDLE_CONNECTION_S = 60.0
HASH_CHUNK = 1 << 20

TERMINAL = frozenset({"succeeded", "failed", "cancelled", "timed_out"})


class TaskError(Exception):
    """A task failed: becomes the run's `error` ({title, detail, code})."""

    def __init__(self, code: str, title: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.title = title
        self.detail = detail


class InvalidParams(Exception):
    """The params can never work: the run is refused with a 422."""


class Cancelled(Exception):
    """The run was asked to stop (cancel, or the server's run timeout)."""


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------------------
# Tasks: each has a schema (informative, served by GET /tasks/{id}), a
# validate(params) that raises InvalidParams, and a run(params, input, stop).


TRANSFORM_OPS = ("upper", "lower", "sort", "sum", "keys", "count")


def transform_subject(params: dict, task_input):
    if "value" in params:
        return params["value"]
    deps = task_input.get("dependencies") if isinstance(task_input, dict) else None
    deps = deps if isinstance(deps, dict) else {}
    if "from" in params:
        name = params["from"]
        if name not in deps:
            raise TaskError("INVALID_ARGUMENT", "no such dependency", f"the input has no dependency '{name}'")
        return deps[name]
    return deps


def apply_transform(op: str, subject):
    """The op on one JSON value; raises ValueError with the reason when it does not apply."""
    if op in ("upper", "lower"):

        def walk(v):
            if isinstance(v, str):
                return v.upper() if op == "upper" else v.lower()
            if isinstance(v, list):
                return [walk(x) for x in v]
            if isinstance(v, dict):
                return {k: walk(x) for k, x in v.items()}
            return v

        return walk(subject)
    if op == "sort":
        if not isinstance(subject, list):
            raise ValueError(f"sort needs an array, not {json_type(subject)}")
        if all(is_number(x) for x in subject) or all(isinstance(x, str) for x in subject):
            return sorted(subject)
        raise ValueError("sort needs an array of numbers only or of strings only")
    if op == "sum":
        items = subject if isinstance(subject, list) else list(subject.values()) if isinstance(subject, dict) else None
        if items is None or not all(is_number(x) for x in items):
            raise ValueError(f"sum needs an array or object of numbers, not {json_type(subject)}" if items is None
                             else "sum needs numbers only")
        total = sum(items)
        if isinstance(total, float) and not math.isfinite(total):
            raise ValueError("the sum is not a finite number")
        return total
    if op == "keys":
        if not isinstance(subject, dict):
            raise ValueError(f"keys needs an object, not {json_type(subject)}")
        return sorted(subject)
    if op == "count":
        if not isinstance(subject, (list, dict, str)):
            raise ValueError(f"count needs an array, object or string, not {json_type(subject)}")
        return len(subject)
    raise ValueError(f"unknown op '{op}'")


def validate_transform(params):
    if not isinstance(params, dict):
        raise InvalidParams(f"params must be an object, not {json_type(params)}")
    op = params.get("op")
    if op not in TRANSFORM_OPS:
        raise InvalidParams(f"params.op must be one of {', '.join(TRANSFORM_OPS)}, not {json.dumps(op)}")
    if "from" in params and not isinstance(params["from"], str):
        raise InvalidParams("params.from must be a string (a dependency's name)")
    if "from" in params and "value" in params:
        raise InvalidParams("params.value and params.from exclude each other")
    if "value" in params:
        try:
            apply_transform(op, params["value"])
        except ValueError as e:
            raise InvalidParams(f"params.value: {e}") from None


def run_transform(params, task_input, stop):
    subject = transform_subject(params, task_input)
    try:
        return apply_transform(params["op"], subject)
    except ValueError as e:
        raise TaskError("INVALID_ARGUMENT", "transform does not apply", str(e)) from None


def validate_path(params):
    if not isinstance(params, dict):
        raise InvalidParams(f"params must be an object, not {json_type(params)}")
    if "path" not in params:
        raise InvalidParams("params.path is required")
    if not isinstance(params["path"], str) or not params["path"]:
        raise InvalidParams("params.path must be a non-empty string")


def run_sha256_file(params, task_input, stop):
    path = params["path"]
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as f:
            while chunk := f.read(HASH_CHUNK):
                if stop.is_set():
                    raise Cancelled()
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        raise TaskError("NOT_FOUND", "file not found", f"no file '{path}'") from None
    except IsADirectoryError:
        raise TaskError("INVALID_ARGUMENT", "not a file", f"'{path}' is a directory") from None
    except OSError as e:
        raise TaskError("UNAVAILABLE", "cannot read the file", f"'{path}': {e.strerror}") from None
    return {"path": path, "sha256": digest.hexdigest(), "bytes": size}


MAX_SLEEP_S = 86400


def validate_sleep(params):
    if not isinstance(params, dict):
        raise InvalidParams(f"params must be an object, not {json_type(params)}")
    seconds = params.get("seconds")
    if not is_number(seconds) or not 0 <= seconds <= MAX_SLEEP_S:
        raise InvalidParams(f"params.seconds must be a number from 0 to {MAX_SLEEP_S}")


def run_sleep(params, task_input, stop):
    if stop.wait(params["seconds"]):
        raise Cancelled()
    return {"slept": params["seconds"]}


TASKS = {
    "transform": {
        "description": "A JSON transform (upper, lower, sort, sum, keys, count) of params.value, "
                       "of one dependency's output (params.from) or of every dependency's output",
        "params": {
            "type": "object",
            "required": ["op"],
            "properties": {
                "op": {"enum": list(TRANSFORM_OPS)},
                "value": {},
                "from": {"type": "string"},
            },
        },
        "validate": validate_transform,
        "run": run_transform,
    },
    "sha256_file": {
        "description": "SHA-256 and size of a file on the server's machine",
        "params": {"type": "object", "required": ["path"], "properties": {"path": {"type": "string"}}},
        "validate": validate_path,
        "run": run_sha256_file,
    },
    "sleep": {
        "description": "Waits params.seconds, cancellable",
        "params": {
            "type": "object",
            "required": ["seconds"],
            "properties": {"seconds": {"type": "number", "minimum": 0, "maximum": MAX_SLEEP_S}},
        },
        "validate": validate_sleep,
        "run": run_sleep,
    },
}


# ---------------------------------------------------------------------------
# Runs


class Run:
    def __init__(self, task_id: str, fingerprint: str):
        self.run_id = str(uuid.uuid4())
        self.task_id = task_id
        self.fingerprint = fingerprint
        self.state = "running"
        self.result = None
        self.error = None
        self.started_at = now_iso()
        self.started_mono = time.monotonic()
        self.finished_at = None
        self.ended_mono = None
        self.stop = threading.Event()
        self.stop_reason = None  # "cancelled" or "timed_out"
        self.done = threading.Event()

    def document(self) -> dict:
        return {
            "run_id": self.run_id,
            "task_id": self.task_id,
            "state": self.state,
            "result": self.result,
            "error": self.error,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class Store:
    """Every run and every idempotency key, under one lock."""

    def __init__(self, max_active: int, run_timeout_s: float):
        self.lock = threading.Lock()
        self.runs = {}  # run_id -> Run
        self.keys = {}  # (task_id, key) -> Run
        self.max_active = max_active
        self.run_timeout_s = run_timeout_s
        self.active = 0
        self.last_sweep = time.monotonic()
        self.running = set()
        if run_timeout_s > 0:
            threading.Thread(target=self._watchdog, daemon=True, name="run-timeouts").start()

    def _watchdog(self):
        """Stops the runs that outlived --run-timeout: one thread, not a timer per run."""
        while True:
            time.sleep(min(0.25, self.run_timeout_s))
            now = time.monotonic()
            with self.lock:
                late = [r for r in self.running if now - r.started_mono >= self.run_timeout_s]
            for run in late:
                self.stop_run(run, "timed_out")

    def snapshot(self, run: Run) -> dict:
        with self.lock:
            return run.document()

    def find(self, run_id: str):
        with self.lock:
            return self.runs.get(run_id)

    def start(self, task_id: str, key: str, fingerprint: str, params, task_input):
        """(run, replayed) or raises Problem; checks the key and capacity under one lock."""
        task = TASKS[task_id]
        with self.lock:
            self._sweep()
            existing = self.keys.get((task_id, key))
            if existing is not None:
                if existing.fingerprint != fingerprint:
                    raise Problem(422, "idempotency key reused", "INVALID_ARGUMENT",
                                  f"the Idempotency-Key '{key}' was used for task '{task_id}' with another body")
                return existing, True
            if self.active >= self.max_active:
                raise Problem(503, "server busy", "UNAVAILABLE",
                              f"{self.active} runs are active, the limit is {self.max_active}", retryable=True)
            run = Run(task_id, fingerprint)
            self.runs[run.run_id] = run
            self.keys[(task_id, key)] = run
            self.active += 1
            self.running.add(run)
        threading.Thread(target=self._execute, args=(run, task, params, task_input), daemon=True,
                         name=f"run-{run.run_id}").start()
        return run, False

    def _execute(self, run: Run, task: dict, params, task_input):
        result, error, state = None, None, "succeeded"
        try:
            result = task["run"](params, task_input, run.stop)
        except Cancelled:
            state = None
        except TaskError as e:
            state, error = "failed", {"title": e.title, "detail": e.detail, "code": e.code}
        except Exception as e:  # a bug in a task fails its run, never the server
            state, error = "failed", {"title": "internal error", "detail": f"{type(e).__name__}: {e}",
                                      "code": "INTERNAL"}
        with self.lock:
            if run.stop.is_set() and state != "failed":
                # Asked to stop: a run that still finished its work counts as
                # stopped, since the client has stopped waiting for it.
                state = run.stop_reason
                result = None
                if state == "timed_out":
                    error = {"title": "timed out", "code": "DEADLINE_EXCEEDED",
                             "detail": f"the run took longer than the server's {self.run_timeout_s:g} s limit"}
                else:
                    error = {"title": "cancelled", "detail": "the run was cancelled", "code": "CANCELLED"}
            run.state, run.result, run.error = state, result, error
            run.finished_at = now_iso()
            run.ended_mono = time.monotonic()
            self.active -= 1
            self.running.discard(run)
        run.done.set()

    def stop_run(self, run: Run, reason: str) -> bool:
        """Asks a run to stop; False when it had already ended."""
        with self.lock:
            if run.state in TERMINAL:
                return False
            if run.stop_reason is None:
                run.stop_reason = reason
            run.stop.set()
            return True

    def _sweep(self):
        now = time.monotonic()
        if now - self.last_sweep < 60:
            return
        self.last_sweep = now
        old = {rid for rid, r in self.runs.items() if r.ended_mono is not None and now - r.ended_mono > KEEP_RUNS_S}
        for rid in old:
            del self.runs[rid]
        self.keys = {k: r for k, r in self.keys.items() if r.run_id not in old}

    def full(self) -> bool:
        with self.lock:
            return self.active >= self.max_active


class Problem(Exception):
    """An RFC 9457 problem document answered instead of a result."""

    def __init__(self, status: int, title: str, code: str, detail: str, retryable: bool = False, headers=None):
        super().__init__(detail)
        self.status = status
        self.title = title
        self.code = code
        self.detail = detail
        self.retryable = retryable
        self.headers = headers or {}

    def document(self) -> dict:
        return {"type": "about:blank", "title": self.title, "status": self.status, "detail": self.detail,
                "code": self.code, "retryable": self.retryable}


# ---------------------------------------------------------------------------
# HTTP


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
    server_version = f"{SERVER_NAME}/{SERVER_VERSION}"
    timeout = IDLE_CONNECTION_S
    disable_nagle_algorithm = True
    # Buffered: the head and the body leave in one write (flushed after each
    # request by BaseHTTPRequestHandler), not two small packets.
    wbufsize = 1 << 16

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("GET")  # reply() leaves the body out

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def send_error(self, code, message=None, explain=None):
        """The base class's errors (a bad request line, headers too long, an
        unknown method) as problem documents too, not HTML."""
        try:
            title = http.HTTPStatus(code).phrase.lower()
        except ValueError:
            title = "error"
        code_name = "UNSUPPORTED" if code == 501 else "INTERNAL" if code >= 500 else "INVALID_ARGUMENT"
        p = Problem(code, title, code_name, message or title)
        self.close_connection = True
        self.reply(code, p.document(), {"Connection": "close"})

    def dispatch(self, method: str):
        try:
            status, body, headers = self.route(method)
        except Problem as p:
            status, body, headers = p.status, p.document(), p.headers
        except Exception as e:  # a bug answers 500, and the server goes on
            p = Problem(500, "internal error", "INTERNAL", f"{type(e).__name__}: {e}")
            status, body, headers = p.status, p.document(), {}
        self.reply(status, body, headers)

    def reply(self, status: int, body, headers: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        problem = isinstance(body, dict) and "type" in body and status >= 400
        self.send_header("Content-Type", "application/problem+json" if problem else "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise Problem(411, "length required", "INVALID_ARGUMENT",
                          "send the body with a Content-Length, not chunked")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            self.close_connection = True
            raise Problem(400, "bad request", "INVALID_ARGUMENT", "Content-Length is not a number") from None
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            raise Problem(413, "body too large", "INVALID_ARGUMENT",
                          f"the body is {length} bytes, the limit is {MAX_BODY_BYTES}")
        return self.rfile.read(length)

    def check_token(self):
        token = self.server.token
        if not token:
            return
        auth = self.headers.get("Authorization", "")
        if not hmac.compare_digest(auth.encode(), f"Bearer {token}".encode()):
            why = "no Authorization header" if not auth else "the bearer token is wrong"
            raise Problem(401, "unauthorized", "INVALID_ARGUMENT", f"this server needs a bearer token ({why})",
                          headers={"WWW-Authenticate": 'Bearer realm="cascadence-plugin"'})

    def route(self, method: str):
        path = self.path.split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        body = self.read_body() if method in ("POST", "PUT", "PATCH") else b""
        self.check_token()

        def allow(*methods):
            if method not in methods:
                raise Problem(405, "method not allowed", "UNSUPPORTED", f"{method} {path} is not supported",
                              headers={"Allow": ", ".join(methods)})

        if parts == ["tasks"]:
            allow("GET")
            return 200, [{"id": tid, "name": tid, "description": t["description"]} for tid, t in TASKS.items()], {}
        if len(parts) == 2 and parts[0] == "tasks":
            allow("GET")
            task = self.task(parts[1])
            return 200, {"id": parts[1], "name": parts[1], "description": task["description"],
                         "params": task["params"]}, {}
        if parts == ["v1", "info"]:
            allow("GET")
            return 200, {"protocol_versions": PROTOCOL_VERSIONS, "name": SERVER_NAME, "version": SERVER_VERSION,
                         "runtime": "python"}, {}
        if parts == ["v1", "health"]:
            allow("GET")
            if self.server.store.full():
                raise Problem(503, "server busy", "UNAVAILABLE", "every run slot is taken", retryable=True)
            return 200, {"status": "ok"}, {}
        if len(parts) == 4 and parts[0] == "v1" and parts[1] == "tasks" and parts[3] == "runs":
            allow("POST")
            return self.start_run(parts[2], body)
        if len(parts) == 3 and parts[:2] == ["v1", "runs"]:
            allow("GET")
            return self.run_reply(self.run(parts[2]))
        if len(parts) == 4 and parts[:2] == ["v1", "runs"] and parts[3] == "cancel":
            allow("POST")
            return self.cancel_run(self.run(parts[2]))
        raise Problem(404, "not found", "NOT_FOUND", f"no route {path}")

    @staticmethod
    def task(task_id: str) -> dict:
        task = TASKS.get(task_id)
        if task is None:
            raise Problem(404, "unknown task", "NOT_FOUND", f"no task '{task_id}' on this server")
        return task

    def run(self, run_id: str) -> Run:
        run = self.server.store.find(run_id)
        if run is None:
            raise Problem(404, "unknown run", "NOT_FOUND", f"no run '{run_id}' on this server")
        return run

    def run_reply(self, run: Run):
        """GET /v1/runs/{id}: always 200; Retry-After while the run goes on."""
        doc = self.server.store.snapshot(run)
        return 200, doc, {} if doc["state"] in TERMINAL else {"Retry-After": "1"}

    def start_run(self, task_id: str, raw: bytes):
        task = self.task(task_id)
        key = self.headers.get("Idempotency-Key", "").strip()
        if not key:
            raise Problem(400, "missing Idempotency-Key", "INVALID_ARGUMENT",
                          "POST /v1/tasks/{id}/runs needs an Idempotency-Key header")
        try:
            request = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise Problem(400, "bad request body", "INVALID_ARGUMENT", f"the body is not JSON ({e})") from None
        if not isinstance(request, dict):
            raise Problem(400, "bad request body", "INVALID_ARGUMENT",
                          f"the body must be a JSON object, not {json_type(request)}")
        mode = request.get("mode", "sync")
        if mode not in ("sync", "async"):
            raise Problem(400, "bad request body", "INVALID_ARGUMENT",
                          f"mode must be \"sync\" or \"async\", not {json.dumps(mode)}")
        timeout_ms = request.get("timeout_ms", 0)
        if timeout_ms is None:
            timeout_ms = 0
        if not is_number(timeout_ms) or timeout_ms < 0:
            raise Problem(400, "bad request body", "INVALID_ARGUMENT", "timeout_ms must be a number >= 0")
        params = request.get("params")
        params = {} if params is None else params
        task_input = request.get("input")
        try:
            task["validate"](params)
        except InvalidParams as e:
            raise Problem(422, "invalid params", "INVALID_ARGUMENT", f"task '{task_id}': {e}") from None

        run, _ = self.server.store.start(task_id, key, canonical(request), params, task_input)
        if mode == "sync":
            run.done.wait(timeout_ms / 1000.0 if timeout_ms > 0 else DEFAULT_SYNC_WAIT_S)
        doc = self.server.store.snapshot(run)
        if doc["state"] in TERMINAL:
            return 200, doc, {}
        return 202, doc, {"Location": f"/v1/runs/{run.run_id}", "Retry-After": "1"}

    def cancel_run(self, run: Run):
        store = self.server.store
        if not store.stop_run(run, "cancelled"):
            return 200, store.snapshot(run), {}
        # The tasks here stop within milliseconds: a short wait lets the
        # answer show the final state most of the time.
        run.done.wait(1.0)
        return 202, store.snapshot(run), {"Location": f"/v1/runs/{run.run_id}"}


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, token: str, store: Store, verbose: bool):
        super().__init__(address, Handler)
        self.token = token
        self.store = store
        self.verbose = verbose


def parse_listen(text: str):
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not HOST:PORT (PORT 0 picks a free one)")
    return host.strip("[]"), int(port)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Cascadence remote plugin server (protocol v1), in Python")
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 8700), metavar="HOST:PORT",
                        help="address to listen on (default 127.0.0.1:8700; port 0 picks a free one)")
    parser.add_argument("--token", default=os.environ.get("CRONYX_TOKEN", ""),
                        help="bearer token every request must carry (default: $CRONYX_TOKEN; empty: none)")
    parser.add_argument("--max-runs", type=int, default=64,
                        help="runs active at once; past it POST answers 503 (default 64)")
    parser.add_argument("--run-timeout", type=float, default=3600.0, metavar="SECONDS",
                        help="a run still going after this long ends as timed_out (default 3600; 0: never)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    if args.max_runs < 1:
        parser.error("--max-runs must be at least 1")

    try:
        server = Server(args.listen, args.token, Store(args.max_runs, args.run_timeout), args.verbose)
    except OSError as e:
        print(f"error: cannot listen on {args.listen[0]}:{args.listen[1]} ({e.strerror})", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
