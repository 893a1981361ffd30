"""Fault injection, one suite for the sync Client and the AsyncClient: a misbehaving server gives the
same typed error, in_doubt flag and bounded wait on both, and the client recovers at once."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from _clients import GENEROUS_MS, generous, make_client
from aerospike_py.exception import AerospikeError, AerospikeTimeoutError, ClientError, ClusterError
from aerospike_py.server import EmbeddedCluster, Fault

K = ("test", "faults", "k")
FAST = {"total_timeout": 300, "socket_timeout": 300, "max_retries": 0}
FAST_W = {"total_timeout": 300, "socket_timeout": 300}
# Generous bound for a 300 ms deadline on a loaded 2-core CI machine.
LIMIT_S = 1.5

#: fault -> (error class, whether a write it hits was applied by the server)
FAULTS: dict[str, tuple[type[AerospikeError], bool]] = {
    "drop": (ClusterError, False),  # connection closed, no answer
    "half": (ClusterError, True),  # half of the answer, then closed
    "half_close": (ClusterError, False),  # the server shuts its sending side
    "garbage": (ClientError, False),  # bytes that are no frame
    "bad_version": (ClientError, False),  # a frame of another protocol version
    "stall": (AerospikeTimeoutError, False),  # no answer at all
    "trickle:40": (AerospikeTimeoutError, True),  # the answer, one byte every 40 ms
    "delay:700": (AerospikeTimeoutError, True),  # the whole answer, 700 ms late
}


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.monotonic()
    try:
        return call(), time.monotonic() - t0
    except AerospikeError as e:
        return e, time.monotonic() - t0


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


@pytest.fixture(params=["sync", "async"])
def kind(request: Any) -> str:
    return request.param


@pytest.fixture
def make(kind: str, loop: asyncio.AbstractEventLoop) -> Iterator[Callable[[dict], Any]]:
    """``make(config)``: a connected client of the parametrised kind (closed at the end)."""
    made: list[Any] = []

    def factory(config: dict) -> Any:
        c = make_client(kind, config, loop).connect()
        made.append(c)
        return c

    yield factory
    for c in made:
        c.close()


@pytest.fixture
def warm(make: Callable[[dict], Any], server: Any) -> Any:
    """A client with one pooled connection and a record ``K = {"n": 1, "s": "a"}``."""
    c = make(server.config)
    c.put(K, {"n": 1, "s": "a"})
    assert c.get(K).bins == {"n": 1, "s": "a"}
    return c


def stored_bins(server: Any) -> dict | None:
    from aerospike_py._commands.keys import parse_key
    from aerospike_py._wire.values import decode_particle

    digest = parse_key(K).digest
    rec = server.call(lambda: server.node.namespaces["test"].get(digest, server.clock))
    return None if rec is None else {n: decode_particle(pt, v) for n, (pt, v) in rec.bins.items()}


def _recovers(c: Any) -> None:
    """The poisoned connection was discarded: the next calls on the same client work."""
    assert c.get(K).bins["s"] == "a"
    assert c.get(K, policy=FAST).bins["s"] == "a"
    c.put(K, {"s": "a"}, policy={"max_retries": 0})


# ----------------------------------------------------------------------------- the fault matrix


@pytest.mark.parametrize("fault", list(FAULTS))
def test_read_fault(warm: Any, server: Any, fault: str) -> None:
    exc, _ = FAULTS[fault]
    server.inject_fault(fault)
    err, elapsed = timed(lambda: warm.get(K, policy=FAST))
    assert type(err) is exc, repr(err)
    assert elapsed < LIMIT_S
    assert err.in_doubt is False  # a read is never in doubt
    assert err.node == server.node.node_id
    assert err.key is not None and err.key[:3] == K
    assert "'k'" in str(err)
    _recovers(warm)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_write_fault(warm: Any, server: Any, fault: str) -> None:
    exc, applied = FAULTS[fault]
    server.inject_fault(fault)
    err, elapsed = timed(lambda: warm.increment(K, "n", 10, policy=FAST_W))
    assert type(err) is exc, repr(err)
    assert elapsed < LIMIT_S
    assert err.in_doubt is True and "[in_doubt]" in str(err)  # sent, then no readable answer
    assert err.node == server.node.node_id
    # Applied at most once: the client did not send it again (writes default to max_retries=0).
    assert stored_bins(server) == {"n": 11 if applied else 1, "s": "a"}
    _recovers(warm)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_on_a_fresh_connection(make: Callable[[dict], Any], server: Any, fault: str) -> None:
    """The first command of a client (no pooled connection yet) fails the same way."""
    make(server.config).put(K, {"n": 1, "s": "a"})
    server.call(server.node.close_client_connections)
    fresh = make(server.config)
    server.inject_fault(fault)
    err, elapsed = timed(lambda: fresh.get(K, policy=FAST))
    assert type(err) is FAULTS[fault][0], repr(err)
    assert elapsed < LIMIT_S
    assert err.in_doubt is False  # a read
    _recovers(fresh)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_write_fault_on_a_fresh_connection(make: Callable[[dict], Any], server: Any, fault: str) -> None:
    """A client's first write (its connection opened for it) is in doubt the same way."""
    exc, applied = FAULTS[fault]
    make(server.config).put(K, {"n": 1, "s": "a"})
    server.call(server.node.close_client_connections)
    fresh = make(server.config)
    server.inject_fault(fault)
    err, elapsed = timed(lambda: fresh.increment(K, "n", 10, policy=FAST_W))
    assert type(err) is exc, repr(err)
    assert elapsed < LIMIT_S
    assert err.in_doubt is True
    assert stored_bins(server) == {"n": 11 if applied else 1, "s": "a"}
    _recovers(fresh)


