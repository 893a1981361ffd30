"""The embedded server keeps answering other clients while one connection is slow or expensive.

A client dripping its request byte by byte, a client that does not read its replies (its requests
are then neither read nor handled, as on a real server: the server's memory stays bounded) and a
scan over many records (made a slice at a time as it is written) never hold the others up. The
order of events is checked on the server itself (its loop answers ``server.call`` only between
slices of work): no sleeps, only deadlines.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import aerospike_py
from aerospike_py import exp
from aerospike_py._wire import constants as W
from aerospike_py._wire.digest import compute_digest, key_particle
from aerospike_py._wire.message import key_fields, pack_message
from aerospike_py.server import query as server_query

SET = "isolation"
K = ("test", SET, "probe")
#: How long another client's get may take while the expensive request runs (a loaded machine).
BOUND_S = 2.0
#: The same while a scan works through many records (the server pauses every 256 records and writes
#: for 5 ms at most); the proof is the order: gets are answered while the scan still runs.
SLICED_S = 1.0


@pytest.fixture
def raw(server: Any) -> Iterator[list[socket.socket]]:
    socks: list[socket.socket] = []
    yield socks
    for s in socks:
        s.close()


def _get_frame(user_key: Any) -> bytes:
    pt, kb = key_particle(user_key)
    fields = key_fields(b"test", SET.encode(), compute_digest(SET, pt, kb), None)
    return pack_message(W.INFO1_READ | W.INFO1_GET_ALL, 0, 0, 0, 0, 0, 0, fields, [])


def _read_frame(s: socket.socket) -> bytes:
    buf = b""
    while len(buf) < 8 or len(buf) < 8 + (int.from_bytes(buf[2:8], "big")):
        chunk = s.recv(8 + (int.from_bytes(buf[2:8], "big")) - len(buf) if len(buf) >= 8 else 8 - len(buf))
        assert chunk, "connection closed"
        buf += chunk
    return buf


def _timed_get(client: Any) -> float:
    t0 = time.monotonic()
    assert client.get(K)[2] == {"v": 1}
    return time.monotonic() - t0


def _until(server: Any, cond: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``cond`` on the server's loop (bounded)."""
    deadline = time.monotonic() + timeout
    while not server.call(cond):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"


def test_a_request_dripped_byte_by_byte_holds_nobody_up(server: Any, client: Any, raw: list) -> None:
    client.put(K, {"v": 1})
    s = socket.create_connection(server.address, timeout=10)
    raw.append(s)
    frame = _get_frame("probe")
    for i in range(len(frame)):
        s.sendall(frame[i : i + 1])
        assert _timed_get(client) < BOUND_S  # answered while the dripped request is incomplete
    reply = _read_frame(s)
    assert reply[8 + 5] == 0 and reply.endswith(b"v" + (1).to_bytes(8, "big"))


def test_a_client_that_does_not_read_its_replies_is_not_read_either(server: Any, client: Any, raw: list) -> None:
    client.put(K, {"v": 1})
    big = b"x" * (256 * 1024)
    client.put(("test", SET, "big"), {"b": big})
    s = socket.create_connection(server.address, timeout=30)
    raw.append(s)
    n = 400  # 100 MiB of replies if the server answered them all
    handled_before = server.call(lambda: server.node.requests)
    s.sendall(_get_frame("big") * n)

    def blocked() -> bool:
        return any(c.blocked for c in server.node.connections)

    _until(server, blocked, "the server stops answering the client that does not read")
    assert _timed_get(client) < BOUND_S
    handled = server.call(lambda: server.node.requests) - handled_before
    buffered = server.call(lambda: max(c.transport.get_write_buffer_size() for c in server.node.connections
                                       if c.transport is not None))
    assert handled < n  # the rest wait in the socket, not in the server's memory
    assert buffered < 2 * len(big), buffered
    for _ in range(n):  # once it reads, every request is answered, in order
        reply = _read_frame(s)
        assert reply[8 + 5] == 0 and reply.endswith(big)
    assert _timed_get(client) < BOUND_S


def test_a_long_scan_is_made_a_slice_at_a_time(server: Any, client: Any, monkeypatch: Any) -> None:
    # The scan is held at its first pause (after 256 records) until three gets were answered: a
    # server that did not yield to the loop between slices would spin there and never answer them.
    held = threading.Event()
    streamed = server_query._streamed

    def holding(*args: Any) -> Iterator[bytes]:
        for frame in streamed(*args):
            while frame == b"" and not held.is_set():
                yield b""  # a pause, again and again: the loop serves others meanwhile
            yield frame

    monkeypatch.setattr(server_query, "_streamed", holding)
    n = 20_000
    for start in range(0, n, 5000):
        res = client.batch_write([(("test", SET, i), {"i": i}) for i in range(start, start + 5000)])
        assert all(r.result == 0 for r in res.batch_records)
    client.put(K, {"v": 1})
    scanner = aerospike_py.client(server.config).connect()
    out: list[Any] = []

    def scan() -> None:
        # Every record is read and filtered (a long scan), few are sent.
        out.append(scanner.scan("test", SET).results(
            {"filter_expression": exp.eq(exp.int_bin("i"), exp.int_val(n - 1)), "total_timeout": 120_000}))

    t = threading.Thread(target=scan, daemon=True)
    t.start()
    try:
        _until(server, lambda: any(c.streaming is not None for c in server.node.connections), "the scan runs")
        for _ in range(3):  # answered between two slices of the scan, which is still running
            assert _timed_get(client) < SLICED_S
            assert server.call(lambda: any(c.streaming is not None for c in server.node.connections))
    finally:
        held.set()
        t.join(120)
        scanner.close()
    assert [r[2] for r in out[0]] == [{"i": n - 1}]
