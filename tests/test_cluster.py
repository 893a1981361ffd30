"""Clusters: discovery, partition maps, routing, stale maps, cluster names, the CLI, the official client."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

import aerospike_py
from _clients import official_generous
from aerospike_py._commands.keys import parse_key
from aerospike_py._wire.digest import partition_id
from aerospike_py.exception import ClusterError
from aerospike_py.server import EmbeddedCluster, Fault

N_PART = 4096


@pytest.fixture(scope="module")
def cluster() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(nodes=3, replication_factor=2) as c:
        yield c


@pytest.fixture
def cl(cluster: EmbeddedCluster) -> Iterator[aerospike_py.Client]:
    cluster.clear()
    cluster.reset_counts()
    # One seed only: the other nodes must be found through peers.
    c = aerospike_py.client({"hosts": [cluster.config["hosts"][0]], "tend_interval": 50}).connect()
    yield c
    c.close()


def _pid(key: tuple) -> int:
    return partition_id(parse_key(key).digest)


def test_peers_discovered_from_one_seed(cluster: EmbeddedCluster, cl: aerospike_py.Client) -> None:
    assert sorted(cl.get_node_names()) == sorted(n.node_id for n in cluster.nodes)
    assert {n.address for n in cl._cluster.node_list} == {f"{n.host}:{n.port}" for n in cluster.nodes}


def test_replicas_answer_two_bitmaps_covering_every_partition(cluster: EmbeddedCluster,
                                                              cl: aerospike_py.Client) -> None:
    masters = [0] * N_PART
    holders = [set() for _ in range(N_PART)]
    for res in cl.info_all("replicas"):
        ns_part = [p for p in res.response.strip().split(";") if p.startswith("test:")][0]
        regime, count, *maps = ns_part[len("test:"):].split(",")
        assert (regime, count, len(maps)) == ("0", "2", 2)
        for rank, b64 in enumerate(maps):
            bits = base64.b64decode(b64)
            assert len(bits) == N_PART // 8
            for pid in range(N_PART):
                if bits[pid >> 3] & (0x80 >> (pid & 7)):
                    holders[pid].add(res.node_name)
                    masters[pid] += rank == 0
    assert all(m == 1 for m in masters)
    assert all(len(h) == 2 for h in holders)
    # every node masters a fair share
    table = cl._cluster.tables["test"]
    share = [sum(1 for n in table.replicas[0] if n.name == node.node_id) for node in cluster.nodes]
    assert sum(share) == N_PART and min(share) > N_PART // 6


def test_every_command_lands_on_the_partition_master(cluster: EmbeddedCluster, cl: aerospike_py.Client) -> None:
    table = cl._cluster.tables["test"]
    expected: dict[str, int] = {}
    keys = [("test", "route", i) for i in range(300)]
    for key in keys:
        cl.put(key, {"v": key[2]})
        assert cl.get(key)[2] == {"v": key[2]}
        master = table.replicas[0][_pid(key)].name
        assert master == cluster.owners("test", _pid(key))[0]
        expected[master] = expected.get(master, 0) + 2
    counts = cluster.request_counts()
    assert {n.node_id: c for n, c in zip(cluster.nodes, counts, strict=True)} == {
        n.node_id: expected.get(n.node_id, 0) for n in cluster.nodes}
    per_pid = cluster.partition_request_counts()
    for node, counter in zip(cluster.nodes, per_pid, strict=True):
        assert all(table.replicas[0][pid].name == node.node_id for pid in counter)
    assert not cluster.core.proxied


def test_data_is_replicated_to_the_replica(cluster: EmbeddedCluster, cl: aerospike_py.Client) -> None:
    key = ("test", "rep", "k1")
    cl.put(key, {"a": 1})
    pid = _pid(key)
    owners = cluster.owners("test", pid)
    digest = cl.get(key)[0][3]

    def holders() -> list[str]:
        return [n.node_id for n in cluster.core.nodes
                if n.namespaces["test"].get(bytes(digest), n.clock) is not None]

    assert sorted(cluster.call(holders)) == sorted(owners)
    cl.remove(key)
    assert cluster.call(holders) == []


def test_stale_map_is_served_by_proxy(cluster: EmbeddedCluster, cl: aerospike_py.Client) -> None:
    """A command reaching a node that does not hold the partition is proxied to the master."""
    key = ("test", "stale", 7)
    cl.put(key, {"n": 1})
    pid = _pid(key)
    owners = cluster.owners("test", pid)
    outsider = next(n for n in cl._cluster.node_list if n.name not in owners)
    table = cl._cluster.tables["test"]
    for arr in table.replicas:  # the client now believes the outsider holds the partition
        arr[pid] = outsider
    cluster.reset_counts()
    cl.put(key, {"n": 2})
    assert cl.get(key)[2] == {"n": 2}
    assert cluster.core.proxied[outsider.name] == 2
    counts = dict(zip((n.node_id for n in cluster.nodes), cluster.request_counts(), strict=True))
    assert counts[outsider.name] == 2 and sum(counts.values()) == 2
    # the write went through the master, so the replica has it too
    digest = bytes(cl.get(key)[0][3])
    stored = cluster.call(lambda: [n.namespaces["test"].get(digest, n.clock) for n in cluster.core.nodes
                                   if n.node_id in owners])
    assert [r.generation for r in stored] == [2, 2]


def test_batch_reads_across_nodes(cluster: EmbeddedCluster, cl: aerospike_py.Client) -> None:
    keys = [("test", "b", i) for i in range(50)]
    for k in keys:
        cl.put(k, {"i": k[2]})
    got = cl.batch_read(keys).batch_records
    assert [r.record[2] for r in got] == [{"i": i} for i in range(50)]
    assert not cluster.core.proxied


def test_min_conns_warmed_on_every_node(cluster: EmbeddedCluster) -> None:
    c = aerospike_py.client({"hosts": cluster.config["hosts"][:1], "min_conns_per_node": 3}).connect()
    try:
        assert len(c._cluster.node_list) == 3
        assert [len(n.idle) for n in c._cluster.node_list] == [3, 3, 3]
    finally:
        c.close()


def test_cluster_name_mismatch_is_rejected() -> None:
    with EmbeddedCluster(nodes=2, replication_factor=1, cluster_name="alpha") as c:
        hosts = c.config["hosts"]
        with pytest.raises(ClusterError) as ei:
            aerospike_py.client({"hosts": hosts, "cluster_name": "beta"}).connect()
        for host, port in hosts:
            assert f"{host}:{port}" in str(ei.value)
        assert "alpha" in str(ei.value)
        ok = aerospike_py.client({"hosts": hosts[:1], "cluster_name": "alpha"}).connect()
        try:
            assert len(ok.get_node_names()) == 2
        finally:
            ok.close()


def test_unreachable_seeds_are_all_listed() -> None:
    ports = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        ports.append(s.getsockname()[1])
        s.close()
    with pytest.raises(ClusterError) as ei:
        aerospike_py.client({"hosts": [("127.0.0.1", p) for p in ports], "timeout": 200}).connect()
    for p in ports:
        assert f"127.0.0.1:{p}" in str(ei.value)


def test_official_client_sees_three_nodes(cluster: EmbeddedCluster, cl: aerospike_py.Client) -> None:
    aerospike = pytest.importorskip("aerospike")
    official = aerospike.client(official_generous({"hosts": [cluster.config["hosts"][0]]})).connect()
    try:
        assert sorted(n["node_name"] for n in official.get_node_names()) == sorted(n.node_id for n in cluster.nodes)
        assert sorted(official.get_nodes()) == sorted((n.host, n.port) for n in cluster.nodes)
        for i in range(40):
            cl.put(("test", "off", i), {"i": i})
        for i in range(40):
            assert official.get(("test", "off", i))[2] == {"i": i}
            official.put(("test", "off2", i), {"j": -i})
        assert [cl.get(("test", "off2", i))[2] for i in range(40)] == [{"j": -i} for i in range(40)]
    finally:
        official.close()
    assert not cluster.core.proxied  # the official client routed every key to its master too


def _free_port_run(n: int) -> int:
    for _ in range(50):
        socks = []
        try:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
            socks.append(s)
            for i in range(1, n):
                t = socket.socket()
                socks.append(t)
                t.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    pytest.skip("no run of free ports")


def test_cli_runs_a_three_node_cluster() -> None:
    base = _free_port_run(3)
    proc = subprocess.Popen(
        [sys.executable, "-m", "aerospike_py.server", "--port", str(base), "--nodes", "3",
         "--replication-factor", "2"], stdout=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        assert all(f"127.0.0.1:{base + i}" in lines[i] for i in range(3)), lines
        c = aerospike_py.client({"hosts": [("127.0.0.1", base + 2)]}).connect()
        try:
            assert len(c.get_node_names()) == 3
            c.put(("test", "cli", 1), {"x": 1})
            assert c.get(("test", "cli", 1))[2] == {"x": 1}
        finally:
            c.close()
    finally:
        proc.terminate()
        proc.wait(5)


def test_partition_map_is_fetched_only_when_its_generation_changes(cluster: EmbeddedCluster) -> None:
    asked: list[bytes] = []

    def record(ptype: int, body: bytes) -> bool:  # sees every request, never injects a fault
        if ptype == 1 and b"replicas" in body:
            asked.append(body)
        return False

    for i in range(3):
        cluster.inject_fault(i, Fault.DROP, match=record)
    c = aerospike_py.client({"hosts": cluster.config["hosts"][:1], "tend_interval": 20}).connect()
    try:
        assert len(asked) == 3  # one per node at connect
        assert c._cluster.wait_tends(4)
        assert len(asked) == 3
        cluster.call(cluster.core.rebalance)  # same members: generations bump, maps are re-read
        assert c._cluster.wait_tends(2)
        assert len(asked) == 6
    finally:
        c.close()
        for i in range(3):
            cluster.call(cluster.core.nodes[i].clear_faults)


def test_node_choice_by_replica_policy(cl: aerospike_py.Client) -> None:
    cluster_view = cl._cluster
    table = cluster_view.tables["test"]
    pid = 1234
    master, replica = table.replicas[0][pid], table.replicas[1][pid]
    seq, only_master = aerospike_py.POLICY_REPLICA_SEQUENCE, aerospike_py.POLICY_REPLICA_MASTER
    assert [cluster_view.node_for("test", pid, False, seq, a) for a in range(3)] == [master, replica, master]
    assert [cluster_view.node_for("test", pid, False, only_master, a) for a in range(3)] == [master] * 3
    assert [cluster_view.node_for("test", pid, True, seq, a) for a in range(3)] == [master] * 3
    prefer_rack = aerospike_py.POLICY_REPLICA_PREFER_RACK  # no racks known: as SEQUENCE
    assert cluster_view.node_for("test", pid, False, prefer_rack, 1) is replica


# ----------------------------------------------------------------------------- racks

RACKS = [1, 2, 2]


@pytest.fixture(scope="module")
def racked() -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(nodes=3, replication_factor=2, racks=RACKS) as c:
        yield c


def test_racks_info_and_rack_aware_placement(racked: EmbeddedCluster) -> None:
    ids = [n.node_id for n in racked.nodes]
    c = aerospike_py.client({"hosts": racked.config["hosts"][:1]}).connect()
    try:
        answers = {r.node_name: r.response for r in c.info_all("rack-ids")}
        assert answers == {ids[i]: f"test:{RACKS[i]};bar:{RACKS[i]}" for i in range(3)}
        racks = c.info_random_node("racks")
        assert racks == f"ns=test:rack_1={ids[0]}:rack_2={ids[1]},{ids[2]};ns=bar:rack_1={ids[0]}:rack_2={ids[1]},{ids[2]}"
        # not rack aware: racks are never asked for
        assert all(not n.racks for n in c._cluster.node_list)
    finally:
        c.close()
    # master and replica always on different racks: rack 1's only node holds every partition
    owners = racked.owner_map()
    assert all(len(o) == 2 and len({RACKS[ids.index(n)] for n in o}) == 2 for o in owners)
    assert all(ids[0] in o for o in owners)


@pytest.mark.parametrize("rack", [1, 2])
def test_prefer_rack_reads_go_to_the_same_rack_replica(racked: EmbeddedCluster, rack: int) -> None:
    ids = [n.node_id for n in racked.nodes]
    racked.clear()
    c = aerospike_py.client({"hosts": racked.config["hosts"][:1], "rack_id": rack, "tend_interval": 50}).connect()
    try:
        assert {n.name: n.racks for n in c._cluster.node_list} == {
            ids[i]: {"test": RACKS[i], "bar": RACKS[i]} for i in range(3)}
        keys = [("test", "rack", i) for i in range(120)]
        racked.reset_counts()
        for k in keys:
            c.put(k, {"i": k[2]})
        masters = [racked.owners("test", _pid(k))[0] for k in keys]
        assert racked.request_counts() == [masters.count(i) for i in ids]  # writes: the master
        racked.reset_counts()
        prefer = {"replica": aerospike_py.POLICY_REPLICA_PREFER_RACK}
        for k in keys:
            assert c.get(k, policy=prefer)[2] == {"i": k[2]}
        local = [next(n for n in racked.owners("test", _pid(k)) if RACKS[ids.index(n)] == rack) for k in keys]
        assert racked.request_counts() == [local.count(i) for i in ids]
        assert local != masters  # some reads really went to a replica
        assert not racked.core.proxied
        racked.reset_counts()
        for k in keys:  # SEQUENCE (the default) still reads from the master
            c.get(k)
        assert racked.request_counts() == [masters.count(i) for i in ids]
    finally:
        c.close()


def test_prefer_rack_falls_back_in_sequence_order(racked: EmbeddedCluster) -> None:
    """No holder on the client's rack (rack 7): PREFER_RACK reads as SEQUENCE; a retry moves on."""
    c = aerospike_py.client({"hosts": racked.config["hosts"][:1], "rack_ids": [7, 2], "rack_aware": True}).connect()
    try:
        view = c._cluster
        table = view.tables["test"]
        prefer = aerospike_py.POLICY_REPLICA_PREFER_RACK
        for pid in (0, 99, 4095):
            master, replica = table.replicas[0][pid], table.replicas[1][pid]
            local, other = (master, replica) if master.racks["test"] == 2 else (replica, master)
            assert [view.node_for("test", pid, False, prefer, a) for a in range(3)] == [local, other, local]
            assert view.node_for("test", pid, True, prefer, 0) is master
        view.rack_ids = (7,)
        pid = 5
        master, replica = table.replicas[0][pid], table.replicas[1][pid]
        assert [view.node_for("test", pid, False, prefer, a) for a in range(3)] == [master, replica, master]
    finally:
        c.close()


