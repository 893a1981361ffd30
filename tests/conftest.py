"""Shared fixtures: one embedded server per session (from the aerospike_py pytest plugin).

Also makes the suite indifferent to a slow or loaded machine without weakening any check:
hypothesis measures no time, and clients made from an embedded server's ``config`` get
generous connect and command timeouts (a test of a timeout sets its own tight one).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

import aerospike_py
from _clients import generous
from aerospike_py.server import EmbeddedCluster, EmbeddedServer

# Hypothesis: no per-example deadline and no timing health checks (a loaded machine is slow);
# max_examples stay as each test sets them. Tests with their own ``suppress_health_check`` list
# extend ``settings.default.suppress_health_check``, since a decorator's list replaces the profile's.
TIMING_HEALTH_CHECKS = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("aerospike_py", deadline=None, suppress_health_check=TIMING_HEALTH_CHECKS)
settings.load_profile("aerospike_py")


def _patch_config(cls: type) -> None:
    plain = cls.config.fget  # type: ignore[attr-defined]
    cls.config = property(lambda self: generous(plain(self)), doc=plain.__doc__)  # type: ignore[attr-defined]


_patch_config(EmbeddedServer)
_patch_config(EmbeddedCluster)


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
