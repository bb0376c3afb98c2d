"""Metrics exposure: /metrics scraped by promtool and a real Prometheus, and
pushes to a real Pushgateway."""

import hashlib
import hmac
import json
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from metrics_services import free_port, http_get, require, start_prometheus, start_pushgateway
from serve_helpers import Serve

SUCCESS = 'task_success_total{task_name="example"} 1'


def promtool_check(text: str) -> None:
    exe = require("promtool")
    r = subprocess.run([exe, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"promtool check metrics failed:\n{r.stdout}{r.stderr}\n--- exposition ---\n{text}"


def scrape_until(url: str, predicate, timeout: float = 20):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = http_get(url)
            if predicate(last):
                return last
        except OSError as e:
            last = repr(e)
        time.sleep(0.1)
    raise AssertionError(f"{url} never matched within {timeout}s; last:\n{last}")


class Lines:
    """Collects a pipe's lines in the background."""

    def __init__(self, pipe):
        self.lines = []
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe):
        for line in pipe:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, line: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while line not in self.lines:
            assert time.monotonic() < deadline, f"no line {line!r} within {timeout}s; got {self.lines}"
            time.sleep(0.02)


class WithGlobalOptions:
    """A `task` runner that puts global options before the command word."""

    def __init__(self, task, *options):
        self.task = task
        self.options = options

    def popen(self, *args, **kwargs):
        return self.task.popen(*self.options, *args, **kwargs)


@pytest.fixture
def service_dir(tmp_path):
    d = tmp_path / "services"
    d.mkdir()
    return d


def test_run_serves_its_series_during_the_linger(task):
    port = free_port()
    proc = task.popen("--metrics-port", str(port), "--metrics-linger", "5s", "run", "example")
    try:
        err = Lines(proc.stderr)
        text = scrape_until(f"http://127.0.0.1:{port}/metrics", lambda t: SUCCESS in t.splitlines())
        err.wait_for(f"metrics on http://127.0.0.1:{port}/metrics")
        assert proc.poll() is None, "the command must still serve during the linger"
        assert any(l.startswith('task_latency_seconds_bucket{task_name="example",le="0.005"} ')
                   for l in text.splitlines())
        assert 'task_latency_seconds_bucket{task_name="example",le="+Inf"} 1' in text.splitlines()
        promtool_check(text)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_signal_during_the_linger_ends_it_and_keeps_the_run_status(task):
    port = free_port()
    proc = task.popen("--metrics-port", str(port), "--metrics-linger", "10m", "run", "example")
    try:
        scrape_until(f"http://127.0.0.1:{port}/metrics", lambda t: SUCCESS in t.splitlines())
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_metrics_port_zero_picks_a_free_port_and_logs_it(task):
    r = task("--metrics-port", "0", "run", "example")
    assert r.returncode == 0, r.stderr
    assert any(l.startswith("metrics on http://127.0.0.1:") and l.endswith("/metrics") and ":0/" not in l
               for l in r.stderr.splitlines()), r.stderr


@pytest.mark.parametrize("args, message", [
    (["--metrics-port", "70000", "run", "example"], "error: --metrics-port: invalid port '70000'"),
    (["--metrics-port", "x", "run", "example"], "error: --metrics-port: invalid port 'x'"),
    (["--metrics-linger", "soon", "run", "example"], "error: --metrics-linger: invalid duration 'soon'"),
    (["--pushgateway", "ftp://x", "run", "example"], "error: --pushgateway: 'ftp://x' is not an http"),
    (["--metrics-port"], "error: --metrics-port needs a value"),
])
def test_bad_metrics_options_are_usage_errors(task, args, message):
    r = task(*args)
    assert r.returncode == 2
    assert r.stderr.startswith(message), r.stderr


def test_serve_is_scraped_by_a_real_prometheus(task, service_dir):
    assert task("schedule", "example", "* * * * * *").returncode == 0
    port = free_port()
    serve = Serve(WithGlobalOptions(task, "--metrics-port", str(port)))
    prometheus = None
    try:
        metrics_url = f"http://127.0.0.1:{port}/metrics"
        text = scrape_until(metrics_url, lambda t: 'task_success_total{task_name="example"}' in t
                            and "cascadence_schedule_fires_total" in t)
        promtool_check(text)
        prometheus = start_prometheus(service_dir, f"127.0.0.1:{port}")
        query = prometheus.url + "/api/v1/query?" + urllib.parse.urlencode(
            {"query": 'task_success_total{task_name="example"}'})
        deadline = time.monotonic() + 30
        result = []
        while time.monotonic() < deadline:
            body = json.loads(http_get(query))
            assert body["status"] == "success", body
            result = body["data"]["result"]
            if result and float(result[0]["value"][1]) >= 1:
                break
            time.sleep(0.5)
        assert result, "Prometheus never scraped task_success_total from task serve"
        assert result[0]["metric"]["job"] == "cascadence"
        assert float(result[0]["value"][1]) >= 1
        fires = json.loads(http_get(prometheus.url + "/api/v1/query?" + urllib.parse.urlencode(
            {"query": 'cascadence_schedule_fires_total{task_name="example"}'})))["data"]["result"]
        assert fires and float(fires[0]["value"][1]) >= 1
    finally:
        if prometheus is not None:
            prometheus.stop()
        assert serve.stop() == 0


def test_pushgateway_receives_the_run_series(task, service_dir):
    gateway = start_pushgateway(service_dir)
    try:
        r = task("--pushgateway", gateway.url, "run", "example")
        assert r.returncode == 0, r.stderr
        text = http_get(gateway.url + "/metrics")
        lines = [l for l in text.splitlines() if l.startswith("task_success_total{")]
        assert any('job="cascadence"' in l and 'task_name="example"' in l and l.endswith(" 1") for l in lines), text
        assert any(l.startswith("task_latency_seconds_bucket{") and 'job="cascadence"' in l for l in text.splitlines())
    finally:
        gateway.stop()


def test_an_unreachable_pushgateway_is_reported_and_the_run_still_counts(task):
    port = free_port()
    r = task("--pushgateway", f"http://127.0.0.1:{port}", "run", "example", timeout=60)
    assert r.returncode == 0
    assert f"error: cannot push metrics to http://127.0.0.1:{port}" in r.stderr


WEBHOOK_CONFIG = """
webhook:
  secrets: {github: gh-secret}
tasks:
  on_push:
    command: 'cat > "push-$CASCADENCE_RUN_ID.json"'
    on: {webhook: github, events: [push]}
"""


def http_port(serve) -> int:
    line = serve.wait_for(lambda l: "listening on http://" in l)
    return int(re.search(r"listening on http://[^ ]*:(\d+)", line).group(1))


def post(port: int, path: str, body: bytes, headers: dict) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_webhook_and_http_series_count_deliveries_and_refusals(task):
    task.write_config(WEBHOOK_CONFIG)
    metrics_port = free_port()
    serve = Serve(WithGlobalOptions(task, "--metrics-port", str(metrics_port)))
    try:
        port = http_port(serve)
        body = b'{"ref":"refs/heads/main"}'
        signed = "sha256=" + hmac.new(b"gh-secret", body, hashlib.sha256).hexdigest()
        forged = "sha256=" + hmac.new(b"not-the-secret", body, hashlib.sha256).hexdigest()
        assert post(port, "/webhook/github", body, {"X-GitHub-Event": "push", "X-Hub-Signature-256": signed}) == 202
        assert post(port, "/webhook/github", body, {"X-GitHub-Event": "push", "X-Hub-Signature-256": forged}) == 401
        assert post(port, "/webhook/no-such-source-4711", body, {}) == 404
        deadline = time.monotonic() + 15
        while not list(task.cwd.glob("push-*.json")):
            assert time.monotonic() < deadline, "the signed delivery never reached on_push"
            time.sleep(0.05)

        expected = [
            'cascadence_webhook_requests_total{code="202",source="github"} 1',
            'cascadence_webhook_requests_total{code="401",source="github"} 1',
            'cascadence_webhook_requests_total{code="404",source="(unknown)"} 1',
            'cascadence_webhook_deliveries_total{source="github",task_name="on_push"} 1',
            'cascadence_http_requests_total{code="202",method="POST",route="/webhook/github"} 1',
            'cascadence_http_requests_total{code="401",method="POST",route="/webhook/github"} 1',
            'cascadence_http_requests_total{code="404",method="POST",route="/webhook/{source}"} 1',
            'cascadence_http_request_duration_seconds_count{method="POST",route="/webhook/github"} 2',
            'cascadence_http_request_duration_seconds_bucket{method="POST",route="/webhook/github",le="+Inf"} 2',
        ]
        # The same registry answers on serve's own port and on --metrics-port.
        for url in (f"http://127.0.0.1:{port}/metrics", f"http://127.0.0.1:{metrics_port}/metrics"):
            text = scrape_until(url, lambda t: all(e in t.splitlines() for e in expected))
            assert "no-such-source-4711" not in text, "a path segment became a label value"
            promtool_check(text)
        # Each scrape so far was counted under its route pattern.
        text = http_get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert any(l.startswith('cascadence_http_requests_total{code="200",method="GET",route="/metrics"} ')
                   for l in text.splitlines()), text
        promtool_check(text)
    finally:
        assert serve.stop() == 0
