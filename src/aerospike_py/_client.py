"""The synchronous :class:`Client`."""

from __future__ import annotations

import threading
from typing import Any

from ._client_base import ClientBase
from ._net.cluster import Cluster
from ._net.sync_executor import SyncExecutor
from .exception import AerospikeError, ClientError
from .types import InfoNodeResult


class Client(ClientBase):
    """A synchronous Aerospike client. Thread-safe: share one instance between threads.

    ``client(config)`` does not connect; call :meth:`connect` (it returns the client).
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._cluster: Cluster | None = None
        self._executor: SyncExecutor | None = None
        self._state_lock = threading.Lock()
        self._run = self._run_disconnected  # type: ignore[method-assign]

    # ------------------------------------------------------------------ lifecycle

    def connect(self, username: str | None = None, password: str | None = None) -> Client:
        """Connect to the cluster (seeds -> nodes -> partition map). Returns ``self``."""
        if username is not None and password is None:
            raise ClientError("connect(): a username needs a password")
        with self._state_lock:
            if self._cluster is not None:
                raise ClientError("client is already connected")
            cluster = Cluster(self._connect_config(username, password))
            cluster.connect()
            self._cluster = cluster
            self._executor = SyncExecutor(cluster)
            self._run = self._executor.run  # type: ignore[method-assign]
        return self

    def close(self) -> None:
        """Close every connection and stop tending. Idempotent."""
        with self._state_lock:
            cluster, self._cluster, self._executor = self._cluster, None, None
            self._run = self._run_disconnected  # type: ignore[method-assign]
        if cluster is not None:
            cluster.close()
        pool = self.__dict__.pop("_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)

    def is_connected(self) -> bool:
        """Whether :meth:`connect` succeeded and :meth:`close` was not called since (no I/O)."""
        return self._cluster is not None

    def ping(self) -> bool:
        """A real round trip (info ``build``) to one node; never raises."""
        if self._cluster is None:
            return False
        try:
            self.info_random_node("build")
            return True
        except Exception:  # noqa: BLE001
            return False

    def __enter__(self) -> Client:
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        self.close()
        return False

    # ------------------------------------------------------------------ execution

    def _run_disconnected(self, cmd: Any) -> Any:
        raise self._not_connected()

    def _run_many(self, cmds: list[Any], parallel: bool = True, combine: Any = None) -> Any:
        executor = self._executor
        if executor is None:
            raise self._not_connected()
        if combine is None:
            run = _run_on_node(executor.run)
        else:
            run = _run_catching(executor.run)
        if not parallel or len(cmds) <= 1:
            results = [run(c) for c in cmds]
        else:
            results = list(self._thread_pool().map(run, cmds))
        return results if combine is None else combine(results)

    def _thread_pool(self) -> Any:
        pool = self.__dict__.get("_pool")
        if pool is None:
            from concurrent.futures import ThreadPoolExecutor

            with self._state_lock:
                pool = self.__dict__.get("_pool")
                if pool is None:
                    pool = self._pool = ThreadPoolExecutor(16, thread_name_prefix="aerospike_py")
        return pool

    def _run_all(self, cmd: Any) -> list[InfoNodeResult]:
        cluster, executor = self._cluster, self._executor
        if cluster is None or executor is None:
            raise self._not_connected()
        out = []
        for node in list(cluster.node_list):
            try:
                out.append(InfoNodeResult(node.name, 0, executor.run(cmd, node)))
            except AerospikeError as e:
                out.append(InfoNodeResult(node.name, e.code, str(e)))
        return out


def _run_on_node(run: Any) -> Any:
    """``run(cmd)`` on the command's own target node (``cmd.node``), if it has one."""
    return lambda cmd: run(cmd, getattr(cmd, "node", None))


def _run_catching(run: Any) -> Any:
    """Like :func:`_run_on_node`, returning an AerospikeError instead of raising it (for combine)."""

    def call(cmd: Any) -> Any:
        try:
            return run(cmd, getattr(cmd, "node", None))
        except AerospikeError as e:
            return e

    return call
