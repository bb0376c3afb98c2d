"""The example native plugins through tests/plugins/abi_driver, a C host of the
ABI alone. Expected values are computed here independently (hashlib, counting
in Python), never copied from a run.

Environment (tests/CMakeLists.txt sets it): ABI_DRIVER, CPP_EXAMPLE_PLUGIN,
RUST_EXAMPLE_PLUGIN (the Rust one only with the examples_rust fixture).
"""
import collections
import hashlib
import json
import os
import re
import subprocess

import pytest

DRIVER = os.environ.get("ABI_DRIVER", "")
CPP = os.environ.get("CPP_EXAMPLE_PLUGIN", "")
RUST = os.environ.get("RUST_EXAMPLE_PLUGIN", "")


def drive(lib, processor, params, input_doc=None, *options):
    """Runs the driver; returns (exit code, the JSON lines, stderr)."""
    if input_doc is None:
        input_doc = {"task": "t", "input": None, "dependencies": {}}
    proc = subprocess.run(
        [DRIVER, lib, processor, json.dumps(params), json.dumps(input_doc), *options],
        capture_output=True, text=True, timeout=60)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    return proc.returncode, lines, proc.stderr


def last(lines):
    return lines[-1]


def needs(lib):
    if not DRIVER or not lib:
        pytest.skip("ABI_DRIVER and the plugin's path are set by ctest")


# ---- cpp_example


@pytest.fixture
def cpp():
    needs(CPP)
    return CPP


