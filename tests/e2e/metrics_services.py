"""Real Prometheus and Pushgateway processes for the metrics tests.

Each starts Debian's binary on 127.0.0.1 with a free port and a temporary
data directory, waits until it answers /-/ready, and is stopped by the
fixture's teardown. A missing binary fails the test loudly: install them
with scripts/setup (packages prometheus and prometheus-pushgateway).
"""

import shutil
import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        raise RuntimeError(f"{binary} is not installed: run scripts/setup (Debian packages prometheus, "
                           "prometheus-pushgateway)")
    return path


def http_get(url: str, timeout: float = 5) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args[0]} exited with {proc.returncode}:\n{proc.stderr.read()}")
        try:
            http_get(url + "/-/ready", timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} not ready within {timeout}s")


class Service:
    def __init__(self, args, port):
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_ready(self.url, self.proc)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_prometheus(workdir, scrape_target: str) -> Service:
    exe = require("prometheus")
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: cascadence\n"
        f"    static_configs:\n      - targets: ['{scrape_target}']\n")
    data = workdir / "prometheus-data"
    data.mkdir()
    return Service([exe, f"--config.file={config}", f"--storage.tsdb.path={data}",
                    f"--web.listen-address=127.0.0.1:{port}"], port)


def start_pushgateway(workdir) -> Service:
    exe = require("prometheus-pushgateway")
    port = free_port()
    return Service([exe, f"--web.listen-address=127.0.0.1:{port}",
                    f"--persistence.file={workdir / 'pushgateway.data'}"], port)