@pytest.mark.parametrize("bad", [{"rack_id": "1"}, {"rack_id": -1}, {"rack_id": True}, {"rack_ids": [1, "x"]},
                                 {"rack_aware": 1}])
def test_bad_rack_config_is_rejected_before_connecting(bad: dict) -> None:
    from aerospike_py.exception import InvalidArgError

    with pytest.raises(InvalidArgError):
        aerospike_py.client({"hosts": [("127.0.0.1", 1)], **bad}).connect()


def test_official_client_prefer_rack_matches(racked: EmbeddedCluster) -> None:
    """The official client, rack aware on rack 2, reads from the same nodes as ours (rack-ids is real)."""
    aerospike = pytest.importorskip("aerospike")
    ids = [n.node_id for n in racked.nodes]
    racked.clear()
    keys = [("test", "offrack", i) for i in range(60)]
    official = aerospike.client({"hosts": racked.config["hosts"][:1], "rack_aware": True, "rack_id": 2,
                                 "policies": {"read": {"replica": aerospike.POLICY_REPLICA_PREFER_RACK}}}).connect()
    try:
        for k in keys:
            official.put(k, {"i": k[2]})
        racked.reset_counts()
        for k in keys:
            assert official.get(k)[2] == {"i": k[2]}
    finally:
        official.close()
    local = [next(n for n in racked.owners("test", _pid(k)) if RACKS[ids.index(n)] == 2) for k in keys]
    assert local != [racked.owners("test", _pid(k))[0] for k in keys]
    assert racked.request_counts() == [local.count(i) for i in ids]


def test_async_client_prefer_rack_reads(racked: EmbeddedCluster) -> None:
    import asyncio

    ids = [n.node_id for n in racked.nodes]
    keys = [("test", "arack", i) for i in range(40)]

    async def main() -> None:
        c = aerospike_py.AsyncClient({"hosts": racked.config["hosts"][:1], "rack_id": 2})
        await c.connect()
        try:
            for k in keys:
                await c.put(k, {"i": k[2]})
            racked.reset_counts()
            prefer = {"replica": aerospike_py.POLICY_REPLICA_PREFER_RACK}
            for k in keys:
                assert (await c.get(k, policy=prefer))[2] == {"i": k[2]}
        finally:
            await c.close()

    racked.clear()
    asyncio.run(main())
    local = [next(n for n in racked.owners("test", _pid(k)) if RACKS[ids.index(n)] == 2) for k in keys]
    assert racked.request_counts() == [local.count(i) for i in ids]
