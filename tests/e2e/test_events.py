"""Run events (docs/events.md) with the file and http transports: the seed's
event shapes, hashed user ids from every entry point (`--user-id`, the API's
X-Cascadence-User-Id, a webhook payload's pointer), the clear id nowhere,
and a dead receiver that costs the run nothing."""

import http.server
import json
import re
import subprocess
import threading
import time

import pytest

from event_helpers import check_task_events, read_lines, user_hash
from serve_helpers import Serve, http_request as request, listening_port as serve_port

GRAPH = """
events: {transport: file, path: events.jsonl}
tasks:
  fetch: {echo: fetched, description: "gets the data", kind: manual}
  build: {command: "echo built", after: [fetch]}
  publish: {echo: published, after: [fetch, build]}
  broken: {command: "exit 3"}
  after_broken: {echo: never, after: [broken]}
"""


def test_a_three_task_graph_gives_each_task_its_events_in_order(task):
    task.write_config(GRAPH)
    r = task("run", "publish", "--user-id", "alice", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    events = read_lines(task.cwd / "events.jsonl")
    tasks = check_task_events(events, {"fetch": "success", "build": "success", "publish": "success"},
                              user_hash("alice"), report["run_id"])
    assert tasks["fetch"][0]["description"] == "gets the data"
    # Dependencies settle before their dependents start.
    position = {id(e): i for i, e in enumerate(events)}
    assert position[id(tasks["fetch"][1])] < position[id(tasks["build"][0])]
    assert position[id(tasks["build"][1])] < position[id(tasks["publish"][0])]
    # The report carries the hash too, never the id.
    assert report["user_hash"] == user_hash("alice")


def test_a_failed_task_and_its_skipped_dependent_are_reported(task):
    task.write_config(GRAPH)
    r = task("run", "after_broken", "--user-id", "bob")
    assert r.returncode == 1
    events = read_lines(task.cwd / "events.jsonl")
    tasks = check_task_events(events, {"broken": "failed", "after_broken": "skipped"}, user_hash("bob"))
    assert "exited with status 3" in tasks["broken"][-1]["error"]
    assert tasks["after_broken"][-1]["attempt"] == 0


@pytest.mark.parametrize("user_id", ["alice", "", "Zoë 🚀 日本", "a\"b\\c"])
@pytest.mark.parametrize("secret", [None, "s3cr3t", "ünïcode-salt"])
def test_the_hash_is_the_seeds_and_the_clear_id_goes_nowhere(task, user_id, secret):
    task.write_config(GRAPH)
    if secret is not None:
        task.env["CASCADENCE_HASH_SECRET"] = secret
    r = task("trigger", "fetch", "--user-id", user_id, "--json")
    assert r.returncode == 0, r.stderr
    expected = user_hash(user_id, secret or "")
    text = (task.cwd / "events.jsonl").read_text()
    events = read_lines(task.cwd / "events.jsonl")
    check_task_events(events, {"fetch": "success"}, expected)
    assert json.loads(r.stdout)["user_hash"] == expected
    if len(user_id) > 1:
        for where in (text, r.stdout, r.stderr, json.dumps(events, ensure_ascii=False)):
            assert user_id not in where


def test_without_a_user_the_hash_is_null(task):
    task.write_config(GRAPH)
    assert task("run", "fetch").returncode == 0
    check_task_events(read_lines(task.cwd / "events.jsonl"), {"fetch": "success"}, None)


def test_retries_send_one_spec_event_per_attempt(task):
    task.write_config("""
events: {transport: file, path: events.jsonl}
tasks:
  flaky:
    command: 'test -f once || { touch once; exit 1; }'
    retries: 1
    retry_backoff: 10ms
""")
    assert task("run", "flaky").returncode == 0
    events = read_lines(task.cwd / "events.jsonl")
    assert [(e["type"], e.get("attempt")) for e in events] == [("task_spec", 1), ("task_spec", 2), ("task_run", 2)]
    assert events[-1]["status"] == "success"


class Receiver:
    """A real HTTP server collecting the JSON arrays POSTed to it."""

    def __init__(self, status=200):
        received = self.received = []
        answer = status

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.headers["Content-Type"], json.loads(body)))
                self.send_response(answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_the_http_transport_posts_json_batches(task):
    receiver = Receiver()
    try:
        task.write_config(GRAPH.replace("{transport: file, path: events.jsonl}",
                                        f"{{transport: http, url: '{receiver.url}'}}"))
        r = task("run", "publish", "--user-id", "carol")
        assert r.returncode == 0, r.stderr
        assert all(ctype == "application/json" and isinstance(batch, list) for ctype, batch in receiver.received)
        events = [e for _, batch in receiver.received for e in batch]
        check_task_events(events, {"fetch": "success", "build": "success", "publish": "success"}, user_hash("carol"))
    finally:
        receiver.close()


def test_a_receiver_that_refuses_or_is_gone_costs_the_run_nothing(task):
    receiver = Receiver(status=500)
    url = receiver.url
    try:
        task.write_config(GRAPH.replace("{transport: file, path: events.jsonl}",
                                        f"{{transport: http, url: '{url}', deadline: 200ms}}"))
        r = task("run", "publish")
        assert r.returncode == 0, r.stderr
        # The first drop is logged at once, the rest when the run is over:
        # every one of the 6 events is accounted for, in two lines, not six.
        counts = re.findall(r"^warning: events: (\d+) events? dropped on http \(send_failed \d+\): .* answered 500$",
                            r.stderr, re.M)
        assert sum(map(int, counts)) == 6 and len(counts) <= 2, r.stderr
    finally:
        receiver.close()
    # Nobody listens any more: connections are refused.
    started = time.monotonic()
    r = task("run", "publish")
    assert r.returncode == 0, r.stderr
    assert "events dropped on http" in r.stderr
    assert time.monotonic() - started < 10


def test_serve_hashes_the_api_header_and_the_webhook_pointer(task):
    task.env["CASCADENCE_HASH_SECRET"] = "pepper"
    task.write_config("""
events: {transport: file, path: events.jsonl}
webhook:
  user_id: {github: /sender/login}
tasks:
  hello: {echo: hi}
  on_push:
    echo: pushed
    on: {webhook: github, events: [push]}
""")
    srv = Serve(task)
    try:
        port = serve_port(srv)
        status, body = request(port, "POST", "/api/v1/tasks/hello/runs?wait=true",
                               headers={"X-Cascadence-User-Id": "dora@example.com"})
        assert status == 200, body
        api_run = json.loads(body)["run_id"]
        payload = json.dumps({"ref": "main", "sender": {"login": "octocat-42"}}).encode()
        status, _ = request(port, "POST", "/webhook/github", payload,
                            {"X-GitHub-Event": "push", "Content-Type": "application/json"})
        assert status == 202
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            events = read_lines(task.cwd / "events.jsonl") if (task.cwd / "events.jsonl").exists() else []
            if sum(e["type"] == "task_run" for e in events) == 2:
                break
            time.sleep(0.05)
        hello = [e for e in events if (e.get("name") or e["spec"]["name"]) == "hello"]
        check_task_events(hello, {"hello": "success"}, user_hash("dora@example.com", "pepper"), api_run)
        pushed = [e for e in events if (e.get("name") or e["spec"]["name"]) == "on_push"]
        check_task_events(pushed, {"on_push": "success"}, user_hash("octocat-42", "pepper"))
        status, metrics = request(port, "GET", "/metrics")
        metrics = metrics.decode()
        assert re.search(r'^cascadence_events_sent_total\{transport="file"\} 4(\.0)?$', metrics, re.M), metrics
        check = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        for clear in ("dora@example.com", "octocat-42"):
            assert clear not in metrics
            assert clear not in "\n".join(srv.snapshot())
            assert clear not in (task.cwd / "events.jsonl").read_text()
    finally:
        assert srv.stop() == 0
    assert "dora@example.com" not in srv.proc.stderr.read()


@pytest.mark.parametrize("events, message", [
    ("{transport: kafka}", "events.transport: unknown transport 'kafka'"),
    ("{transport: file}", "transport file needs events.path"),
    ("{transport: file, path: no/such/dir/events.jsonl}", "cannot open no/such/dir/events.jsonl for events"),
    ("{transport: http}", "transport http needs events.url"),
    ("{transport: http, url: 'ftp://x'}", "is not an http:// or https:// URL"),
    ("{transport: nats, deadline: 0s}", "events.deadline"),
    ("{queue_size: 0}", "events.queue_size"),
    ("{bogus: 1}", "bogus"),
])
def test_bad_event_configuration_is_refused_before_anything_runs(task, events, message):
    task.write_config(f"events: {events}\ntasks:\n  t: {{command: 'touch ran'}}\n")
    r = task("run", "t")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith("error: ") and message in r.stderr, r.stderr
    assert not (task.cwd / "ran").exists()


@pytest.mark.parametrize("args, message", [
    (["--transport", "carrier-pigeon"], "--transport: unknown transport 'carrier-pigeon'"),
    (["--nats-conn", "http://x"], "--nats-conn: 'http://x' is not a nats:// or tls:// URL"),
    (["--nats-subject", ""], "--nats-subject: the subject is empty"),
    (["--grpc-stub", ""], "--grpc-stub: the address is empty"),
    (["--transport", "run"], "unknown transport 'run'"),
])
def test_bad_event_options_are_usage_errors(task, args, message):
    task.write_config("tasks:\n  t: {command: 'touch ran'}\n")
    r = task(*args, "run", "t")
    assert r.returncode == 2
    assert message in r.stderr, r.stderr
    assert not (task.cwd / "ran").exists()


def test_the_global_transport_option_wins_over_the_file(task):
    task.write_config(GRAPH.replace("transport: file", "transport: none"))
    assert task("run", "fetch").returncode == 0
    assert not (task.cwd / "events.jsonl").exists()
    assert task("--transport", "file", "run", "fetch").returncode == 0
    check_task_events(read_lines(task.cwd / "events.jsonl"), {"fetch": "success"}, None)
