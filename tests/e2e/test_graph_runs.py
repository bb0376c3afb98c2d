"""Graphs of command tasks: order, parallelism, failure, timeouts, retries, signals."""

import json
import signal
import time

from conftest import process_gone


def run_json(task, *targets, **kw):
    r = task("run", "--json", *targets, **kw)
    return r, json.loads(r.stdout)


def by_name(report):
    return {t["name"]: t for t in report["tasks"]}


def test_tasks_run_in_dependency_order_and_receive_outputs(task):
    task.write_config(
        """
tasks:
  extract: {command: "echo '{\\"rows\\": 2}'"}
  transform:
    command: python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["dependencies"]["extract"]["rows"] * 10)'
    after: [extract]
  load:
    command: cat
    after: [transform]
"""
    )
    r, report = run_json(task, "load")
    assert r.returncode == 0, r.stderr
    assert [t["name"] for t in report["tasks"]] == ["extract", "transform", "load"]
    tasks = by_name(report)
    assert tasks["transform"]["output"] == 20
    assert tasks["load"]["output"]["dependencies"] == {"transform": 20}
    assert tasks["extract"]["finished"] <= tasks["transform"]["started"]


def test_independent_tasks_run_concurrently(task):
    task.write_config("tasks:\n  a: {command: sleep 1}\n  b: {command: sleep 1}\n  both: {echo: done, after: [a, b]}\n")
    start = time.monotonic()
    r, report = run_json(task, "both")
    elapsed = time.monotonic() - start
    assert r.returncode == 0, r.stderr
    tasks = by_name(report)
    # Each sleeps a second; run one after the other they would need two.
    assert tasks["a"]["started"] < tasks["b"]["finished"] and tasks["b"]["started"] < tasks["a"]["finished"]
    assert elapsed < 1.8, elapsed


def test_max_concurrency_serialises_independent_tasks(task):
    task.write_config("max_concurrency: 1\ntasks:\n  a: {command: sleep 0.3}\n  b: {command: sleep 0.3}\n")
    r, report = run_json(task, "a", "b")
    assert r.returncode == 0
    a, b = by_name(report)["a"], by_name(report)["b"]
    assert a["finished"] <= b["started"] or b["finished"] <= a["started"]


def test_a_failed_task_skips_its_dependents_and_independent_branches_finish(task):
    task.write_config(
        """
tasks:
  broken: {command: "echo 'cannot connect' >&2; exit 3"}
  child: {command: echo child, after: [broken]}
  grandchild: {command: echo grandchild, after: [child]}
  sibling: {command: echo sibling}
  all: {echo: all, after: [grandchild, sibling]}
"""
    )
    r, report = run_json(task, "all")
    assert r.returncode == 1
    tasks = by_name(report)
    assert tasks["broken"]["status"] == "failed"
    assert tasks["broken"]["error"] == "exited with status 3: cannot connect"
    assert tasks["child"]["status"] == "skipped"
    assert tasks["grandchild"]["status"] == "skipped"
    assert tasks["all"]["status"] == "skipped"
    assert tasks["sibling"]["status"] == "success"
    assert report["status"] == "failed"
    # The human view names the skipped tasks too.
    plain = task("run", "all")
    assert "task child: skipped (dependency 'broken' did not succeed)" in plain.stderr


def test_a_cycle_is_refused_with_its_path(task):
    task.write_config("tasks:\n  a: {echo: a, after: c}\n  b: {echo: b, after: a}\n  c: {echo: c, after: b}\n")
    r = task("run", "a")
    assert r.returncode == 2
    assert r.stderr == "error: cascadence.yml:2:6: dependency cycle: a -> b -> c -> a\n"
    assert task("list").returncode == 2


def test_a_task_over_its_timeout_is_killed_and_reported_timed_out(task):
    pidfile = task.cwd / "child.pid"
    task.write_config(f"tasks:\n  slow:\n    command: echo $$ > {pidfile}; exec sleep 30\n    timeout: 500ms\n")
    start = time.monotonic()
    r, report = run_json(task, "slow")
    assert time.monotonic() - start < 10
    assert r.returncode == 1
    slow = report["tasks"][0]
    assert slow["status"] == "timed_out"
    assert slow["error"] == "timed out after 500ms"
    assert process_gone(int(pidfile.read_text()))


def test_retries_run_a_failing_task_once_per_retry_more(task):
    counter = task.cwd / "attempts"
    task.write_config(
        f"tasks:\n  flaky:\n    command: echo $CASCADENCE_ATTEMPT >> {counter}; exit 1\n"
        "    retries: 2\n    retry_backoff: 10ms\n"
    )
    r, report = run_json(task, "flaky")
    assert r.returncode == 1
    assert counter.read_text().split() == ["1", "2", "3"]
    assert report["tasks"][0]["attempts"] == 3


def test_a_retry_that_succeeds_makes_the_run_succeed(task):
    task.write_config(
        "tasks:\n  flaky:\n    command: test $CASCADENCE_ATTEMPT -ge 2\n    retries: 3\n    retry_backoff: 10ms\n"
    )
    r, report = run_json(task, "flaky")
    assert r.returncode == 0
    assert report["tasks"][0]["attempts"] == 2


def test_sigint_terminates_running_children_and_exits_promptly(task):
    task.write_config(
        f"""
tasks:
  one: {{command: "echo $$ > {task.cwd}/one.pid; exec sleep 60"}}
  two: {{command: "echo $$ > {task.cwd}/two.pid; exec sleep 60"}}
  after: {{echo: never, after: [one, two]}}
"""
    )
    proc = task.popen("run", "after")
    deadline = time.monotonic() + 10
    while not ((task.cwd / "one.pid").exists() and (task.cwd / "two.pid").exists()):
        assert time.monotonic() < deadline, "children did not start"
        time.sleep(0.05)
    time.sleep(0.1)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert time.monotonic() - sent < 2.0
    assert proc.returncode == 130
    assert "task one: cancelled" in err and "task after: cancelled" in err
    for name in ("one", "two"):
        assert process_gone(int((task.cwd / f"{name}.pid").read_text())), name


def test_sigterm_cancels_too(task):
    task.write_config(f"tasks:\n  long: {{command: 'echo $$ > {task.cwd}/long.pid; exec sleep 60'}}\n")
    proc = task.popen("run", "long")
    deadline = time.monotonic() + 10
    while not (task.cwd / "long.pid").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=10)
    assert proc.returncode == 143
    assert process_gone(int((task.cwd / "long.pid").read_text()))
