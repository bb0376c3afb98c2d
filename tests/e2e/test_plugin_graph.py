"""One graph across every kind of processor: a built-in task, a native C++
plugin, a native Rust plugin, a Go plugin and a task of the Python remote
plugin server, all examples from examples/, built by the ctest fixtures.
Every output is checked against a value computed here.

The Go plugin runs in a cascadence-plugin-host process of its own
(`isolation: process`, the default for Go), the others in-process.
"""

import collections
import hashlib
import json
import re

import pytest

from conftest import BIN_DIR
from plugin_servers import SERVERS, RemoteServer, built

TEXT = "the quick brown fox jumps over the lazy dog and the cat"


@pytest.fixture
def python_server():
    server = RemoteServer(SERVERS["python"])
    yield server
    server.stop()


def expected_top(text, n):
    counts = collections.Counter(re.findall(r"[a-z0-9']+", text.lower()))
    return [[w, c] for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def test_one_graph_mixes_built_in_native_and_remote_tasks(task, tmp_path, python_server):
    data = tmp_path / "data.bin"
    data.write_bytes(bytes(range(256)) * 1000)
    cpp = BIN_DIR.parent / "plugins" / "libcpp_example.so"
    rust = built("rust_plugin", "librust_example.so")
    go = built("go_plugin", "libgo_example.so")
    task.env["CRONYX_BASE_URL"] = python_server.base_url
    task.env["CASCADENCE_HOME"] = str(tmp_path / "home")
    task.write_config(f"""
plugins:
  - {cpp}
  - {rust}
  - {go}
tasks:
  text:
    echo: {TEXT}
  digest:
    plugin: cpp_example.sha256
    after: [text]
  words:
    plugin: rust_example.wordcount
    params: {{top: 2}}
    after: [text]
  file_hash:
    plugin: go_example.sha256_file
    params: {{path: {data}}}
  shout:
    remote: transform
    params: {{op: upper, from: text}}
    after: [text]
  report:
    echo: done
    after: [digest, words, file_hash, shout]
""")
    r = task("run", "report", "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["status"] == "success"
    by_name = {t["name"]: t for t in report["tasks"]}
    assert set(by_name) == {"text", "digest", "words", "file_hash", "shout", "report"}
    assert all(t["status"] == "success" for t in by_name.values()), by_name

    assert by_name["text"]["output"] == TEXT
    assert by_name["digest"]["output"] == {
        "sha256": hashlib.sha256(TEXT.encode()).hexdigest(),
        "bytes": len(TEXT.encode()),
    }
    assert by_name["words"]["output"] == {"words": len(TEXT.split()), "top": expected_top(TEXT, 2)}
    file_out = by_name["file_hash"]["output"]
    assert file_out["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert file_out["bytes"] == data.stat().st_size
    assert by_name["shout"]["output"] == TEXT.upper()

    listed = task("plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    plugins = {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}
    assert plugins["cpp_example"]["runtime"] == "cpp"
    assert plugins["rust_example"]["runtime"] == "rust"
    assert plugins["go_example"]["runtime"] == "go"
    assert plugins["go_example"]["isolation"] == "process"
    assert plugins["cpp_example"]["isolation"] == "in_process"
