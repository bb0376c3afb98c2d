#!/usr/bin/env python3
"""A remote plugin server speaking protocol v1 (docs/plugins.md), stdlib only.

A test service for the end-to-end tests and the `remote` benchmark until
examples/python_plugin/ lands: real HTTP on a real socket, keep-alive, runs
on threads, idempotency keys, 202 + polling and cancellation. Tasks:

- wordcount  {text}            -> {"words": N, "chars": N}
- upper      {text}            -> {"text": TEXT}
- deps       (no params)       -> the dependencies' outputs it was given
- sleep      {seconds}         -> {"slept": S}; long runs answer 202, honour cancel
- noop       (no params)       -> null (the benchmark's task)

GET /_test/log lists what was asked (method, path, Idempotency-Key), so
tests can check keys and cancels. Usage:
    cronyx_test_server.py [--port P] [--port-file FILE] [--token T]
"""

import argparse
import http.server
import json
import threading
import time
import uuid
from datetime import datetime, timezone

TASKS = {
    "wordcount": {"description": "Counts the words of params.text",
                  "params": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
    "upper": {"description": "Upper-cases params.text",
              "params": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
    "deps": {"description": "Returns the dependencies' outputs it was given"},
    "sleep": {"description": "Sleeps params.seconds, honouring cancellation",
              "params": {"type": "object", "properties": {"seconds": {"type": "number"}}}},
    "noop": {"description": "Does nothing"},
}


def now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Problem(Exception):
    def __init__(self, status, title, detail, code):
        super().__init__(detail)
        self.status, self.title, self.detail, self.code = status, title, detail, code


class Run:
    def __init__(self, task_id, params, inp):
        self.id = str(uuid.uuid4())
        self.task_id = task_id
        self.state = "running"
        self.result = None
        self.error = None
        self.started_at = now()
        self.finished_at = None
        self.cancelled = threading.Event()
        self.done = threading.Event()
        self.params = params
        self.input = inp

    def doc(self):
        return {"run_id": self.id, "task_id": self.task_id, "state": self.state, "result": self.result,
                "error": self.error, "started_at": self.started_at, "finished_at": self.finished_at}

    def finish(self, state, result=None, error=None):
        self.state, self.result, self.error = state, result, error
        self.finished_at = now()
        self.done.set()


def text_param(params):
    text = params.get("text")
    if not isinstance(text, str):
        raise Problem(422, "invalid params", "'text' is required and must be a string", "INVALID_ARGUMENT")
    return text


def validate(task_id, params):
    if task_id in ("wordcount", "upper"):
        text_param(params)
    if task_id == "sleep" and not isinstance(params.get("seconds", 0), (int, float)):
        raise Problem(422, "invalid params", "'seconds' must be a number", "INVALID_ARGUMENT")


def execute(run):
    p = run.params
    if run.task_id == "wordcount":
        text = text_param(p)
        run.finish("succeeded", {"words": len(text.split()), "chars": len(text)})
    elif run.task_id == "upper":
        run.finish("succeeded", {"text": text_param(p).upper()})
    elif run.task_id == "deps":
        run.finish("succeeded", {"dependencies": (run.input or {}).get("dependencies", {})})
    elif run.task_id == "sleep":
        seconds = float(p.get("seconds", 0))
        if run.cancelled.wait(seconds):
            run.finish("cancelled", error={"title": "cancelled", "detail": "cancelled by the client",
                                           "code": "CANCELLED"})
        else:
            run.finish("succeeded", {"slept": seconds})
    else:
        run.finish("succeeded", None)


class State:
    def __init__(self, token):
        self.token = token
        self.lock = threading.Lock()
        self.runs = {}
        self.keys = {}  # (task, key) -> (body, run)
        self.log = []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cronyx-test/1"

    def log_message(self, *args):
        pass

    def send_json(self, status, doc, headers=None, content_type="application/json"):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_problem(self, p):
        self.send_json(p.status, {"type": "about:blank", "title": p.title, "status": p.status, "detail": p.detail,
                                  "code": p.code, "retryable": p.status == 503}, content_type="application/problem+json")

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return raw

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def handle_any(self, method):
        st = self.server.state
        raw = self.body() if method == "POST" else b""
        with st.lock:
            st.log.append({"method": method, "path": self.path, "key": self.headers.get("Idempotency-Key")})
        try:
            self.route(method, raw)
        except Problem as p:
            self.send_problem(p)

    def route(self, method, raw):
        st = self.server.state
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if parts == ["_test", "log"]:
            with st.lock:
                return self.send_json(200, list(st.log))
        if st.token and self.headers.get("Authorization") != "Bearer " + st.token:
            raise Problem(401, "unauthorized", "a bearer token is required", "INVALID_ARGUMENT")
        if method == "GET" and parts == ["v1", "info"]:
            return self.send_json(200, {"protocol_versions": [1], "name": "cronyx-test", "version": "1.0.0",
                                        "runtime": "python"})
        if method == "GET" and parts == ["v1", "health"]:
            return self.send_json(200, {"status": "ok"})
        if method == "GET" and parts == ["tasks"]:
            # Both shapes of the seed: objects with an id, and bare strings.
            return self.send_json(200, [{"id": k, "description": v["description"]} if k != "noop" else k
                                        for k, v in TASKS.items()])
        if method == "GET" and len(parts) == 2 and parts[0] == "tasks":
            if parts[1] not in TASKS:
                raise Problem(404, "unknown task", f"no task '{parts[1]}' on this server", "NOT_FOUND")
            return self.send_json(200, {"id": parts[1], **TASKS[parts[1]]})
        if method == "POST" and len(parts) == 4 and parts[:2] == ["v1", "tasks"] and parts[3] == "runs":
            return self.start_run(parts[2], raw)
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "runs"]:
            run = self.find_run(parts[2])
            return self.send_json(200, run.doc(), self.pending_headers(run))
        if method == "POST" and len(parts) == 4 and parts[:2] == ["v1", "runs"] and parts[3] == "cancel":
            run = self.find_run(parts[2])
            run.cancelled.set()
            return self.send_json(200 if run.done.is_set() else 202, run.doc())
        raise Problem(404, "not found", f"no route for {method} {self.path}", "NOT_FOUND")

    def find_run(self, run_id):
        with self.server.state.lock:
            run = self.server.state.runs.get(run_id)
        if run is None:
            raise Problem(404, "unknown run", f"no run '{run_id}'", "NOT_FOUND")
        return run

    def pending_headers(self, run):
        if run.done.is_set():
            return {}
        return {"Location": f"/v1/runs/{run.id}", "Retry-After": "0.1"}

    def start_run(self, task_id, raw):
        st = self.server.state
        if task_id not in TASKS:
            raise Problem(404, "unknown task", f"no task '{task_id}' on this server", "NOT_FOUND")
        key = self.headers.get("Idempotency-Key")
        if not key:
            raise Problem(400, "missing Idempotency-Key", "POST /v1/tasks/{id}/runs needs one", "INVALID_ARGUMENT")
        try:
            req = json.loads(raw or b"{}")
        except ValueError as e:
            raise Problem(400, "malformed JSON", str(e), "INVALID_ARGUMENT")
        params = req.get("params") or {}
        validate(task_id, params)
        with st.lock:
            known = st.keys.get((task_id, key))
            if known is not None and known[0] != raw:
                raise Problem(422, "idempotency key reused", f"key '{key}' was used with another body",
                              "INVALID_ARGUMENT")
            if known is None:
                run = Run(task_id, params, req.get("input"))
                st.keys[(task_id, key)] = (raw, run)
                st.runs[run.id] = run
                if task_id == "sleep":
                    threading.Thread(target=execute, args=(run,), daemon=True).start()
            else:
                run = known[1]
        if known is None and task_id != "sleep":
            execute(run)  # quick tasks run on the request's own thread
        if req.get("mode", "sync") == "sync":
            run.done.wait((req.get("timeout_ms") or 5000) / 1000)
        if run.done.is_set():
            return self.send_json(200, run.doc())
        return self.send_json(202, run.doc(), self.pending_headers(run))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--token", default="")
    args = ap.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.state = State(args.token)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"cronyx-test listening on http://127.0.0.1:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
