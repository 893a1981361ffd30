"""pytest fixtures for testing against the embedded server (installed as a pytest plugin).

Fixtures:

* ``aerospike_server`` (session): a running :class:`EmbeddedServer` on a free port, namespaces
  ``test`` and ``bar``. Each pytest-xdist worker is its own session, so each worker has its own
  server: tests of different workers never share data.
* ``aerospike_client`` (function): a connected sync :class:`~aerospike_py.Client` on that server.
* ``aerospike_async_client`` (function): an :class:`~aerospike_py.AsyncClient` on that server, not
  yet connected: ``await aerospike_async_client.connect()`` in the test, so that it runs on the
  test's own event loop (any runner: ``asyncio.run``, pytest-asyncio, anyio). The fixture closes it
  afterwards if the test did not.

Isolation: before and after each test using a client fixture, every namespace is emptied, the
server clock is set back to real time (``srv.clock.advance`` moves it) and pending injected faults
(``srv.inject_fault``) are dropped. Tests using only ``aerospike_server`` share its state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest


def _reset(srv: Any) -> None:
    """Empty the namespaces, put the clock back to real time, drop pending faults."""
    srv.clear()
    srv.clock.offset = 0.0
    srv.call(srv.node.clear_faults)


@pytest.fixture(scope="session")
def aerospike_server() -> Iterator[Any]:
    """A running embedded server for the whole session (one per xdist worker)."""
    from . import EmbeddedServer

    with EmbeddedServer() as srv:
        yield srv


@pytest.fixture
def aerospike_client(aerospike_server: Any) -> Iterator[Any]:
    """A connected sync client on a clean server (data, clock and faults reset around the test)."""
    import aerospike_py

    _reset(aerospike_server)
    c = aerospike_py.client(aerospike_server.config).connect()
    try:
        yield c
    finally:
        c.close()
        _reset(aerospike_server)


@pytest.fixture
def aerospike_async_client(aerospike_server: Any) -> Iterator[Any]:
    """An AsyncClient on a clean server, to ``await .connect()`` in the test (closed afterwards)."""
    import aerospike_py

    _reset(aerospike_server)
    c = aerospike_py.async_client(aerospike_server.config)
    try:
        yield c
    finally:
        _close_async(c)
        _reset(aerospike_server)


def _close_async(c: Any) -> None:
    """Close an AsyncClient the test left connected (its event loop may be gone by now)."""
    if not c.is_connected():
        return
    try:
        asyncio.run(c.close())
    except RuntimeError:  # its loop is closed: stop the cluster's threads and sockets directly
        cluster = c._cluster
        c._cluster = c._executor = None
        if cluster is not None:
            cluster.close()
