"""The real Temporal services of the Temporal e2e tests.

`temporal_server` is the dev server that ctest's `temporal` fixture starts
(scripts/services/temporal start, before the tests; stop after them): its
addresses come from the env file the script writes under
$CASCADENCE_SERVICES_DIR. Run by hand, start it the same way first:

    CASCADENCE_SERVICES_DIR=/tmp/s scripts/services/temporal start
    CASCADENCE_SERVICES_DIR=/tmp/s python3 -m pytest tests/e2e/test_temporal_run.py

A missing server fails the tests loudly; nothing is skipped.

`temporal_worker` is tests/e2e/temporal_worker.py (the Python SDK) polling a
task queue of its own, one per test module.
"""

import os
import pathlib
import signal
import subprocess
import tempfile
import uuid

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]


class TemporalServer:
    def __init__(self, env: dict):
        self.http_address = env["TEMPORAL_HTTP_ADDRESS"]
        self.address = env["TEMPORAL_ADDRESS"]
        self.namespace = env["TEMPORAL_NAMESPACE"]
        self.cli_path = env["TEMPORAL_CLI"]
        self.python = env["TEMPORAL_PYTHON"]

    def cli(self, *args: str, timeout: float = 30) -> str:
        """Runs the Temporal CLI against this server; returns its stdout."""
        r = subprocess.run(
            [self.cli_path, *args, "--address", self.address, "--namespace", self.namespace],
            capture_output=True, text=True, timeout=timeout,
        )
        if r.returncode != 0:
            raise AssertionError(f"temporal {' '.join(args)} exited with {r.returncode}:\n{r.stderr}")
        return r.stdout


def read_server_env() -> dict:
    services = os.environ.get("CASCADENCE_SERVICES_DIR", f"/tmp/cascadence-services-{os.getuid()}")
    path = pathlib.Path(services) / "temporal" / "env"
    if not path.exists():
        raise RuntimeError(
            f"no Temporal dev server: {path} is missing. ctest starts one (fixture `temporal`); "
            f"by hand: CASCADENCE_SERVICES_DIR={services} scripts/services/temporal start"
        )
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


class TemporalWorker:
    def __init__(self, server: TemporalServer, task_queue: str, address: str = None):
        self.task_queue = task_queue
        # A file, not a pipe nobody drains: the SDK logs what it sees.
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [server.python, str(HERE / "temporal_worker.py"), "--address", address or server.address,
             "--namespace", server.namespace, "--task-queue", task_queue],
            stdout=subprocess.PIPE, stderr=self.log, text=True, start_new_session=True,
        )
        line = self.proc.stdout.readline()
        if "ready" not in line:
            self.proc.kill()
            self.proc.wait()
            self.log.seek(0)
            raise AssertionError(f"the test worker did not start: {line}{self.log.read()}")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture(scope="session")
def temporal_server() -> TemporalServer:
    return TemporalServer(read_server_env())


@pytest.fixture(scope="module")
def temporal_worker(temporal_server):
    worker = TemporalWorker(temporal_server, "cascadence-test-" + uuid.uuid4().hex[:8])
    yield worker
    worker.stop()
