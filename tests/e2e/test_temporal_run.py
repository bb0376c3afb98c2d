"""`task run --temporal` and `backend: temporal` against a real Temporal dev
server (scripts/services/temporal) and a real Python SDK worker
(tests/e2e/temporal_worker.py): results, failures, time-outs, cancellation,
termination, continue-as-new, a server that is down or goes away, and runs
started over the REST API of `task serve`."""

import hashlib
import hmac
import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from serve_helpers import Serve

ROOT = pathlib.Path(__file__).resolve().parents[2]


def config(server, worker, backend="cron", extra="", timeout="10s", namespace=None):
    return f"""
backend: {backend}
kill_grace: 5s
temporal:
  http_address: {server.http_address}
  address: {server.address}
  namespace: {namespace or server.namespace}
  task_queue: {worker.task_queue}
  timeout: {timeout}
tasks:
  hello:
    echo: hello from here
  extract:
    echo: extracted
  transform:
    echo: transformed
    after: [extract]
  load:
    echo: loaded
    after: [transform]
  pipeline:
    echo: piped
    after: [load]
  fails:
    workflow: fails
  slow:
    workflow: slow
  sleepy:
    workflow: sleepy
    timeout: 2s
  rolling:
    workflow: rolling
  greeter:
    workflow: hello
{extra}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_a_workflow_result_is_the_task_output_and_the_report_is_a_local_runs(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker))
    r = task("run", "hello", "--temporal", "--input", '{"name": "ada"}')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '{"greeting":"hello ada"}'
    assert "temporal: started workflow hello-" in r.stderr
    assert "task hello: success" in r.stderr

    r = task("run", "greeter", "--temporal", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["status"] == "success"
    (rec,) = report["tasks"]
    assert rec["name"] == "greeter"
    assert rec["status"] == "success"
    assert rec["output"] == {"greeting": "hello world"}


def test_dependencies_run_inside_the_workflow_not_here(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker))
    r = task("run", "pipeline", "--temporal", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert [t["name"] for t in report["tasks"]] == ["pipeline"]
    assert report["tasks"][0]["output"] == {"loaded": {"count": 3}}
    # The local echo tasks did not run.
    assert "extracted" not in r.stdout + r.stderr


def test_a_failing_workflow_fails_the_task_with_its_message_and_type(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker))
    r = task("run", "fails", "--temporal")
    assert r.returncode == 1, r.stderr
    assert "task fails: failed" in r.stderr
    assert "boom: the data was bad" in r.stderr
    assert "BoomError" in r.stderr


def test_the_task_timeout_is_the_workflow_execution_timeout(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker))
    started = time.monotonic()
    r = task("run", "sleepy", "--temporal")
    assert r.returncode == 1, r.stderr
    assert "timed out" in r.stderr
    assert time.monotonic() - started < 25


def test_continue_as_new_is_followed_to_the_last_run(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker))
    r = task("run", "rolling", "--temporal", "--input", '{"n": 0}')
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '{"n":2}'


def workflow_id_from(proc_stderr_lines, prefix):
    for line in proc_stderr_lines:
        if "temporal: started workflow " in line:
            return line.split("temporal: started workflow ", 1)[1].split()[0]
    raise AssertionError("no workflow id printed: " + "".join(proc_stderr_lines))


def read_until(stream, needle, timeout=30):
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"no line with {needle!r}: {''.join(lines)}")


def test_ctrl_c_cancels_the_workflow_and_waits_for_it_to_close(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker))
    p = task.popen("run", "slow", "--temporal")
    lines = read_until(p.stderr, "temporal: started workflow")
    wid = workflow_id_from(lines, "slow")
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert "canceled on cancellation" in err
    described = temporal_server.cli("workflow", "describe", "-w", wid, "-o", "json")
    assert json.loads(described)["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_CANCELED"


def test_a_terminated_workflow_fails_the_task_saying_so(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker))
    p = task.popen("run", "slow", "--temporal")
    lines = read_until(p.stderr, "temporal: started workflow")
    wid = workflow_id_from(lines, "slow")
    temporal_server.cli("workflow", "terminate", "-w", wid, "--reason", "operator said so")
    out, err = p.communicate(timeout=30)
    assert p.returncode == 1, err
    assert "terminated: operator said so" in err


def test_backend_temporal_runs_on_temporal_by_default_and_local_runs_here(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker, backend="temporal"))
    r = task("run", "hello")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == '{"greeting":"hello world"}'
    r = task("run", "hello", "--local")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "hello from here"
    r = task("run", "slow", "--local")
    assert r.returncode == 1
    assert "runs on Temporal only" in r.stderr
    r = task("run", "hello", "--local", "--temporal")
    assert r.returncode == 2
    assert "exclude each other" in r.stderr


def test_a_server_that_is_down_fails_the_run_quickly_and_clearly(task, temporal_server, temporal_worker):
    port = free_port()
    task.write_config(config(temporal_server, temporal_worker, timeout="2s"))
    task.env["TEMPORAL_HTTP_ADDRESS"] = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    r = task("run", "hello", "--temporal", timeout=30)
    assert r.returncode == 1
    assert f"temporal http://127.0.0.1:{port}:" in r.stderr
    assert time.monotonic() - started < 15


def test_an_unknown_namespace_is_named(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker, namespace="no-such-namespace"))
    r = task("run", "hello", "--temporal")
    assert r.returncode == 1
    assert "no-such-namespace" in r.stderr


def test_the_environment_wins_over_the_file(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker).replace(temporal_server.http_address, "http://127.0.0.1:9"))
    task.env["TEMPORAL_HTTP_ADDRESS"] = temporal_server.http_address
    r = task("run", "hello", "--temporal")
    assert r.returncode == 0, r.stderr


def test_the_rest_api_of_serve_starts_workflows_with_backend_temporal(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker, backend="temporal"))
    serve = Serve(task)
    try:
        line = serve.wait_for(lambda l: "listening on http://" in l)
        base = line.split("listening on ", 1)[1].strip()
        serve.wait_for(lambda l: "Temporal Schedules fire the tasks" in l)
        req = urllib.request.Request(
            base + "/api/v1/tasks/greeter/runs?wait=true",
            data=json.dumps({"name": "api"}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = json.loads(resp.read())
        assert body["status"] == "success", body
        (rec,) = [t for t in body["tasks"] if t["name"] == "greeter"]
        assert rec["output"] == {"greeting": "hello api"}
    finally:
        serve.stop()


def test_a_wait_survives_the_server_restarting(task, temporal_worker, temporal_server, tmp_path):
    """A dev server of its own with a database file, killed and started again on
    the same ports while `task run` waits for a workflow of it."""
    grpc, http, ui = free_port(), free_port(), free_port()
    db = tmp_path / "temporal.db"
    cmd = [
        temporal_server.cli_path, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
        "--port", str(grpc), "--http-port", str(http), "--ui-port", str(ui),
        "--metrics-port", str(free_port()), "--db-filename", str(db),
    ]

    def start():
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{http}/api/v1/system-info", timeout=1).read()
                return proc
            except OSError:
                time.sleep(0.2)
        proc.kill()
        raise AssertionError("the second dev server did not start")

    server = start()
    worker = subprocess.Popen(
        [temporal_server.python, str(ROOT / "tests/e2e/temporal_worker.py"), "--address", f"127.0.0.1:{grpc}",
         "--namespace", "default", "--task-queue", "restart"],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        assert "ready" in worker.stdout.readline()
        task.write_config(f"""
