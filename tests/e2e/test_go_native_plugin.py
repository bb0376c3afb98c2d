"""The Go example built -buildmode=c-shared (libgo_example.so), driven through the C ABI.

abi_driver (tests/plugins/abi_driver.c) loads the library the way a host does
and runs one processor once; it also reports every breach of the contract.
"""

import hashlib
import http.server
import json
import socket
import subprocess
import threading

import pytest

from conftest import binary
from plugin_servers import built

LIB = "go_plugin/libgo_example.so"


def drive(*args, timeout=60):
    """(exit code, the driver's JSON lines, stderr)."""
    proc = subprocess.run([str(binary("abi_driver")), str(built(*LIB.split("/"))), *args],
                          capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    return proc.returncode, lines, proc.stderr


def run(processor, params, input_json=None, *options):
    input_json = input_json or {"task": "t", "input": None, "dependencies": {}}
    code, lines, stderr = drive(processor, json.dumps(params), json.dumps(input_json), *options)
    last = lines[-1]
    assert last["violations"] == [], (last, stderr)
    return code, last, stderr


def test_the_library_exports_one_symbol():
    out = subprocess.run(["nm", "-D", "--defined-only", str(built(*LIB.split("/")))],
                         capture_output=True, text=True, check=True).stdout
    assert [line.split()[-1] for line in out.splitlines()] == ["cascadence_plugin_entry"]


def test_info_and_descriptors():
    code, lines, _ = drive("--list")
    assert code == 0
    info = lines[0]["info"]
    assert (info["name"], info["runtime"], info["unload_safe"]) == ("go_example", "go", False)
    names = [line["descriptor"]["name"] for line in lines if "descriptor" in line]
    assert names == ["go_example.fetch", "go_example.sha256_file", "go_example.echo", "go_example.sleep"]
    assert lines[-1]["violations"] == []


def test_sha256_file_through_the_abi(tmp_path):
    data = b"\x00\xffgo c-shared\n" * 100000
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    code, last, _ = run("go_example.sha256_file", {"path": str(path)})
    assert code == 0
    assert (last["stage"], last["status"], last["error"]) == ("complete", "OK", None)
    assert last["result"] == {"path": str(path), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def test_a_missing_file_completes_not_found(tmp_path):
    missing = tmp_path / "missing"
    code, last, _ = run("go_example.sha256_file", {"path": str(missing)})
    assert code == 1
    assert (last["stage"], last["status"], last["result"]) == ("complete", "NOT_FOUND", None)
    assert last["error"] == f"file not found: no file '{missing}'"


def test_bad_params_are_refused_by_create():
    code, last, _ = run("go_example.sha256_file", {"file": "/etc/hostname"})
    assert code == 1
    assert (last["stage"], last["status"]) == ("create", "INVALID_ARGUMENT")
    assert last["error"] == "go_example.sha256_file: params.path is required"
    code, last, _ = run("go_example.fetch", {"url": "file:///etc/passwd"})
    assert (code, last["stage"]) == (1, "create")
    assert last["error"] == 'go_example.fetch: params.url must be an http:// or https:// URL, not "file:///etc/passwd"'


@pytest.fixture
def content_server():
    body = b"served to the native Go plugin\n" * 512

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/file", body
    httpd.shutdown()
    httpd.server_close()


def test_fetch_through_the_abi(content_server):
    url, body = content_server
    code, last, _ = run("go_example.fetch", {"url": url})
    assert code == 0, last
    assert last["result"] == {"status": 200, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}


def test_fetch_of_a_closed_port_completes_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, last, _ = run("go_example.fetch", {"url": f"http://127.0.0.1:{port}/"})
    assert (code, last["status"]) == (1, "UNAVAILABLE")
    assert last["error"] == (f"fetch failed: GET http://127.0.0.1:{port}/: "
                             f"dial tcp 127.0.0.1:{port}: connect: connection refused")


def test_cancel_stops_a_sleep():
    code, last, _ = run("go_example.sleep", {"seconds": 60}, None, "--cancel-after-ms", "100", "--timeout-ms", "10000")
    assert code == 1
    assert (last["stage"], last["status"], last["cancel_sent"], last["error"]) == \
        ("complete", "CANCELLED", True, "cancelled")


def test_a_panic_completes_internal_with_its_message():
    code, last, stderr = run("go_example.echo", {"panic": "kaboom"})
    assert code == 1
    assert (last["stage"], last["status"], last["error"], last["result"]) == \
        ("complete", "INTERNAL", "panic: kaboom", None)
    assert "log error: go_example.echo: panic: kaboom" in stderr


def test_echo_returns_its_params():
    params = {"nested": {"list": [1, 2.5, "three", None]}, "ok": True}
    code, last, _ = run("go_example.echo", params)
    assert (code, last["status"], last["result"]) == (0, "OK", params)
