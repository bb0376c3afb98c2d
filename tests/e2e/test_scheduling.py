"""Cron schedules end to end: the CLI, a real `task serve`, restarts, signals.

The scheduler's policies (overlap, catch-up, jitter, pause, drain, reload)
are unit-tested on a manual clock (tests/unit/scheduling/cron_scheduler_test.cpp).
These are smoke tests of what only the real binary shows, written for a
loaded machine: they poll the log with generous deadlines and assert order
and content, never that something happened within a short time."""

import datetime
import json
import os
import random
import signal
import socket
import subprocess
import time

import pytest

from serve_helpers import Serve


def parse_iso(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_schedule_persists_and_is_listed_by_a_new_process(task):
    r = task("schedule", "example", "*/1 * * * *")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "example\t*/1 * * * *\tUTC"
    assert len([l for l in lines if l.startswith("next: ")]) == 3
    assert 'example: "*/1 * * * *"' in (task.cwd / "schedules.yml").read_text().splitlines()
    listed = task("schedules")
    assert listed.returncode == 0
    name, expr, tz, nxt = listed.stdout.strip().split("\t")
    assert (name, expr, tz) == ("example", "*/1 * * * *", "UTC")
    assert parse_iso(nxt).second == 0
    as_json = json.loads(task("schedules", "--json").stdout)
    assert as_json[0]["name"] == "example" and as_json[0]["overlap"] == "skip"


def test_the_cli_schedule_wins_over_the_configured_one(task):
    task.write_config('tasks:\n  t: {echo: hi, schedule: "0 0 * * *"}\n')
    assert task("schedules").stdout.split("\t")[1] == "0 0 * * *"
    task("schedule", "t", "30 6 * * 1-5", "--timezone", "Europe/Berlin")
    r = task("schedules")
    assert r.stdout.split("\t")[:3] == ["t", "30 6 * * 1-5", "Europe/Berlin"]
    assert "wins over the one in the configuration" in r.stderr


BAD_SCHEDULES = [
    (["schedule", "example", "61 * * * *"], 'error: invalid cron expression "61 * * * *": minute 61 out of range 0-59'),
    (["schedule", "example", "* * * *"], 'error: invalid cron expression "* * * *"'),
    (["schedule", "example", "0 12 * * *", "--timezone", "Mars/Olympus"], "error: unknown time zone"),
    (["schedule", "ghost", "0 12 * * *"], "error: unknown task 'ghost' (known tasks: example)"),
    (["schedule", "example", "0 12 * * *", "--overlap", "sometimes"], "error: --overlap: unknown policy 'sometimes'"),
    (["schedule", "example", "0 12 * * *", "--jitter", "5 minutes"], "error: --jitter: invalid duration '5 minutes'"),
    (["unschedule", "ghost"], "error: unknown task 'ghost'"),
    (["pause", "ghost"], "error: unknown task 'ghost'"),
]


@pytest.mark.parametrize("args,expected", BAD_SCHEDULES)
def test_bad_schedules_are_refused_and_nothing_is_written(task, args, expected):
    task("schedule", "example", "0 12 * * *")
    before = (task.cwd / "schedules.yml").read_bytes()
    r = task(*args)
    assert r.returncode == 2, r
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith(expected), r.stderr
    assert (task.cwd / "schedules.yml").read_bytes() == before


def test_the_base_backend_refuses_to_schedule_and_writes_nothing(task):
    task.env["CASCADENCE_SCHEDULER"] = "base"
    r = task("schedule", "example", "0 12 * * *")
    assert r.returncode == 2
    assert r.stderr.startswith("error: task schedule needs the cron backend")
    assert not (task.cwd / "schedules.yml").exists()


def test_the_temporal_backend_names_the_cluster_it_cannot_reach(task):
    # Schedules live in the cluster with backend temporal (tests/e2e/test_temporal_schedules.py):
    # without one, the commands fail at once, saying where they looked.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    task.env["CASCADENCE_SCHEDULER"] = "temporal"
    task.env["TEMPORAL_HTTP_ADDRESS"] = f"http://127.0.0.1:{port}"
    for args in (["schedule", "example", "0 12 * * *"], ["schedules"], ["unschedule", "example"]):
        r = task(*args, timeout=30)
        assert r.returncode == 1, r.stderr
        assert f"temporal http://127.0.0.1:{port}:" in r.stderr
    assert not (task.cwd / "schedules.yml").exists()


def test_next_prints_fire_times_with_their_offset_across_dst(task):
    r = task("next", "30 2 * * *", "--timezone", "America/New_York", "--from", "2026-03-07T12:00:00-05:00",
             "--count", "3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "2026-03-08T03:00:00-04:00",  # 02:30 does not exist that night: right after the gap
        "2026-03-09T02:30:00-04:00",
        "2026-03-10T02:30:00-04:00",
    ]
    bad = task("next", "* * *")
    assert bad.returncode == 2 and bad.stderr.startswith("error: invalid cron expression")


def test_undecodable_entries_are_kept_and_reported(task):
    (task.cwd / "schedules.yml").write_text('ghost: "0 1 * * *"\nexample: {schedule: "0 2 * * *", colour: red}\n')
    r = task("schedules")
    assert "schedule for unknown task 'ghost' is kept" in r.stderr
    assert "unknown key 'colour'" in r.stderr
    task("schedule", "example", "0 3 * * *")
    text = (task.cwd / "schedules.yml").read_text()
    assert 'ghost: "0 1 * * *"' in text
    assert 'example: "0 3 * * *"' in text


# What the seed's Python original writes (PyYAML's safe_dump): schedules keyed by class name.
SEED_SCHEDULES = "ExampleTask: 0 12 * * *\nReportTask: '*/5 * * * *'\n"


def test_a_schedules_file_of_the_seed_keyed_by_class_name_is_kept_and_its_keys_reported(task):
    task.write_config("tasks:\n  example: {echo: hi}\n  report: {echo: r}\n")
    (task.cwd / "schedules.yml").write_text(SEED_SCHEDULES)
    r = task("schedules")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "ExampleTask\t0 12 * * *\tUTC\tunknown task",
        "ReportTask\t*/5 * * * *\tUTC\tunknown task",
    ]
    warnings = r.stderr.splitlines()
    assert warnings == [
        "warning: schedules.yml: schedule for unknown task 'ExampleTask' is kept but not fired (a class name, as "
        "the seed's original keyed schedules: rename the key to 'example' to fire it)",
        "warning: schedules.yml: schedule for unknown task 'ReportTask' is kept but not fired (a class name, as "
        "the seed's original keyed schedules: rename the key to 'report' to fire it)",
    ]
    listed = {s["name"]: s for s in json.loads(task("schedules", "--json").stdout)}
    assert listed["ExampleTask"]["known"] is False and listed["ExampleTask"]["schedule"] == "0 12 * * *"

    # A write by `task schedule` keeps every entry it did not touch.
    w = task("schedule", "example", "0 3 * * *")
    assert w.returncode == 0, w.stderr
    lines = (task.cwd / "schedules.yml").read_text().splitlines()
    assert 'ExampleTask: "0 12 * * *"' in lines
    assert 'ReportTask: "*/5 * * * *"' in lines
    assert 'example: "0 3 * * *"' in lines
    r = task("schedules")
    rows = r.stdout.splitlines()
    assert rows[:2] == ["ExampleTask\t0 12 * * *\tUTC\tunknown task", "ReportTask\t*/5 * * * *\tUTC\tunknown task"]
    assert rows[2].startswith("example\t0 3 * * *\tUTC\t20") and len(rows) == 3
    assert "unknown task 'ExampleTask'" in r.stderr and "unknown task 'ReportTask'" in r.stderr

    # The serve log names them too, and fires only the known one.
    serve = Serve(task)
    try:
        log = serve.snapshot()
        assert any("unknown task 'ExampleTask'" in l and "rename the key to 'example'" in l for l in log), log
        assert any("unknown task 'ReportTask'" in l for l in log), log
        assert any("1 schedule(s) active" in l for l in log), log
    finally:
        assert serve.stop() == 0
    # Migrating with the CLI (the README's way): schedule the task under its name, unschedule the class name.
    assert task("schedule", "report", "*/5 * * * *").returncode == 0
    u = task("unschedule", "ReportTask")
    assert u.returncode == 0 and u.stdout == "ReportTask\tunscheduled\n"
    lines = (task.cwd / "schedules.yml").read_text().splitlines()
    assert 'report: "*/5 * * * *"' in lines and 'ExampleTask: "0 12 * * *"' in lines
    assert not any(l.startswith("ReportTask") for l in lines)
    r = task("schedules")
    assert "ReportTask" not in r.stderr + r.stdout and "unknown task 'ExampleTask'" in r.stderr


