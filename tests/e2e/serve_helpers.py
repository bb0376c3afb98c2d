"""Running `task serve` in the background and reading its log."""

import http.client
import re
import signal
import subprocess
import threading
import time

LINE = re.compile(r"^(\S+) (fire|skip|done|task|error) (\S+)(.*)$")


class Serve:
    """A `task serve` process whose stdout is collected line by line."""

    def __init__(self, task, *args):
        # serve also listens on HTTP (default 127.0.0.1:8000): tests take a
        # free port so parallel runs never collide.
        if "--port" not in args:
            args = (*args, "--port", "0")
        self.proc = task.popen("serve", *args)
        self.lines = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for(lambda l: "schedule(s) active" in l or "nothing is fired" in l, timeout=20)

    def _read(self):
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def snapshot(self):
        with self._lock:
            return list(self.lines)

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.snapshot():
                if predicate(line):
                    return line
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no matching line within {timeout}s; log:\n" + "\n".join(self.snapshot()))

    def events(self, kind, task=None):
        out = []
        for line in self.snapshot():
            m = LINE.match(line)
            if m and m.group(2) == kind and (task is None or m.group(3) == task):
                fields = dict(kv.split("=", 1) for kv in m.group(4).split() if "=" in kv)
                fields["at"] = m.group(1)
                out.append(fields)
        return out

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        finally:
            self._reader.join(timeout=5)
        return self.proc.returncode

    def kill(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._reader.join(timeout=5)


def http_request(port, method, path, body=b"", headers=None):
    """One request to 127.0.0.1:port; (status, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def listening_port(serve):
    """The port a `task serve` or `task webhook` logged `listening on` with."""
    line = serve.wait_for(lambda l: "listening on http://" in l)
    return int(re.search(r"listening on http://[^ ]*:(\d+)", line).group(1))
