"""Shutdown of `task serve` and `task webhook` whatever signals arrive, and when."""

import os
import signal
import subprocess
import time

import pytest

from serve_helpers import Serve


def wait_exit(proc, timeout):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError(f"still running {timeout}s after the signals")


@pytest.mark.parametrize("command", ["serve", "webhook"])
@pytest.mark.parametrize("gap", [0.0, 0.001, 0.003, 0.005, 0.02])
def test_a_second_signal_right_after_the_first_still_lets_the_process_exit(task, command, gap):
    proc = task.popen(command, "--port", "0")
    try:
        # Wait until it serves: the signals must reach the running loop.
        deadline = time.monotonic() + 30
        for line in proc.stdout:
            if "schedule(s) active" in line or "nothing is fired" in line:
                break
            assert time.monotonic() < deadline, "never started"
        os.kill(proc.pid, signal.SIGINT)
        if gap:
            time.sleep(gap)
        os.kill(proc.pid, signal.SIGINT)
        status = wait_exit(proc, 20)
        rest = proc.stdout.read()
        # Exit 0, or, when the second signal came only once the service had
        # stopped and its handlers were gone, the signal's own ending.
        assert status == 0 or (status == -signal.SIGINT and "stopped" in rest), (status, rest)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_a_second_signal_cancels_a_running_fire_and_the_process_exits(task):
    task.write_config("""
kill_grace: 1s
tasks:
  slow:
    command: 'sleep 60'
    schedule: '* * * * * *'
""")
    srv = Serve(task)
    srv.wait_for(lambda l: " fire slow " in l, timeout=30)
    srv.proc.send_signal(signal.SIGTERM)
    srv.wait_for(lambda l: "SIGTERM: no more fires" in l, timeout=10)
    started = time.monotonic()
    assert srv.stop(signal.SIGTERM, timeout=30) == 0
    # Cancelled, not waited for: well under the 30 s grace and the 60 s sleep.
    assert time.monotonic() - started < 25
    assert any("again: cancelling" in l for l in srv.snapshot())
    assert any(" done slow " in l and "status=cancelled" in l for l in srv.snapshot()), srv.snapshot()


def test_sighup_with_a_hostile_configuration_is_refused_and_serve_goes_on(task):
    import http.client
    import re

    task.write_config("tasks:\n  a:\n    echo: hi\n")
    srv = Serve(task)
    line = srv.wait_for(lambda l: "listening on http://" in l)
    port = int(re.search(r":(\d+)$", line).group(1))
    task.write_config("tasks: {x: {echo: &a [*a]}}\n")
    srv.proc.send_signal(signal.SIGHUP)
    refused = srv.wait_for(lambda l: "reload refused" in l, timeout=20)
    assert "cascadence.yml:1:19: tasks.x.echo: nested more than 64 levels deep" in refused
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/api/v1/tasks/a/runs?wait=true")
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 200 and b'"status":"success"' in body, body
    assert srv.stop() == 0