# Generous: a loaded machine or a slow build may take many seconds to start serve or a run.
DEADLINE = 60


def every_second_config(task, extra=""):
    task.write_config("tasks:\n  tick:\n    echo: tock\n" + extra)


def test_serve_fires_a_schedule_and_logs_the_run_with_its_output(task):
    task.write_config("tasks:\n  example: {echo: Example task executed}\n")
    assert task("schedule", "example", "* * * * * *").returncode == 0
    serve = Serve(task)
    try:
        serve.wait_for(lambda l: " done example " in l, timeout=DEADLINE)
        fire = serve.events("fire", "example")[0]
        nominal = parse_iso(fire["nominal"])
        assert nominal.microsecond == 0
        assert parse_iso(fire["at"]) >= nominal  # never early; how late is the benchmark's business
        assert any("example | Example task executed" in l for l in serve.snapshot())
        done = serve.events("done", "example")[0]
        assert done["status"] == "success" and done["run_id"] == fire["run_id"]
    finally:
        assert serve.stop() == 0


def test_a_kill_9_and_restart_loses_no_schedule_and_fires_no_instant_twice(task):
    every_second_config(task)
    task("schedule", "tick", "* * * * * *")
    nominals = []
    for _ in range(3):
        serve = Serve(task)
        serve.wait_for(lambda l: " done tick " in l, timeout=DEADLINE)
        time.sleep(random.uniform(0.3, 1.5))  # a random instant to kill at, not a margin
        serve.kill()
        nominals += [f["nominal"] for f in serve.events("fire", "tick")]
    assert len(nominals) >= 3
    assert len(nominals) == len(set(nominals)), sorted(nominals)
    assert task("schedules").stdout.startswith("tick\t* * * * * *\t")