def test_server_timeout_answer_to_a_write_is_in_doubt(warm: Any, server: Any) -> None:
    """The server answered TIMEOUT (9) after applying the write: the failure says it is in doubt."""
    server.inject_fault("answer:9")
    err, _ = timed(lambda: warm.increment(K, "n", 10, policy=FAST_W))
    assert isinstance(err, AerospikeTimeoutError) and err.code == 9, repr(err)
    assert err.in_doubt is True
    assert stored_bins(server) == {"n": 11, "s": "a"}  # it was applied
    server.inject_fault("answer:9")
    err, _ = timed(lambda: warm.get(K, policy=FAST))
    assert err.code == 9 and err.in_doubt is False  # reads are never in doubt
    server.inject_fault("answer:2")
    err, _ = timed(lambda: warm.put(K, {"s": "b"}, policy=FAST_W))
    assert err.code == 2 and err.in_doubt is False  # a definite answer
    assert warm.get(K).bins == {"n": 11, "s": "b"}  # the connection answered whole: still in use


@pytest.mark.parametrize("fault", ["stall", "drop", "garbage"])
def test_info_fault(warm: Any, server: Any, fault: str) -> None:
    """Info commands (admin policies: no timeout_delay, no retries) fail typed and bounded too."""
    server.inject_fault(fault, lambda t, b: t == 1)
    err, elapsed = timed(lambda: warm.info_random_node("namespaces", policy={"timeout": 300}))
    assert type(err) is FAULTS[fault][0], repr(err)
    assert elapsed < LIMIT_S
    assert err.in_doubt is False  # (info commands write nothing a retry could double)
    assert "test" in warm.info_random_node("namespaces")


def test_server_close_while_idle(warm: Any, server: Any) -> None:
    """Pooled connections the server closed are replaced without using up an attempt."""
    for call in (lambda: warm.get(K, policy=FAST), lambda: warm.put(K, {"s": "b"}, policy={"max_retries": 0}),
                 lambda: warm.increment(K, "n", 1, policy={"max_retries": 0})):
        server.call(server.node.close_client_connections)
        call()
    assert warm.get(K).bins == {"n": 2, "s": "b"}
    assert warm.ping() is True


# ----------------------------------------------------------------------------- retries and deadlines


def test_stall_honours_total_timeout_across_retries(warm: Any, server: Any) -> None:
    server.inject_fault("stall", count=10)
    err, elapsed = timed(lambda: warm.get(K, policy={"total_timeout": 200, "socket_timeout": 50, "max_retries": 5}))
    assert isinstance(err, AerospikeTimeoutError), repr(err)
    assert 0.15 < elapsed < LIMIT_S
    server.call(server.node.clear_faults)
    assert warm.get(K).bins["n"] == 1


def test_trickle_honours_total_timeout(warm: Any, server: Any) -> None:
    """A reply dripping in byte by byte cannot hold a call past its deadline (header or body)."""
    server.inject_fault("trickle:30", count=10)
    err, elapsed = timed(lambda: warm.get(K, policy={"total_timeout": 200, "socket_timeout": 0, "max_retries": 3}))
    assert isinstance(err, AerospikeTimeoutError), repr(err)
    assert elapsed < LIMIT_S


@pytest.mark.parametrize("fault", ["stall", "drop", "garbage", "delay:400"])
def test_fault_then_retry_succeeds(warm: Any, server: Any, fault: str) -> None:
    server.inject_fault(fault)
    rec, elapsed = timed(lambda: warm.get(K, policy={"total_timeout": 2000, "socket_timeout": 100, "max_retries": 2}))
    assert not isinstance(rec, Exception), repr(rec)
    assert rec.bins == {"n": 1, "s": "a"}
    assert elapsed < LIMIT_S


