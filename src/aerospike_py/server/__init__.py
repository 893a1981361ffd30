"""The embedded Aerospike-compatible server: in memory, asyncio, real wire protocol.

    from aerospike_py.server import EmbeddedServer
    with EmbeddedServer() as srv:          # port 0: a free port
        client = aerospike_py.client({"hosts": [(srv.host, srv.port)]}).connect()

It is meant for tests, demos and development; it keeps everything in memory.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from .cluster import EmbeddedCluster
from .node import Fault, ServerNode
from .storage import Clock, Namespace

if TYPE_CHECKING:
    from .security import Security

T = TypeVar("T")

__all__ = ["EmbeddedServer", "EmbeddedCluster", "Fault", "Namespace", "Clock", "ServerNode"]


class _LoopThread:
    """An asyncio event loop running on a daemon thread."""

    def __init__(self, name: str = "aerospike_py-server") -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run ``coro`` on the loop and wait (at most ``timeout`` s) for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Call ``fn(*args)`` on the loop's thread and return its result."""
        async def _f() -> T:
            return fn(*args)

        return self.call(_f())

    def stop(self) -> None:
        """Stop the loop and join its thread."""
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()


class EmbeddedServer:
    """A single-node embedded server on a background thread.

    ``EmbeddedServer(port=0)`` picks a free port; ``host``/``port``/``address`` tell where it
    listens. ``namespaces`` is a list of names or a dict of :class:`Namespace`.
    ``clock.advance(seconds)`` moves server time (TTL expiry) without sleeping.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, namespaces: Any = None,
                 cluster_name: str = "embedded", node_id: str | None = None, security: Any = False,
                 tls: Any = None, tls_name: str | None = None, session_ttl: int = 86400) -> None:
        from .security import make_security, server_tls

        self.clock: Clock = Clock()
        #: The user database when ``security`` is on (``security.add_user(...)`` for fixtures).
        self.security: Security | None = make_security(security, self.clock, session_ttl)
        self._tls = tls
        self.node: ServerNode = ServerNode(host, port, namespaces, node_id, cluster_name, self.clock, self.security,
                               server_tls(tls), tls_name)
        self._loop: _LoopThread | None = None

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return self.node.host

    @property
    def port(self) -> int:
        """The port the server listens on (the free one picked when made with ``port=0``)."""
        return self.node.port

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)``, as a client config's ``hosts`` entry."""
        return self.node.host, self.node.port

    @property
    def config(self) -> dict[str, Any]:
        """A client config pointing at this server (with TLS name and CA, and admin/admin, when
        TLS and security are on)."""
        from .security import client_config

        return client_config([(self.host, self.port)], self.security, self._tls, self.node.tls_name)

    def start(self) -> EmbeddedServer:
        """Start listening on a background thread (no-op when started); returns the server."""
        if self._loop is None:
            self._loop = _LoopThread()
            self._loop.call(self.node.start())
        return self

    def stop(self) -> None:
        """Stop listening, close client connections and end the thread (no-op when stopped)."""
        if self._loop is not None:
            self._loop.call(self.node.stop())
            self._loop.stop()
            self._loop = None

    def __enter__(self) -> EmbeddedServer:
        """:meth:`start`; the ``with`` block ends with :meth:`stop`."""
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the server's loop thread (safe access to server state)."""
        assert self._loop is not None, "server not started"
        return self._loop.run_sync(fn, *args)

    def inject_fault(self, fault: str, match: Any = None, count: int = 1) -> None:
        """Make the next ``count`` matching requests fail with ``fault`` (see :class:`Fault`)."""
        self.call(self.node.inject_fault, fault, match, count)

    def clear(self) -> None:
        """Delete every record of every namespace."""

        def _clear() -> None:
            for ns in self.node.namespaces.values():
                ns.clear()

        self.call(_clear)


def __dir__() -> list[str]:
    return sorted(__all__)
