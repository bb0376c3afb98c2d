"""The example remote plugin servers, started as real processes on a free port.

One entry of SERVERS per example server: how to start it and which of its
tasks the shared conformance tests use. Adding a server (the Rust example,
say) is one more entry. A server takes `--listen HOST:PORT` (port 0: a free
one; the first stdout line is `listening on http://HOST:PORT`), `--token T`,
`--max-runs N` and `--run-timeout DURATION` (spelled by ServerSpec.duration).
"""

import dataclasses
import http.client
import json
import pathlib
import signal
import subprocess
import sys
import threading
import urllib.parse

from conftest import BIN_DIR, ROOT

# Where the ctest fixtures (examples.<lang>.build) put what they build.
EXAMPLES_BUILD_DIR = BIN_DIR.parent / "examples"


def built(*parts: str) -> pathlib.Path:
    path = EXAMPLES_BUILD_DIR.joinpath(*parts)
    if not path.exists():
        raise RuntimeError(f"{path} is missing: run its build first (ctest runs the examples.*.build fixtures)")
    return path


@dataclasses.dataclass(frozen=True)
class ServerSpec:
    name: str
    command: object  # () -> argv list, resolved when the server starts
    runtime: str  # what /v1/info says
    hash_task: str = "sha256_file"  # params {"path"} -> {"sha256", "bytes"}
    sleep_task: str = "sleep"  # params {"seconds"}, cancellable
    duration: object = str  # seconds (a float) -> the server's spelling of --run-timeout


SERVERS = {
    "python": ServerSpec(
        "python",
        lambda: [sys.executable, str(ROOT / "examples" / "python_plugin" / "plugin_server.py")],
        runtime="python",
    ),
    "go": ServerSpec(
        "go",
        lambda: [str(built("go_plugin", "go-plugin-server"))],
        runtime="go",
        duration=lambda seconds: f"{round(seconds * 1000)}ms",
    ),
}


class Reply:
    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.raw = body
        self.json = json.loads(body) if body else None

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def __repr__(self):
        return f"<{self.status} {self.raw[:500]!r}>"


class RemoteServer:
    """A plugin server process; its first stdout line names its address."""

    def __init__(self, spec: ServerSpec, *args: str):
        self.spec = spec
        self.proc = subprocess.Popen(
            [*spec.command(), "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first = self._first_line(timeout=20)
        prefix = "listening on "
        if not first.startswith(prefix):
            self.stop()
            raise AssertionError(f"{spec.name} server said {first!r}, not 'listening on http://HOST:PORT'")
        self.base_url = first[len(prefix):].strip()
        url = urllib.parse.urlsplit(self.base_url)
        self.host, self.port = url.hostname, url.port
        self.conn = self.connect()

    def _first_line(self, timeout: float) -> str:
        out = []
        reader = threading.Thread(target=lambda: out.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not out or not out[0]:
            self.stop()
            raise AssertionError(f"{self.spec.name} server printed no address within {timeout}s: {self.proc.stderr.read()}")
        return out[0]

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def request(self, method: str, path: str, body=None, headers=None, conn=None) -> Reply:
        conn = conn or self.conn
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        return Reply(resp.status, resp.headers, resp.read())

    def get(self, path: str, **kw) -> Reply:
        return self.request("GET", path, **kw)

    def post_run(self, task: str, body, key: str = None, headers=None) -> Reply:
        headers = dict(headers or {})
        if key is not None:
            headers["Idempotency-Key"] = key
        headers.setdefault("Content-Type", "application/json")
        return self.request("POST", f"/v1/tasks/{task}/runs", body=body, headers=headers)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()
