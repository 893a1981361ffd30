"""pytest fixtures for testing against the embedded server (installed as a pytest plugin).

Fixtures:
* ``aerospike_server`` (session): a running :class:`EmbeddedServer`.
* ``aerospike_client`` (function): a connected sync client on that server; the namespaces are
  emptied before each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def aerospike_server() -> Iterator[Any]:
    from . import EmbeddedServer

    with EmbeddedServer() as srv:
        yield srv


@pytest.fixture
def aerospike_client(aerospike_server: Any) -> Iterator[Any]:
    import aerospike_py

    aerospike_server.clear()
    c = aerospike_py.client(aerospike_server.config).connect()
    try:
        yield c
    finally:
        c.close()