temporal:
  http_address: http://127.0.0.1:{http}
  task_queue: restart
  timeout: 60s
tasks:
  sleepy:
    workflow: sleepy
""")
        p = task.popen("run", "sleepy", "--temporal")
        read_until(p.stderr, "temporal: started workflow")
        time.sleep(1)
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        time.sleep(3)
        server = start()
        out, err = p.communicate(timeout=90)
        assert p.returncode == 0, err
        assert out.strip() == '{"slept":true}'
    finally:
        for proc in (worker, server):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def test_a_webhook_delivery_starts_the_tasks_workflow_with_backend_temporal(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker, backend="temporal", extra="""
  on_push:
    workflow: hello
    on: {webhook: github, events: [push]}
webhook:
  secrets: {github: gh-secret}
"""))
    serve = Serve(task)
    try:
        line = serve.wait_for(lambda l: "listening on http://" in l)
        base = line.split("listening on ", 1)[1].strip()
        body = json.dumps({"name": "hook"}).encode()
        req = urllib.request.Request(base + "/webhook/github", data=body, method="POST", headers={
            "X-GitHub-Event": "push", "Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256=" + hmac.new(b"gh-secret", body, hashlib.sha256).hexdigest()})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 202
        line = serve.wait_for(lambda l: "temporal: started workflow on_push-" in l, timeout=30)
        wid = line.split("temporal: started workflow ", 1)[1].split()[0]
        serve.wait_for(lambda l: "on_push" in l and "success" in l, timeout=30)
    finally:
        serve.stop()
    shown = json.loads(temporal_server.cli("workflow", "show", "-w", wid, "-o", "json"))
    closing = shown["events"][-1]
    assert closing["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    described = json.loads(temporal_server.cli("workflow", "result", "-w", wid, "-o", "json"))
    assert described["result"] == {"greeting": "hello hook"}
