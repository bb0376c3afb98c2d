"""Native plugins through the real `task` binary: `task run`, `task plugins`, `task reload-plugins`, and
`task serve` with hot reload while a schedule runs. The plugins are the test plugins of tests/plugins/."""

import json
import os
import re
import shutil
import time
import urllib.error
import urllib.request

import pytest

from conftest import BIN_DIR
from serve_helpers import Serve

PLUGINS = BIN_DIR.parent / "test-plugins"


def plugin(name):
    path = PLUGINS / f"{name}.so"
    if not path.exists():
        raise RuntimeError(f"{path} is missing: build the test plugins first")
    return path


def install(name, directory, as_name=None):
    """Copies a test plugin into `directory` atomically (temporary name, then rename), as a deploy would."""
    directory.mkdir(exist_ok=True)
    target = directory / (as_name or f"{name}.so")
    temp = directory / f".{target.name}.tmp"
    shutil.copyfile(plugin(name), temp)
    os.replace(temp, target)
    return target


@pytest.fixture
def plugged(task, tmp_path):
    task.env["CASCADENCE_HOME"] = str(tmp_path / "home")
    install("good", tmp_path / "plugins")
    return task


def port_of(serve):
    line = serve.wait_for(lambda l: "listening on http://" in l)
    return int(re.search(r":(\d+)$", line).group(1))


