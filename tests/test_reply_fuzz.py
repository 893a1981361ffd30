"""Malformed replies: every reply parser, on both clients, answers a typed AerospikeError and drops
the connection that carried the bad reply; nothing else escapes (no struct.error, IndexError,
UnicodeDecodeError, msgpack errors, ...), nothing hangs.

Real replies of each kind of command (recorded from the embedded server, and the traced replies
of a real server when ``../shared/traces`` is present) are cut short, garbled, stretched,
wrapped in compressed frames, given huge lengths, and fed to the client through a proxy that
answers the armed request itself. ``AEROSPIKE_PY_FUZZ_EXAMPLES`` sets the examples per case (a
long run: add ``--timeout=0``); CI runs a short, derandomized slice.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import aerospike_py
from _clients import make_client
from _mutating_proxy import MutatingProxy
from _paths import TRACES
from _proxy import FrameProxy
from aerospike_py import list_operations as lop
from aerospike_py import map_operations as mop
from aerospike_py.exception import AerospikeError, AerospikeTimeoutError

EXAMPLES = int(os.environ.get("AEROSPIKE_PY_FUZZ_EXAMPLES", "15"))
NS, SET = "test", "fuzz"
KEYS = [(NS, SET, i) for i in range(3)]
RECORD = {
    "i": -7, "f": 2.5, "s": "héllo", "b": b"\x00\xff", "l": [1, "a", [2.5, b"x"], {"k": None}],
    "m": {"a": 1, "b": [True, False], 3: {"deep": [[[]]]}}, "t": True, "big": 2**62,
}
#: what each command of a case is: (proto type of its reply, the call)
CASES: dict[str, tuple[int, Callable[[Any], Any]]] = {
    "get": (3, lambda c: c.get(KEYS[0], policy=POLICY)),
    "select": (3, lambda c: c.select(KEYS[0], ["s", "l"], policy=POLICY)),
    "exists": (3, lambda c: c.exists(KEYS[0], policy=POLICY)),
    "put": (3, lambda c: c.put(KEYS[1], {"x": 1}, policy=POLICY)),
    "operate": (3, lambda c: c.operate(KEYS[0], [
        lop.list_get_range("l", 0, 3), mop.map_get_by_key("m", "b", aerospike_py.MAP_RETURN_VALUE),
        {"op": aerospike_py.OPERATOR_READ, "bin": "f"}], policy=POLICY)),
    "batch": (3, lambda c: c.batch_read(KEYS, policy=POLICY)),
    "info": (1, lambda c: c.info_random_node("namespaces", policy={"timeout": 1000})),
}
POLICY = {"total_timeout": 1000, "socket_timeout": 1000, "max_retries": 0}


@pytest.fixture(scope="module")
def replies(aerospike_server: Any) -> dict[str, bytes]:
    """The whole reply (all its frames) to each case, recorded from the embedded server."""
    aerospike_server.clear()
    out = {}
    with FrameProxy(aerospike_server.node_address if hasattr(aerospike_server, "node_address")
                    else aerospike_server.config["hosts"][0]) as proxy:
        c = aerospike_py.client({**proxy.config, "tend_interval": 3_600_000}).connect()
        try:
            for k in KEYS:
                c.put(k, RECORD)
            for name, (ptype, call) in CASES.items():
                proxy.clear()
                call(c)
                out[name] = b"".join(proxy.replies(ptype))
        finally:
            c.close()
    return out


@pytest.fixture(scope="module")
def proxy(aerospike_server: Any) -> Iterator[MutatingProxy]:
    p = MutatingProxy(tuple(aerospike_server.config["hosts"][0]))
    yield p
    p.close()


@pytest.fixture(scope="module", params=["sync", "async"])
def fuzz_client(request: Any, proxy: MutatingProxy, replies: dict[str, bytes]) -> Iterator[Any]:
    loop = asyncio.new_event_loop()
    c = make_client(request.param, proxy.config, loop).connect()
    yield c
    c.close()
    loop.close()


def _frame(ptype: int, body: bytes) -> bytes:
    return struct.pack(">Q", (2 << 56) | (ptype << 48) | len(body)) + body


@st.composite
def mutated(draw: Any, reply: bytes) -> bytes:
    data = bytearray(reply)
    if draw(st.booleans()) and len(data) > 8:  # sometimes: the same reply as one compressed frame
        inner = bytes(data[: 8 + int.from_bytes(data[2:8], "big")])
        data = bytearray(_frame(4, len(inner).to_bytes(8, "big") + zlib.compress(inner)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cut", "flip", "set", "insert", "length", "count", "inflate"]))
        n = len(data)
        if kind == "cut" and n:
            del data[draw(st.integers(0, n - 1)):]
        elif kind == "flip" and n:
            i = draw(st.integers(0, n - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and n:
            i = draw(st.integers(0, n - 1))
            data[i] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xC1, 0xDC, 0xDD, 0xDE, 0xDF, 0xFF]))
        elif kind == "insert":
            i = draw(st.integers(0, n))
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "length" and n >= 8:  # the proto header announces another size
            size = draw(st.sampled_from([0, 1, 21, 22, 1 << 20, (1 << 31) - 1, 1 << 33, (1 << 48) - 1]))
            data[2:8] = size.to_bytes(6, "big")
        elif kind == "count" and n >= 36:  # field / op counts and sizes inside the message
            i = draw(st.sampled_from([8 + 18, 8 + 19, 8 + 20, 8 + 21, 8 + 22, 8 + 25, 8 + 26, 8 + 27]))
            data[i] = draw(st.sampled_from([0, 1, 0x7F, 0xFF]))
        elif kind == "inflate" and n >= 16 and data[1] == 4:  # a compressed frame announcing a lot
            data[8:16] = draw(st.sampled_from([0, 7, 1 << 30, 1 << 40])).to_bytes(8, "big")
    return bytes(data)


def _traced_replies() -> list[bytes]:
    """Single-frame message replies a real server gave (``../shared/traces``; empty when absent)."""
    out = []
    for path in sorted(TRACES.glob("official-*.jsonl")) if TRACES.exists() else []:
        for line in path.read_text().splitlines():
            d = json.loads(line)
            if d.get("dir") == "s2c" and d.get("type") == 3 and len(d.get("hex", "")) < 4096:
                out.append(bytes.fromhex(d["hex"]))
    return out


def _pool_idle(c: Any) -> int:
    if hasattr(c, "aclient"):
        node = c.aclient._cluster.node_list[0]
        return 0 if node.async_pool is None else len([x for x in node.async_pool.idle if not x.dead])
    return len(c._cluster.node_list[0].idle)


def _network_side(err: AerospikeError) -> bool:
    """An error the client made up (not a result code the server answered)."""
    return err.code < 0 or (isinstance(err, AerospikeTimeoutError) and "timed out after" in str(err))


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_replies_are_typed(fuzz_client: Any, proxy: MutatingProxy, replies: dict[str, bytes],
                                     case: str) -> None:
    ptype, call = CASES[case]
    reply = replies[case]
    assert reply

    @settings(max_examples=EXAMPLES, deadline=None, derandomize="AEROSPIKE_PY_FUZZ_EXAMPLES" not in os.environ,
              suppress_health_check=list(HealthCheck), database=None)
    @given(mutated(reply))
    def check(bad: bytes) -> None:
        proxy.arm(ptype, bad)
        try:
            call(fuzz_client)
        except AerospikeError as e:
            if _network_side(e):
                # The connection that read the bad reply is gone, not back in the pool.
                assert _pool_idle(fuzz_client) == 0, repr(e)
        finally:
            proxy.disarm()

    check()
    # And the client is fine afterwards.
    assert fuzz_client.get(KEYS[0]).bins["s"] == "héllo"


def test_mutated_real_server_replies_are_typed(fuzz_client: Any, proxy: MutatingProxy) -> None:
    """Replies a real server gave (all kinds of ops results), mutated, as the answer to a get."""
    traced = _traced_replies()
    if not traced:
        pytest.skip("no traces (../shared/traces)")

    @settings(max_examples=EXAMPLES * 2, deadline=None, database=None,
              derandomize="AEROSPIKE_PY_FUZZ_EXAMPLES" not in os.environ,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(traced).flatmap(mutated))
    def check(bad: bytes) -> None:
        proxy.arm(3, bad)
        try:
            fuzz_client.get(KEYS[0], policy=POLICY)
        except AerospikeError as e:
            if _network_side(e):
                assert _pool_idle(fuzz_client) == 0, repr(e)
        finally:
            proxy.disarm()

    check()
    assert fuzz_client.get(KEYS[0]).bins["s"] == "héllo"


# --------------------------------------------------------------------------- decoder-level slice


@pytest.fixture(scope="module")
def decoder_fuzzer() -> Iterator[Any]:
    from _replyfuzz import Fuzzer

    fz = Fuzzer()
    yield fz
    fz.close()


def test_mutated_replies_through_every_decoder_path(decoder_fuzzer: Any) -> None:
    """A seeded slice of tests/_replyfuzz.py: every recorded call (single-record, batch, numpy,
    query/scan sinks, info, index/job polls, admin) and the compressed-frame and tend parsers, fed
    mutated replies: each ends in a result or an AerospikeError, quickly."""
    f = decoder_fuzzer.run(seed=2026, inputs=int(os.environ.get("AEROSPIKE_PY_FUZZ_DECODER_INPUTS", "1500")))
    assert not f.untyped and not f.slow, f.summary()
    assert f.ok and f.typed  # both outcomes occur: the mutations reach past the first byte


def test_numpy_batch_index_beyond_the_keys_is_typed(decoder_fuzzer: Any) -> None:
    """A batch reply message naming a record index past the request's keys (found by the fuzz:
    IndexError out of the numpy result filling) is a protocol error on the call."""
    pytest.importorskip("numpy")
    name, client, fx, call, script = next(c for c in decoder_fuzzer.cases if c[0] == "numpy")
    frames = [bytearray(b) for b in script[0]]
    first = frames[0]
    first[14:18] = (500).to_bytes(4, "big")  # the first message's batch index
    fx.script, fx.i = [[bytes(b) for b in frames]], 0
    try:
        with pytest.raises(aerospike_py.exception.ClientError, match="protocol error"):
            call(client)
    finally:
        fx.script = None


def test_batch_timeout_record_past_the_keys_is_typed(decoder_fuzzer: Any) -> None:
    """A write batch's TIMEOUT record naming an index past the keys (found by the fuzz: IndexError
    out of the in-doubt marking after the parse) is a protocol error on the call."""
    name, client, fx, call, script = next(c for c in decoder_fuzzer.cases if c[0] == "batch-remove")
    first = bytearray(script[0][0])
    first[5] = 9  # result TIMEOUT
    first[14:18] = (500).to_bytes(4, "big")  # batch index
    fx.script, fx.i = [[bytes(first), *script[0][1:]]], 0
    try:
        res = call(client)  # a node command that failed: its records carry the error
    finally:
        fx.script = None
    assert [r.result for r in res.batch_records] == [-1, -1, -1]


def test_record_layout_field_announcing_gigabytes_is_refused_without_allocating() -> None:
    """A query record whose field announces 2 GiB (found by the fuzz: the layout built a list as
    long as announced, MemoryError) gets no layout, and nothing that size is built."""
    from aerospike_py._commands.query import layout_at
    from aerospike_py._wire.message import pack_field

    msg = bytearray(struct.pack(">BBBBBBIIIHH", 22, 0, 0, 0, 0, 0, 1, 0, 0, 3, 0))  # no bins (nobins)
    msg += pack_field(0, b"test") + pack_field(4, b"d" * 20)
    msg += (1 << 31).to_bytes(4, "big") + b"\x01set"  # the set name field announces 2 GiB
    assert layout_at(bytes(msg), 0, 3, 0) is None  # no fast path for it (the general parser refuses it)


def test_integer_particle_of_another_size_is_malformed() -> None:
    from aerospike_py._wire.values import decode_particle

    assert decode_particle(1, (5).to_bytes(8, "big")) == 5
    with pytest.raises(struct.error):  # (the executors answer it as a protocol error)
        decode_particle(1, b"\x00" * 9)
