"""client.stats() (per-node connections, failures, retries, queue waits) and logging control."""

from __future__ import annotations

import asyncio
import logging

import pytest

import aerospike_py


def node_stats(c) -> dict:
    (node,) = c.stats()["nodes"]
    return node


def test_stats_shape_and_connection_counts(server):
    c = aerospike_py.client(server.config)
    assert c.stats()["nodes"] == []
    c.connect()
    try:
        c.put(("test", "obs_stats", "k"), {"a": 1})
        c.get(("test", "obs_stats", "k"))
        s = c.stats()
        assert s["tend_count"] >= 1
        (n,) = s["nodes"]
        assert n["name"] == c.get_node_names()[0]
        assert n["address"] == "{}:{}".format(*server.config["hosts"][0])
        assert n["active"] is True
        conns = n["connections"]
        assert conns["created"] >= 1 and conns["open"] >= 1
        assert conns["in_use"] == 0 and conns["in_pool"] == conns["open"]
        assert (n["errors"], n["timeouts"], n["retries"], n["queue_waits"]) == (0, 0, 0, 0)
    finally:
        c.close()


def test_stats_count_errors_timeouts_and_retries(client, server):
    key = ("test", "obs_stats", "k")
    client.put(key, {"a": 1})
    before = node_stats(client)
    server.inject_fault("drop", count=1)
    client.get(key, policy={"max_retries": 1})  # the first attempt fails, the retry succeeds
    after = node_stats(client)
    assert after["errors"] == before["errors"] + 1
    assert after["retries"] == before["retries"] + 1
    assert after["connections"]["closed"] >= before["connections"]["closed"] + 1
    server.inject_fault("stall", count=1)
    with pytest.raises(aerospike_py.AerospikeTimeoutError):
        client.get(key, policy={"total_timeout": 50, "socket_timeout": 50, "max_retries": 0})
    last = node_stats(client)
    assert last["timeouts"] == after["timeouts"] + 1
    assert last["retries"] == after["retries"]


def test_async_stats_count_queue_waits(server):
    async def main() -> tuple[dict, dict]:
        cfg = dict(server.config, max_conns_per_node=1)
        c = await aerospike_py.async_client(cfg).connect()
        try:
            await c.put(("test", "obs_stats", "k"), {"a": 1})
            await asyncio.gather(*(c.get(("test", "obs_stats", "k")) for _ in range(10)))
            return node_stats(c), c.stats()
        finally:
            await c.close()

    n, _ = asyncio.run(main())
    assert n["queue_waits"] >= 1
    assert n["connections"]["open"] == 1
    assert n["connections"]["created"] >= 1


# --------------------------------------------------------------------------- logging


@pytest.fixture
def restore_levels():
    names = ("aerospike_py", "_aerospike", "aerospike_core", "aerospike")
    before = {n: logging.getLogger(n).level for n in names}
    yield
    for n, lv in before.items():
        logging.getLogger(n).setLevel(lv)


@pytest.mark.parametrize("level, expected", [
    (aerospike_py.LOG_LEVEL_OFF, logging.CRITICAL + 1), (aerospike_py.LOG_LEVEL_ERROR, logging.ERROR),
    (aerospike_py.LOG_LEVEL_WARN, logging.WARNING), (aerospike_py.LOG_LEVEL_INFO, logging.INFO),
    (aerospike_py.LOG_LEVEL_DEBUG, logging.DEBUG), (aerospike_py.LOG_LEVEL_TRACE, 5),
])
def test_set_log_level_maps_like_the_original(restore_levels, level, expected):
    aerospike_py.set_log_level(level)
    for name in ("aerospike_py", "_aerospike", "aerospike_core", "aerospike"):
        assert logging.getLogger(name).level == expected
    assert logging.getLogger("aerospike_py._net.cluster").getEffectiveLevel() == expected


@pytest.mark.parametrize("bad", [5, -2, True, "3", None])
def test_set_log_level_rejects_other_values(bad):
    with pytest.raises(ValueError):
        aerospike_py.set_log_level(bad)


def test_trace_level_has_a_name():
    assert logging.getLevelName(5) == "TRACE"


def test_dropped_log_count_is_an_int():
    assert aerospike_py.dropped_log_count() == 0


def test_debug_logs_name_nodes_and_hold_no_secrets(server, restore_levels, caplog):
    aerospike_py.set_log_level(aerospike_py.LOG_LEVEL_DEBUG)
    with caplog.at_level(logging.DEBUG, logger="aerospike_py"):
        c = aerospike_py.client(server.config).connect()
        try:
            node = c.get_node_names()[0]
            key = ("test", "obs_log", "k")
            c.put(key, {"password": "s3cr3t-value"})
            server.inject_fault("drop", count=1)
            c.get(key, policy={"max_retries": 1})
        finally:
            c.close()
    by_logger: dict[str, list[str]] = {}
    for r in caplog.records:
        by_logger.setdefault(r.name, []).append(r.getMessage())
    cluster_logs = " ".join(by_logger.get("aerospike_py._net.cluster", []))
    assert node in cluster_logs and "connection" in cluster_logs
    retry_logs = " ".join(by_logger.get("aerospike_py._net.common", []))
    assert node in retry_logs and "retrying" in retry_logs
    assert all(name.startswith("aerospike_py.") for name in by_logger)
    assert "s3cr3t-value" not in caplog.text