def test_killing_a_rewrite_at_random_instants_never_tears_the_file(task):
    every_second_config(task)
    # A committed schedule first: a writer killed before its first rename (a slow sanitizer build
    # can take longer than the shortest sleep below to start) must leave this one intact.
    assert task("schedule", "tick", "*/7 * * * *").returncode == 0
    script = f"""
i=0
while true; do
  i=$((i+1))
  "{task.exe}" schedule tick "*/$(( (i % 50) + 1 )) * * * *" >/dev/null || exit 1
done
"""
    for _ in range(15):
        proc = subprocess.Popen(["bash", "-c", script], cwd=task.cwd, env=task.env, start_new_session=True)
        time.sleep(random.uniform(0.05, 0.4))  # a random instant to kill at
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        r = task("schedules")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("tick\t*/"), r.stdout
        assert "warning" not in r.stderr
    leftovers = [p.name for p in task.cwd.iterdir() if ".tmp." in p.name]
    # A temporary file of a killed writer may stay behind; it is never read.
    assert all(name.startswith(".schedules.yml.tmp.") for name in leftovers)


def test_an_overlap_policy_set_by_the_cli_reaches_serve_and_cancels_a_real_run(task):
    task.write_config("kill_grace: 1s\nshutdown_grace: 1s\ntasks:\n  slow: {command: sleep 30}\n")
    assert task("schedule", "slow", "* * * * * *", "--overlap", "cancel_other").returncode == 0
    assert "overlap: cancel_other" in (task.cwd / "schedules.yml").read_text()
    serve = Serve(task)
    try:
        serve.wait_for(lambda l: " done slow " in l, timeout=DEADLINE)
        serve.wait_for(lambda _: len(serve.events("fire", "slow")) >= 2, timeout=DEADLINE)
    finally:
        serve.stop(timeout=DEADLINE)
    # The first 30 s run is cancelled by a later fire, which starts once it has settled.
    fires = serve.events("fire", "slow")
    first_done = serve.events("done", "slow")[0]
    assert first_done["status"] == "cancelled", serve.snapshot()
    assert first_done["nominal"] == fires[0]["nominal"]
    assert parse_iso(fires[1]["at"]) >= parse_iso(first_done["at"])


