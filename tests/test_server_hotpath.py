"""The embedded server's hot path: framing of received bytes, plain writes, the cached read reply."""

from __future__ import annotations

import socket
import struct
from typing import Any

import pytest

from aerospike_py._wire import constants as W
from aerospike_py._wire.digest import compute_digest
from aerospike_py._wire.message import key_fields, pack_message, pack_op
from aerospike_py.server import errors as E

SET = b"hot"
_Q = struct.Struct(">q").pack


def _fields(i: int) -> list[bytes]:
    return key_fields(b"test", SET, compute_digest(SET, W.PT_INTEGER, _Q(i)), None)


def get_frame(i: int) -> bytes:
    return pack_message(W.INFO1_READ | W.INFO1_GET_ALL, 0, 0, 0, 0, 0, 1000, _fields(i), [])


def write_frame(i: int, ops: list[bytes], info2: int = 0) -> bytes:
    return pack_message(0, W.INFO2_WRITE | info2, 0, 0, 0, 0, 1000, _fields(i), ops)


def int_op(op: int, name: bytes, value: int) -> bytes:
    return pack_op(op, name, W.PT_INTEGER, _Q(value))


def recv_frame(s: socket.socket) -> bytes:
    data = b""
    while len(data) < 8 or len(data) < 8 + (int.from_bytes(data[:8], "big") & ((1 << 48) - 1)):
        chunk = s.recv(1 << 20)
        assert chunk, "server closed the connection"
        data += chunk
    return data


@pytest.fixture
def sock(server: Any):
    s = socket.create_connection(server.address, timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    yield s
    s.close()


def ask(s: socket.socket, frame: bytes) -> bytes:
    s.sendall(frame)
    return recv_frame(s)


def result_and_ops(reply: bytes) -> tuple[int, list[tuple[str, int, bytes]]]:
    """Result code and ``[(bin, particle type, value)]`` of a one-record reply."""
    rc, n_fields, n_ops = reply[13], *struct.unpack_from(">HH", reply, 26)
    assert n_fields == 0
    ops, pos = [], 30
    for _ in range(n_ops):
        size, _op, pt, _v, nlen = struct.unpack_from(">IBBBB", reply, pos)
        ops.append((reply[pos + 8 : pos + 8 + nlen].decode(), pt, reply[pos + 8 + nlen : pos + 4 + size]))
        pos += 4 + size
    assert pos == len(reply)
    return rc, ops


def test_frames_coalesced_and_split_get_the_same_answers(sock: socket.socket) -> None:
    assert result_and_ops(ask(sock, write_frame(1, [int_op(W.OP_WRITE, b"a", 7)])))[0] == 0
    one = ask(sock, get_frame(1))
    assert result_and_ops(one) == (0, [("a", W.PT_INTEGER, _Q(7))])
    sock.sendall(get_frame(1) * 3)  # three requests in one segment: three answers
    data = b""
    while len(data) < 3 * len(one):
        data += sock.recv(1 << 16)
    assert data == one * 3
    for b in get_frame(1):  # one byte at a time
        sock.send(bytes((b,)))
    assert recv_frame(sock) == one


def test_large_frame_in_pieces_then_small_ones(sock: socket.socket, client: Any) -> None:
    blob = bytes(range(256)) * 1200  # 300 KiB: more than the connection's receive buffer
    frame = write_frame(2, [pack_op(W.OP_WRITE, b"big", W.PT_BLOB, blob)])
    for i in range(0, len(frame), 40_000):
        sock.sendall(frame[i : i + 40_000])
    assert result_and_ops(recv_frame(sock))[0] == 0
    assert result_and_ops(ask(sock, get_frame(2))) == (0, [("big", W.PT_BLOB, blob)])
    assert client.get(("test", SET.decode(), 2)).bins == {"big": blob}


def test_bad_header_closes_the_connection(sock: socket.socket) -> None:
    sock.sendall(b"\x09\x03" + b"\x00" * 6)
    assert sock.recv(100) == b""


def test_plain_writes_keep_the_order_of_ops(sock: socket.socket) -> None:
    ask(sock, write_frame(3, [int_op(W.OP_WRITE, b"a", 1), int_op(W.OP_WRITE, b"b", 2)]))
    # a removed then written again goes after b; respond-all-ops answers each write with a null
    reply = ask(sock, write_frame(3, [pack_op(W.OP_WRITE, b"a"), int_op(W.OP_WRITE, b"a", 3)],
                                  W.INFO2_RESPOND_ALL_OPS))
    assert result_and_ops(reply) == (0, [("a", W.PT_NULL, b""), ("a", W.PT_NULL, b"")])
    assert result_and_ops(ask(sock, get_frame(3)))[1] == [("b", 1, _Q(2)), ("a", 1, _Q(3))]


def test_plain_write_with_a_long_bin_name_changes_nothing(sock: socket.socket) -> None:
    ask(sock, write_frame(4, [int_op(W.OP_WRITE, b"a", 1)]))
    reply = ask(sock, write_frame(4, [int_op(W.OP_WRITE, b"b", 2), int_op(W.OP_WRITE, b"x" * 16, 3)]))
    assert reply[13] == E.BIN_NAME
    assert result_and_ops(ask(sock, get_frame(4)))[1] == [("a", 1, _Q(1))]


def test_cached_read_reply_follows_every_change(sock: socket.socket) -> None:
    ask(sock, write_frame(5, [int_op(W.OP_WRITE, b"n", 1)]))
    assert result_and_ops(ask(sock, get_frame(5)))[1] == [("n", 1, _Q(1))]
    ask(sock, write_frame(5, [int_op(W.OP_INCR, b"n", 10)]))
    assert result_and_ops(ask(sock, get_frame(5)))[1] == [("n", 1, _Q(11))]
    # a modify op inside a read command changes the stored record in place: the cache must go too
    read_cmd = pack_message(W.INFO1_READ, 0, 0, 0, 0, 0, 1000, _fields(5), [int_op(W.OP_WRITE, b"m", 5)])
    assert result_and_ops(ask(sock, read_cmd))[0] == 0
    assert result_and_ops(ask(sock, get_frame(5)))[1] == [("n", 1, _Q(11)), ("m", 1, _Q(5))]
