"""The embedded server's limits: nothing allocated on a header's word, no unbounded inflation, no
padding past what a record can hold, collection operations without quadratic blow-ups; and it keeps
answering other clients meanwhile. Differential checks against a real server when one is present."""

from __future__ import annotations

import socket
import struct
import tracemalloc
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

import aerospike_py
from aerospike_py import list_operations as lop
from aerospike_py.exception import RecordTooBig
from aerospike_py.server import cdt

K = ("test", "limits", 1)


def _header(ptype: int, length: int) -> bytes:
    return struct.pack(">Q", (2 << 56) | (ptype << 48) | length)


def _recv_all(s: socket.socket) -> bytes:
    data = b""
    while len(data) < 8 or len(data) < 8 + (int.from_bytes(data[2:8], "big")):
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    return data


@pytest.fixture
def raw(server: Any) -> Iterator[list[socket.socket]]:
    socks: list[socket.socket] = []
    yield socks
    for s in socks:
        s.close()


def _connect(server: Any, socks: list[socket.socket]) -> socket.socket:
    s = socket.create_connection(server.address, timeout=10)
    socks.append(s)
    return s


def _server_bytes_pending(server: Any) -> list[tuple[int, int]]:
    return server.call(lambda: [(c.have - c.start, len(c.buf)) for c in server.node.connections])


def test_announced_size_is_not_allocated(server: Any, client: Any, raw: list[socket.socket]) -> None:
    """Headers announcing 100 MiB each cost the server only the bytes really sent."""
    client.put(K, {"a": 1})
    for _ in range(4):
        s = _connect(server, raw)
        s.sendall(_header(3, 100 << 20) + b"\x16" * 1000)
    # Wait (bounded) until the server has read what was sent on all four.
    for _ in range(500):
        pending = [p for p in _server_bytes_pending(server) if p[0] >= 1008]
        if len(pending) == 4:
            break
        client.get(K)  # the server answers others meanwhile
    assert len(pending) == 4
    assert all(size <= 1 << 20 for _, size in pending), pending
    assert client.get(K).bins == {"a": 1}


def test_frame_over_128_mib_closes_the_connection(server: Any, raw: list[socket.socket]) -> None:
    s = _connect(server, raw)
    s.sendall(_header(3, (128 << 20) + 1))
    assert s.recv(100) == b""  # closed, as the real server does (PROTO_SIZE_MAX)


def test_compressed_request_is_refused_without_inflating(server: Any, raw: list[socket.socket]) -> None:
    """Community Edition answers compressed requests with code 25; the bomb is never inflated."""
    inner = _header(3, 16 << 20) + bytes(16 << 20)
    payload = len(inner).to_bytes(8, "big") + zlib.compress(inner, 9)
    s = _connect(server, raw)
    tracemalloc.start()
    try:
        s.sendall(_header(4, len(payload)) + payload)
        reply = _recv_all(s)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reply[8 + 5] == 25  # result code of the reply message
    assert peak < 4 << 20, peak


