"""Fault injection: a misbehaving server gives typed errors, bounded waits, and a client that recovers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

import aerospike_py
from aerospike_py.exception import AerospikeError, AerospikeTimeoutError, ClientError, ClusterError

K = ("test", "faults", "k")
FAST = {"total_timeout": 300, "socket_timeout": 300, "max_retries": 0}
FAST_W = {"total_timeout": 300, "socket_timeout": 300}
# Generous bound for a 300 ms deadline on a loaded 2-core CI machine.
LIMIT_S = 1.5


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.monotonic()
    try:
        return call(), time.monotonic() - t0
    except AerospikeError as e:
        return e, time.monotonic() - t0


@pytest.fixture
def warm(client: Any) -> Any:
    """A client with one pooled connection and a record ``K = {"n": 1, "s": "a"}``."""
    client.put(K, {"n": 1, "s": "a"})
    assert client.get(K).bins == {"n": 1, "s": "a"}
    return client


def stored_bins(server: Any) -> dict | None:
    from aerospike_py._commands.keys import parse_key
    from aerospike_py._wire.values import decode_particle

    digest = parse_key(K).digest
    rec = server.call(lambda: server.node.namespaces["test"].get(digest, server.clock))
    return None if rec is None else {n: decode_particle(pt, v) for n, (pt, v) in rec.bins.items()}


# ----------------------------------------------------------------------------- each fault on a read

READ_FAULTS = [
    ("drop", ClusterError),
    ("half", (ClusterError, ClientError)),
    ("garbage", ClientError),
    ("bad_version", ClientError),
    ("stall", AerospikeTimeoutError),
]


@pytest.mark.parametrize(("fault", "exc"), READ_FAULTS)
def test_read_fault_is_typed_bounded_and_recovers(warm: Any, server: Any, fault: str, exc: Any) -> None:
    server.inject_fault(fault)
    err, elapsed = timed(lambda: warm.get(K, policy=FAST))
    assert isinstance(err, exc), repr(err)
    assert elapsed < LIMIT_S
    assert err.in_doubt is False  # a read is never in doubt
    assert err.node == server.node.node_id
    assert err.key is not None and err.key[:3] == K
    assert "'k'" in str(err)
    # The poisoned connection was discarded: the next call on the same client works.
    assert warm.get(K).bins == {"n": 1, "s": "a"}
    assert warm.get(K, policy=FAST).bins == {"n": 1, "s": "a"}


@pytest.mark.parametrize(("fault", "exc"), READ_FAULTS)
def test_fault_on_a_fresh_connection(client: Any, server: Any, fault: str, exc: Any) -> None:
    """The first command of a client (no pooled connection yet) fails the same way."""
    client.put(K, {"n": 1})
    server.call(server.node.close_client_connections)
    fresh = aerospike_py.client(server.config).connect()
    try:
        server.inject_fault(fault)
        err, elapsed = timed(lambda: fresh.get(K, policy=FAST))
        assert isinstance(err, exc), repr(err)
        assert elapsed < LIMIT_S
        assert fresh.get(K).bins == {"n": 1}
    finally:
        fresh.close()


def test_stall_honours_total_timeout_across_retries(warm: Any, server: Any) -> None:
    server.inject_fault("stall", count=10)
    err, elapsed = timed(lambda: warm.get(K, policy={"total_timeout": 200, "socket_timeout": 50, "max_retries": 5}))
    assert isinstance(err, AerospikeTimeoutError), repr(err)
    assert 0.15 < elapsed < LIMIT_S
    server.call(server.node.clear_faults)
    assert warm.get(K).bins["n"] == 1


def test_stall_then_retry_succeeds(warm: Any, server: Any) -> None:
    server.inject_fault("stall")
    rec, elapsed = timed(lambda: warm.get(K, policy={"total_timeout": 2000, "socket_timeout": 100, "max_retries": 2}))
    assert not isinstance(rec, Exception), repr(rec)
    assert rec.bins == {"n": 1, "s": "a"}
    assert 0.09 < elapsed < LIMIT_S


# ----------------------------------------------------------------------------- writes and in_doubt


def test_dropped_write_is_in_doubt_and_not_applied(warm: Any, server: Any) -> None:
    server.inject_fault("drop")
    err, elapsed = timed(lambda: warm.increment(K, "n", 1, policy=FAST_W))
    assert isinstance(err, ClusterError), repr(err)
    assert err.in_doubt is True and elapsed < LIMIT_S
    assert "[in_doubt]" in str(err)
    assert stored_bins(server) == {"n": 1, "s": "a"}  # the server never ran it
    warm.increment(K, "n", 1)
    assert warm.get(K).bins["n"] == 2


def test_half_reply_write_is_in_doubt_and_applied_once(warm: Any, server: Any) -> None:
    server.inject_fault("half")
    err, _ = timed(lambda: warm.increment(K, "n", 10, policy=FAST_W))
    assert isinstance(err, (ClusterError, ClientError)), repr(err)
    assert err.in_doubt is True
    # The server applied the write before the reply was cut; the client did not send it again.
    assert stored_bins(server) == {"n": 11, "s": "a"}
    assert warm.get(K).bins["n"] == 11


def test_stalled_write_times_out_in_doubt(warm: Any, server: Any) -> None:
    server.inject_fault("stall")
    err, elapsed = timed(lambda: warm.put(K, {"s": "b"}, policy={"total_timeout": 200}))
    assert isinstance(err, AerospikeTimeoutError), repr(err)
    assert err.in_doubt is True and elapsed < LIMIT_S
    assert warm.get(K).bins == {"n": 1, "s": "a"}


def test_garbage_reply_to_write_is_in_doubt(warm: Any, server: Any) -> None:
    server.inject_fault("garbage")
    err, _ = timed(lambda: warm.put(K, {"s": "b"}, policy=FAST_W))
    assert isinstance(err, ClientError) and err.in_doubt is True, repr(err)
    warm.put(K, {"s": "c"})
    assert warm.get(K).bins == {"n": 1, "s": "c"}


# ----------------------------------------------------------------------------- retries


def test_dropped_read_succeeds_on_retry(warm: Any, server: Any) -> None:
    server.inject_fault("drop", count=2)
    rec = warm.get(K, policy={"max_retries": 2})
    assert rec.bins == {"n": 1, "s": "a"}


def test_retries_are_bounded(warm: Any, server: Any) -> None:
    server.inject_fault("drop", count=3)
    err, elapsed = timed(lambda: warm.get(K, policy={"max_retries": 2}))
    assert isinstance(err, ClusterError), repr(err)
    assert elapsed < LIMIT_S
    # All three faults were used up by three attempts: the next single attempt works.
    assert warm.get(K, policy={"max_retries": 0}).bins["n"] == 1


def test_no_retry_without_max_retries(warm: Any, server: Any) -> None:
    server.inject_fault("drop", count=1)
    err, _ = timed(lambda: warm.get(K, policy={"max_retries": 0}))
    assert isinstance(err, ClusterError), repr(err)
    assert warm.get(K, policy={"max_retries": 0}).bins["n"] == 1


def test_sleep_between_retries(warm: Any, server: Any) -> None:
    server.inject_fault("drop", count=2)
    rec, elapsed = timed(lambda: warm.get(K, policy={"max_retries": 2, "sleep_between_retries": 50}))
    assert rec.bins["n"] == 1
    assert elapsed >= 0.09


# ----------------------------------------------------------------------------- connections


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connect_to_closed_port_names_the_seed() -> None:
    port = _closed_port()
    c = aerospike_py.client({"hosts": [("127.0.0.1", port)], "timeout": 500})
    err, elapsed = timed(c.connect)
    assert isinstance(err, ClusterError), repr(err)
    assert f"127.0.0.1:{port}" in str(err)
    assert elapsed < LIMIT_S
    assert c.is_connected() is False


def test_stale_pooled_connections_are_replaced(warm: Any, server: Any) -> None:
    server.call(server.node.close_client_connections)
    assert warm.get(K).bins == {"n": 1, "s": "a"}
    server.call(server.node.close_client_connections)
    warm.put(K, {"s": "b"})  # a write with max_retries=0 too
    server.call(server.node.close_client_connections)
    warm.increment(K, "n", 1)
    assert warm.get(K).bins == {"n": 2, "s": "b"}
    assert warm.ping() is True


def test_server_down_then_back(server: Any) -> None:
    """A client whose every pooled connection died and whose retries are exhausted reports, then recovers."""
    c = aerospike_py.client(server.config).connect()
    try:
        c.put(K, {"n": 5})
        server.inject_fault("drop", count=100)
        err, elapsed = timed(lambda: c.get(K, policy={"max_retries": 1, "total_timeout": 500}))
        assert isinstance(err, ClusterError) and elapsed < LIMIT_S
        server.call(server.node.clear_faults)
        assert c.get(K).bins == {"n": 5}
    finally:
        c.close()
