"""The remote plugin protocol v1 (docs/plugins.md), checked against every example server.

Each server runs as a real process on a free port (plugin_servers.SERVERS);
every expected value is computed here (hashlib, the test's own arithmetic).
"""

import hashlib
import http.server
import json
import re
import threading
import time
import uuid

import pytest

from plugin_servers import SERVERS, RemoteServer

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
TERMINAL = {"succeeded", "failed", "cancelled", "timed_out"}


@pytest.fixture(params=sorted(SERVERS), ids=lambda name: name)
def spec(request):
    return SERVERS[request.param]


@pytest.fixture
def server(spec):
    s = RemoteServer(spec)
    yield s
    s.stop()


def key() -> str:
    return f"{uuid.uuid4()}-1"


def assert_problem(reply, status: int, code: str, detail: str, retryable: bool = False):
    assert reply.status == status, reply
    assert reply.content_type.startswith("application/problem+json"), reply.content_type
    assert reply.json == {"type": "about:blank", "title": reply.json["title"], "status": status, "detail": detail,
                          "code": code, "retryable": retryable}
    assert isinstance(reply.json["title"], str) and reply.json["title"]


def assert_run_document(doc: dict, task: str):
    assert set(doc) == {"run_id", "task_id", "state", "result", "error", "started_at", "finished_at"}, doc
    assert UUID.match(doc["run_id"]), doc
    assert doc["task_id"] == task
    assert ISO.match(doc["started_at"]), doc
    if doc["state"] in TERMINAL:
        assert ISO.match(doc["finished_at"]), doc
        assert doc["finished_at"] >= doc["started_at"]
    else:
        assert doc["state"] in ("queued", "running") and doc["finished_at"] is None, doc