def api(port, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_task_run_uses_plugin_processors_beside_built_in_ones(plugged, tmp_path):
    plugged.write_config("""
plugins: [plugins]
tasks:
  first:
    plugin: good.echo
    params: {n: 3, name: x, on: true}
  slow:
    plugin: good.delay
    params: {ms: 50}
    after: first
  last:
    echo: done
    after: slow
""")
    r = plugged("run", "last")
    assert r.returncode == 0, r.stderr
    both = r.stdout + r.stderr
    assert 'first | echo {"n":3,"name":"x","on":true}' in r.stdout
    assert "slow | working" in r.stderr
    assert "slow | version 1" in r.stdout
    assert "run: 3 success" in both


@pytest.mark.parametrize("name,status,error", [
    ("good.fail", "failed", "INTERNAL: boom"),
    ("good.throws", "failed", "kaboom"),
    ("good.refuse_start", "failed", "this input is refused"),
])
def test_a_failing_plugin_fails_its_task_with_its_message(plugged, name, status, error):
    plugged.write_config(f"plugins: [plugins]\ntasks:\n  t:\n    plugin: {name}\n")
    r = plugged("run", "t")
    assert r.returncode == 1
    assert f"task t: {status}" in r.stdout + r.stderr
    assert error in r.stdout + r.stderr


def test_a_plugin_that_never_completes_is_timed_out(plugged):
    plugged.write_config("plugins: [plugins]\ntasks:\n  t:\n    plugin: good.hang\n    timeout: 200ms\n")
    r = plugged("run", "t", timeout=20)
    assert r.returncode == 1
    assert "task t: timed_out" in r.stdout + r.stderr
    assert "timed out after 200ms" in r.stdout + r.stderr


def test_an_unknown_plugin_processor_is_a_configuration_error_with_its_position(plugged, tmp_path):
    plugged.write_config("plugins: [plugins]\ntasks:\n  t:\n    plugin: good.nope\n")
    r = plugged("run", "t")
    assert r.returncode == 2
    assert r.stderr.strip().endswith(
        "error: cascadence.yml:4:13: tasks.t.plugin: unknown plugin processor 'good.nope' (loaded: good.blocking, "
        "good.delay, good.echo, good.fail, good.hang, good.late, good.noop, good.quick, good.refuse_start, "
        "good.throws, ...)")


def test_params_the_plugin_refuses_are_a_configuration_error(plugged):
    plugged.write_config("plugins: [plugins]\ntasks:\n  t:\n    plugin: good.echo\n    params: {bad: 1}\n")
    r = plugged("run", "t")
    assert r.returncode == 2
    assert r.stderr.strip().endswith(
        "error: cascadence.yml:4:13: tasks.t.plugin: good.echo refused its params (params.bad is not allowed)")


def test_task_plugins_lists_what_loaded_and_fails_on_a_bad_plugin(plugged, tmp_path):
    plugged.write_config("plugins: [plugins]\ntasks: {}\n")
    r = plugged("plugins", "--json")
    assert r.returncode == 0, r.stderr
    listing = json.loads(r.stdout)
    assert listing["errors"] == []
    [good] = listing["plugins"]
    assert good["name"] == "good" and good["runtime"] == "cpp" and good["abi"] == "1.0"
    assert good["isolation"] == "in_process"
    assert good["path"] == str(tmp_path / "plugins" / "good.so")
    assert len(good["sha256"]) == 64
    processors = {p["name"]: p for p in good["processors"]}
    assert processors["good.blocking"]["blocking"] is True and processors["good.blocking"]["immediate"] is False
    assert processors["good.quick"]["immediate"] is True

    install("abi_major", tmp_path / "plugins")
    install("duplicate", tmp_path / "plugins", "zz_duplicate.so")  # after good.so: the second one is refused
    r = plugged("plugins")
    assert r.returncode == 2
    assert "isolation  in_process" in r.stdout
    assert " good.quick (immediate)" in r.stdout and " good.blocking (blocking)" in r.stdout
    assert f"error: {tmp_path}/plugins/abi_major.so: ABI major 2, this host speaks 1\n" in r.stderr
    assert (f"error: {tmp_path}/plugins/zz_duplicate.so: refused: processor \"good.noop\" is already provided by "
            f"{tmp_path}/plugins/good.so\n") in r.stderr


def test_plugin_path_environment_and_a_world_writable_file(plugged, tmp_path):
    other = tmp_path / "elsewhere"
    install("good", other)
    plugged.env["CASCADENCE_PLUGIN_PATH"] = str(other)
    plugged.write_config("tasks: {}\n")
    os.chmod(other / "good.so", 0o666)
    r = plugged("plugins")
    assert r.returncode == 2
    assert f"error: {other}/good.so: refused: the file is world-writable" in r.stderr
    os.chmod(other / "good.so", 0o644)
    r = plugged("plugins")
    assert r.returncode == 0, r.stderr


def test_reload_plugins_alone_checks_every_plugin(plugged, tmp_path):
    plugged.write_config("plugins: [plugins]\ntasks: {}\n")
    r = plugged("reload-plugins", "--port", "1")
    assert r.returncode == 0, r.stderr
    assert "checked 1 plugin(s), 0 error(s)" in r.stdout
    install("info_json", tmp_path / "plugins")
    r = plugged("reload-plugins", "--port", "1")
    assert r.returncode == 1
    assert f"error: {tmp_path}/plugins/info_json.so: info is not JSON (incomplete JSON)" in r.stderr


def test_hot_reload_during_a_schedule_lets_the_run_in_flight_finish_on_the_old_code(plugged, tmp_path):
    plugged.write_config("""
plugins: [plugins]
tasks:
  slow:
    plugin: good.delay
    params: {ms: 1500}
    schedule: "* * * * * *"
""")
    serve = Serve(plugged)
    try:
        serve.wait_for(lambda l: " fire slow " in l, timeout=15)
        install("good_v2", tmp_path / "plugins", "good.so")
        reloaded = serve.wait_for(lambda l: "plugins: reloaded good (sha256 " in l, timeout=10)
        lines = serve.snapshot()
        at = lines.index(reloaded)
        assert not any("slow | version" in l for l in lines[:at]), "the first run finished before the reload"
        serve.wait_for(lambda l: "slow | version 1" in l, timeout=10)
        serve.wait_for(lambda l: "slow | version 2" in l, timeout=10)
        lines = serve.snapshot()
        first_v1 = next(i for i, l in enumerate(lines) if "slow | version 1" in l)
        assert first_v1 > at  # it was in flight during the reload, and finished on version 1
        assert not any("slow | version 1" in l for l in lines[first_v1 + 1:] if "version 2" in l)
    finally:
        assert serve.stop() == 0


def test_serve_keeps_serving_after_every_bad_case(plugged, tmp_path):
    plugged.write_config("""
plugins: [plugins]
tasks:
  fail: {plugin: good.fail}
  hang: {plugin: good.hang, timeout: 200ms}
  twice: {plugin: good.twice}
  late: {plugin: good.late, timeout: 100ms}
  throws: {plugin: good.throws}
  ok: {plugin: good.noop}
""")
    serve = Serve(plugged)
    try:
        port = port_of(serve)
        expected = {
            "fail": ("failed", "INTERNAL: boom"),
            "hang": ("timed_out", "timed out after 200ms"),
            "twice": ("success", None),
            "late": ("timed_out", "timed out after 100ms"),
            "throws": ("failed", "kaboom"),
            "ok": ("success", None),
        }
        for name, (status, error) in expected.items():
            code, run = api(port, "POST", f"/api/v1/tasks/{name}/runs?wait=true", {})
            assert code == 200, run
            [t] = run["tasks"]
            assert t["status"] == status, (name, t)
            assert t["error"] == error or (error is None and not t["error"]), (name, t)
        serve.wait_for(lambda l: "plugin good: complete() called twice for run " in l and "of task twice" in l)

        # A bad plugin dropped into the watched directory is reported; the good one stays.
        install("abi_major", tmp_path / "plugins")
        serve.wait_for(lambda l: "plugin not loaded: " in l and "abi_major.so: ABI major 2, this host speaks 1" in l)
        code, listing = api(port, "GET", "/api/v1/plugins")
        assert code == 200
        assert [p["name"] for p in listing["plugins"]] == ["good"]
        assert listing["errors"] == [f"{tmp_path}/plugins/abi_major.so: ABI major 2, this host speaks 1"]

        # `task reload-plugins` reaches this serve and reports the error too.
        r = plugged("reload-plugins", "--port", str(port))
        assert r.returncode == 1
        assert "abi_major.so: ABI major 2, this host speaks 1" in r.stderr
        os.remove(tmp_path / "plugins" / "abi_major.so")
        r = plugged("reload-plugins", "--port", str(port))
        assert r.returncode == 0, r.stderr
        assert "plugins: nothing changed" in r.stdout

        code, run = api(port, "POST", "/api/v1/tasks/ok/runs?wait=true", {})
        assert code == 200 and run["tasks"][0]["status"] == "success"
        code, health = api(port, "GET", "/healthz")
        assert code == 200
    finally:
        assert serve.stop() == 0
