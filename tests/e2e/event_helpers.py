"""Shared checks of the run-event tests (docs/events.md)."""

import hashlib
import json


def user_hash(user_id: str, secret: str = "") -> str:
    """The seed's hash: hex(sha256(secret + user_id))."""
    return hashlib.sha256((secret + user_id).encode()).hexdigest()


def read_lines(path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def by_task(events: list) -> dict:
    out = {}
    for e in events:
        name = e["name"] if e["type"] == "task_spec" else e["spec"]["name"]
        out.setdefault(name, []).append(e)
    return out


def check_task_events(events: list, statuses: dict, expected_hash, run_id=None):
    """Each task of `statuses` has a task_spec then a task_run event (a
    skipped task only the latter), in that order, with the hash and the run id."""
    tasks = by_task(events)
    assert set(tasks) == set(statuses), tasks.keys()
    run_ids = set()
    for name, status in statuses.items():
        evs = tasks[name]
        kinds = [e["type"] for e in evs]
        if status == "skipped":
            assert kinds == ["task_run"], (name, kinds)
        else:
            assert kinds == ["task_spec", "task_run"], (name, kinds)
            spec = evs[0]
            assert spec["version"] == 1 and spec["attempt"] == 1
            assert spec["user_hash"] == expected_hash
            assert spec["id"] == evs[-1]["spec"]["id"]
        settled = evs[-1]
        assert settled["version"] == 1
        assert settled["status"] == status, (name, settled)
        assert settled["user_hash"] == expected_hash
        assert settled["spec"]["user_hash"] == expected_hash
        assert settled["finished_at"].endswith("Z")
        if status == "skipped":
            assert settled["started_at"] is None
        else:
            assert settled["started_at"].endswith("Z") and settled["started_at"] <= settled["finished_at"]
        assert (settled["error"] is None) == (status == "success")
        run_ids.add(settled["run_id"])
    assert len(run_ids) == 1, run_ids
    if run_id is not None:
        assert run_ids == {run_id}
    return tasks
