"""Failover on a 3-node embedded cluster: node stop, restart and isolation; in_doubt on write errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import aerospike_py
from aerospike_py._commands.keys import parse_key
from aerospike_py._wire.digest import partition_id
from aerospike_py.exception import AerospikeError, AerospikeTimeoutError, ClusterError, RecordNotFound
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
