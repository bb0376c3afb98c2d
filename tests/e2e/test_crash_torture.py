"""Crash torture: `task serve` SIGKILLed 200 times at random instants while
schedules fire and webhooks arrive. Afterwards no state file is torn, no
nominal fire time ran twice, and every webhook answered 202 was delivered."""

import json
import random
import re
import signal
import threading
import time

from test_hostile_input import post

CONFIG = """
tasks:
  tick:
    command: 'true'
    schedule: '* * * * * *'
  tock:
    echo: x
    schedule: '*/2 * * * * *'
  hook:
    command: 'echo "$CASCADENCE_DELIVERY_ID" >> delivered.txt'
    on: {webhook: ci}
"""

LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")
FIRE = re.compile(r"^\S+ fire (\S+) nominal=(\S+) ")


def test_two_hundred_sigkills_lose_no_webhook_and_fire_nothing_twice(task):
    task.write_config(CONFIG)
    rng = random.Random(13)
    accepted = []
    fires = []
    for _ in range(200):
        proc = task.popen("serve", "--port", "0")
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
        reader.start()
        port = None
        deadline = time.monotonic() + 10
        while port is None and time.monotonic() < deadline:
            for l in list(lines):
                if m := LISTENING.search(l):
                    port = int(m.group(1))
            time.sleep(0.005)
        assert port is not None, lines
        kill_at = time.monotonic() + rng.uniform(0.02, 0.25)
        while time.monotonic() < kill_at:
            key = f"k{len(accepted)}-{rng.randrange(1 << 30)}"
            try:
                reply = post(port, b"/webhook/ci", json.dumps({"k": key}).encode(),
                             b"Idempotency-Key: " + key.encode() + b"\r\n")
            except OSError:
                break
            if reply.startswith(b"HTTP/1.1 202"):
                accepted.append(key)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        reader.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()
        fires += [FIRE.match(l).groups() for l in lines if FIRE.match(l)]

    assert len(accepted) > 100 and len(fires) > 20
    # One clean run delivers what the killed ones left undelivered.
    proc = task.popen("serve", "--port", "0")
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        got = set()
        while time.monotonic() < deadline:
            path = task.cwd / "delivered.txt"
            got = set(path.read_text().split()) if path.exists() else set()
            if got >= set(accepted):
                break
            time.sleep(0.2)
        assert sorted(set(accepted) - got) == []
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(timeout=5)
    fires += [FIRE.match(l).groups() for l in lines if FIRE.match(l)]
    assert not any(" error " in l and ("fire state" in l or "journal" in l) for l in lines), lines
    # Fire state saved before each run starts: a nominal time never fires twice.
    assert len(fires) == len(set(fires)), [f for f in fires if fires.count(f) > 1][:5]
    # Every state file reads back.
    result = task("schedules")
    assert result.returncode == 0, result.stderr
    assert list(task.cwd.glob("*.corrupt-*")) == []
