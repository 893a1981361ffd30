"""Nesting depth: how deep a list or map is stored, read and reached by a CDT context.

Measured on a real 8.1 server: it stores lists and maps nested as deep as the record size allows
(a list 1,000,000 levels deep was stored and read back), and a context reaches any level (tried
to 9,999): a context one level past the innermost collection answers 12 (the element is not a
collection), two levels past 26 (op not applicable). The embedded server must answer the same,
and the client must read all of it (msgpack's decoder stops at 1,024 levels; the client goes on
without it). Values the client writes are checked before sending: deeper than 64 levels is an
``InvalidArgError``. Facts are taken the same way from both servers (values written as raw
frames, since the client itself refuses to write them).
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

import aerospike_py
from aerospike_py import cdt_ctx as cc
from aerospike_py import list_operations as lo
from aerospike_py import map_operations as mo
from aerospike_py._wire import constants as W
from aerospike_py._wire.digest import compute_digest, key_particle
from aerospike_py._wire.message import key_fields, pack_message, pack_op
from aerospike_py._wire.values import MAX_DEPTH
from aerospike_py.exception import AerospikeError, InvalidArgError

SET = "nesting"
DEPTHS = (1, 2, 64, 65, 1024, 1025, 5000)


def _nested(kind: str, depth: int) -> bytes:
    """Msgpack of ``depth`` nested lists (``[[...[1]...]]``) or maps (``{"a": {"a": ... 1}}``)."""
    return (b"\x91" if kind == "list" else b"\x81\xa2\x03a") * depth + b"\x01"


def _raw(host: str, port: int, frame: bytes) -> bytes:
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(frame)
        buf = b""
        while len(buf) < 8 or len(buf) < 8 + (int.from_bytes(buf[:8], "big") & ((1 << 48) - 1)):
            chunk = s.recv(1 << 20)
            assert chunk, "connection closed"
            buf += chunk
    return buf[8:]


def _fields(user_key: str) -> list[bytes]:
    pt, kb = key_particle(user_key)
    return key_fields(b"test", SET.encode(), compute_digest(SET, pt, kb), None)


def _put_raw(host: str, port: int, user_key: str, kind: str, payload: bytes) -> int:
    ptype = W.PT_LIST if kind == "list" else W.PT_MAP
    op = pack_op(W.OP_WRITE, b"b", ptype, payload)
    return _raw(host, port, pack_message(0, W.INFO2_WRITE, 0, 0, 0, 0, 10000, _fields(user_key), [op]))[5]


def _get_raw(host: str, port: int, user_key: str) -> tuple[int, bytes]:
    body = _raw(host, port, pack_message(W.INFO1_READ | W.INFO1_GET_ALL, 0, 0, 0, 0, 0, 10000, _fields(user_key), []))
    return body[5], body


def _is_nested(v: Any, kind: str, depth: int, inner: Any = 1) -> bool:
    """``v`` is the value :func:`_nested` describes (walked level by level: no recursion)."""
    for _ in range(depth):
        if kind == "list":
            if type(v) is not list or len(v) != 1:
                return False
            v = v[0]
        else:
            if type(v) is not dict or list(v) != ["a"]:
                return False
            v = v["a"]
    return v == inner


def _outcome(client: Any, key: tuple, op: dict) -> Any:
    try:
        return ("ok", client.operate(key, [op])[2])
    except AerospikeError as e:
        return ("error", e.code)


def facts(host: str, port: int) -> dict[str, Any]:
    """What a server does with values nested ``DEPTHS`` deep, as comparable facts."""
    out: dict[str, Any] = {}
    client = aerospike_py.client({"hosts": [(host, port)], "timeout": 15000,
                                  "policies": {k: {"total_timeout": 15000} for k in ("read", "write")}}).connect()
    try:
        for kind in ("list", "map"):
            for d in DEPTHS:
                uk = f"{kind}{d}"
                key = ("test", SET, uk)
                payload = _nested(kind, d)
                f: dict[str, Any] = {"put": _put_raw(host, port, uk, kind, payload)}
                rc, body = _get_raw(host, port, uk)
                f["get"] = (rc, body.endswith(payload))
                f["client_reads_it"] = _is_nested(client.get(key)[2]["b"], kind, d)
                for c in sorted({1, d - 1, d, d + 1} - {0}):
                    if kind == "list":
                        op = lo.list_size("b", ctx=[cc.cdt_ctx_list_index(0)] * c)
                    else:
                        op = mo.map_size("b", ctx=[cc.cdt_ctx_map_key("a")] * c)
                    f[f"size_at_ctx_depth_d{c - d:+d}"] = _outcome(client, key, op)
                # A write at the innermost level, through a context d - 1 levels deep.
                if kind == "list":
                    op = lo.list_append("b", 2, ctx=[cc.cdt_ctx_list_index(0)] * (d - 1))
                else:
                    op = mo.map_put("b", "z", 2, ctx=[cc.cdt_ctx_map_key("a")] * (d - 1))
                f["write_at_innermost"] = _outcome(client, key, op)
                rc, body = _get_raw(host, port, uk)
                inner = b"\x92\x01\x02" if kind == "list" else b"\x82\xa2\x03a\x01\xa2\x03z\x02"
                f["stored_after_write"] = (rc, body.endswith(_nested(kind, d - 1)[: -1] + inner))
                out[uk] = f
        client.truncate("test", SET, 0)
    finally:
        client.close()
    return out


def _expected(kind: str, d: int) -> dict[str, Any]:
    f: dict[str, Any] = {"put": 0, "get": (0, True), "client_reads_it": True}
    for c in sorted({1, d - 1, d, d + 1} - {0}):
        f[f"size_at_ctx_depth_d{c - d:+d}"] = (("ok", {"b": 1}) if c < d else ("error", 12) if c == d
                                               else ("error", 26))
    f["write_at_innermost"] = ("ok", {"b": 2}) if kind == "list" else ("ok", {"b": 2})
    f["stored_after_write"] = (0, True)
    return f


#: What a real 8.1.2 server answers (measured; see the module docstring).
EXPECTED = {f"{kind}{d}": _expected(kind, d) for kind in ("list", "map") for d in DEPTHS}


def test_embedded_server_nesting_matches_a_real_server(server: Any) -> None:
    assert facts(server.host, server.port) == EXPECTED


def test_real_server_nesting_is_as_measured(real_server: Any) -> None:
    assert facts(real_server.host, real_server.port) == EXPECTED


@pytest.mark.parametrize("kind", ["list", "map"])
def test_client_refuses_values_nested_too_deep_before_sending(server: Any, client: Any, kind: str) -> None:
    def nested(depth: int) -> Any:
        v: Any = 1
        for _ in range(depth):
            v = [v] if kind == "list" else {"a": v}
        return v

    key = ("test", SET, "deep")
    client.put(key, {"b": nested(MAX_DEPTH)})
    assert _is_nested(client.get(key)[2]["b"], kind, MAX_DEPTH)
    before = server.call(lambda: server.node.requests)
    for call in (lambda v: client.put(key, {"b": v}),
                 lambda v: client.operate(key, [lo.list_append("b", v)]),
                 lambda v: client.batch_write([(key, {"b": v})]),
                 lambda v: client.operate(key, [mo.map_put("b", "k", v)])):
        with pytest.raises(InvalidArgError, match=f"nested deeper than {MAX_DEPTH} levels"):
            call(nested(MAX_DEPTH + 1))
    assert server.call(lambda: server.node.requests) == before  # nothing was sent


def test_client_reads_deep_values_with_unhashable_keys_and_ordered_flags() -> None:
    """The decoder past msgpack's depth gives what msgpack's gives (ordered flags dropped, strings
    decoded, a list key as a tuple)."""
    from aerospike_py._wire.values import unpack_cdt

    deep = b"\x91" * 1100 + b"\x93\xc7\x00\x01\xa2\x03x\x81\x91\x01\xa2\x03y"  # [[...[ordered 'x', {[1]: 'y'}]]]
    v = unpack_cdt(deep)
    for _ in range(1100):
        v = v[0]
    assert v == ["x", {(1,): "y"}]
    with pytest.raises(ValueError):
        unpack_cdt(b"\x91" * 1100 + b"\x01\x01")  # extra data
