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
