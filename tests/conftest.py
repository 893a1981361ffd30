"""Shared fixtures: one embedded server per session (from the aerospike_py pytest plugin)."""

from __future__ import annotations

import pytest

import aerospike_py


@pytest.fixture
def server(aerospike_server):
    """The session's embedded server, emptied and with no faults pending."""
    aerospike_server.clear()
    aerospike_server.clock.offset = 0.0
    aerospike_server.call(aerospike_server.node.clear_faults)
    yield aerospike_server
    aerospike_server.call(aerospike_server.node.clear_faults)
    aerospike_server.clock.offset = 0.0


@pytest.fixture
def client(server):
    """A connected sync client on the embedded server."""
    c = aerospike_py.client(server.config).connect()
    yield c
    c.close()


@pytest.fixture(scope="session")
def real_server():
    """A real single-node Aerospike server (see tests/_real.py); skips when none is available."""
    from _real import real_server_fixture

    yield from real_server_fixture(1, "AEROSPIKE_REAL")


@pytest.fixture(scope="session")
def real_cluster():
    """A real 3-node Aerospike cluster (replication factor 2); skips when none is available."""
    from _real import real_server_fixture

    yield from real_server_fixture(3, "AEROSPIKE_REAL_CLUSTER")
