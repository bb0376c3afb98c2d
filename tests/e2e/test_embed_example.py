"""The embedding example runs a graph on a host-owned io_context beside the host's coroutines."""

import subprocess

from conftest import binary


def test_the_host_keeps_running_while_the_graph_runs():
    r = subprocess.run([str(binary("cascadence-embed-example"))], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    start = lines.index("host: starting the graph")
    end = lines.index("host: graph finished")
    # The host's heartbeat fired while the graph was running on its loop.
    assert any(line.startswith("host: heartbeat") for line in lines[start:end])
    assert "graph: crunch success 42" in lines
    assert lines[end - 1].startswith("graph: report success")


def test_the_host_runs_the_whole_service_on_its_loop_and_stops_it():
    r = subprocess.run([str(binary("cascadence-embed-example"))], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert 'initialize: hello success {"greeting":"hello from the service"}' in lines
    assert 'service: run "success" {"greeting":"hello from the service"}' in lines
    assert lines[-1] == "host: service stopped"
