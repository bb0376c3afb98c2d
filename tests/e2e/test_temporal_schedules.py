"""With `backend: temporal`, `task schedule` and friends act on Temporal
Schedules of a real dev server (scripts/services/temporal): the schedule lives
in the cluster, fires the task's workflow there, and `task serve` fires
nothing itself."""

import json
import time

from serve_helpers import Serve


def config(server, worker):
    return f"""
backend: temporal
temporal:
  http_address: {server.http_address}
  namespace: {server.namespace}
  task_queue: {worker.task_queue}
tasks:
  greeter:
    workflow: hello
  nightly:
    workflow: hello
  lonely:
    workflow: hello
"""


def describe(server, schedule_id):
    return json.loads(server.cli("schedule", "describe", "--schedule-id", schedule_id, "-o", "json"))


def workflows_of(server, schedule_id):
    out = server.cli("workflow", "list", "--query", f"TemporalScheduledById='{schedule_id}'", "-o", "json")
    return json.loads(out) if out.strip() else []


def test_a_schedule_is_created_in_the_cluster_and_fires_the_tasks_workflow(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker))
    r = task("schedule", "greeter", "*/2 * * * * *", "--timezone", "Europe/Berlin", "--overlap", "allow_all")
    assert r.returncode == 0, r.stderr
    assert "on Temporal (schedule greeter" in r.stdout
    try:
        d = describe(temporal_server, "greeter")
        assert d["schedule"]["spec"]["timezoneName"] == "Europe/Berlin"
        assert d["schedule"]["action"]["startWorkflow"]["workflowType"]["name"] == "hello"
        assert d["schedule"]["action"]["startWorkflow"]["taskQueue"]["name"] == temporal_worker.task_queue
        assert d["schedule"]["policies"]["overlapPolicy"] == "SCHEDULE_OVERLAP_POLICY_ALLOW_ALL"

        # Not this process: the cluster starts the workflows.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
            w.get("status") == "WORKFLOW_EXECUTION_STATUS_COMPLETED" for w in workflows_of(temporal_server, "greeter")
        ):
            time.sleep(0.5)
        assert any(w.get("status") == "WORKFLOW_EXECUTION_STATUS_COMPLETED" for w in workflows_of(temporal_server, "greeter"))

        r = task("schedules", "--json")
        assert r.returncode == 0, r.stderr
        (s,) = [s for s in json.loads(r.stdout) if s["name"] == "greeter"]
        assert s["schedule"] == "*/2 * * * * *"
        assert s["timezone"] == "Europe/Berlin"
        assert s["overlap"] == "allow_all"
        assert s["backend"] == "temporal"
        assert s["paused"] is False
    finally:
        task("unschedule", "greeter")


def test_schedule_again_updates_pause_resume_and_unschedule_act_on_the_cluster(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker))
    assert task("schedule", "nightly", "0 3 * * *", "--timezone", "UTC").returncode == 0
    try:
        r = task("schedule", "nightly", "15 4 * * 1-5", "--timezone", "America/New_York", "--overlap", "buffer_one",
                 "--catchup-window", "10m", "--jitter", "30s")
        assert r.returncode == 0, r.stderr
        d = describe(temporal_server, "nightly")
        spec = d["schedule"]["spec"]
        assert spec["timezoneName"] == "America/New_York"
        assert spec["jitter"] == "30s"
        assert d["schedule"]["policies"]["overlapPolicy"] == "SCHEDULE_OVERLAP_POLICY_BUFFER_ONE"
        assert d["schedule"]["policies"]["catchupWindow"] == "600s"

        assert task("pause", "nightly").returncode == 0
        assert describe(temporal_server, "nightly")["schedule"]["state"].get("paused") is True
        r = task("schedules")
        assert "paused" in [l for l in r.stdout.splitlines() if l.startswith("nightly")][0]
        assert task("resume", "nightly").returncode == 0
        assert not describe(temporal_server, "nightly")["schedule"]["state"].get("paused", False)
    finally:
        r = task("unschedule", "nightly")
    assert r.returncode == 0, r.stderr
    r = task("unschedule", "nightly")
    assert r.returncode == 2
    assert "no schedule 'nightly'" in r.stderr


def test_what_temporal_cannot_express_is_refused_and_nothing_is_created(task, temporal_server, temporal_worker):
    task.write_config(config(temporal_server, temporal_worker))
    # Europe/Berlin skips 02:00-03:00 in March: our cron runs 02:30 once that
    # day, Temporal's calendar would not run it at all.
    r = task("schedule", "greeter", "30 2 * * *", "--timezone", "Europe/Berlin")
    assert r.returncode == 2
    assert "cannot schedule greeter on Temporal" in r.stderr
    assert "DST change" in r.stderr
    assert "greeter" not in task("schedules").stdout
    r = task("schedule", "greeter", "0 0 31 2 *")
    assert r.returncode == 2
    assert "never fires" in r.stderr


def test_serve_fires_no_schedules_itself(task, temporal_server, temporal_worker):
    # A local schedule of every second, written while the backend was cron...
    text = config(temporal_server, temporal_worker)
    task.write_config(text.replace("backend: temporal", "backend: cron"))
    assert task("schedule", "lonely", "* * * * * *").returncode == 0
    # ...is not fired by `task serve` once the backend is temporal.
    task.write_config(text)
    serve = Serve(task)
    try:
        serve.wait_for(lambda l: "Temporal Schedules fire the tasks" in l)
        time.sleep(2.5)
    finally:
        assert serve.stop() == 0
    assert not [l for l in serve.snapshot() if "lonely" in l and "Temporal Schedules" not in l]
    # Had it fired, the runs would have started workflows lonely-<run id>.
    out = temporal_server.cli("workflow", "list", "--query", "WorkflowId STARTS_WITH 'lonely'", "-o", "json")
    assert not (json.loads(out) if out.strip() else [])
