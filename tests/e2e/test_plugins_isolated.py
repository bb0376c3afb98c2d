"""`isolation: process` through the built `task`: plugins in cascadence-plugin-host processes, with
`task run` and under a long-lived `task serve`, crashing on purpose (tests/plugins/isolated/crashy.cpp)."""

import json
import os
import pathlib
import time

import pytest

from serve_helpers import Serve
from test_plugins import api, install, port_of


def host_processes(marker):
    """Pids of cascadence-plugin-host processes whose command line names `marker` (this test's directory)."""
    pids = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"cascadence-plugin-host") and any(marker.encode() in a for a in argv):
            pids.append(int(entry.name))
    return pids


def wait_until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


CONFIG = """
plugins:
  - {path: plugins/crashy.so, isolation: process}
  - {path: plugins/good.so, isolation: process}
tasks:
  ok: {plugin: crashy.ok}
  segv: {plugin: crashy.segv}
  abort: {plugin: crashy.abort}
  hang: {plugin: crashy.hang, timeout: 300ms}
  echo: {plugin: good.echo, params: {n: 1}}
  slow: {plugin: good.delay, params: {ms: 60000}}
  brief: {plugin: good.delay, params: {ms: 1500}}
  both: {echo: both, after: [ok, echo]}
"""


@pytest.fixture
def isolated(task, tmp_path):
    task.env["CASCADENCE_HOME"] = str(tmp_path / "home")
    install("crashy", tmp_path / "plugins")
    install("good", tmp_path / "plugins")
    task.write_config(CONFIG)
    return task


def test_task_run_runs_plugins_in_host_processes_and_leaves_none_behind(isolated, tmp_path):
    r = isolated("run", "both")
    assert r.returncode == 0, r.stderr
    assert 'echo | echo {"n":1}' in r.stdout
    assert "run: 3 success" in r.stdout + r.stderr
    assert host_processes(str(tmp_path)) == []
    assert "Sanitizer" not in r.stderr

    listed = isolated("plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    assert plugins["crashy"]["isolation"] == "process"
    assert plugins["good"]["isolation"] == "process"


@pytest.mark.parametrize("name, how", [("segv", "signal 11, SIGSEGV"), ("abort", "signal 6, SIGABRT")])
def test_a_crashing_plugin_fails_its_task_not_task_run(isolated, tmp_path, name, how):
    r = isolated("run", name)
    assert r.returncode == 1, r.stdout + r.stderr
    both = r.stdout + r.stderr
    assert f"task {name}: failed" in both
    assert f"plugin process for crashy died ({how})" in both
    assert host_processes(str(tmp_path)) == []


def test_a_plugin_that_never_completes_in_its_process_is_timed_out(isolated, tmp_path):
    r = isolated("run", "hang", timeout=30)
    assert r.returncode == 1
    assert "task hang: timed_out" in r.stdout + r.stderr
    # The host process is stopped on the way out, its run with it.
    assert wait_until(lambda: host_processes(str(tmp_path)) == [])


def test_serve_survives_crashing_plugins_and_restarts_their_processes(isolated, tmp_path):
    serve = Serve(isolated)
    try:
        port = port_of(serve)
        # One process per plugin, started when the plugins loaded.
        assert wait_until(lambda: len(host_processes(str(tmp_path))) == 2)
        code, run = api(port, "POST", "/api/v1/tasks/ok/runs?wait=true", {})
        assert code == 200 and run["tasks"][0]["status"] == "success", run
        first = set(host_processes(str(tmp_path)))

        code, run = api(port, "POST", "/api/v1/tasks/segv/runs?wait=true", {})
        assert code == 200, run
        [t] = run["tasks"]
        assert (t["status"], t["error"]) == ("failed", "plugin process for crashy died (signal 11, SIGSEGV)")
        serve.wait_for(lambda l: "plugin crashy: host process " in l and "died (signal 11, SIGSEGV); 1 attempt" in l)

        # The next attempt gets a new process; the other plugin's process was never touched.
        code, run = api(port, "POST", "/api/v1/tasks/ok/runs?wait=true", {})
        assert code == 200 and run["tasks"][0]["status"] == "success", run
        code, run = api(port, "POST", "/api/v1/tasks/echo/runs?wait=true", {})
        assert code == 200 and run["tasks"][0]["status"] == "success", run
        now = set(host_processes(str(tmp_path)))
        assert len(now) == 2 and len(now & first) == 1

        code, run = api(port, "POST", "/api/v1/tasks/hang/runs?wait=true", {})
        assert code == 200 and run["tasks"][0]["status"] == "timed_out", run

        code, listing = api(port, "GET", "/api/v1/plugins")
        assert code == 200
        assert {p["name"]: p["isolation"] for p in listing["plugins"]} == {"crashy": "process", "good": "process"}
        code, _ = api(port, "GET", "/healthz")
        assert code == 200
    finally:
        assert serve.stop() == 0
    assert wait_until(lambda: host_processes(str(tmp_path)) == [])
    # The host processes' standard error is in the log: under the sanitizers, nothing they report.
    assert not [l for l in serve.snapshot() if "Sanitizer" in l]


def test_a_run_in_flight_when_serve_stops_is_cancelled_in_its_process(isolated, tmp_path):
    serve = Serve(isolated, "--grace", "500ms")
    try:
        port = port_of(serve)
        code, run = api(port, "POST", "/api/v1/tasks/slow/runs", {})
        assert code in (200, 201, 202), run
        serve.wait_for(lambda l: "slow ! working" in l, timeout=10)
    finally:
        assert serve.stop() == 0
    assert wait_until(lambda: host_processes(str(tmp_path)) == [])


def test_hot_reload_replaces_the_host_process_of_a_changed_plugin(isolated, tmp_path):
    serve = Serve(isolated)
    try:
        port = port_of(serve)
        assert wait_until(lambda: len(host_processes(str(tmp_path))) == 2)
        before = set(host_processes(str(tmp_path)))
        # A run in flight in the old process when the file changes.
        code, started = api(port, "POST", "/api/v1/tasks/brief/runs", {})
        assert code == 202, started
        serve.wait_for(lambda l: "brief ! working" in l, timeout=10)
        # good_v2 is good with another version: same processors, new bytes.
        install("good_v2", tmp_path / "plugins", as_name="good.so")
        serve.wait_for(lambda l: "plugins: reloaded good (sha256 " in l, timeout=15)
        code, run = api(port, "POST", "/api/v1/tasks/brief/runs?wait=true", {})
        assert code == 200 and run["tasks"][0]["output"]["version"] == 2, run
        # The run in flight finished on the old code, in the old process.
        assert wait_until(lambda: api(port, "GET", f"/api/v1/runs/{started['run_id']}")[1]["status"] != "running")
        code, old = api(port, "GET", f"/api/v1/runs/{started['run_id']}")
        assert old["status"] == "success" and old["tasks"][0]["output"]["version"] == 1, old
        # The old good process went away once nothing used it; crashy's stayed.
        assert wait_until(lambda: len(set(host_processes(str(tmp_path))) & before) == 1)
        assert len(host_processes(str(tmp_path))) == 2
    finally:
        assert serve.stop() == 0
    assert os.path.exists(tmp_path / "plugins" / "good.so")
