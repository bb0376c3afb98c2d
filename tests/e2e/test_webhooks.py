"""Webhooks and the REST API of `task webhook` (the same routes `task serve` has)."""

import hashlib
import hmac
import http.client
import json
import re
import signal
import socket
import threading
import time

import pytest

from serve_helpers import Serve, http_request, listening_port

GITHUB_SECRET = "gh-secret"
CALCOM_SECRET = "cal-secret"

CONFIG = """
webhook:
  secrets:
    github: gh-secret
    calcom: cal-secret
http: {body_limit: 4096}
tasks:
  on_push:
    command: 'sleep 1; cat > "push-$CASCADENCE_RUN_ID.json"; echo "$CASCADENCE_EVENT_SOURCE $CASCADENCE_EVENT_TYPE" > "push-$CASCADENCE_RUN_ID.env"'
    on: {webhook: github, events: [push]}
  on_booking:
    command: 'cat > booking.json; echo "$CASCADENCE_EVENT_SOURCE $CASCADENCE_EVENT_TYPE" > booking.env'
    on: {webhook: calcom, events: [BOOKING_CREATED]}
  greet:
    command: 'cat'
  slow:
    command: 'sleep 1; echo slow'
  after_greet:
    echo: done
    after: [greet]
"""


def sign(secret, body):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Server(Serve):
    """`task COMMAND ARGS...` (serve or webhook) with its log collected."""

    def __init__(self, task, command, *args):  # pylint: disable=super-init-not-called
        self.proc = task.popen(command, *args)
        self.lines = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for(lambda l: "schedule(s) active" in l or "nothing is fired" in l, timeout=20)

    @property
    def port(self):
        return listening_port(self)

    def request(self, method, path, body=b"", headers=None):
        return http_request(self.port, method, path, body, headers)


@pytest.fixture
def server(task):
    task.write_config(CONFIG)
    srv = Server(task, "webhook", "--port", "0")
    yield srv
    srv.stop()


