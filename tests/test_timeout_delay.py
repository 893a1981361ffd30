"""timeout_delay: a connection whose reply is late is drained and reused instead of closed."""

from __future__ import annotations

import time

import pytest

import aerospike_py

KEY = ("test", "td", "k")


def _node(client):
    return client._cluster.node_list[0]


def _wait_drains(node, n: int) -> None:
    with node.drain_done:
        assert node.drain_done.wait_for(lambda: node.drains >= n, timeout=5)


@pytest.mark.parametrize("delay_ms", [0, 1000])
def test_late_reply_is_drained_only_with_timeout_delay(client, server, delay_ms: int) -> None:
    client.put(KEY, {"a": 1})
    node = _node(client)
    conns_before = node.conn_count
    server_conns = server.call(lambda: server.node.client_connections)
    server.inject_fault("delay:150")
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
