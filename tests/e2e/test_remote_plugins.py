"""Remote plugins: `task` against a real protocol-v1 server on loopback.

The server is tests/e2e/cronyx_test_server.py (stdlib Python, real HTTP),
started per test on a free port; the lead may point SERVER at
examples/python_plugin/ once it lands.
"""

import json
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from serve_helpers import Serve

SERVER = pathlib.Path(__file__).resolve().parent / "cronyx_test_server.py"


class RemoteServer:
    def __init__(self, workdir: pathlib.Path, port: int = 0, token: str = ""):
        port_file = workdir / f"cronyx-port-{time.monotonic_ns()}"
        args = [sys.executable, str(SERVER), "--port", str(port), "--port-file", str(port_file)]
        if token:
            args += ["--token", token]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while not port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start: " + (self.proc.stderr.read() or ""))
            time.sleep(0.02)
        self.port = int(port_file.read_text())
        self.url = f"http://127.0.0.1:{self.port}"

    def log(self):
        with urllib.request.urlopen(self.url + "/_test/log", timeout=5) as r:
            return json.load(r)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def remote(tmp_path):
    srv = RemoteServer(tmp_path)
    yield srv
    srv.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


GRAPH = """
tasks:
  greet:
    echo: hi
  count:
    remote: wordcount
    params: {text: "the quick brown fox"}
  collect:
    remote: deps
    after: [greet, count]
  upper:
    echo: the local task wins
"""


def test_the_servers_tasks_are_listed_as_remote_tasks_and_a_local_name_wins(task, remote):
    task.write_config(GRAPH)
    task.env["CRONYX_BASE_URL"] = remote.url
    r = task("list", "--json")
    assert r.returncode == 0, r.stderr
    kinds = {t["name"]: (t["kind"], t["description"]) for t in json.loads(r.stdout)}
    assert kinds["count"] == ("remote", "Counts the words of params.text")
    assert kinds["wordcount"] == ("remote", "Counts the words of params.text")
    assert kinds["noop"] == ("remote", "Does nothing")  # listed as a bare string, described by /tasks/noop
    assert kinds["upper"] == ("manual", "")
    assert kinds["greet"] == ("manual", "")
    assert r.stderr == (
        f"warning: remote server {remote.url} advertises task 'upper'; "
        "the local task of that name (cascadence.yml:12:5) wins\n"
    )