def wait_files(path, pattern, count=1, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(path.glob(pattern))
        if len(found) >= count and all(f.stat().st_size > 0 for f in found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {pattern} within {timeout}s")


def test_signed_github_push_reaches_the_task_after_the_reply(server, task):
    body = json.dumps({"ref": "refs/heads/main", "commits": [1, 2]}).encode()
    started = time.monotonic()
    status, reply = server.request("POST", "/webhook/github", body, {
        "X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(GITHUB_SECRET, body),
        "Content-Type": "application/json"})
    assert status == 202
    assert json.loads(reply) == {"status": "received"}
    assert time.monotonic() - started < 1.0, "the reply waited for the task"
    assert not list(task.cwd.glob("push-*.json")), "the task (which sleeps 1s) finished before the reply"
    [payload] = wait_files(task.cwd, "push-*.json")
    assert json.loads(payload.read_text()) == {"ref": "refs/heads/main", "commits": [1, 2]}
    [env] = wait_files(task.cwd, "push-*.env")
    assert env.read_text().strip() == "github push"


def test_signed_calcom_booking_reaches_the_task(server, task):
    body = json.dumps({"triggerEvent": "BOOKING_CREATED", "payload": {"uid": "b1"}}).encode()
    status, _ = server.request("POST", "/webhook/calcom", body, {"X-Cal-Signature-256": sign(CALCOM_SECRET, body)})
    assert status == 202
    [payload] = wait_files(task.cwd, "booking.json")
    assert json.loads(payload.read_text())["payload"] == {"uid": "b1"}
    [env] = wait_files(task.cwd, "booking.env")
    assert env.read_text().strip() == "calcom BOOKING_CREATED"


def test_a_calcom_event_type_in_the_cal_event_type_header_wins_over_the_body(server, task):
    # The body says BOOKING_RESCHEDULED (no subscriber); the header, read first as the original does, says
    # BOOKING_CREATED, which on_booking is subscribed to.
    body = json.dumps({"triggerEvent": "BOOKING_RESCHEDULED", "payload": {"uid": "b2"}}).encode()
    status, _ = server.request("POST", "/webhook/calcom", body, {
        "X-Cal-Signature-256": sign(CALCOM_SECRET, body), "Cal-Event-Type": "BOOKING_CREATED"})
    assert status == 202
    [payload] = wait_files(task.cwd, "booking.json")
    assert json.loads(payload.read_text())["payload"] == {"uid": "b2"}
    [env] = wait_files(task.cwd, "booking.env")
    assert env.read_text().strip() == "calcom BOOKING_CREATED"


def test_a_calcom_event_type_header_names_an_event_no_task_is_subscribed_to(server, task):
    # The body alone would reach on_booking (BOOKING_CREATED); the header says BOOKING_CANCELLED, which nothing
    # is subscribed to, so nothing runs.
    body = json.dumps({"triggerEvent": "BOOKING_CREATED"}).encode()
    status, _ = server.request("POST", "/webhook/calcom", body, {
        "X-Cal-Signature-256": sign(CALCOM_SECRET, body), "Cal-Event-Type": "BOOKING_CANCELLED"})
    assert status == 202
    body = json.dumps({"payload": {"uid": "b3"}}).encode()
    status, reply = server.request("POST", "/webhook/calcom", body, {"X-Cal-Signature-256": sign(CALCOM_SECRET, body)})
    assert status == 400 and b"Cal-Event-Type header or a string 'triggerEvent'" in reply
    time.sleep(1.5)
    assert not list(task.cwd.glob("booking*"))


def test_a_wrong_or_missing_signature_is_refused_and_delivers_nothing(server, task):
    body = b'{"ref":"x"}'
    status, reply = server.request("POST", "/webhook/github", body, {
        "X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign("not-the-secret", body)})
    assert status == 401
    assert b"invalid signature" in reply
    status, _ = server.request("POST", "/webhook/github", body, {"X-GitHub-Event": "push"})
    assert status == 401
    status, _ = server.request("POST", "/webhook/calcom", b'{"triggerEvent":"BOOKING_CREATED"}', {
        "X-Cal-Signature-256": "00" * 32})
    assert status == 401
    time.sleep(1.5)
    assert not list(task.cwd.glob("push-*")) and not list(task.cwd.glob("booking*"))


def test_bad_input_gets_the_right_status(server):
    good = b'{"triggerEvent":"X"}'
    cases = [
        ("POST", "/webhook/calcom", b"{nope", {"X-Cal-Signature-256": sign(CALCOM_SECRET, b"{nope")}, 400),
        ("POST", "/webhook/github", b"{}", {"X-Hub-Signature-256": "sha256=" + sign(GITHUB_SECRET, b"{}")}, 400),
        ("POST", "/webhook/calcom", b"x" * 5000, {}, 413),
        ("POST", "/webhook/nobody", good, {}, 404),
        ("GET", "/webhook/github", b"", {}, 405),
        ("PUT", "/webhook/calcom", good, {}, 405),
        ("GET", "/nowhere", b"", {}, 404),
    ]
    for method, path, body, headers, expected in cases:
        status, reply = server.request(method, path, body, headers)
        assert status == expected, (method, path, status, reply)
    status, reply = server.request("GET", "/healthz")
    assert status == 200 and json.loads(reply) == {"status": "ok"}


def raw(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
        except OSError:
            pass  # the server may close first: that is an answer too


def test_a_thousand_malformed_requests_leave_the_server_working(server):
    port = server.port
    kinds = [
        b"GARBAGE\r\n\r\n",
        b"POST /webhook/github HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{nope",
        b"POST /webhook/calcom HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n",
        b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /webhook/github HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-GitHub-Event: push\r\n\r\n{}",
        b"POST /webhook/%zz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        b"POST /webhook/github HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"\x00\x01\x02\xff" * 10,
    ]
    for i in range(1000):
        raw(port, kinds[i % len(kinds)])
    status, reply = server.request("GET", "/healthz")
    assert status == 200
    body = b'{"triggerEvent":"BOOKING_CREATED"}'
    status, _ = server.request("POST", "/webhook/calcom", body, {"X-Cal-Signature-256": sign(CALCOM_SECRET, body)})
    assert status == 202


def test_the_api_runs_a_task_and_reports_it(server):
    status, reply = server.request("GET", "/api/v1/tasks")
    assert status == 200
    names = {t["name"]: t for t in json.loads(reply)["tasks"]}
    assert set(names) == {"on_push", "on_booking", "greet", "after_greet", "slow"}
    assert names["greet"]["kind"] == "manual" and names["greet"]["enabled"] is True

    status, reply = server.request("POST", "/api/v1/tasks/after_greet/runs?wait=true", b'{"who":"api"}')
    assert status == 200, reply
    run = json.loads(reply)
    assert run["status"] == "success"
    by_task = {t["task"]: t for t in run["tasks"]}
    assert by_task["greet"]["output"]["input"] == {"who": "api"}
    assert by_task["after_greet"]["output"] == "done"
    assert run["started"] and run["finished"]

    status, reply = server.request("GET", "/api/v1/runs/" + run["run_id"])
    assert status == 200 and json.loads(reply)["status"] == "success"

    status, reply = server.request("POST", "/api/v1/tasks/greet/runs")
    assert status == 202
    run_id = json.loads(reply)["run_id"]
    deadline = time.monotonic() + 10
    while True:
        status, reply = server.request("GET", "/api/v1/runs/" + run_id)
        assert status == 200
        if json.loads(reply)["status"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert json.loads(reply)["status"] == "success"
    assert server.request("GET", "/api/v1/runs/00000000-0000-4000-8000-000000000000")[0] == 404
    assert server.request("POST", "/api/v1/tasks/ghost/runs")[0] == 404
    assert server.request("POST", "/api/v1/tasks/greet/runs", b"{bad")[0] == 400


def test_a_non_loopback_bind_without_a_token_is_refused(task):
    task.write_config(CONFIG)
    result = task("webhook", "--host", "0.0.0.0", "--port", "0", timeout=20)
    assert result.returncode == 2
    assert "without a token" in result.stderr


def test_a_non_loopback_bind_with_a_token_requires_it(task):
    task.write_config(CONFIG + "api: {token: s3cr3t-token}\n")
    srv = Server(task, "webhook", "--host", "0.0.0.0", "--port", "0")
    try:
        assert srv.request("GET", "/api/v1/tasks")[0] == 401
        assert srv.request("GET", "/api/v1/tasks", headers={"Authorization": "Bearer wrong"})[0] == 401
        assert srv.request("GET", "/api/v1/tasks", headers={"Authorization": "Bearer s3cr3t-token"})[0] == 200
        assert srv.request("GET", "/healthz")[0] == 200
    finally:
        assert srv.stop() == 0
    assert "s3cr3t-token" not in "\n".join(srv.snapshot())


def test_serve_listens_too_and_stops_cleanly_on_sigterm(task):
    task.write_config(CONFIG)
    srv = Server(task, "serve", "--port", "0")
    try:
        assert srv.request("GET", "/healthz")[0] == 200
    finally:
        assert srv.stop() == 0


def test_sigterm_lets_a_request_in_flight_finish(server):
    result = {}

    def call():
        result["reply"] = server.request("POST", "/api/v1/tasks/slow/runs?wait=true")

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.4)
    assert server.stop() == 0
    caller.join(timeout=10)
    status, reply = result["reply"]
    assert status == 200
    assert json.loads(reply)["status"] == "success"


RELOAD_BEFORE = """
webhook:
  secrets: {alpha: alpha-secret}
tasks:
  first:
    command: 'sleep 1; cat > "first-$CASCADENCE_RUN_ID.json"'
    on: {webhook: alpha}
  second:
    command: 'cat > "second-$CASCADENCE_RUN_ID.json"'
  third:
    command: 'cat > "third-$CASCADENCE_RUN_ID.json"'
  slow:
    command: 'sleep 1; echo slow'
"""

# `first` loses its subscription, `second` takes it over, and `third` listens
# to a new source whose secret is in the file and (winning) in the environment.
RELOAD_AFTER = """
webhook:
  secrets: {alpha: alpha-secret, beta: beta-from-file}
tasks:
  first:
    command: 'sleep 1; cat > "first-$CASCADENCE_RUN_ID.json"'
  second:
    command: 'cat > "second-$CASCADENCE_RUN_ID.json"'
    on: {webhook: alpha}
  third:
    command: 'cat > "third-$CASCADENCE_RUN_ID.json"'
    on: {webhook: beta, events: [deploy]}
  slow:
    command: 'sleep 1; echo slow'
"""


def signed(secret, body, event=None):
    headers = {"X-Cascadence-Signature-256": "sha256=" + sign(secret, body)}
    if event:
        headers["X-Cascadence-Event"] = event
    return headers


def test_sighup_reloads_webhook_subscriptions_and_secrets_without_dropping_work(task):
    task.write_config(RELOAD_BEFORE)
    task.env["CASCADENCE_WEBHOOK_SECRET_BETA"] = "beta-from-env"
    srv = Server(task, "serve", "--port", "0")
    try:
        one = b'{"n": 1}'
        assert srv.request("POST", "/webhook/beta", one, signed("beta-from-env", one, "deploy"))[0] == 404
        # A delivery running and an API request waiting across the reload.
        assert srv.request("POST", "/webhook/alpha", one, signed("alpha-secret", one))[0] == 202
        srv.wait_for(lambda l: "webhook alpha/event: running first" in l)
        waiting = {}
        caller = threading.Thread(
            target=lambda: waiting.update(reply=srv.request("POST", "/api/v1/tasks/slow/runs?wait=true")))
        caller.start()
        time.sleep(0.3)

        task.write_config(RELOAD_AFTER)
        srv.proc.send_signal(signal.SIGHUP)
        srv.wait_for(lambda l: "configuration reloaded: 4 tasks, 2 webhook subscription(s)" in l)

        [first] = wait_files(task.cwd, "first-*.json")
        assert json.loads(first.read_text()) == {"n": 1}, "the delivery running during the reload was lost"
        caller.join(timeout=10)
        status, reply = waiting["reply"]
        assert status == 200 and json.loads(reply)["status"] == "success", reply

        two = b'{"n": 2}'
        assert srv.request("POST", "/webhook/alpha", two, signed("alpha-secret", two))[0] == 202
        [second] = wait_files(task.cwd, "second-*.json")
        assert json.loads(second.read_text()) == {"n": 2}
        runs_of_first = [l for l in srv.snapshot() if "running first" in l]
        assert len(runs_of_first) == 1, "the removed subscription still received deliveries:\n" + "\n".join(
            runs_of_first)

        three = b'{"n": 3}'
        assert srv.request("POST", "/webhook/beta", three, signed("beta-from-file", three, "deploy"))[0] == 401
        assert srv.request("POST", "/webhook/beta", three, signed("beta-from-env", three, "deploy"))[0] == 202
        [third] = wait_files(task.cwd, "third-*.json")
        assert json.loads(third.read_text()) == {"n": 3}
        assert len(list(task.cwd.glob("first-*.json"))) == 1
    finally:
        assert srv.stop() == 0


def test_runs_past_http_max_runs_are_refused_with_503_and_nothing_is_lost(task):
    task.write_config("""
http: {max_runs: 1}
tasks:
  hold:
    command: 'while [ ! -e release ]; do sleep 0.05; done; cat > "held-$CASCADENCE_RUN_ID.json"'
    on: {webhook: ci}
  quick:
    echo: hi
""")
    srv = Server(task, "webhook", "--port", "0")
    try:
        status, _ = srv.request("POST", "/webhook/ci", b'{"n": 1}')
        assert status == 202
        # The one place is taken: the next delivery and an API run are refused, not queued.
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=20)
        conn.request("POST", "/webhook/ci", body=b'{"n": 2}')
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        assert resp.status == 503
        assert resp.getheader("Retry-After") == "1"
        assert b"http.max_runs" in body
        status, _ = srv.request("POST", "/api/v1/tasks/quick/runs")
        assert status == 503
        status, text = srv.request("GET", "/metrics")
        assert status == 200
        assert b"cascadence_http_runs_refused_total 2" in text
        assert b"cascadence_http_runs_in_flight 1" in text
        # Once the held run ends its place is free again.
        (task.cwd / "release").write_text("")
        [held] = wait_files(task.cwd, "held-*.json")
        assert json.loads(held.read_text()) == {"n": 1}
        deadline = time.monotonic() + 15
        while True:
            status, reply = srv.request("POST", "/api/v1/tasks/quick/runs?wait=true")
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert status == 200, reply
        assert json.loads(reply)["status"] == "success"
    finally:
        assert srv.stop() == 0


def test_a_bad_http_max_runs_is_refused_with_its_position(task):
    task.write_config("http: {max_runs: -3}\ntasks:\n  a:\n    echo: 1\n")
    r = task("list")
    assert r.returncode == 2
    assert "http.max_runs" in r.stderr and ":1:" in r.stderr, r.stderr
