"""The HTTP server of `task serve` against clients that push its limits."""

import re
import socket

import pytest

from serve_helpers import Serve

HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def port_of(srv):
    line = srv.wait_for(lambda l: "listening on http://" in l)
    return int(re.search(r"listening on http://[^ ]*:(\d+)", line).group(1))


@pytest.fixture
def serve(task):
    srv = Serve(task)  # no configuration: the built-in default, an empty directory
    yield srv
    assert srv.stop() == 0


def pipelined(port, data, rcvbuf=None):
    """Sends `data` in one write and reads until the server closes: (bytes, 'eof' or 'reset')."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # a slow reader's small window
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    out = b""
    try:
        s.sendall(data)
        while chunk := s.recv(65536):
            out += chunk
        return out, "eof"
    except ConnectionResetError:
        return out, "reset"
    finally:
        s.close()


@pytest.mark.parametrize("rcvbuf", [None, 4096])
def test_1500_pipelined_requests_get_the_1000_answers_of_the_limit_then_a_clean_close(serve, rcvbuf):
    port = port_of(serve)
    for _ in range(5):  # before the fix most attempts lost answers to a reset
        data, end = pipelined(port, HEALTHZ * 1500, rcvbuf)
        assert (data.count(b"HTTP/1.1 200 OK\r\n"), end) == (1000, "eof")
        heads = data.split(b"HTTP/1.1 ")[1:]
        assert [b"Connection: close" in h for h in heads] == [False] * 999 + [True]
    assert serve.proc.poll() is None
