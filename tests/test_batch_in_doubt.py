"""Per-record ``in_doubt`` of batch writes, operate, apply and remove on a 3-node embedded cluster.

As the official clients: the records of a sub-batch whose node timed out (or lost the connection)
after the request was sent are in doubt; those of a sub-batch never sent (its node refused the
connection) are not; a record that fails on a resend after an attempt that may have applied it is
in doubt; records of the other nodes keep their own results. Sync and async clients alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import aerospike_py
from _clients import make_client
from aerospike_py._commands.keys import parse_key
from aerospike_py._wire.digest import partition_id
from aerospike_py.server import EmbeddedCluster, Fault

SET = "bdoubt"
N = 45
UDF = Path(__file__).parent / "udf" / "udf_lib.lua"
#: One short attempt per node; a whole-call deadline that leaves room for a node retry.
FAST = {"socket_timeout": 300, "total_timeout": 5000, "max_retries": 0}


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(nodes=3, replication_factor=2) as c:
        setup = aerospike_py.client(c.config).connect()
        setup.udf_put(str(UDF))
        setup.close()
        yield c


@pytest.fixture(params=["sync", "async"])
def client(request: Any, cluster: EmbeddedCluster) -> Iterator[Any]:
    # No tending during a test: a stopped node stays in the map (its sub-batch is refused).
    config = dict(cluster.config, tend_interval=600_000)
    loop = asyncio.new_event_loop()
    c = make_client(request.param, config, loop)
    c.connect()
    for i in range(3):
        cluster.call(cluster.core.nodes[i].clear_faults)
    cluster.clear()
    yield c
    c.close()
    for i in range(3):
        if i not in cluster.core.up:
            cluster.start_node(i)
        cluster.call(cluster.core.nodes[i].clear_faults)
    loop.close()


def _keys() -> list[tuple]:
    return [("test", SET, i) for i in range(N)]


def _masters(cluster: EmbeddedCluster, keys: list[tuple]) -> list[int]:
    ids = [n.node_id for n in cluster.nodes]
    owners = cluster.owner_map()
    return [ids.index(owners[partition_id(parse_key(k).digest)][0]) for k in keys]


def _seed(client: Any, keys: list[tuple]) -> None:
    for k in keys:
        client.put(k, {"v": 0})


Op = Callable[[Any, list[tuple], dict], Any]


def _write(c: Any, keys: list[tuple], p: dict) -> Any:
    return c.batch_write([(k, {"v": 1}) for k in keys], policy=p)


def _operate(c: Any, keys: list[tuple], p: dict) -> Any:
    return c.batch_operate(keys, [{"op": aerospike_py.OPERATOR_INCR, "bin": "v", "val": 1}], policy=p)


def _apply(c: Any, keys: list[tuple], p: dict) -> Any:
    return c.batch_apply(keys, "udf_lib", "set_bin", ["v", 1], policy=p)


def _remove(c: Any, keys: list[tuple], p: dict) -> Any:
    return c.batch_remove(keys, policy=p)


def _applied(c: Any, key: tuple, op: Op) -> bool:
    """Whether ``op`` took effect on ``key`` (seeded with v=0)."""
    try:
        bins = c.get(key)[2]
    except aerospike_py.exception.RecordNotFound:
        return op is _remove
    return op is not _remove and bins == {"v": 1}


OPS = [_write, _operate, _apply, _remove]


@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__[1:])
def test_timeout_after_send_puts_that_nodes_records_in_doubt(cluster: EmbeddedCluster, client: Any, op: Op) -> None:
    keys = _keys()
    _seed(client, keys)
    masters = _masters(cluster, keys)
    slow = masters[0]
    # The node applies the sub-batch at once but answers after the client gave up on it.
    cluster.inject_fault(slow, f"{Fault.DELAY}3000")
    recs = op(client, keys, FAST).batch_records
    for k, m, br in zip(keys, masters, recs, strict=True):
        if m == slow:
            assert (br.result, br.in_doubt, br.record) == (9, True, None), (k, br)
            assert _applied(client, k, op)  # it was applied: in doubt was the truth
        else:
            assert (br.result, br.in_doubt) == (0, False), (k, br)


@pytest.mark.parametrize("op", OPS, ids=lambda f: f.__name__[1:])
def test_sub_batch_never_sent_is_not_in_doubt(cluster: EmbeddedCluster, client: Any, op: Op) -> None:
    keys = _keys()
    _seed(client, keys)
    masters = _masters(cluster, keys)
    down = masters[0]
    cluster.stop_node(down)
    recs = op(client, keys, dict(FAST, max_retries=1)).batch_records
    assert {m for m in masters} == {0, 1, 2}
    for k, m, br in zip(keys, masters, recs, strict=True):
        if m == down:
            assert br.result == -10 and br.in_doubt is False and br.record is None, (k, br)
        else:
            assert (br.result, br.in_doubt) == (0, False), (k, br)
            assert _applied(client, k, op)


@pytest.mark.parametrize("fault", [Fault.DROP, Fault.HALF, Fault.HALF_CLOSE])
def test_connection_lost_after_send_is_in_doubt(cluster: EmbeddedCluster, client: Any, fault: str) -> None:
    keys = _keys()
    masters = _masters(cluster, keys)
    cluster.inject_fault(masters[0], fault)
    recs = _write(client, keys, FAST).batch_records
    for m, br in zip(masters, recs, strict=True):
        assert br.in_doubt is (m == masters[0]) and (br.result == 0) is (m != masters[0]), br


def test_failure_on_a_resend_after_an_attempt_that_applied_is_in_doubt(cluster: EmbeddedCluster, client: Any) -> None:
    """Create-only: the first attempt creates the records but its answer comes too late; the resend
    (``retry=1``: records that timed out) is answered KEY_EXISTS, which the first attempt caused."""
    keys = _keys()
    masters = _masters(cluster, keys)
    slow = masters[0]
    cluster.inject_fault(slow, f"{Fault.DELAY}3000")
    policy = dict(FAST, exists=aerospike_py.POLICY_EXISTS_CREATE_ONLY)
    res = client.batch_write([(k, {"v": 1}) for k in keys], policy=policy, retry=1)
    assert res.retry.attempts == 2
    for k, m, br in zip(keys, masters, res.batch_records, strict=True):
        if m == slow:
            assert (br.result, br.in_doubt) == (5, True), (k, br)
        else:
            assert (br.result, br.in_doubt) == (0, False), (k, br)
        assert client.get(k)[2] == {"v": 1}


@pytest.mark.parametrize("fault", [f"{Fault.DELAY}3000", Fault.HALF_CLOSE])
def test_a_sent_write_sub_batch_is_not_sent_again(cluster: EmbeddedCluster, client: Any, fault: str) -> None:
    """Node retries (the batch policy's max_retries, 2 by default) resend a write sub-batch only when
    it was never sent: increments are applied once, and reported in doubt; reads are retried."""
    keys = _keys()
    _seed(client, keys)
    masters = _masters(cluster, keys)
    slow = masters[0]
    cluster.inject_fault(slow, fault)
    cluster.reset_counts()
    recs = _operate(client, keys, dict(FAST, max_retries=2)).batch_records
    mine = masters.count(slow)
    applies = fault != Fault.HALF_CLOSE  # (half_close answers nothing and applies nothing)
    assert cluster.request_counts()[slow] == (mine if applies else 0)  # not sent again
    for k, m, br in zip(keys, masters, recs, strict=True):
        assert (br.result == 0, br.in_doubt) == ((False, True) if m == slow else (True, False)), (k, br)
    applied = [client.get(k)[2]["v"] for k, m in zip(keys, masters, strict=True) if m == slow]
    assert applied == [1 if applies else 0] * mine
    cluster.inject_fault(slow, Fault.STALL)
    assert all(br.result == 0 for br in client.batch_read(keys, policy=dict(FAST, max_retries=1)).batch_records)


def test_a_read_is_never_in_doubt(cluster: EmbeddedCluster, client: Any) -> None:
    keys = _keys()
    masters = _masters(cluster, keys)
    cluster.inject_fault(masters[0], Fault.STALL)
    with pytest.raises(aerospike_py.exception.AerospikeTimeoutError) as ei:
        client.batch_read(keys, policy=FAST)
    assert ei.value.in_doubt is False


def test_server_timeout_for_one_record_is_in_doubt() -> None:
    """A TIMEOUT (9) the server answers for one record of a write batch: in doubt (it may have been
    applied); other codes and reads are not."""
    from aerospike_py._commands import batch as B

    def frame(code: int, idx: int) -> bytes:
        from aerospike_py._wire.message import MSG_HEADER

        return MSG_HEADER.pack(22, 0, 0, 0, 0, code, 0, 0, idx, 0, 0)

    last = frame(0, 0)[:3] + bytes([1]) + frame(0, 0)[4:]  # info3 = LAST
    for is_write, want in ((True, [True, False]), (False, [False, False])):
        state = B.BatchState([parse_key(("test", SET, i)) for i in range(2)])
        cmd = B.BatchCommand(None, b"", is_write, B.parse_batch, {}, (state, [0, 1]))
        assert B.parse_batch(cmd, frame(9, 0) + frame(2, 1) + last, "N") is None
        B.mark_doubt(state)
        assert [br.in_doubt for br in B.to_batch_records(state)] == want
        assert [br.result for br in B.to_batch_records(state)] == [9, 2]
