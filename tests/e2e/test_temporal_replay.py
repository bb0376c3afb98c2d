"""`task replay-history`: timelines of histories exported from a real dev
server (tests/fixtures/temporal/), in both event-type spellings, checked
against the graph of a task; histories fetched from the running dev server by
workflow id; and files that are truncated, garbage or tampered with."""

import json
import pathlib

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "temporal"

GRAPH = """
tasks:
  extract:
    echo: e
  transform:
    echo: t
    after: [extract]
  load:
    echo: l
    after: [transform]
  pipeline:
    echo: p
    after: [load]
"""


def fixture(name):
    return str(FIXTURES / name)


def test_a_completed_history_is_consistent_with_its_graph(task):
    task.write_config(GRAPH)
    r = task("replay-history", fixture("pipeline-completed.json"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split("\t")[1:3] == ["1", "WORKFLOW_EXECUTION_STARTED"]
    scheduled = [l.split("\t")[3] for l in lines if "\tACTIVITY_TASK_SCHEDULED\t" in l]
    assert scheduled == ["extract", "transform", "load"]
    assert lines[-1].split("\t")[2:] == ["WORKFLOW_EXECUTION_COMPLETED", '{"loaded":{"count":3}}']
    assert "consistent with the graph of task pipeline" in r.stderr


def test_both_spellings_give_the_same_timeline(task):
    task.write_config(GRAPH)
    for name in ("pipeline-completed", "flaky-retried"):
        new = task("replay-history", fixture(name + ".json"), "--json")
        old = task("replay-history", fixture(name + "-gogo.json"), "--json")
        assert new.returncode == 0 and old.returncode == 0, new.stderr + old.stderr
        a, b = json.loads(new.stdout), json.loads(old.stdout)
        assert a["events"] == b["events"]
        assert a["consistent"] and b["consistent"]


def test_retries_failures_cancellation_time_outs_and_termination_are_shown(task):
    r = task("replay-history", fixture("flaky-retried.json"))
    assert r.returncode == 0, r.stderr
    assert "attempt 3\tretried after: wobble attempt 2 failed (type Wobble)" in r.stdout
    r = task("replay-history", fixture("fails-failed.json"))
    assert r.returncode == 0, r.stderr
    assert "WORKFLOW_EXECUTION_FAILED\tboom: the data was bad (type BoomError, non-retryable)" in r.stdout
    assert "WORKFLOW_EXECUTION_CANCELED" in task("replay-history", fixture("slow-cancelled.json")).stdout
    assert "WORKFLOW_EXECUTION_TIMED_OUT" in task("replay-history", fixture("sleepy-timed-out.json")).stdout
    r = task("replay-history", fixture("slow-terminated.json"))
    assert "WORKFLOW_EXECUTION_TERMINATED\toperator said so" in r.stdout
    assert "checked on its own" in r.stderr


def test_a_graph_the_history_does_not_follow_is_named_at_the_event(task):
    # transform now also waits for a task that never ran in the workflow.
    task.write_config(GRAPH.replace("after: [extract]", "after: [extract, validate]") + "  validate:\n    echo: v\n")
    r = task("replay-history", fixture("pipeline-completed.json"), "--task", "pipeline")
    assert r.returncode == 1, r.stderr
    assert "diverges at event 11" in r.stderr
    assert "expected transform scheduled after validate completed" in r.stderr
    assert "the history has transform scheduled while validate had not completed" in r.stderr

    # A graph without `load`: the history schedules an activity it does not know.
    task.write_config(GRAPH.replace("after: [load]", "after: [transform]").replace(
        "  load:\n    echo: l\n    after: [transform]\n", ""))
    r = task("replay-history", fixture("pipeline-completed.json"), "--task", "pipeline", "--json")
    assert r.returncode == 1
    verdict = json.loads(r.stdout)
    assert verdict["consistent"] is False
    assert verdict["divergence"]["found"] == "activity load"


def test_a_task_completed_twice_is_a_divergence(task, tmp_path):
    history = json.loads((FIXTURES / "pipeline-completed.json").read_text())
    events = history["events"]
    completed = next(e for e in events if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_COMPLETED")
    at = events.index(completed)
    events.insert(at + 1, dict(completed))
    for i, e in enumerate(events):
        e["eventId"] = str(i + 1)
    path = tmp_path / "twice.json"
    path.write_text(json.dumps(history))
    r = task("replay-history", str(path))
    assert r.returncode == 1
    assert f"diverges at event {at + 2}" in r.stderr
    assert "closed once" in r.stderr


def test_truncated_garbage_and_missing_histories_exit_2_naming_where(task, tmp_path):
    text = (FIXTURES / "pipeline-completed.json").read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(text[: len(text) // 2])
    r = task("replay-history", str(cut))
    assert r.returncode == 2
    assert "event index" in r.stderr and "truncated" in r.stderr
    assert r.stdout == ""

    garbage = tmp_path / "garbage.json"
    garbage.write_text(text[:2000] + "}}]]garbage" + text[2000:])
    r = task("replay-history", str(garbage))
    assert r.returncode == 2
    assert "invalid JSON at byte" in r.stderr and "event index" in r.stderr

    no_id = tmp_path / "no-id.json"
    no_id.write_text(json.dumps({"events": [{"eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"}]}))
    r = task("replay-history", str(no_id))
    assert r.returncode == 2
    assert "event index 0: the event has no eventId" in r.stderr

    r = task("replay-history", str(tmp_path / "absent.json"))
    assert r.returncode == 2
    assert "cannot read" in r.stderr

    r = task("replay-history")
    assert r.returncode == 2
    assert "one of them" in r.stderr


def test_a_history_is_fetched_from_the_cluster_by_workflow_id(task, temporal_server, temporal_worker):
    task.write_config(GRAPH.replace("    echo: p\n    after: [load]\n", "    workflow: pipeline\n    after: [load]\n") + f"""
temporal:
  http_address: {temporal_server.http_address}
  task_queue: {temporal_worker.task_queue}
""")
    r = task("run", "pipeline", "--temporal")
    assert r.returncode == 0, r.stderr
    wid = r.stderr.split("temporal: started workflow ", 1)[1].split()[0]
    r = task("replay-history", "--workflow-id", wid, "--json")
    assert r.returncode == 0, r.stderr
    verdict = json.loads(r.stdout)
    assert verdict["task"] == "pipeline"
    assert verdict["consistent"] is True
    assert [e["activity"] for e in verdict["events"] if e["type"] == "ACTIVITY_TASK_COMPLETED"] == [
        "extract", "transform", "load"]

    r = task("replay-history", "--workflow-id", "no-such-workflow")
    assert r.returncode == 2
    assert "no-such-workflow" in r.stderr
