"""Run events over gRPC: one unary call per event, in order, to a real
grpcio server implementing cascadence.events.v1.EventSink from our .proto
(adapters/events/proto); a method chosen with --grpc-method; a server that
refuses or is gone costs the run nothing and the drops are reported."""

import json
import pathlib
import re
import socket
import subprocess
import time

import pytest

from event_helpers import check_task_events, user_hash
from test_events_nats import services_env

HERE = pathlib.Path(__file__).resolve().parent
PROTO_ROOT = HERE.parents[1] / "adapters" / "events" / "proto"

GRAPH = """
tasks:
  fetch: {echo: fetched}
  build: {command: "echo built", after: [fetch]}
  publish: {echo: done, after: [build]}
"""


class Sink:
    def __init__(self, *args):
        python = services_env()["EVENTS_PYTHON"]
        self.proc = subprocess.Popen([python, str(HERE / "grpc_event_sink.py"), str(PROTO_ROOT), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            self.proc.kill()
            raise AssertionError("the gRPC sink did not start: " + line + self.proc.stderr.read())
        self.target = f"127.0.0.1:{int(line.split()[1])}"

    def received(self, count, timeout=10):
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < count and time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line:
                out.append(json.loads(line))
        return out

    def close(self):
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.close()


def test_each_event_is_one_unary_call_in_order(task, sink):
    task.write_config(GRAPH)
    r = task("--transport", "grpc", "--grpc-stub", sink.target, "run", "publish", "--user-id", "frank", "--json")
    assert r.returncode == 0, r.stderr
    assert "dropped" not in r.stderr
    calls = sink.received(6)
    assert [c["method"] for c in calls] == ["Send"] * 6
    events = [json.loads(c["json"]) for c in calls]
    check_task_events(events, {"fetch": "success", "build": "success", "publish": "success"},
                      user_hash("frank"), json.loads(r.stdout)["run_id"])
    assert [c["task"] for c in calls] == ["fetch", "fetch", "build", "build", "publish", "publish"]


def test_the_method_can_be_chosen_in_the_configuration(task, sink):
    task.write_config(f"events: {{transport: grpc, grpc: {{target: '{sink.target}', method: Record}}}}\n" + GRAPH)
    assert task("run", "fetch").returncode == 0
    assert [c["method"] for c in sink.received(2)] == ["Record", "Record"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("kind", ["refusing", "absent"])
def test_a_server_that_refuses_or_is_absent_costs_the_run_nothing(task, kind):
    refusing = Sink("--fail") if kind == "refusing" else None
    target = refusing.target if refusing else f"127.0.0.1:{free_port()}"
    try:
        task.write_config(GRAPH)
        started = time.monotonic()
        r = task("--transport", "grpc", "--grpc-stub", target, "run", "publish")
        assert r.returncode == 0, r.stderr
        assert time.monotonic() - started < 10
        counts = re.findall(r"^warning: events: (\d+) events? dropped on grpc", r.stderr, re.M)
        assert sum(map(int, counts)) == 6, r.stderr
    finally:
        if refusing:
            refusing.close()
