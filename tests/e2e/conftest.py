"""Black-box tests against the built `task` binary and the example programs.

The binaries come from CASCADENCE_BIN_DIR (set by ctest), else build/release/bin.
Every test runs in its own empty working directory with no CASCADENCE_*
variables inherited, so state files never leak between tests.
"""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN_DIR = pathlib.Path(os.environ.get("CASCADENCE_BIN_DIR", ROOT / "build" / "release" / "bin"))


def binary(name: str) -> pathlib.Path:
    path = BIN_DIR / name
    if not path.exists():
        raise RuntimeError(f"{path} is missing: build the project first (scripts/test does)")
    return path


class Task:
    """Runs `task` in a scratch directory."""

    def __init__(self, cwd: pathlib.Path):
        self.cwd = cwd
        self.exe = binary("task")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CASCADENCE_")}

    def write_config(self, text: str, name: str = "cascadence.yml") -> pathlib.Path:
        path = self.cwd / name
        path.write_text(text)
        return path

    def __call__(self, *args, timeout: float = 60, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.exe), *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            timeout=timeout,
            **{"text": True, **kwargs},
        )

    def popen(self, *args, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(
            [str(self.exe), *args],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kwargs,
        )


@pytest.fixture
def task(tmp_path: pathlib.Path) -> Task:
    return Task(tmp_path)


def process_gone(pid: int) -> bool:
    """True when `pid` no longer runs (a zombie awaiting an absent reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state == "Z"
    except FileNotFoundError:
        return True


# The Temporal dev server and test worker (temporal_services.py).
from temporal_services import temporal_server, temporal_worker  # noqa: E402,F401
