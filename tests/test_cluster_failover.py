"""Failover on a 3-node embedded cluster: node stop, restart and isolation; in_doubt on write errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import aerospike_py
from aerospike_py._commands.keys import parse_key
from aerospike_py._wire.digest import partition_id
from aerospike_py.exception import (
    AerospikeError,
    AerospikeTimeoutError,
    ClientError,
    ClusterError,
    RecordNotFound,
)
from aerospike_py.server import EmbeddedCluster, Fault

TEND_MS = 50


@pytest.fixture
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(nodes=3, replication_factor=2) as c:
        yield c


def _tends(client: Any) -> int:
    return client._cluster.tend_count


def _wait_tend_count(client: Any, target: int) -> None:
    cl = client._cluster
    with cl.tend_event:
        assert cl.tend_event.wait_for(lambda: cl.tend_count >= target, 10)


def _assert_converged(client: Any, cluster: EmbeddedCluster, live: list[int]) -> None:
    """The client's node list and its map of namespace ``test`` match the cluster's."""
    ids = [cluster.nodes[i].node_id for i in live]
    assert sorted(client.get_node_names()) == sorted(ids)
    owners = cluster.owner_map()
    table = client._cluster.tables["test"]
    mine = [[table.replicas[r][pid].name for r in range(len(owners[pid]))] for pid in range(4096)]
    assert mine == owners
    assert all(table.replicas[r][pid] is None for r in range(2, len(table.replicas)) for pid in range(4096))


def _master_index(cluster: EmbeddedCluster, key: tuple) -> int:
    owner = cluster.owner_map()[partition_id(parse_key(key).digest)][0]
    return [n.node_id for n in cluster.nodes].index(owner)


def test_stop_and_restart_a_node_loses_no_acknowledged_write(cluster: EmbeddedCluster) -> None:
    client = aerospike_py.client({"hosts": cluster.config["hosts"], "tend_interval": TEND_MS}).connect()
    keys = [("test", "fo", i) for i in range(60)]
    acked: dict[tuple, int] = {}
    doubtful: dict[tuple, set[int]] = {}
    errors: list[AerospikeError] = []
    victim, stop_at, window, restart_at, steps = 1, 150, 40, 350, 500

    def check_read(key: tuple) -> None:
        try:
            value = client.get(key)[2]["v"]
        except RecordNotFound:
            assert key not in acked
            return
        possible = {acked.get(key)} | doubtful.get(key, set())
        assert value in possible, (key, value, possible)
        acked[key] = value  # a doubtful write that is visible now is acknowledged by the read
        doubtful.pop(key, None)

    def run(step: int) -> None:
        key = keys[step % len(keys)]
        try:
            client.put(key, {"v": step})
        except AerospikeError as e:
            assert isinstance(e, (ClusterError, AerospikeTimeoutError)), e
            assert e.node == cluster.nodes[victim].node_id and e.node in str(e)
            errors.append(e)
            if e.in_doubt:
                doubtful.setdefault(key, set()).add(step)
        else:
            acked[key] = step
            doubtful.pop(key, None)
        check_read(keys[(step * 7) % len(keys)])

    try:
        step = 0
        while step < steps:
            if step == stop_at:
                # Tending is held back while the node stops and a few commands run on the stale
                # map (the switch), so that the window is the same on every run.
                with client._cluster._tend_lock:
                    cluster.stop_node(victim)
                    for _ in range(window):
                        run(step)
                        step += 1
                    t_stop = _tends(client)
                _wait_tend_count(client, t_stop + 2)
                _assert_converged(client, cluster, [0, 2])
                errors_in_switch = len(errors)
                continue
            if step == restart_at:
                cluster.start_node(victim)
                _wait_tend_count(client, _tends(client) + 2)
                _assert_converged(client, cluster, [0, 1, 2])
            run(step)
            step += 1
        assert errors_in_switch > 0  # writes to the stopped master failed during the switch
        assert len(errors) == errors_in_switch, "no error once the client has converged"
        assert all(not e.in_doubt for e in errors)  # connection refused: nothing was sent
        for key in keys:
            assert client.get(key)[2] == {"v": acked[key]}
        assert not doubtful
    finally:
        client.close()


def test_writes_to_a_stopped_master_fail_not_in_doubt(cluster: EmbeddedCluster) -> None:
    # No tending during the test: the map stays stale, naming the stopped node as master.
    client = aerospike_py.client({"hosts": cluster.config["hosts"], "tend_interval": 60000}).connect()
    try:
        key = ("test", "nd", 1)
        client.put(key, {"v": 1})
        master = _master_index(cluster, key)
        node = cluster.nodes[master]
        cluster.stop_node(master)
        with pytest.raises(ClusterError) as ei:
            client.put(key, {"v": 2})
        assert ei.value.in_doubt is False
        assert ei.value.node == node.node_id
        assert f"{node.host}:{node.port}" in str(ei.value)
        # A read retries on the replica, which kept the acknowledged value.
        assert client.get(key)[2] == {"v": 1}
    finally:
        client.close()


def test_connection_lost_after_send_is_in_doubt(cluster: EmbeddedCluster) -> None:
    client = aerospike_py.client({"hosts": cluster.config["hosts"], "tend_interval": 60000}).connect()
    try:
        key = ("test", "id", 1)
        client.put(key, {"v": 1})
        master = _master_index(cluster, key)
        cluster.inject_fault(master, Fault.DROP)
        with pytest.raises(ClusterError) as ei:
            client.put(key, {"v": 2})
        assert ei.value.in_doubt is True
        cluster.inject_fault(master, Fault.STALL)
        with pytest.raises(AerospikeTimeoutError) as ti:
            client.put(key, {"v": 3}, policy={"total_timeout": 100})
        assert ti.value.in_doubt is True
        # reads are never in doubt, and fall back to the replica
        cluster.inject_fault(master, Fault.DROP)
        assert client.get(key)[2] == {"v": 1}
        cluster.inject_fault(master, Fault.DROP, count=3)
        with pytest.raises(AerospikeError) as ri:
            client.get(key, policy={"replica": aerospike_py.POLICY_REPLICA_MASTER})
        assert ri.value.in_doubt is False
    finally:
        client.close()


def test_isolated_node_is_dropped_and_rejoins(cluster: EmbeddedCluster) -> None:
    client = aerospike_py.client({"hosts": cluster.config["hosts"], "tend_interval": TEND_MS,
                                  "timeout": 200}).connect()
    try:
        keys = [("test", "iso", i) for i in range(30)]
        for k in keys:
            client.put(k, {"v": k[2]})
        cluster.isolate_node(0)
        _wait_tend_count(client, _tends(client) + 2)
        _assert_converged(client, cluster, [1, 2])
        for k in keys:
            client.put(k, {"v": -k[2]})
        cluster.start_node(0)
        _wait_tend_count(client, _tends(client) + 2)
        _assert_converged(client, cluster, [0, 1, 2])
        assert [client.get(k)[2] for k in keys] == [{"v": -k[2]} for k in keys]
        # the healed node serves the partitions it masters again, with the writes it missed
        counts_before = cluster.request_counts()[0]
        for k in keys:
            client.get(k)
        assert cluster.request_counts()[0] > counts_before
    finally:
        client.close()


# ----------------------------------------------------------------------------- socket faults on one node

REFUSED = "refused"  # the node is stopped: its port refuses connections
SOCKET_FAULTS = [
    (REFUSED, ClusterError, False),
    (Fault.HALF, (ClusterError, ClientError), True),
    (Fault.STALL, AerospikeTimeoutError, True),
    (Fault.GARBAGE, ClientError, True),
]
NO_RETRY = {"total_timeout": 300, "socket_timeout": 300, "max_retries": 0}
RETRY = {"total_timeout": 2000, "socket_timeout": 250, "max_retries": 2}
LIMIT_S = 1.5  # generous bound for a 300 ms deadline on a loaded 2-core CI machine


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.monotonic()
    try:
        return call(), time.monotonic() - t0
    except AerospikeError as e:
        return e, time.monotonic() - t0


@pytest.mark.parametrize(("fault", "exc", "write_in_doubt"), SOCKET_FAULTS)
def test_socket_fault_on_one_node(cluster: EmbeddedCluster, fault: str, exc: Any, write_in_doubt: bool) -> None:
    # No tending: the map keeps naming the faulty node as master.
    client = aerospike_py.client({"hosts": cluster.config["hosts"], "tend_interval": 60000}).connect()
    try:
        key = ("test", "sf", 1)
        client.put(key, {"v": 1})
        m = _master_index(cluster, key)
        node_id = cluster.nodes[m].node_id
        replica = [n.node_id for n in cluster.nodes].index(cluster.owner_map()[partition_id(
            parse_key(key).digest)][1])

        def arm() -> None:
            if fault == REFUSED:
                if m in cluster.core.up:
                    cluster.stop_node(m)
            else:
                cluster.inject_fault(m, fault)

        def heal() -> None:
            if fault == REFUSED:
                cluster.start_node(m)

        # A read without retries: typed, bounded, naming the node; a read is never in doubt.
        arm()
        err, elapsed = _timed(lambda: client.get(key, policy=NO_RETRY))
        assert isinstance(err, exc), repr(err)
        assert elapsed < LIMIT_S
        assert err.in_doubt is False
        assert err.node == node_id and node_id in str(err)
        # The failed connection is not reused: the next command to that node works at once.
        heal()
        cluster.reset_counts()
        assert client.get(key, policy={**NO_RETRY, "replica": aerospike_py.POLICY_REPLICA_MASTER})[2] == {"v": 1}
        assert cluster.request_counts()[m] == 1
        # With retries a read moves to the replica and succeeds within the deadline.
        arm()
        cluster.reset_counts()
        value, elapsed = _timed(lambda: client.get(key, policy=RETRY))
        assert not isinstance(value, AerospikeError), repr(value)
        assert value[2] == {"v": 1}
        assert elapsed < LIMIT_S
        assert cluster.request_counts()[replica] == 1
        heal()
        # A write is in doubt when the request went out before the failure.
        arm()
        err, elapsed = _timed(lambda: client.put(key, {"v": 2}, policy=NO_RETRY))
        assert isinstance(err, exc), repr(err)
        assert elapsed < LIMIT_S
        assert err.in_doubt is write_in_doubt
        heal()
        client.put(key, {"v": 3}, policy=NO_RETRY)
        assert client.get(key, policy=NO_RETRY)[2] == {"v": 3}
    finally:
        client.close()


# ----------------------------------------------------------------------------- tend lifecycle

def _tend_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "aerospike_py-tend"]


def _wait_until(client: Any, cond: Callable[[], bool], tends: int = 100) -> None:
    for _ in range(tends):
        if cond():
            return
        assert client._cluster.wait_tends(1)
    assert cond()


def test_tend_threads_stop_at_close(cluster: EmbeddedCluster) -> None:
    before = set(_tend_threads())
    clients = [aerospike_py.client({"hosts": cluster.config["hosts"], "tend_interval": 20, "timeout": 200}).connect()
               for _ in range(3)]
    mine = [c._cluster._thread for c in clients]
    assert all(t is not None and t.is_alive() for t in mine)
    assert set(_tend_threads()) - before == set(mine)
    cluster.isolate_node(2)  # the tend threads now wait on a node that never answers
    assert clients[0]._cluster.wait_tends(1)
    t0 = time.monotonic()
    for c in clients:
        c.close()
    assert time.monotonic() - t0 < 2.0
    assert not any(t.is_alive() for t in mine)
    assert set(_tend_threads()) <= before
    clients[0].close()  # idempotent


def test_every_node_gone_then_back(cluster: EmbeddedCluster) -> None:
    hosts = cluster.config["hosts"]
    client = aerospike_py.client({"hosts": hosts, "tend_interval": 20, "timeout": 200}).connect()
    try:
        key = ("test", "gone", 1)
        client.put(key, {"v": 1})
        for i in range(3):
            cluster.stop_node(i)
        _wait_until(client, lambda: not client._cluster.node_list)
        err, elapsed = _timed(lambda: client.get(key, policy=NO_RETRY))
        assert isinstance(err, ClusterError), repr(err)
        assert elapsed < LIMIT_S
        for host, port in hosts:
            assert f"{host}:{port}" in str(err)
        cluster.start_node(1)  # one node back: tending re-seeds, then finds its peers as they return
        _wait_until(client, lambda: len(client._cluster.node_list) == 1)
        client.put(key, {"v": 2})
        cluster.start_node(0)
        cluster.start_node(2)
        _wait_until(client, lambda: len(client._cluster.node_list) == 3)
        _wait_tend_count(client, _tends(client) + 2)
        _assert_converged(client, cluster, [0, 1, 2])
        assert client.get(key)[2] == {"v": 2}
    finally:
        client.close()
