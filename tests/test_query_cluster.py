"""A scan across a real 3-node cluster (replication factor 2) while one node stops: the stopped
node's partitions are resumed elsewhere from their cursors, so every record comes exactly once.

Needs a cluster this session started itself (``real_cluster`` without AEROSPIKE_REAL_CLUSTER), to
be allowed to stop a node; skipped otherwise. The scan is slowed by ``records_per_second`` so the
node surely stops in the middle of it (no sleeps). Starting the cluster and the failover take about
a minute on a loaded 2-core machine, so it runs only with AEROSPIKE_PY_SLOW_TESTS=1.
"""

from __future__ import annotations

import os
import uuid

import pytest

import aerospike_py

N = 3000


@pytest.mark.skipif(not os.environ.get("AEROSPIKE_PY_SLOW_TESTS"), reason="slow: set AEROSPIKE_PY_SLOW_TESTS=1")
def test_node_stop_mid_scan_no_duplicates_no_misses(real_cluster):
    if not real_cluster.started:
        pytest.skip("needs a cluster started by this session (a node is stopped)")
    s = "qc_cl" + uuid.uuid4().hex[:8]
    with aerospike_py.client(real_cluster.config).connect() as c:
        assert len(c.get_node_names()) == 3
        c.batch_write([(("test", s, i), {"n": i}) for i in range(N)], policy={"total_timeout": 30000})
        policy = {"records_per_second": 400, "record_queue_size": 20, "max_retries": 30,
                  "sleep_between_retries": 300, "socket_timeout": 10000}
        stream = c.query("test", s).iterate(policy)
        got = [next(stream) for _ in range(200)]
        real_cluster.node_stop(2)
        try:
            got += list(stream)
        finally:
            real_cluster.node_start(2)
        ns = sorted(r.bins["n"] for r in got)
        assert len(ns) == N and ns == list(range(N))


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_embedded_cluster_node_stop_mid_scan(mode):
    """The same on an embedded 3-node cluster (runs everywhere, CI included)."""
    import asyncio

    from aerospike_py.server import EmbeddedCluster

    n = 1500
    policy = {"records_per_second": 300, "record_queue_size": 20, "max_retries": 40,
              "sleep_between_retries": 200, "socket_timeout": 10000}
    with EmbeddedCluster(nodes=3, replication_factor=2) as cluster:
        with aerospike_py.client(cluster.config).connect() as c:
            c.batch_write([(("test", "qc_ecl", i), {"n": i}) for i in range(n)], policy={"total_timeout": 30000})
            if mode == "sync":
                stream = c.query("test", "qc_ecl").iterate(policy)
                got = [next(stream) for _ in range(100)]
                cluster.stop_node(1)
                got += list(stream)
            else:

                async def main():
                    ac = aerospike_py.async_client(cluster.config)
                    await ac.connect()
                    try:
                        stream = ac.query("test", "qc_ecl").iterate(policy)
                        out = []
                        async for r in stream:
                            out.append(r)
                            if len(out) == 100:
                                cluster.stop_node(1)
                        return out
                    finally:
                        await ac.close()

                got = asyncio.run(main())
        assert sorted(r.bins["n"] for r in got) == list(range(n))