def poll(server, location: str, timeout: float = 20.0) -> dict:
    """Follows a Location the way Cascadence does, honouring Retry-After (clamped to 0.05..5 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = server.get(location)
        assert reply.status == 200, reply
        if reply.json["state"] in TERMINAL:
            return reply.json
        time.sleep(min(5.0, max(0.05, float(reply.headers.get("Retry-After", "1")))) / 10)
    raise AssertionError(f"{location} did not end within {timeout}s")


def test_discovery_lists_every_task_and_describes_each(server):
    tasks = server.get("/tasks")
    assert tasks.status == 200 and tasks.content_type.startswith("application/json"), tasks
    ids = [t if isinstance(t, str) else t["id"] for t in tasks.json]
    assert server.spec.hash_task in ids and server.spec.sleep_task in ids
    assert len(set(ids)) == len(ids)
    for tid in ids:
        one = server.get(f"/tasks/{tid}")
        assert one.status == 200, one
        assert one.json["id"] == tid and isinstance(one.json.get("description"), str)
        assert isinstance(one.json["params"], dict)
    assert_problem(server.get("/tasks/sha512"), 404, "NOT_FOUND", "no task 'sha512' on this server")


def test_info_names_protocol_1_and_health_is_ok(server):
    info = server.get("/v1/info")
    assert info.status == 200, info
    assert info.json["protocol_versions"] == [1]
    assert info.json["runtime"] == server.spec.runtime
    assert isinstance(info.json["name"], str) and isinstance(info.json["version"], str)
    health = server.get("/v1/health")
    assert (health.status, health.json) == (200, {"status": "ok"})


def test_a_sync_run_hashes_the_file(server, tmp_path):
    data = bytes(range(256)) * 9000 + b"tail"  # over one read chunk
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    body = {"params": {"path": str(path)}, "input": {"task": "hash", "input": None, "dependencies": {}},
            "mode": "sync", "timeout_ms": 10000}
    reply = server.post_run(server.spec.hash_task, body, key=key())
    assert reply.status == 200, reply
    doc = reply.json
    assert_run_document(doc, server.spec.hash_task)
    assert doc["state"] == "succeeded" and doc["error"] is None
    assert doc["result"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert doc["result"]["bytes"] == len(data)
    again = server.get(f"/v1/runs/{doc['run_id']}")
    assert (again.status, again.json) == (200, doc)


def test_a_failed_run_is_still_a_200_with_its_error(server, tmp_path):
    missing = tmp_path / "missing.bin"
    reply = server.post_run(server.spec.hash_task, {"params": {"path": str(missing)}}, key=key())
    assert reply.status == 200, reply
    assert_run_document(reply.json, server.spec.hash_task)
    assert reply.json["state"] == "failed" and reply.json["result"] is None
    assert reply.json["error"]["code"] == "NOT_FOUND"
    assert str(missing) in reply.json["error"]["detail"]


def test_an_async_run_answers_202_and_is_polled_to_its_end(server):
    reply = server.post_run(server.spec.sleep_task, {"params": {"seconds": 0.3}, "mode": "async"}, key=key())
    assert reply.status == 202, reply
    assert_run_document(reply.json, server.spec.sleep_task)
    assert reply.headers["Location"] == f"/v1/runs/{reply.json['run_id']}"
    assert float(reply.headers["Retry-After"]) >= 0
    doc = poll(server, reply.headers["Location"])
    assert_run_document(doc, server.spec.sleep_task)
    assert doc["state"] == "succeeded" and doc["run_id"] == reply.json["run_id"]


def test_a_sync_run_that_does_not_end_in_time_answers_202(server):
    reply = server.post_run(server.spec.sleep_task, {"params": {"seconds": 0.5}, "timeout_ms": 50}, key=key())
    assert reply.status == 202, reply
    assert reply.json["state"] in ("queued", "running")
    assert poll(server, reply.headers["Location"])["state"] == "succeeded"


def test_the_same_key_replays_the_run_and_another_body_is_refused(server):
    k = key()
    body = {"params": {"seconds": 0}, "input": {"task": "t", "input": None, "dependencies": {}}}
    first = server.post_run(server.spec.sleep_task, body, key=k)
    assert first.status == 200 and first.json["state"] == "succeeded", first
    replay = server.post_run(server.spec.sleep_task, body, key=k)
    assert (replay.status, replay.json) == (200, first.json)
    other = server.post_run(server.spec.sleep_task, {"params": {"seconds": 1}}, key=k)
    assert_problem(other, 422, "INVALID_ARGUMENT",
                   f"the Idempotency-Key '{k}' was used for task '{server.spec.sleep_task}' with another body")
    # Keys are scoped per task: the same key on another task is another run.
    fresh = server.post_run(server.spec.hash_task, {"params": {"path": "/nonexistent"}}, key=k)
    assert fresh.status == 200 and fresh.json["run_id"] != first.json["run_id"], fresh


def test_a_replayed_key_of_a_running_run_answers_its_current_document(server):
    k = key()
    body = {"params": {"seconds": 30}, "mode": "async"}
    first = server.post_run(server.spec.sleep_task, body, key=k)
    assert first.status == 202, first
    replay = server.post_run(server.spec.sleep_task, body, key=k)
    assert replay.status == 202 and replay.json["run_id"] == first.json["run_id"], replay
    assert replay.headers["Location"] == first.headers["Location"]
    server.request("POST", f"/v1/runs/{first.json['run_id']}/cancel")


def test_a_run_without_idempotency_key_is_refused(server):
    reply = server.post_run(server.spec.sleep_task, {"params": {"seconds": 0}})
    assert_problem(reply, 400, "INVALID_ARGUMENT", "POST /v1/tasks/{id}/runs needs an Idempotency-Key header")


def test_cancelling_a_sleeping_run_ends_it_cancelled(server):
    started = time.monotonic()
    reply = server.post_run(server.spec.sleep_task, {"params": {"seconds": 60}, "mode": "async"}, key=key())
    assert reply.status == 202, reply
    run_id = reply.json["run_id"]
    cancel = server.request("POST", f"/v1/runs/{run_id}/cancel")
    assert cancel.status == 202, cancel
    doc = cancel.json if cancel.json["state"] in TERMINAL else poll(server, f"/v1/runs/{run_id}")
    assert_run_document(doc, server.spec.sleep_task)
    assert doc["state"] == "cancelled" and doc["result"] is None
    assert doc["error"]["code"] == "CANCELLED"
    assert time.monotonic() - started < 30
    # Cancelling is idempotent: a terminal run answers 200 and stays as it was.
    again = server.request("POST", f"/v1/runs/{run_id}/cancel")
    assert (again.status, again.json) == (200, doc)


def test_unknown_tasks_and_runs_are_404_problems(server):
    assert_problem(server.post_run("sha512", {"params": {}}, key=key()), 404, "NOT_FOUND",
                   "no task 'sha512' on this server")
    assert_problem(server.get("/v1/runs/nope"), 404, "NOT_FOUND", "no run 'nope' on this server")
    assert_problem(server.request("POST", "/v1/runs/nope/cancel"), 404, "NOT_FOUND", "no run 'nope' on this server")


def test_bad_params_are_422_problems_and_start_nothing(server):
    k = key()
    reply = server.post_run(server.spec.sleep_task, {"params": {"seconds": "soon"}}, key=k)
    assert_problem(reply, 422, "INVALID_ARGUMENT",
                   f"task '{server.spec.sleep_task}': params.seconds must be a number from 0 to 86400")
    # No run was started, so the key is still free for a good body.
    ok = server.post_run(server.spec.sleep_task, {"params": {"seconds": 0}}, key=k)
    assert ok.status == 200 and ok.json["state"] == "succeeded", ok
    missing = server.post_run(server.spec.hash_task, {"params": {}}, key=key())
    assert_problem(missing, 422, "INVALID_ARGUMENT", f"task '{server.spec.hash_task}': params.path is required")


def test_a_body_that_is_not_json_is_a_400_and_the_server_goes_on(server):
    reply = server.post_run(server.spec.sleep_task, b"{not json", key=key())
    assert reply.status == 400 and reply.json["code"] == "INVALID_ARGUMENT", reply
    assert reply.json["detail"].startswith("the body is not JSON (")
    reply = server.post_run(server.spec.sleep_task, {"params": {"seconds": 0}, "mode": "later"}, key=key())
    assert_problem(reply, 400, "INVALID_ARGUMENT", 'mode must be "sync" or "async", not "later"')
    assert server.get("/v1/health").status == 200


def test_requests_share_one_keep_alive_connection(server):
    conn = server.connect()
    server.get("/v1/info", conn=conn)
    sock = conn.sock
    assert sock is not None
    for i in range(20):
        reply = server.post_run(server.spec.sleep_task, {"params": {"seconds": 0}}, key=key()) if i % 2 else \
            server.get("/tasks", conn=conn)
        assert reply.status == 200, reply
        reply = server.request("POST", f"/v1/tasks/{server.spec.sleep_task}/runs",
                               body=json.dumps({"params": {"seconds": 0}}),
                               headers={"Idempotency-Key": key(), "Content-Type": "application/json"}, conn=conn)
        assert reply.status == 200, reply
    # http.client reconnects silently after a close: the same socket proves it never did.
    assert conn.sock is sock
    conn.close()


def test_a_token_is_required_when_the_server_has_one(spec):
    server = RemoteServer(spec, "--token", "s3cret")
    try:
        assert_problem(server.get("/tasks"), 401, "INVALID_ARGUMENT",
                       "this server needs a bearer token (no Authorization header)")
        assert server.get("/tasks").headers["WWW-Authenticate"].startswith("Bearer")
        wrong = server.post_run(spec.sleep_task, {"params": {"seconds": 0}}, key=key(),
                                headers={"Authorization": "Bearer guess"})
        assert_problem(wrong, 401, "INVALID_ARGUMENT", "this server needs a bearer token (the bearer token is wrong)")
        auth = {"Authorization": "Bearer s3cret"}
        assert server.get("/tasks", headers=auth).status == 200
        ok = server.post_run(spec.sleep_task, {"params": {"seconds": 0}}, key=key(), headers=auth)
        assert ok.status == 200 and ok.json["state"] == "succeeded", ok
    finally:
        server.stop()


def test_a_full_server_answers_503_and_says_so_in_health(spec):
    server = RemoteServer(spec, "--max-runs", "1")
    try:
        busy = server.post_run(spec.sleep_task, {"params": {"seconds": 60}, "mode": "async"}, key=key())
        assert busy.status == 202, busy
        refused = server.post_run(spec.sleep_task, {"params": {"seconds": 0}}, key=key())
        assert_problem(refused, 503, "UNAVAILABLE", "1 runs are active, the limit is 1", retryable=True)
        assert_problem(server.get("/v1/health"), 503, "UNAVAILABLE", "every run slot is taken", retryable=True)
        server.request("POST", f"/v1/runs/{busy.json['run_id']}/cancel")
        poll(server, f"/v1/runs/{busy.json['run_id']}")
        assert server.get("/v1/health").status == 200
    finally:
        server.stop()


def test_a_run_past_the_server_limit_ends_timed_out(spec):
    server = RemoteServer(spec, "--run-timeout", spec.duration(0.3))
    try:
        reply = server.post_run(spec.sleep_task, {"params": {"seconds": 60}, "mode": "async"}, key=key())
        doc = poll(server, reply.headers["Location"])
        assert doc["state"] == "timed_out" and doc["error"]["code"] == "DEADLINE_EXCEEDED", doc
    finally:
        server.stop()


def test_a_wrong_method_is_a_405_problem_and_unknown_paths_404(server):
    reply = server.request("DELETE", "/v1/info")
    assert_problem(reply, 405, "UNSUPPORTED", "DELETE /v1/info is not supported")
    assert reply.headers["Allow"] == "GET"
    assert_problem(server.get("/v2/info"), 404, "NOT_FOUND", "no route /v2/info")
    head = server.request("HEAD", "/v1/health")
    assert head.status == 200 and head.raw == b""

# --- The tasks only one example has ------------------------------------------


@pytest.fixture
def python_server():
    s = RemoteServer(SERVERS["python"])
    yield s
    s.stop()


def transform(server, params, dependencies=None):
    body = {"params": params, "input": {"task": "t", "input": None, "dependencies": dependencies or {}}}
    return server.post_run("transform", body, key=key())


def test_python_transform_applies_each_op(python_server):
    deps = {"fetch": {"length": 12, "pages": 3}, "count": 4.5}
    cases = [
        ({"op": "upper", "value": {"a": ["x", "Yz"], "b": 1}}, None, {"a": ["X", "YZ"], "b": 1}),
        ({"op": "lower", "value": "MiXed"}, None, "mixed"),
        ({"op": "sort", "value": [3, 1, 2.5]}, None, [1, 2.5, 3]),
        ({"op": "sort", "value": ["b", "a"]}, None, ["a", "b"]),
        ({"op": "sum", "value": [1, 2, 3.5]}, None, 1 + 2 + 3.5),
        ({"op": "keys"}, deps, sorted(deps)),
        ({"op": "sum", "from": "fetch"}, deps, 12 + 3),
        ({"op": "count", "from": "fetch"}, deps, 2),
        ({"op": "count", "value": "héllo"}, None, 5),
    ]
    for params, dependencies, expected in cases:
        reply = transform(python_server, params, dependencies)
        assert reply.status == 200 and reply.json["state"] == "succeeded", (params, reply)
        assert reply.json["result"] == expected, params


def test_python_transform_refuses_what_cannot_apply(python_server):
    assert_problem(transform(python_server, {"op": "explode"}), 422, "INVALID_ARGUMENT",
                   'task \'transform\': params.op must be one of upper, lower, sort, sum, keys, count, not "explode"')
    assert_problem(transform(python_server, {"op": "sum", "value": ["a"]}), 422, "INVALID_ARGUMENT",
                   "task 'transform': params.value: sum needs numbers only")
    # Known only when the input arrives: the run fails instead.
    reply = transform(python_server, {"op": "sum", "from": "fetch"}, {"fetch": "text"})
    assert reply.status == 200 and reply.json["state"] == "failed", reply
    assert reply.json["error"] == {"title": "transform does not apply", "code": "INVALID_ARGUMENT",
                                   "detail": "sum needs an array or object of numbers, not string"}
    reply = transform(python_server, {"op": "keys", "from": "nope"}, {"fetch": {}})
    assert reply.json["state"] == "failed" and reply.json["error"]["detail"] == "the input has no dependency 'nope'"


@pytest.fixture
def go_server():
    s = RemoteServer(SERVERS["go"])
    yield s
    s.stop()


@pytest.fixture
def content_server():
    """A local HTTP server for fetch: /data answers a known body, anything else 404."""
    body = b"fetched over loopback\n" * 1000

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/data":
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", body
    httpd.shutdown()
    httpd.server_close()


def test_go_fetch_reports_status_size_and_hash(go_server, content_server):
    base, body = content_server
    reply = go_server.post_run("fetch", {"params": {"url": f"{base}/data"}}, key=key())
    assert reply.status == 200 and reply.json["state"] == "succeeded", reply
    assert reply.json["result"] == {"status": 200, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}
    missing = go_server.post_run("fetch", {"params": {"url": f"{base}/missing"}}, key=key())
    assert missing.json["state"] == "succeeded" and missing.json["result"]["status"] == 404, missing


def test_go_fetch_of_a_closed_port_fails_unavailable(go_server, content_server):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends
    reply = go_server.post_run("fetch", {"params": {"url": f"http://127.0.0.1:{port}/x"}}, key=key())
    assert reply.status == 200 and reply.json["state"] == "failed", reply
    assert reply.json["error"]["code"] == "UNAVAILABLE"
    assert reply.json["error"]["detail"].startswith(f"GET http://127.0.0.1:{port}/x: dial tcp")


def test_go_echo_returns_params_and_a_panic_fails_only_its_run(go_server):
    params = {"n": 1, "list": ["a", None, True]}
    reply = go_server.post_run("echo", {"params": params}, key=key())
    assert reply.status == 200 and reply.json["result"] == params, reply
    boom = go_server.post_run("echo", {"params": {"panic": "boom"}}, key=key())
    assert boom.json["state"] == "failed", boom
    assert boom.json["error"] == {"title": "internal error", "detail": "panic: boom", "code": "INTERNAL"}
    assert go_server.get("/v1/health").status == 200

