"""cascadence-plugin-host driven over its pipe protocol (plugins/isolated/protocol.hpp) with the test plugins
built by tests/plugins: a real child process, real frames."""

import json
import os
import pathlib
import struct
import subprocess

import pytest

BIN = pathlib.Path(os.environ.get("CASCADENCE_BIN_DIR", "../../build/release/bin"))
HOST = BIN / "cascadence-plugin-host"
PLUGINS = BIN.parent / "test-plugins"


class Host:
    def __init__(self, plugin):
        so = str(PLUGINS / f"{plugin}.so")
        self.proc = subprocess.Popen([str(HOST), so, so, "0" * 64], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)

    def send(self, message):
        body = json.dumps(message).encode()
        self.proc.stdin.write(struct.pack("<I", len(body)) + body)
        self.proc.stdin.flush()

    def recv(self, skip_logs=True):
        while True:
            head = self.proc.stdout.read(4)
            if len(head) < 4:
                return None
            message = json.loads(self.proc.stdout.read(struct.unpack("<I", head)[0]))
            if not (skip_logs and message["op"] == "log"):
                return message

    def close(self):
        self.proc.stdin.close()
        return self.proc.wait(timeout=10)


@pytest.fixture
def good():
    host = Host("good")
    yield host
    if host.proc.poll() is None:
        host.proc.kill()
        host.proc.wait()


def test_hello_names_the_plugin_and_its_processors(good):
    hello = good.recv()
    assert hello["op"] == "hello"
    assert hello["pid"] == good.proc.pid
    assert hello["plugin"]["name"] == "good"
    assert hello["plugin"]["runtime"] == "cpp"
    assert [hello["plugin"]["abi_major"], hello["plugin"]["abi_minor"]] == [1, 0]
    names = {p["name"]: p for p in hello["processors"]}
    assert names["good.echo"]["index"] == 1
    assert names["good.blocking"]["blocking"] is True
    assert names["good.quick"]["immediate"] is True and names["good.echo"]["immediate"] is False
    assert good.close() == 0


def test_a_run_streams_its_output_then_completes_with_its_result(good):
    good.recv()
    good.send({"op": "create", "instance": 1, "index": 1, "params": {"a": 1}})
    assert good.recv() == {"op": "created", "instance": 1}
    good.send({"op": "start", "instance": 1, "run": 7, "input": {"task": "t", "input": None, "dependencies": {}}})
    assert good.recv() == {"op": "output", "run": 7, "stream": 0, "line": 'echo {"a":1}'}
    done = good.recv()
    assert done["op"] == "complete" and done["run"] == 7 and done["status"] == 0
    assert json.loads(done["result"]) == {"params": {"a": 1}, "input": {"task": "t", "input": None,
                                                                         "dependencies": {}}}
    assert good.close() == 0


def test_a_refused_start_and_an_unknown_instance_complete_with_the_reason(good):
    good.recv()
    good.send({"op": "create", "instance": 2, "index": 4, "params": None})
    assert good.recv() == {"op": "created", "instance": 2}
    good.send({"op": "start", "instance": 2, "run": 8, "input": {}})
    assert good.recv() == {"op": "complete", "run": 8, "status": 1, "refused": True, "error": "this input is refused"}
    good.send({"op": "start", "instance": 9, "run": 9, "input": {}})
    assert good.recv() == {"op": "complete", "run": 9, "status": 1, "error": "unknown instance", "refused": True}
    assert good.close() == 0


def test_a_blocking_processor_runs_on_the_pool_and_cancel_reaches_a_delayed_run(good):
    good.recv()
    good.send({"op": "create", "instance": 1, "index": 2, "params": {"ms": 60000}})
    good.send({"op": "create", "instance": 2, "index": 9, "params": {"ms": 10}})
    assert good.recv()["op"] == "created"
    assert good.recv()["op"] == "created"
    good.send({"op": "start", "instance": 1, "run": 1, "input": {}})
    good.send({"op": "start", "instance": 2, "run": 2, "input": {}})
    good.send({"op": "cancel", "run": 1})
    done = {}
    while len(done) < 2:
        message = good.recv()
        if message["op"] == "complete":
            done[message["run"]] = message
        else:
            assert message == {"op": "output", "run": 1, "stream": 1, "line": "working"}
    assert done[2]["status"] == 0
    assert done[1]["status"] == 3 and done[1]["error"] == "stopped"  # CANCELLED
    assert good.close() == 0


def test_a_plugin_that_does_not_load_is_reported_with_its_path_and_exit_status_2():
    host = Host("no_entry")
    fatal = host.recv()
    assert fatal == {"op": "fatal",
                     "error": f"{PLUGINS / 'no_entry.so'}: missing entry symbol cascadence_plugin_entry"}
    assert host.recv() is None
    assert host.proc.wait(timeout=10) == 2


def test_a_frame_that_is_not_json_ends_the_host_with_status_3(good):
    good.recv()
    good.proc.stdin.write(struct.pack("<I", 3) + b"{{{")
    good.proc.stdin.flush()
    assert good.proc.wait(timeout=10) == 3
    assert "a frame that is not a JSON object" in good.proc.stderr.read().decode()


@pytest.mark.parametrize("index, signal", [(1, -11), (2, -6)])
def test_a_plugin_that_crashes_in_start_takes_only_its_host_process_down(index, signal):
    host = Host("crashy")
    assert host.recv()["op"] == "hello"
    host.send({"op": "create", "instance": 1, "index": 0, "params": None})
    host.send({"op": "create", "instance": 2, "index": index, "params": None})
    assert host.recv()["op"] == "created"
    assert host.recv()["op"] == "created"
    host.send({"op": "start", "instance": 1, "run": 1, "input": {}})
    done = host.recv()
    assert done == {"op": "complete", "run": 1, "status": 0, "result": '{"ok": true}'}
    host.send({"op": "start", "instance": 2, "run": 2, "input": {}})
    assert host.recv() is None  # no complete: the process died in start()
    assert host.proc.wait(timeout=10) == signal