def test_cpp_info_and_descriptors(cpp):
    proc = subprocess.run([DRIVER, cpp, "--list"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines[0]["info"]["name"] == "cpp_example"
    assert lines[0]["info"]["runtime"] == "cpp"
    names = [line["descriptor"]["name"] for line in lines if "descriptor" in line]
    assert names == ["cpp_example.sha256", "cpp_example.count_lines"]
    assert last(lines)["violations"] == []


def test_cpp_exports_only_the_entry(cpp):
    out = subprocess.run(["nm", "-D", "--defined-only", cpp], capture_output=True, text=True, check=True).stdout
    symbols = [line.split()[-1] for line in out.splitlines() if line.strip()]
    assert symbols == ["cascadence_plugin_entry"]


def test_cpp_sha256_of_text(cpp):
    text = "Cascadence \u00e9t\u00e9 \U0001f680"
    code, lines, err = drive(cpp, "cpp_example.sha256", {"text": text})
    assert code == 0, err
    data = text.encode()
    assert last(lines) == {"stage": "complete", "status": "OK",
                           "result": {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)},
                           "error": None, "cancel_sent": False, "outputs": 0, "violations": []}


def test_cpp_sha256_of_file(cpp, tmp_path):
    data = os.urandom(100_000)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    code, lines, err = drive(cpp, "cpp_example.sha256", {"file": str(path)})
    assert code == 0, err
    assert last(lines)["result"] == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def test_cpp_sha256_of_the_dependency_output(cpp):
    output = "hello from echo\n"
    code, lines, err = drive(cpp, "cpp_example.sha256", {},
                             {"task": "hash", "input": None, "dependencies": {"echo": output}})
    assert code == 0, err
    assert last(lines)["result"] == {"sha256": hashlib.sha256(output.encode()).hexdigest(),
                                     "bytes": len(output.encode())}


def test_cpp_sha256_without_a_source_fails_the_run(cpp):
    code, lines, _ = drive(cpp, "cpp_example.sha256", {},
                           {"task": "hash", "input": None, "dependencies": {"a": "x", "b": "y"}})
    assert code == 1
    assert last(lines)["stage"] == "complete"
    assert last(lines)["status"] == "INVALID_ARGUMENT"
    assert last(lines)["error"] == ("cpp_example.sha256: no `text` or `file` in params, and the task has 2 "
                                    "dependencies (one, with a string output, is needed)")


def test_cpp_sha256_of_a_missing_file(cpp, tmp_path):
    missing = tmp_path / "missing.txt"
    code, lines, _ = drive(cpp, "cpp_example.sha256", {"file": str(missing)})
    assert code == 1
    assert last(lines)["status"] == "NOT_FOUND"
    assert last(lines)["error"] == f"cpp_example.sha256: cannot read {missing} (No such file or directory)"


@pytest.mark.parametrize("params,message", [
    ({"text": 42}, "cpp_example.sha256: `text` must be a string"),
    ({"file": ["a"]}, "cpp_example.sha256: `file` must be a string"),
    ({"text": "a", "file": "b"}, "cpp_example.sha256: give `text` or `file`, not both"),
    ([1, 2], "cpp_example.sha256: params must be an object"),
])
def test_cpp_sha256_refuses_bad_params_at_create(cpp, params, message):
    code, lines, _ = drive(cpp, "cpp_example.sha256", params)
    assert code == 1
    assert last(lines)["stage"] == "create"
    assert last(lines)["status"] == "INVALID_ARGUMENT"
    assert last(lines)["error"] == message


@pytest.mark.parametrize("params,message", [
    ({}, "cpp_example.count_lines: `file` is required"),
    ({"file": 3}, "cpp_example.count_lines: `file` must be a string"),
    ({"file": "x", "delay_ms": -1}, "cpp_example.count_lines: `delay_ms` must be a non-negative integer"),
    ({"file": "x", "delay_ms": "soon"}, "cpp_example.count_lines: `delay_ms` must be a non-negative integer"),
])
def test_cpp_count_lines_refuses_bad_params_at_create(cpp, params, message):
    code, lines, _ = drive(cpp, "cpp_example.count_lines", params)
    assert code == 1
    assert (last(lines)["stage"], last(lines)["status"], last(lines)["error"]) == ("create", "INVALID_ARGUMENT",
                                                                                   message)


def wc(data):
    return {"lines": data.count(b"\n"), "words": len(data.split()), "bytes": len(data)}


@pytest.mark.parametrize("executor", [[], ["--executor"], ["--executor-refuse"]],
                         ids=["own-thread", "host-executor", "executor-refuses"])
def test_cpp_count_lines(cpp, tmp_path, executor):
    data = b"one two  three\n\tfour\n\nfive six seven eight\nno newline at the end"
    path = tmp_path / "words.txt"
    path.write_bytes(data)
    code, lines, err = drive(cpp, "cpp_example.count_lines", {"file": str(path)}, None, *executor)
    assert code == 0, err
    assert last(lines)["result"] == wc(data)
    outputs = [line["output"] for line in lines if "output" in line]
    expected = wc(data)
    assert outputs == [
        {"stream": "stdout", "line": f"counting {path}"},
        {"stream": "stdout",
         "line": f"{path}: {expected['lines']} lines, {expected['words']} words, {expected['bytes']} bytes"},
    ]
    assert last(lines)["violations"] == []


@pytest.mark.parametrize("executor", [[], ["--executor"]], ids=["own-thread", "host-executor"])
def test_cpp_count_lines_is_cancelled(cpp, tmp_path, executor):
    path = tmp_path / "f.txt"
    path.write_text("a\n")
    # A delay far longer than the test's timeout: only the cancel can end it.
    code, lines, err = drive(cpp, "cpp_example.count_lines", {"file": str(path), "delay_ms": 600_000}, None,
                             "--cancel-after-ms", "100", "--timeout-ms", "20000", *executor)
    assert code == 1, err
    assert last(lines)["stage"] == "complete"
    assert last(lines)["status"] == "CANCELLED"
    assert last(lines)["error"] == "cpp_example.count_lines: cancelled"
    assert last(lines)["cancel_sent"] is True
    assert last(lines)["result"] is None
    assert last(lines)["violations"] == []


def test_cpp_count_lines_with_a_short_delay_completes(cpp, tmp_path):
    path = tmp_path / "f.txt"
    path.write_bytes(b"x y\n")
    code, lines, err = drive(cpp, "cpp_example.count_lines", {"file": str(path), "delay_ms": 30})
    assert code == 0, err
    assert last(lines)["result"] == {"lines": 1, "words": 2, "bytes": 4}


# ---- the driver itself


def test_driver_names_an_unknown_processor(cpp):
    code, lines, err = drive(cpp, "cpp_example.nope", {})
    assert code == 2
    assert err.strip() == (f"error: no processor cpp_example.nope in {cpp} "
                           "(it has: cpp_example.sha256 cpp_example.count_lines)")


def test_driver_refuses_a_library_without_the_entry(tmp_path):
    needs(CPP)
    # libcrypto is a real shared library with no cascadence_plugin_entry.
    libcrypto = subprocess.run(["sh", "-c", f"ldd {CPP} | awk '/libcrypto/ {{print $3}}'"],
                               capture_output=True, text=True, check=True).stdout.strip()
    assert libcrypto
    code, _, err = drive(libcrypto, "x", {})
    assert code == 2
    assert re.fullmatch(rf"error: {re.escape(libcrypto)} has no cascadence_plugin_entry \(.*\)", err.strip())


# ---- rust_example


@pytest.fixture
def rust():
    needs(RUST)
    return RUST


def expected_wordcount(text, top=3):
    words = re.findall(r"[a-z0-9']+", text.lower())
    counts = collections.Counter(words)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    return {"words": len(words), "top": [[word, count] for word, count in ranked]}


def test_rust_info_and_descriptors(rust):
    proc = subprocess.run([DRIVER, rust, "--list"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines[0]["info"]["name"] == "rust_example"
    assert lines[0]["info"]["runtime"] == "rust"
    names = [line["descriptor"]["name"] for line in lines if "descriptor" in line]
    assert names == ["rust_example.wordcount", "rust_example.panic"]


def test_rust_exports_only_the_entry(rust):
    out = subprocess.run(["nm", "-D", "--defined-only", rust], capture_output=True, text=True, check=True).stdout
    symbols = [line.split()[-1] for line in out.splitlines() if line.strip()]
    assert symbols == ["cascadence_plugin_entry"]


def test_rust_wordcount_of_text(rust):
    text = "The cat and the hat; the CAT sat. A bat, a cat!"
    code, lines, err = drive(rust, "rust_example.wordcount", {"text": text, "top": 4})
    assert code == 0, err
    assert last(lines)["result"] == expected_wordcount(text, 4)
    assert last(lines)["violations"] == []


def test_rust_wordcount_of_dependencies(rust):
    deps = {"a": "red green blue red", "b": {"not": "a string"}, "c": "blue red yellow"}
    code, lines, err = drive(rust, "rust_example.wordcount", {},
                             {"task": "wc", "input": None, "dependencies": deps})
    assert code == 0, err
    assert last(lines)["result"] == expected_wordcount("red green blue red blue red yellow")


def test_rust_wordcount_ties_break_alphabetically(rust):
    text = "pear apple fig pear apple fig kiwi"
    code, lines, err = drive(rust, "rust_example.wordcount", {"text": text, "top": 2})
    assert code == 0, err
    assert last(lines)["result"] == {"words": 7, "top": [["apple", 2], ["fig", 2]]}


@pytest.mark.parametrize("params,message", [
    ({"text": 1}, "rust_example.wordcount: `text` must be a string"),
    ({"top": "three"}, "rust_example.wordcount: `top` must be a non-negative integer"),
    ({"top": -2}, "rust_example.wordcount: `top` must be a non-negative integer"),
    ("text", "rust_example.wordcount: params must be an object"),
])
def test_rust_wordcount_refuses_bad_params_at_create(rust, params, message):
    code, lines, _ = drive(rust, "rust_example.wordcount", params)
    assert code == 1
    assert (last(lines)["stage"], last(lines)["status"], last(lines)["error"]) == ("create", "INVALID_ARGUMENT",
                                                                                   message)


def test_rust_panic_is_internal_with_its_message(rust):
    code, lines, err = drive(rust, "rust_example.panic", {"message": "boom at the boundary"})
    # The process survived the panic: the driver reports it and exits 1.
    assert code == 1, err
    assert last(lines)["stage"] == "start"
    assert last(lines)["status"] == "INTERNAL"
    assert last(lines)["error"] == "rust_example.panic: panicked: boom at the boundary"
    assert last(lines)["violations"] == []
