"""Run events over a real NATS server (Debian's nats-server), read by a real
client (nats-py): every event of a graph run on its task's subject, in
order, with the right hash; a server killed mid-run costs the run nothing,
the drops are counted, and events flow again once it is back.

ctest's `nats` fixture starts the shared server (scripts/services/nats
start); the kill-and-restart test runs a server of its own. By hand:

    CASCADENCE_SERVICES_DIR=/tmp/s scripts/services/nats start
    CASCADENCE_SERVICES_DIR=/tmp/s python3 -m pytest tests/e2e/test_events_nats.py
"""

import json
import os
import pathlib
import queue
import re
import shutil
import socket
import subprocess
import threading
import time

import pytest

from event_helpers import check_task_events, user_hash
from serve_helpers import Serve, http_request as request, listening_port as serve_port

HERE = pathlib.Path(__file__).resolve().parent


def services_env() -> dict:
    services = os.environ.get("CASCADENCE_SERVICES_DIR", f"/tmp/cascadence-services-{os.getuid()}")
    path = pathlib.Path(services) / "nats" / "env"
    if not path.exists():
        raise RuntimeError(f"no NATS server: {path} is missing. ctest starts one (fixture `nats`); by hand: "
                           f"CASCADENCE_SERVICES_DIR={services} scripts/services/nats start")
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


class Subscriber:
    """tests/e2e/nats_subscriber.py in the NATS virtualenv, its messages queued."""

    def __init__(self, python, url, subject):
        self.proc = subprocess.Popen([python, str(HERE / "nats_subscriber.py"), url, subject],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.messages = queue.Queue()
        ready = threading.Event()

        def read():
            for line in self.proc.stdout:
                if line.strip() == "ready":
                    ready.set()
                else:
                    self.messages.put(json.loads(line))

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(20):
            self.proc.kill()
            raise AssertionError("the NATS subscriber did not get ready: " + self.proc.stderr.read())

    def take(self, count, timeout=10.0):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{len(out)} of {count} messages within {timeout}s: {out}")
            try:
                out.append(self.messages.get(timeout=left))
            except queue.Empty:
                pass
        return out

    def close(self):
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def nats_env():
    return services_env()


GRAPH = """
tasks:
  fetch: {echo: fetched, description: "gets it"}
  build: {command: "echo built", after: [fetch]}
  publish: {echo: done, after: [build]}
"""


def test_every_event_of_a_graph_run_arrives_on_its_tasks_subject(task, nats_env):
    sub = Subscriber(nats_env["NATS_PYTHON"], nats_env["NATS_URL"], "cascadence.>")
    try:
        task.write_config(GRAPH)
        task.env["CASCADENCE_HASH_SECRET"] = "salt"
        r = task("--transport", "nats", "--nats-conn", nats_env["NATS_URL"], "--nats-subject", "cascadence.{task}",
                 "run", "publish", "--user-id", "erin", "--json")
        assert r.returncode == 0, r.stderr
        assert "dropped" not in r.stderr
        messages = sub.take(6)
        for m in messages:
            event = json.loads(m["data"])
            name = event.get("name") or event["spec"]["name"]
            assert m["subject"] == f"cascadence.{name}"
        events = [json.loads(m["data"]) for m in messages]
        check_task_events(events, {"fetch": "success", "build": "success", "publish": "success"},
                          user_hash("erin", "salt"), json.loads(r.stdout)["run_id"])
        assert "erin" not in r.stdout + r.stderr + "".join(m["data"] for m in messages)
    finally:
        sub.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateNats:
    """A nats-server of this test's own, to kill and start again on one port."""

    def __init__(self):
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.proc = None
        self.start()

    def start(self):
        exe = shutil.which("nats-server")
        assert exe, "nats-server is not installed (scripts/setup installs it)"
        self.proc = subprocess.Popen([exe, "-a", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("nats-server did not listen")

    def kill(self):
        self.proc.kill()
        self.proc.wait(10)


def dropped(metrics_text, reason):
    m = re.search(r'^cascadence_events_dropped_total\{reason="%s",transport="nats"\} (\S+)$' % reason,
                  metrics_text, re.M) or re.search(
        r'^cascadence_events_dropped_total\{transport="nats",reason="%s"\} (\S+)$' % reason, metrics_text, re.M)
    return float(m.group(1)) if m else 0.0


def test_a_killed_server_costs_runs_nothing_and_events_flow_again_after_it_restarts(task, nats_env):
    server = PrivateNats()
    sub = None
    srv = None
    try:
        sub = Subscriber(nats_env["NATS_PYTHON"], server.url, "events")
        task.write_config(f"""
events: {{transport: nats, nats: {{url: '{server.url}'}}, deadline: 200ms}}
tasks:
  ping: {{echo: pong}}
  slow: {{command: "sleep 1; echo slow"}}
""")
        srv = Serve(task)
        port = serve_port(srv)
        status, _ = request(port, "POST", "/api/v1/tasks/ping/runs?wait=true")
        assert status == 200
        assert [json.loads(m["data"])["type"] for m in sub.take(2)] == ["task_spec", "task_run"]

        # Killed while a run is going: the run ends on time all the same.
        status, body = request(port, "POST", "/api/v1/tasks/slow/runs")
        assert status == 202
        time.sleep(0.3)
        server.kill()
        started = time.monotonic()
        status, body = request(port, "POST", "/api/v1/tasks/ping/runs?wait=true")
        assert status == 200 and json.loads(body)["status"] == "success"
        assert time.monotonic() - started < 3
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            _, metrics = request(port, "GET", "/metrics")
            if dropped(metrics.decode(), "send_failed") >= 3:  # slow's task_run, ping's two
                break
            time.sleep(0.1)
        assert dropped(metrics.decode(), "send_failed") >= 3, metrics.decode()
        srv.wait_for(lambda l: re.search(r"error events: \d+ events? dropped on nats", l))

        server.start()
        # libnats reconnects by itself: a run's events arrive again.
        deadline = time.monotonic() + 20
        got = []
        while time.monotonic() < deadline and not got:
            status, _ = request(port, "POST", "/api/v1/tasks/ping/runs?wait=true")
            assert status == 200
            try:
                got = sub.take(2, timeout=1)
            except AssertionError:
                got = []
        assert [json.loads(m["data"])["type"] for m in got] == ["task_spec", "task_run"]
    finally:
        if srv:
            assert srv.stop() == 0
        if sub:
            sub.close()
        server.kill()


def test_a_run_with_no_server_at_all_ends_on_time_and_says_what_was_dropped(task):
    task.write_config(GRAPH)
    started = time.monotonic()
    r = task("--transport", "nats", "--nats-conn", f"nats://127.0.0.1:{free_port()}", "run", "publish")
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - started < 5
    counts = re.findall(r"^warning: events: (\d+) events? dropped on nats", r.stderr, re.M)
    assert sum(map(int, counts)) == 6, r.stderr
