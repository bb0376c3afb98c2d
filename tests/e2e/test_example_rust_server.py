"""examples/rust_plugin's remote server (rust_example_server) against the
remote protocol v1 of docs/plugins.md: a real server process on loopback,
real HTTP. Needs the examples_rust fixture (RUST_EXAMPLES_DIR)."""
import http.client
import json
import os
import subprocess
import time

import pytest

EXAMPLES = os.environ.get("RUST_EXAMPLES_DIR", "")


def start_server(*args, env=None):
    binary = os.path.join(EXAMPLES, "rust_example_server")
    if not EXAMPLES or not os.path.exists(binary):
        pytest.skip("RUST_EXAMPLES_DIR (the examples_rust fixture) is set by ctest")
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    first = proc.stdout.readline().strip()
    assert first.startswith("listening on http://127.0.0.1:"), first
    return proc, int(first.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def server():
    proc, port = start_server()
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def call(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    conn.request(method, path, body=data, headers=headers or {})
    resp = conn.getresponse()
    raw = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), json.loads(raw) if raw else None


def post_run(port, task, body, key):
    return call(port, "POST", f"/v1/tasks/{task}/runs", body, {"Idempotency-Key": key})


def poll(port, location, deadline_s=20):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        status, _, doc = call(port, "GET", location)
        assert status == 200
        if doc["state"] not in ("queued", "running"):
            return doc
        time.sleep(0.05)
    raise AssertionError(f"{location} did not end within {deadline_s} s")


def test_discovery_and_info(server):
    status, headers, tasks = call(server, "GET", "/tasks")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert [t["id"] for t in tasks] == ["wordcount", "panic"]
    status, _, task = call(server, "GET", "/tasks/wordcount")
    assert status == 200 and task["id"] == "wordcount" and task["params"]["type"] == "object"
    status, _, info = call(server, "GET", "/v1/info")
    assert status == 200
    assert info["protocol_versions"] == [1] and info["runtime"] == "rust"
    assert call(server, "GET", "/v1/health")[:3:2] == (200, {"status": "ok"})


def test_unknown_task_is_a_404_problem(server):
    status, headers, doc = call(server, "GET", "/tasks/sha512")
    assert status == 404 and headers["Content-Type"] == "application/problem+json"
    assert doc == {"type": "about:blank", "title": "unknown task", "status": 404,
                   "detail": "no task 'sha512' on this server", "code": "NOT_FOUND", "retryable": False}
    status, _, doc = post_run(server, "sha512", {"params": {}}, "k-unknown")
    assert status == 404 and doc["detail"] == "no task 'sha512' on this server"


def test_sync_run(server):
    status, headers, doc = post_run(server, "wordcount",
                                    {"params": {"text": "b a b c"}, "mode": "sync", "timeout_ms": 5000}, "k-sync")
    assert status == 200, doc
    assert "Location" not in headers
    assert doc["state"] == "succeeded" and doc["task_id"] == "wordcount"
    assert doc["result"] == {"words": 4, "top": [["b", 2], ["a", 1], ["c", 1]]}
    assert doc["error"] is None and doc["finished_at"] >= doc["started_at"]
    assert call(server, "GET", f"/v1/runs/{doc['run_id']}")[2] == doc


def test_sync_run_of_the_dependencies(server):
    body = {"params": {"top": 1},
            "input": {"task": "wc", "input": None, "dependencies": {"a": "x y x", "b": 7, "c": "y x"}}}
    status, _, doc = post_run(server, "wordcount", body, "k-deps")
    assert status == 200 and doc["result"] == {"words": 5, "top": [["x", 3]]}


def test_async_run_and_polling(server):
    status, headers, doc = post_run(server, "wordcount",
                                    {"params": {"text": "slow words", "delay_ms": 300}, "mode": "async"}, "k-async")
    assert status == 202
    assert headers["Location"] == f"/v1/runs/{doc['run_id']}"
    assert int(headers["Retry-After"]) >= 0
    assert doc["state"] == "running" and doc["finished_at"] is None
    final = poll(server, headers["Location"])
    assert final["state"] == "succeeded" and final["result"] == {"words": 2, "top": [["slow", 1], ["words", 1]]}


def test_sync_run_that_outlasts_its_timeout_is_a_202(server):
    status, headers, doc = post_run(server, "wordcount",
                                    {"params": {"text": "a", "delay_ms": 2000}, "timeout_ms": 50}, "k-slow-sync")
    assert status == 202 and headers["Location"] == f"/v1/runs/{doc['run_id']}"
    assert poll(server, headers["Location"])["state"] == "succeeded"


def test_idempotency_replay_and_422(server):
    body = {"params": {"text": "once only"}, "mode": "sync"}
    first = post_run(server, "wordcount", body, "k-idem")
    again = post_run(server, "wordcount", body, "k-idem")
    assert first[0] == again[0] == 200
    assert again[2]["run_id"] == first[2]["run_id"]
    status, headers, doc = post_run(server, "wordcount", {"params": {"text": "another"}}, "k-idem")
    assert status == 422 and headers["Content-Type"] == "application/problem+json"
    assert doc["code"] == "INVALID_ARGUMENT"
    assert doc["detail"] == "Idempotency-Key 'k-idem' was used with another body"
    # Scoped per task: the same key on another task is a new run.
    assert post_run(server, "panic", {"params": {}}, "k-idem")[0] == 200


def test_missing_idempotency_key_is_400(server):
    status, _, doc = call(server, "POST", "/v1/tasks/wordcount/runs", {"params": {}})
    assert status == 400 and doc["title"] == "missing Idempotency-Key"


def test_cancel(server):
    status, headers, doc = post_run(server, "wordcount",
                                    {"params": {"text": "x", "delay_ms": 600000}, "mode": "async"}, "k-cancel")
    assert status == 202
    status, _, cancelled = call(server, "POST", f"/v1/runs/{doc['run_id']}/cancel")
    assert status == 202 and cancelled["run_id"] == doc["run_id"]
    final = poll(server, headers["Location"])
    assert final["state"] == "cancelled" and final["error"]["code"] == "CANCELLED"
    assert final["result"] is None
    # Cancelling again is idempotent: 200, the terminal document.
    status, _, again = call(server, "POST", f"/v1/runs/{doc['run_id']}/cancel")
    assert status == 200 and again == final


@pytest.mark.parametrize("params,detail", [
    ({"text": 5}, "rust_example.wordcount: `text` must be a string"),
    ({"top": "x"}, "rust_example.wordcount: `top` must be a non-negative integer"),
    ([1], "rust_example.wordcount: params must be an object"),
])
def test_bad_params_are_422(server, params, detail):
    status, headers, doc = post_run(server, "wordcount", {"params": params}, f"k-bad-{json.dumps(params)}")
    assert status == 422 and headers["Content-Type"] == "application/problem+json"
    assert doc == {"type": "about:blank", "title": "invalid params", "status": 422, "detail": detail,
                   "code": "INVALID_ARGUMENT", "retryable": False}


def test_a_panicking_task_fails_and_the_server_keeps_serving(server):
    status, _, doc = post_run(server, "panic", {"params": {"message": "on the server"}}, "k-panic")
    assert status == 200 and doc["state"] == "failed"
    assert doc["error"] == {"title": "task failed", "detail": "rust_example.panic: panicked: on the server",
                            "code": "INTERNAL"}
    assert call(server, "GET", "/v1/health")[0] == 200


def test_unknown_run_is_404(server):
    status, _, doc = call(server, "GET", "/v1/runs/nope")
    assert status == 404 and doc["detail"] == "no run 'nope' on this server"


def test_bearer_token():
    env = dict(os.environ, CRONYX_TOKEN="s3cret")
    proc, port = start_server(env=env)
    try:
        status, _, doc = call(port, "GET", "/tasks")
        assert status == 401 and doc["title"] == "unauthorized"
        status, _, _ = call(port, "GET", "/tasks", headers={"Authorization": "Bearer wrong"})
        assert status == 401
        status, _, tasks = call(port, "GET", "/tasks", headers={"Authorization": "Bearer s3cret"})
        assert status == 200 and tasks[0]["id"] == "wordcount"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
