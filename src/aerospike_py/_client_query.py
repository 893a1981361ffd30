"""Queries, scans, secondary indexes and background jobs of ``ClientBase`` (written once).

``query``/``scan`` build a query object (sync or async by the facade). Index calls and job calls
are info exchanges run as steps (``_drive``): create/remove on one node, then poll every node
until the index is ready (``load_pct=100`` in ``sindex-stat``) or gone, as the official clients'
index tasks do.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from . import _constants as C
from ._commands import query as QC
from ._commands.base import Command
from ._commands.info import _check_ok, _info_value
from ._wire.info import pack_info_request
from .exception import AerospikeTimeoutError, _InvalidArgValue

if TYPE_CHECKING:
    from ._net.cluster import Node

#: Background job states, as the official client numbers them.
JOB_STATUS_UNDEF = 0
JOB_STATUS_INPROGRESS = 1
JOB_STATUS_COMPLETED = 2

#: How long index create/remove waits for every node (seconds).
INDEX_WAIT_S = 120.0


class NodeInfo(Command):
    """An info request to one given node."""

    __slots__ = ("node",)

    node: Node


def _node_info(node: Any, command: str, policy: Any, parse: Any = _info_value) -> NodeInfo:
    cmd = NodeInfo(None, pack_info_request(command), False, parse, policy, [command])
    cmd.node = node
    return cmd


def _as_is(results: list[Any]) -> list[Any]:
    return results


def _raise_first(results: list[Any]) -> None:
    for r in results:
        if isinstance(r, BaseException):
            raise r


def _poll_delay(delay: float) -> float:
    return min(0.5, max(0.01, delay * 2))


def index_steps(cluster_view: Any, command: str, namespace: str, index_name: str, policy: Any,
                create: bool, clock: Any = time.monotonic) -> Generator[Any, Any, None]:
    """Send ``command`` to one node, then poll every node until the index is ready / gone."""
    cluster = cluster_view()
    results = yield [_node_info(cluster.random_node(), command, policy, _check_ok)], False, _as_is, 0.0
    _raise_first(results)
    stat = f"sindex-stat:namespace={namespace};indexname={index_name}"
    end = clock() + INDEX_WAIT_S
    delay = 0.0
    while True:
        nodes = list(cluster_view().node_list)
        results = yield [_node_info(n, stat, policy) for n in nodes], True, _as_is, delay
        pending = 0
        for r in results:
            if isinstance(r, BaseException):
                raise r
            pct = QC.sindex_load_pct(r)
            if create and pct != 100 or not create and pct is not None:
                pending += 1
        if not pending:
            return None
        if clock() > end:
            raise AerospikeTimeoutError(f"index {index_name!r}: {pending} node(s) not ready after {INDEX_WAIT_S} s")
        delay = _poll_delay(delay)


def job_steps(cluster_view: Any, job_id: int, policy: Any, wait: bool,
              clock: Any = time.monotonic, timeout_s: float = 0.0) -> Generator[Any, Any, dict[str, Any]]:
    """Poll ``query-show:trid=`` on every node; the job is done when no node still runs it."""
    end = clock() + timeout_s if timeout_s else None
    delay = 0.0
    while True:
        nodes = list(cluster_view().node_list)
        results = yield [_node_info(n, f"query-show:trid={job_id}", policy) for n in nodes], True, _as_is, delay
        _raise_first(results)
        states = [QC.job_status(r) for r in results]
        done = all(s != "in-progress" for s in states)
        if done or not wait:
            info = {"status": JOB_STATUS_COMPLETED if done else JOB_STATUS_INPROGRESS,
                    "progress_pct": 100 if done else 0, "records_read": 0}
            for r in results:
                for item in r.split(":"):
                    k, _, v = item.partition("=")
                    if k in ("recs-succeeded", "recs-read"):
                        try:
                            info["records_read"] += int(v)
                        except ValueError:
                            pass
            return info
        if end is not None and clock() > end:
            raise AerospikeTimeoutError(f"job {job_id} still running after {timeout_s} s")
        delay = _poll_delay(delay)


class QueryMixin:
    """``query``, ``scan``, ``index_*`` and job status, for both facades."""

    _ASYNC = False
    _cluster_view: Any
    _drive: Any
    _admin_policy: Any

    def query(self, namespace: str, set_name: str | None) -> Any:
        """A :class:`Query` (``AsyncQuery`` on the async client) over ``set_name`` (None/"": namespace)."""
        from ._query import AsyncQuery, Query

        self._cluster_view()  # not connected: ClientError now, as the original
        return (AsyncQuery if self._ASYNC else Query)(self, namespace, set_name)

    def scan(self, namespace: str, set_name: str | None = None) -> Any:
        """A :class:`Scan` (the official client's shape): a query without predicate, ``ScanPolicy``."""
        from ._query import AsyncScan, Scan

        self._cluster_view()
        return (AsyncScan if self._ASYNC else Scan)(self, namespace, set_name)

    # ------------------------------------------------------------------ indexes

    def _index_create(self, namespace: Any, set_name: Any, bin_name: Any, index_name: Any, datatype: str,
                      policy: dict[str, Any] | None, collection_type: Any, ctx: Any) -> Any:
        command = QC.index_create_command(namespace, set_name, bin_name, index_name, datatype, collection_type, ctx)
        return self._drive(index_steps(self._cluster_view, command, namespace, index_name,
                                       self._admin_policy(policy), True))

    def index_integer_create(self, namespace: str, set_name: str | None, bin_name: str, index_name: str,
                             policy: dict[str, Any] | None = None, collection_type: int = C.INDEX_TYPE_DEFAULT,
                             ctx: list[Any] | None = None) -> Any:
        """Create an integer index (on a bin, or its list elements / map keys / map values with
        ``collection_type``; on a nested element with ``ctx``) and wait until every node has built it."""
        return self._index_create(namespace, set_name, bin_name, index_name, "NUMERIC", policy, collection_type, ctx)

    def index_string_create(self, namespace: str, set_name: str | None, bin_name: str, index_name: str,
                            policy: dict[str, Any] | None = None, collection_type: int = C.INDEX_TYPE_DEFAULT,
                            ctx: list[Any] | None = None) -> Any:
        """Create a string index (see :meth:`index_integer_create`)."""
        return self._index_create(namespace, set_name, bin_name, index_name, "STRING", policy, collection_type, ctx)

    def index_blob_create(self, namespace: str, set_name: str | None, bin_name: str, index_name: str,
                          policy: dict[str, Any] | None = None, collection_type: int = C.INDEX_TYPE_DEFAULT,
                          ctx: list[Any] | None = None) -> Any:
        """Create a bytes (blob) index (see :meth:`index_integer_create`)."""
        return self._index_create(namespace, set_name, bin_name, index_name, "BLOB", policy, collection_type, ctx)

    def index_geo2dsphere_create(self, namespace: str, set_name: str | None, bin_name: str, index_name: str,
                                 policy: dict[str, Any] | None = None,
                                 collection_type: int = C.INDEX_TYPE_DEFAULT,
                                 ctx: list[Any] | None = None) -> Any:
        """Create a GeoJSON index (see :meth:`index_integer_create`)."""
        return self._index_create(namespace, set_name, bin_name, index_name, "GEO2DSPHERE", policy,
                                  collection_type, ctx)

    def index_remove(self, namespace: str, index_name: str, policy: dict[str, Any] | None = None) -> Any:
        """Drop an index (no error when it does not exist) and wait until every node has dropped it."""
        command = QC.index_remove_command(namespace, index_name)
        return self._drive(index_steps(self._cluster_view, command, namespace, index_name,
                                       self._admin_policy(policy), False))

    # ------------------------------------------------------------------ background jobs

    def job_info(self, job_id: int, module: str = "query", policy: dict[str, Any] | None = None) -> Any:
        """Status of a background query/scan: ``{"status": JOB_STATUS_*, "progress_pct", "records_read"}``."""
        _check_job(job_id, module)
        return self._drive(job_steps(self._cluster_view, job_id, self._admin_policy(policy), False))

    def wait_job(self, job_id: int, module: str = "query", timeout: float = 0.0,
                 policy: dict[str, Any] | None = None) -> Any:
        """Wait until a background query/scan is done on every node (``timeout`` s, 0: no limit)."""
        _check_job(job_id, module)
        return self._drive(job_steps(self._cluster_view, job_id, self._admin_policy(policy), True,
                                     timeout_s=timeout))


def _check_job(job_id: Any, module: Any) -> None:
    if isinstance(job_id, bool) or not isinstance(job_id, int) or job_id <= 0:
        raise _InvalidArgValue(f"job id must be a positive int, not {job_id!r}")
    if module not in ("query", "scan"):
        raise _InvalidArgValue(f"job module must be 'query' or 'scan', not {module!r}")
