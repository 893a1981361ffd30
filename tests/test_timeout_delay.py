"""timeout_delay: a connection whose reply is late is drained and reused instead of closed (sync and async)."""

from __future__ import annotations

import asyncio
import time

import pytest

import aerospike_py
from _clients import Blocking

KEY = ("test", "td", "k")


def _node(client):
    return client._cluster.node_list[0]


def _wait_drains(node, n: int) -> None:
    with node.drain_done:
        assert node.drain_done.wait_for(lambda: node.drains >= n, timeout=60)  # generous: a loaded machine


@pytest.mark.parametrize("delay_ms", [0, 1000])
def test_late_reply_is_drained_only_with_timeout_delay(client, server, delay_ms: int) -> None:
    client.put(KEY, {"a": 1})
    node = _node(client)
    conns_before = node.conn_count
    server_conns = server.call(lambda: server.node.client_connections)
    server.inject_fault("delay:400")  # well past the deadline, inside the drain window
    t0 = time.monotonic()
    with pytest.raises(aerospike_py.AerospikeTimeoutError) as ei:
        client.get(KEY, {"total_timeout": 50, "max_retries": 0, "timeout_delay": delay_ms})
    assert time.monotonic() - t0 < 1.0
    assert not ei.value.in_doubt  # a read is never in doubt
    if delay_ms:
        _wait_drains(node, 1)
        # The drained connection went back to the pool: no new connection for the next call.
        assert node.conn_count == conns_before
        assert client.get(KEY).bins == {"a": 1}
        assert node.conn_count == conns_before
        assert server.call(lambda: server.node.client_connections) == server_conns
    else:
        assert node.conn_count == conns_before - 1  # closed, not reused
        assert client.get(KEY).bins == {"a": 1}


def test_reply_later_than_timeout_delay_closes_the_connection(client, server) -> None:
    client.put(KEY, {"a": 2})
    node = _node(client)
    conns_before = node.conn_count
    server.inject_fault("stall")
    with pytest.raises(aerospike_py.AerospikeTimeoutError):
        client.get(KEY, {"total_timeout": 50, "max_retries": 0, "timeout_delay": 100})
    _wait_drains(node, 1)
    assert node.conn_count == conns_before - 1
    assert client.get(KEY).bins == {"a": 2}


# ----------------------------------------------------------------------------- the same on the AsyncClient


async def _until(cond, limit_s: float = 60.0) -> None:
    """Let the loop run until ``cond()`` holds (the drain happens on the loop)."""
    end = asyncio.get_running_loop().time() + limit_s
    while not cond():
        assert asyncio.get_running_loop().time() < end, "condition not reached"
        await asyncio.sleep(0.005)


@pytest.mark.parametrize("delay_ms", [0, 1000])
def test_async_late_reply_is_drained_only_with_timeout_delay(server, delay_ms: int) -> None:
    loop = asyncio.new_event_loop()
    c = Blocking(aerospike_py.async_client(server.config), loop).connect()
    try:
        c.put(KEY, {"a": 1})
        pool = _node(c.aclient).async_pool
        conns_before = pool.count
        server_conns = server.call(lambda: server.node.client_connections)
        server.inject_fault("delay:400")  # well past the deadline, inside the drain window
        t0 = time.monotonic()
        with pytest.raises(aerospike_py.AerospikeTimeoutError) as ei:
            c.get(KEY, {"total_timeout": 50, "max_retries": 0, "timeout_delay": delay_ms})
        assert time.monotonic() - t0 < 1.0
        assert not ei.value.in_doubt
        if delay_ms:
            # The late reply is read and dropped; the connection goes back to the pool.
            loop.run_until_complete(_until(lambda: len(pool.idle) == 1))
            assert pool.count == conns_before
            assert c.get(KEY).bins == {"a": 1}
            assert pool.count == conns_before
            assert server.call(lambda: server.node.client_connections) == server_conns
        else:
            assert pool.count == conns_before - 1  # closed, not reused
            assert c.get(KEY).bins == {"a": 1}
    finally:
        c.close()
        loop.close()


def test_async_reply_later_than_timeout_delay_closes_the_connection(server) -> None:
    loop = asyncio.new_event_loop()
    c = Blocking(aerospike_py.async_client(server.config), loop).connect()
    try:
        c.put(KEY, {"a": 2})
        pool = _node(c.aclient).async_pool
        conns_before = pool.count
        server.inject_fault("stall")
        with pytest.raises(aerospike_py.AerospikeTimeoutError):
            c.get(KEY, {"total_timeout": 50, "max_retries": 0, "timeout_delay": 100})
        loop.run_until_complete(_until(lambda: pool.count == conns_before - 1))
        assert c.get(KEY).bins == {"a": 2}
    finally:
        c.close()
        loop.close()