def test_retries_are_bounded(warm: Any, server: Any) -> None:
    server.inject_fault("drop", count=3)
    err, elapsed = timed(lambda: warm.get(K, policy={"max_retries": 2}))
    assert isinstance(err, ClusterError), repr(err)
    assert "after 3 attempt(s)" in str(err) or "connection failed" in str(err)
    assert elapsed < LIMIT_S
    # All three faults were used up by three attempts: the next single attempt works.
    assert warm.get(K, policy={"max_retries": 0}).bins["n"] == 1


def test_sleep_between_retries(warm: Any, server: Any) -> None:
    server.inject_fault("drop", count=2)
    rec, elapsed = timed(lambda: warm.get(K, policy={"max_retries": 2, "sleep_between_retries": 50}))
    assert rec.bins["n"] == 1
    assert elapsed >= 0.09


def test_server_down_then_back(make: Callable[[dict], Any], server: Any) -> None:
    """A client whose every pooled connection died and whose retries are exhausted reports, then recovers."""
    c = make(server.config)
    c.put(K, {"n": 5})
    server.inject_fault("drop", count=100)
    err, elapsed = timed(lambda: c.get(K, policy={"max_retries": 1, "total_timeout": 500}))
    assert isinstance(err, ClusterError) and elapsed < LIMIT_S
    server.call(server.node.clear_faults)
    assert c.get(K).bins == {"n": 5}


# ----------------------------------------------------------------------------- a node dies mid-command


def test_node_stop_mid_command(make: Callable[[dict], Any]) -> None:
    """The master stops while it holds a command: a read moves on to the replica, a write fails in
    doubt, and the client carries on with the node gone."""
    from aerospike_py._commands.keys import parse_key
    from aerospike_py._wire.digest import partition_id

    with EmbeddedCluster(nodes=3, replication_factor=2) as cluster:
        c = make(generous({"hosts": cluster.config["hosts"], "tend_interval": 60000}))
        key = ("test", "death", 1)
        c.put(key, {"v": 1})
        owner = cluster.owner_map()[partition_id(parse_key(key).digest)][0]
        master = [n.node_id for n in cluster.nodes].index(owner)

        def stop_master(ptype: int, body: bytes) -> bool:
            # Runs on the server's loop as the request arrives: the node stops with it unanswered.
            asyncio.get_running_loop().create_task(cluster.core.stop_node(master))
            return True

        cluster.inject_fault(master, Fault.STALL, stop_master)
        # The deadline is far off: the client moves on when the connection resets, not at the deadline.
        moves_on_s = GENEROUS_MS / 1000 / 3
        rec, elapsed = timed(lambda: c.get(key, policy={"total_timeout": GENEROUS_MS, "max_retries": 2}))
        assert not isinstance(rec, Exception), repr(rec)
        assert rec.bins == {"v": 1} and elapsed < moves_on_s
        cluster.start_node(master)
        c.put(key, {"v": 1})  # the node is back (same port): the client reconnects to it
        cluster.inject_fault(master, Fault.STALL, stop_master)
        err, elapsed = timed(lambda: c.put(key, {"v": 2}, policy={"total_timeout": GENEROUS_MS}))
        assert isinstance(err, ClusterError) and err.in_doubt is True, repr(err)
        assert elapsed < moves_on_s
        assert c.get(key, policy={"max_retries": 2}).bins == {"v": 1}


# ----------------------------------------------------------------------------- connections


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connect_to_closed_port_names_the_seed(kind: str, loop: asyncio.AbstractEventLoop) -> None:
    port = _closed_port()
    c = make_client(kind, {"hosts": [("127.0.0.1", port)], "timeout": 500}, loop)
    err, elapsed = timed(c.connect)
    assert isinstance(err, ClusterError), repr(err)
    assert f"127.0.0.1:{port}" in str(err)
    assert elapsed < LIMIT_S
    assert c.is_connected() is False


def test_sync_and_async_agree_on_the_message(loop: asyncio.AbstractEventLoop, server: Any) -> None:
    """Both loops drive the same engine: the same failure reads the same."""
    texts = []
    for kind in ("sync", "async"):
        c = make_client(kind, server.config, loop).connect()
        try:
            c.put(K, {"n": 1})
            server.inject_fault("drop", count=2)
            err, _ = timed(lambda c=c: c.get(K, policy={"total_timeout": 0, "max_retries": 1}))
            texts.append((type(err), str(err)))
        finally:
            c.close()
    assert texts[0] == texts[1]
    assert "connection failed" in texts[0][1]