def test_after_downtime_a_restart_reads_the_fire_state_and_catches_up_once(task):
    every_second_config(task)
    task("schedule", "tick", "* * * * * *", "--catchup-window", "1h")
    serve = Serve(task)
    serve.wait_for(lambda l: " done tick " in l, timeout=DEADLINE)
    assert serve.stop() == 0
    last_before = max(parse_iso(f["nominal"]) for f in serve.events("fire", "tick"))
    time.sleep(5)  # downtime: at least four instants are missed, however slow the restart
    serve = Serve(task)
    try:
        serve.wait_for(lambda l: " skip tick " in l and "catchup_window" in l, timeout=DEADLINE)
        serve.wait_for(lambda l: " fire tick " in l, timeout=DEADLINE)
    finally:
        serve.stop()
    skipped = serve.events("skip", "tick")[0]
    assert skipped["reason"] == "catchup_window"
    assert int(skipped["count"]) >= 3
    # One catch-up fire, for the latest missed instant (the one the skip line names), after the
    # last instant fired before the stop.
    first_fire = serve.events("fire", "tick")[0]
    assert first_fire["nominal"] == skipped["nominal"]
    assert parse_iso(first_fire["nominal"]) > last_before


def test_a_paused_schedule_does_not_fire_and_resumes_when_the_file_changes(task):
    every_second_config(task)
    task("schedule", "tick", "* * * * * *")
    assert task("pause", "tick").stdout == "tick\tpaused\n"
    assert "paused: true" in (task.cwd / "schedules.yml").read_text()
    assert task("schedules").stdout.strip().endswith("\tpaused")
    serve = Serve(task)
    try:
        serve.wait_for(lambda l: " skip tick " in l and "reason=paused" in l, timeout=DEADLINE)
        assert serve.events("fire", "tick") == []
        assert task("resume", "tick").returncode == 0
        serve.wait_for(lambda l: " done tick " in l, timeout=DEADLINE)
    finally:
        serve.stop()
    assert 'tick: "* * * * * *"' in (task.cwd / "schedules.yml").read_text()


def test_a_disabled_task_keeps_its_schedule_but_its_fires_run_nothing(task):
    task.write_config("tasks:\n  tick:\n    echo: tock\n")
    task("schedule", "tick", "* * * * * *")
    assert task("disable", "tick").returncode == 0
    serve = Serve(task)
    try:
        serve.wait_for(lambda l: " done tick " in l, timeout=DEADLINE)
    finally:
        serve.stop()
    log = "\n".join(serve.snapshot())
    assert "task tick is disabled: fire " in log
    assert 'status=skipped reason="task disabled"' in log
    assert "status=success" not in log
    assert "tick | tock" not in log
    assert 'tick: "* * * * * *"' in (task.cwd / "schedules.yml").read_text()


def test_sigterm_gives_running_tasks_the_grace_then_cancels_them(task):
    task.write_config(f"tasks:\n  long: {{command: 'echo $$ > {task.cwd}/long.pid; exec sleep 60'}}\n")
    task("schedule", "long", "* * * * * *")
    serve = Serve(task, "--grace", "1s")
    serve.wait_for(lambda l: " fire long " in l, timeout=DEADLINE)
    deadline = time.monotonic() + DEADLINE
    while not (task.cwd / "long.pid").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sent = time.monotonic()
    assert serve.stop(signal.SIGTERM, timeout=DEADLINE) == 0
    # The grace is given (a lower bound only: a loaded machine makes it longer, never shorter).
    assert time.monotonic() - sent >= 0.9
    done = serve.events("done", "long")
    assert done and done[0]["status"] == "cancelled"
    assert any("task long cancelled" in l for l in serve.snapshot())
    from conftest import process_gone

    assert process_gone(int((task.cwd / "long.pid").read_text()))


def test_sighup_reloads_the_configuration_without_dropping_running_tasks(task):
    task.write_config("tasks:\n  slow: {command: 'sleep 1.5; echo finished'}\n")
    task("schedule", "slow", "* * * * * *")
    serve = Serve(task)
    try:
        serve.wait_for(lambda l: " fire slow " in l, timeout=DEADLINE)
        task.write_config("tasks:\n  slow: {command: 'sleep 1.5; echo finished'}\n  extra: {echo: new}\n")
        task("schedule", "extra", "* * * * * *")
        serve.proc.send_signal(signal.SIGHUP)
        serve.wait_for(lambda l: " done extra " in l, timeout=DEADLINE)
        serve.wait_for(lambda l: "slow | finished" in l, timeout=DEADLINE)
    finally:
        serve.stop()