def test_list_insert_far_past_the_end_is_record_too_big(client: Any) -> None:
    client.put(K, {"l": [1]})
    tracemalloc.start()
    try:
        with pytest.raises(RecordTooBig):
            client.operate(K, [lop.list_insert("l", 50_000_000, 7)])
        with pytest.raises(RecordTooBig):  # 2M nils cannot fit in 1 MiB either
            client.operate(K, [lop.list_insert("l", 2_000_000, 7)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, peak
    assert client.get(K).bins == {"l": [1]}
    with pytest.raises(RecordTooBig):
        client.operate(K, [lop.list_set("l", 50_000_000, 7)])


def test_list_insert_far_past_the_end_on_a_real_server(real_server: Any) -> None:
    c = aerospike_py.client(real_server.config).connect()
    key = ("test", "robust_limits", 1)
    try:
        c.put(key, {"l": [1]})
        with pytest.raises(RecordTooBig):
            c.operate(key, [lop.list_insert("l", 50_000_000, 7)])
        assert c.get(key).bins == {"l": [1]}
    finally:
        c.remove(key)
        c.close()


# ----------------------------------------------------------------------------- complexity


@pytest.fixture
def sort_key_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = cdt.sort_key

    def counting(v: Any) -> tuple:
        calls[0] += 1
        return real(v)

    monkeypatch.setattr(cdt, "sort_key", counting)
    return calls


N = 2000


def test_ordered_append_items_is_not_quadratic(sort_key_calls: list[int]) -> None:
    lst = cdt.CList(range(0, 2 * N, 2), flags=1)
    items = list(range(1, 2 * N, 2))
    assert cdt.list_op(lst, 2, [items]) == 2 * N
    assert lst == list(range(2 * N))
    assert sort_key_calls[0] < 4 * N  # quadratic: ~N * N


def test_add_unique_append_items_is_not_quadratic(sort_key_calls: list[int]) -> None:
    lst = cdt.CList(range(N))
    items = list(range(N, 2 * N))
    assert cdt.list_op(lst, 2, [items, 0, aerospike_py.LIST_WRITE_ADD_UNIQUE]) == 2 * N
    assert sort_key_calls[0] < 4 * N
    with pytest.raises(cdt.ResultError):
        cdt.list_op(lst, 2, [[2 * N + 1, 5], 0, aerospike_py.LIST_WRITE_ADD_UNIQUE])
    assert len(lst) == 2 * N


def test_map_put_items_is_not_quadratic(sort_key_calls: list[int]) -> None:
    m = cdt.CMap([[i, i] for i in range(0, 2 * N, 2)])
    items = cdt.CMap([[i, -i] for i in range(2 * N - 1, 0, -2)] + [[0, "replaced"]])
    assert cdt.map_op(m, 68, [items]) == 2 * N  # put_items
    assert [k for k, _ in m.items] == list(range(2 * N))
    assert m.items[0][1] == "replaced" and m.items[1][1] == -1
    assert sort_key_calls[0] < 10 * N


def _mixed(n: int) -> list[Any]:
    """``n`` ints and a nil (a list of one type takes the no-sort-key path; this one does not)."""
    return [*range(n), None]


@pytest.mark.parametrize("code", [23, 36])  # get / remove by value list
def test_list_by_value_list_is_not_quadratic(sort_key_calls: list[int], code: int) -> None:
    lst = cdt.CList(_mixed(N))
    wanted = cdt.CList(range(0, N, 2))
    assert cdt.list_op(lst, code, [aerospike_py.LIST_RETURN_COUNT, wanted]) == N // 2
    assert len(lst) == (N + 1 if code == 23 else N // 2 + 1)
    assert sort_key_calls[0] < 4 * N  # quadratic: ~N * N / 2


@pytest.mark.parametrize(("code", "kind"), [(107, "key"), (81, "key"), (108, "value"), (83, "value")])
def test_map_by_key_or_value_list_is_not_quadratic(sort_key_calls: list[int], code: int, kind: str) -> None:
    m = cdt.CMap([[k, k] for k in _mixed(N)])
    wanted = cdt.CList(range(0, N, 2))
    assert cdt.map_op(m, code, [aerospike_py.MAP_RETURN_COUNT, wanted]) == N // 2
    assert len(m.items) == (N + 1 if code > 96 else N // 2 + 1)
    assert sort_key_calls[0] < 12 * N


def test_homogeneous_collections_sort_and_select_without_sort_keys(sort_key_calls: list[int]) -> None:
    lst = cdt.CList(range(N, 0, -1))
    cdt.list_op(lst, 13, [0])  # sort
    assert lst == list(range(1, N + 1))
    m = cdt.CMap([[b"\x03k%05d" % i, i] for i in range(N, 0, -1)])
    m.sort()
    assert [v for _, v in m.items] == list(range(1, N + 1))
    assert m.find(b"\x03k00007") == 6 and m.find(7) == -1 and m.find(b"\x04k00007") == -1
    assert sort_key_calls[0] < 10
