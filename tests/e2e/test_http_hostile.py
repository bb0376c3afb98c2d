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


def connect_from(source, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((source, 0))  # all of 127.0.0.0/8 is loopback on Linux: other clients
    s.connect(("127.0.0.1", port))
    return s


def healthz_from(source, port):
    """GET /healthz from `source` on a fresh connection: the status line, or '' if closed unanswered."""
    s = connect_from(source, port)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass  # refused: closed at once with the request unread
    finally:
        s.close()
    return data.split(b"\r\n", 1)[0].decode()


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def test_slow_clients_cannot_keep_others_out(task):
    task.write_config("http: {max_connections: 20, max_connections_per_client: 5}\ntasks:\n  example: {echo: hi}\n")
    srv = Serve(task)
    held = []
    try:
        port = port_of(srv)
        # Five slow clients from one address: half a request head each.
        for _ in range(5):
            held.append(connect_from("127.0.0.2", port))
            held[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        assert healthz_from("127.0.0.2", port) == ""  # its sixth: refused
        assert healthz_from("127.0.0.1", port) == "HTTP/1.1 200 OK"  # another client: served
        # Fifteen more from three other addresses fill max_connections ...
        for i in range(15):
            held.append(connect_from(f"127.0.0.{3 + i % 3}", port))
            held[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        # ... and every new client still gets in, in the place of a slow one
        # (the slow ones have waited longest); these keep their connections.
        for i in range(10):
            s = connect_from(f"127.0.0.{10 + i}", port)
            held.append(s)
            s.sendall(HEALTHZ)
            assert s.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        for s in held:
            s.close()
        s = connect_from("127.0.0.1", port)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        text = b""
        while chunk := s.recv(65536):
            text += chunk
        s.close()
        text = text.decode()
        assert metric(text, 'cascadence_http_limit_hits_total{limit="connections_per_client"}') == 1
        assert metric(text, 'cascadence_http_connections_shed_total{reason="incomplete_request"}') == 10
    finally:
        for s in held:
            s.close()
        assert srv.stop() == 0