def test_a_graph_mixes_local_and_remote_tasks_with_stable_idempotency_keys(task, remote):
    task.write_config(GRAPH)
    task.env["CRONYX_BASE_URL"] = remote.url
    r = task("run", "collect", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["status"] == "success"
    tasks = {t["name"]: t for t in report["tasks"]}
    assert tasks["count"]["output"] == {"words": 4, "chars": 19}
    assert tasks["collect"]["output"] == {
        "dependencies": {"greet": "hi", "count": {"words": 4, "chars": 19}}
    }
    keys = {e["path"]: e["key"] for e in remote.log() if e["method"] == "POST"}
    assert keys["/v1/tasks/wordcount/runs"] == tasks["count"]["run_id"] + "-1"
    assert keys["/v1/tasks/deps/runs"] == tasks["collect"]["run_id"] + "-1"


def test_invalid_params_fail_the_run_with_the_problem_document(task, remote):
    task.write_config(GRAPH)
    task.env["CRONYX_BASE_URL"] = remote.url
    r = task("run", "wordcount", "--json")
    assert r.returncode == 1
    (rec,) = json.loads(r.stdout)["tasks"]
    assert rec["status"] == "failed"
    assert rec["error"] == f"remote server {remote.url}: 422 invalid params: 'text' is required and must be a string"


def test_a_timeout_cancels_the_run_on_the_server(task, remote):
    task.write_config("tasks:\n  nap:\n    remote: sleep\n    params: {seconds: 30}\n    timeout: 1500ms\n")
    task.env["CRONYX_BASE_URL"] = remote.url
    started = time.monotonic()
    r = task("run", "nap", "--json")
    assert r.returncode == 1
    assert time.monotonic() - started < 15
    (rec,) = json.loads(r.stdout)["tasks"]
    assert rec["status"] == "timed_out"
    assert rec["error"] == "timed out after 1s500ms"
    cancels = [e["path"] for e in remote.log() if e["path"].endswith("/cancel")]
    assert len(cancels) == 1 and cancels[0].startswith("/v1/runs/")


def test_a_bearer_token_is_sent_from_CRONYX_TOKEN(task, tmp_path):
    srv = RemoteServer(tmp_path, token="s3cret")
    try:
        task.write_config("tasks:\n  shout:\n    remote: upper\n    params: {text: abc}\n")
        task.env["CRONYX_BASE_URL"] = srv.url
        task.env["CRONYX_TOKEN"] = "s3cret"
        r = task("run", "shout", "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["tasks"][0]["output"] == {"text": "ABC"}
        del task.env["CRONYX_TOKEN"]
        r = task("list")
        assert r.returncode == 0
        assert r.stderr == f"warning: remote server {srv.url}: 401 unauthorized: a bearer token is required\n"
    finally:
        srv.stop()


def test_a_server_that_is_down_fails_its_tasks_fast_and_lists_the_local_ones(task):
    port = free_port()
    task.write_config(GRAPH)
    task.env["CRONYX_BASE_URL"] = f"http://127.0.0.1:{port}"
    task.env["CRONYX_TIMEOUT"] = "3"
    r = task("list")
    assert r.returncode == 0
    assert r.stdout.split("\n")[:4] == ["greet\tenabled", "count\tenabled", "collect\tenabled", "upper\tenabled"]
    why = f"GET /v1/info: cannot connect to 127.0.0.1:{port} (Connection refused) (after 3 attempts)"
    assert r.stderr == f"warning: remote server http://127.0.0.1:{port}: {why}\n"
    r = task("run", "collect", "--json")
    assert r.returncode == 1
    tasks = {t["name"]: t for t in json.loads(r.stdout)["tasks"]}
    assert tasks["count"]["status"] == "failed"
    assert tasks["count"]["error"] == f"remote server http://127.0.0.1:{port}: unavailable ({why})"
    assert tasks["collect"]["status"] == "skipped"


def test_bad_remote_settings_are_configuration_errors(task):
    task.write_config("cronyx_refresh: soon\ntasks:\n  a: {echo: x}\n")
    r = task("list")
    assert r.returncode == 2
    assert r.stderr == (
        "error: cascadence.yml:1:17: cronyx_refresh: invalid interval 'soon' "
        "(seconds, e.g. 600, or a duration, e.g. 10m)\n"
    )
    task.write_config("tasks:\n  a: {remote: wordcount}\n")
    r = task("run", "a")
    assert r.returncode == 2
    assert r.stderr == (
        "error: cascadence.yml:2:6: tasks.a.remote: no remote server is configured "
        "(set CRONYX_BASE_URL or cronyx.base_url)\n"
    )
    task.env["CRONYX_BASE_URL"] = "ftp://example"
    r = task("list")
    assert r.returncode == 2
    assert r.stderr == "error: CRONYX_BASE_URL: 'ftp://example' is not an http:// or https:// URL with a host\n"


def api(port, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_serve_keeps_serving_with_the_server_down_and_picks_its_tasks_up_at_the_next_refresh(task, tmp_path):
    port = free_port()
    task.write_config(GRAPH)
    task.env["CRONYX_BASE_URL"] = f"http://127.0.0.1:{port}"
    task.env["CASCADENCE_CRONYX_REFRESH"] = "1"
    serve = Serve(task)
    srv = None
    try:
        line = serve.wait_for(lambda l: "listening on http://" in l)
        http_port = int(line.rsplit(":", 1)[1])
        serve.wait_for(lambda l: f"remote server http://127.0.0.1:{port}: GET /v1/info: cannot connect" in l)
        status, body = api(http_port, "GET", "/api/v1/tasks")
        assert status == 200
        names = {t["name"]: t["kind"] for t in body["tasks"]}
        assert names == {"greet": "manual", "count": "remote", "collect": "remote", "upper": "manual"}
        status, run = api(http_port, "POST", "/api/v1/tasks/count/runs?wait=true")
        assert status == 200
        assert run["status"] == "failed"
        assert f"remote server http://127.0.0.1:{port}: unavailable (" in json.dumps(run)

        srv = RemoteServer(tmp_path, port=port)
        serve.wait_for(lambda l: f"remote server http://127.0.0.1:{port}: 5 task(s)" in l, timeout=15)
        serve.wait_for(lambda l: "configuration reloaded" in l, timeout=15)
        status, body = api(http_port, "GET", "/api/v1/tasks")
        assert {"wordcount", "deps", "sleep", "noop"} <= {t["name"] for t in body["tasks"]}
        status, run = api(http_port, "POST", "/api/v1/tasks/collect/runs?wait=true")
        assert status == 200
        assert run["status"] == "success", run

        # The server goes away again: its tasks stay known and fail fast.
        srv.stop()
        srv = None
        serve.wait_for(lambda l: "known task(s) fail at once until it answers" in l, timeout=15)
        status, body = api(http_port, "GET", "/api/v1/tasks")
        assert "wordcount" in {t["name"] for t in body["tasks"]}
        status, run = api(http_port, "POST", "/api/v1/tasks/wordcount/runs?wait=true")
        assert run["status"] == "failed"
        assert serve.proc.poll() is None
    finally:
        if srv:
            srv.stop()
        assert serve.stop() == 0


def test_a_webhook_delivery_runs_a_remote_task(task, remote):
    task.write_config(
        "tasks:\n"
        "  on_push:\n"
        "    remote: deps\n"
        "    on: {webhook: ci, events: [push]}\n"
    )
    task.env["CRONYX_BASE_URL"] = remote.url
    serve = Serve(task)
    try:
        line = serve.wait_for(lambda l: "listening on http://" in l)
        http_port = int(line.rsplit(":", 1)[1])
        req = urllib.request.Request(f"http://127.0.0.1:{http_port}/webhook/ci", method="POST",
                                     data=b'{"ref": "main"}', headers={"X-Cascadence-Event": "push",
                                                                       "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 202
        line = serve.wait_for(lambda l: l.split(" ", 1)[-1].startswith("task on_push "), timeout=15)
        assert " success " in line
        run_id = line.rsplit("run_id=", 1)[1]
        posts = [e for e in remote.log() if e["path"] == "/v1/tasks/deps/runs"]
        assert [p["key"] for p in posts] == [run_id + "-1"]
    finally:
        assert serve.stop() == 0


def test_the_remote_bench_scenario_runs_against_a_real_server(remote):
    bench = pathlib.Path(__import__("conftest").binary("cascadence-bench"))
    r = subprocess.run([str(bench), "--scenario", "remote", "--remote-url", remote.url, "--remote-runs", "200",
                        "--max-concurrency", "4", "--json-only"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    line = json.loads(r.stdout.strip().splitlines()[-1])
    assert line["scenario"] == "remote" and line["tasks"] == 200 and line["concurrency"] == 4
    assert len([e for e in remote.log() if e["path"] == "/v1/tasks/noop/runs"]) == 200
