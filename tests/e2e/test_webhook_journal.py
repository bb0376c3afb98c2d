"""The webhook journal: 202 means the event will be delivered, across a
SIGKILL, with its delivery id, once per delivery id within the window."""

import json
import signal
import subprocess
import time

from test_hostile_input import post
from test_webhooks import Server

# Written whole (rename), so a test never reads half a file.
CONFIG = """
tasks:
  record:
    command: 'sleep 2.0417 && cat > "tmp-$CASCADENCE_DELIVERY_ID" && mv "tmp-$CASCADENCE_DELIVERY_ID" "got-$CASCADENCE_DELIVERY_ID.json"'
    on: {webhook: ci}
"""


def kill_orphans(marker):
    # A SIGKILLed server cannot end its children: they would deliver too
    # (at least once allows it, the count in these tests does not).
    subprocess.run(["pkill", "-f", marker], check=False)


def delivered(task):
    return {p.name[len("got-"):-len(".json")]: json.loads(p.read_text()) for p in task.cwd.glob("got-*.json")}


def test_events_answered_202_are_delivered_after_a_sigkill(task):
    task.write_config(CONFIG)
    srv = Server(task, "webhook", "--port", "0")
    ids = [f"d-{i}" for i in range(20)]
    try:
        for n, key in enumerate(ids):
            reply = post(srv.port, b"/webhook/ci", json.dumps({"n": n}).encode(), b"Idempotency-Key: " + key.encode() + b"\r\n")
            assert reply.startswith(b"HTTP/1.1 202"), reply
    finally:
        srv.proc.send_signal(signal.SIGKILL)  # every task is still in its sleep
        srv.proc.wait(timeout=10)
        kill_orphans("sleep 2.0417")
    assert delivered(task) == {}
    assert (task.cwd / "webhook-journal" / "journal.log").exists()

    srv = Server(task, "webhook", "--port", "0")
    try:
        srv.wait_for(lambda l: "webhook journal: delivering 20 event(s) accepted before the restart" in l)
        deadline = time.monotonic() + 30
        while len(delivered(task)) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert delivered(task) == {key: {"n": n} for n, key in enumerate(ids)}
    finally:
        assert srv.stop() == 0
    # Delivered and marked done: a third start delivers nothing again.
    srv = Server(task, "webhook", "--port", "0")
    try:
        time.sleep(0.5)
        assert not any("webhook journal: delivering" in l for l in srv.snapshot())
    finally:
        srv.stop()


def test_a_redelivery_with_the_same_id_is_answered_and_not_run_twice(task):
    task.write_config(CONFIG.replace("sleep 2.0417 && ", ""))
    srv = Server(task, "webhook", "--port", "0")
    try:
        headers = b"X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958\r\n"
        first = post(srv.port, b"/webhook/ci", b'{"n": 1}', headers)
        assert first.startswith(b"HTTP/1.1 202") and first.endswith(b'{"status":"received"}')
        again = post(srv.port, b"/webhook/ci", b'{"n": 1}', headers)
        assert again.startswith(b"HTTP/1.1 202") and again.endswith(b'{"status":"duplicate"}')
        srv.wait_for(lambda l: " task record success" in l)
        time.sleep(0.5)
        assert len(srv.events("task", "record")) == 1
    finally:
        srv.stop()
    # The window outlives the process.
    srv = Server(task, "webhook", "--port", "0")
    try:
        third = post(srv.port, b"/webhook/ci", b'{"n": 1}', headers)
        assert third.endswith(b'{"status":"duplicate"}')
    finally:
        srv.stop()
    assert list(delivered(task)) == ["72d3162e-cc78-11e3-81ab-4c9367dc0958"]


def test_a_full_journal_answers_503_with_retry_after_and_loses_nothing_it_accepted(task):
    task.write_config(
        "webhook: {journal_limit: 65536}\n"
        "tasks:\n  hold:\n    command: 'sleep 3.0417 && cat > \"tmp-$CASCADENCE_DELIVERY_ID\" && "
        "mv \"tmp-$CASCADENCE_DELIVERY_ID\" \"got-$CASCADENCE_DELIVERY_ID.json\"'\n    on: {webhook: ci}\n"
    )
    srv = Server(task, "webhook", "--port", "0")
    body = json.dumps({"pad": "x" * 10_000}).encode()
    accepted, refused = [], 0
    try:
        for i in range(12):
            reply = post(srv.port, b"/webhook/ci", body, b"Idempotency-Key: k%d\r\n" % i)
            if reply.startswith(b"HTTP/1.1 202"):
                accepted.append(f"k{i}")
            else:
                assert reply.startswith(b"HTTP/1.1 503"), reply[:200]
                assert b"Retry-After: 5" in reply and b"webhook journal full" in reply
                refused += 1
        assert refused > 0 and len(accepted) >= 3
    finally:
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(timeout=10)
        kill_orphans("sleep 3.0417")
    srv = Server(task, "webhook", "--port", "0")
    try:
        deadline = time.monotonic() + 30
        while len(delivered(task)) < len(accepted) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sorted(delivered(task)) == sorted(accepted)
    finally:
        srv.stop()


def test_the_journal_can_be_turned_off(task):
    task.write_config("webhook: {journal: false}\n" + CONFIG.replace("sleep 2.0417 && ", ""))
    srv = Server(task, "webhook", "--port", "0")
    try:
        assert post(srv.port, b"/webhook/ci", b"{}").startswith(b"HTTP/1.1 202")
        srv.wait_for(lambda l: " task record success" in l)
    finally:
        srv.stop()
    assert not (task.cwd / "webhook-journal").exists()
    # Without a journal the delivery id is still there, one of ours.
    assert len(delivered(task)) == 1
