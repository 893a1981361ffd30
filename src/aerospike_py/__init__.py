"""aerospike_py: a fast, pure-Python client for the Aerospike database.

    import aerospike_py
    with aerospike_py.client({"hosts": [("127.0.0.1", 3000)]}).connect() as c:
        c.put(("test", "demo", "k"), {"a": 1})
        record = c.get(("test", "demo", "k"))
"""

from __future__ import annotations

from typing import Any

from . import exception, predicates
from ._async_client import AsyncClient
from ._client import Client
from ._client_query import JOB_STATUS_COMPLETED, JOB_STATUS_INPROGRESS, JOB_STATUS_UNDEF
from ._commands.query import (
    PartitionFilter,
    partition_filter_all,
    partition_filter_by_digest,
    partition_filter_by_id,
    partition_filter_by_range,
)
from ._constants import *  # noqa: F403
from ._constants import __all__ as _constant_names
from ._observability import (
    dropped_log_count,
    get_metrics,
    init_tracing,
    internal_stage_profiling,
    is_internal_stage_metrics_enabled,
    is_metrics_enabled,
    metrics_server_port,
    register_prometheus_collector,
    set_internal_stage_metrics_enabled,
    set_log_level,
    set_metrics_enabled,
    shutdown_tracing,
    start_metrics_server,
    stop_metrics_server,
)
from ._query import AsyncQuery, AsyncScan, Query, Scan
from ._wire.values import HLL, INFINITY, WILDCARD, GeoJSON, KeyOrderedDict
from .exception import (
    AdminError,
    AerospikeError,
    AerospikeIndexError,
    AerospikeTimeoutError,
    BackpressureError,
    BinExistsError,
    BinNameError,
    BinNotFound,
    BinTypeError,
    ClientError,
    ClusterError,
    FilteredOut,
    IndexFoundError,
    IndexNotFound,
    InvalidArgError,
    QueryAbortedError,
    QueryError,
    RecordError,
    RecordExistsError,
    RecordGenerationError,
    RecordNotFound,
    RecordTooBig,
    RustPanicError,
    ServerError,
    UDFError,
)
from .exception import _IndexError as IndexError  # noqa: A004
from .exception import _TimeoutError as TimeoutError  # noqa: A004
from .types import (
    AdminPolicy,
    AerospikeKey,
    BatchDeleteMeta,
    BatchDeletePolicy,
    BatchPolicy,
    BatchReadPolicy,
    BatchRecord,
    BatchRecords,
    BatchRetryInfo,
    BatchUDFMeta,
    BatchUDFPolicy,
    BatchWriteResult,
    BinTuple,
    ClientConfig,
    ExistsResult,
    HLLPolicy,
    InfoNodeResult,
    ListPolicy,
    MapPolicy,
    OperateOrderedResult,
    Privilege,
    QueryPolicy,
    ReadPolicy,
    Record,
    RecordMetadata,
    RoleInfo,
    ScanPolicy,
    UserInfo,
    WriteMeta,
    WritePolicy,
)

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("aerospike-purepy")
except Exception:  # noqa: BLE001
    from importlib.metadata import PackageNotFoundError  # noqa: F401

    __version__ = "0.0.0"


def client(config: dict[str, Any]) -> Client:
    """A new, not yet connected :class:`Client`; call ``.connect()``."""
    return Client(config)


def async_client(config: dict[str, Any]) -> AsyncClient:
    """A new, not yet connected :class:`AsyncClient`; ``await c.connect()``."""
    return AsyncClient(config)


__all__ = [
    *_constant_names,
    "client",
    "Client",
    "async_client",
    "AsyncClient",
    "set_log_level",
    "dropped_log_count",
    "get_metrics",
    "start_metrics_server",
    "stop_metrics_server",
    "set_metrics_enabled",
    "is_metrics_enabled",
    "set_internal_stage_metrics_enabled",
    "is_internal_stage_metrics_enabled",
    "internal_stage_profiling",
    "init_tracing",
    "shutdown_tracing",
    "register_prometheus_collector",
    "metrics_server_port",
    "Query",
    "AsyncQuery",
    "Scan",
    "AsyncScan",
    "PartitionFilter",
    "partition_filter_all",
    "partition_filter_by_id",
    "partition_filter_by_range",
    "partition_filter_by_digest",
    "JOB_STATUS_UNDEF",
    "JOB_STATUS_INPROGRESS",
    "JOB_STATUS_COMPLETED",
    "exception",
    "predicates",
    "GeoJSON",
    "HLL",
    "KeyOrderedDict",
    "WILDCARD",
    "INFINITY",
    "AdminError",
    "AerospikeError",
    "AerospikeIndexError",
    "AerospikeTimeoutError",
    "BackpressureError",
    "BinExistsError",
    "BinNameError",
    "BinNotFound",
    "BinTypeError",
    "ClientError",
    "ClusterError",
    "FilteredOut",
    "IndexError",
    "IndexFoundError",
    "IndexNotFound",
    "InvalidArgError",
    "QueryAbortedError",
    "QueryError",
    "RecordError",
    "RecordExistsError",
    "RecordGenerationError",
    "RecordNotFound",
    "RecordTooBig",
    "RustPanicError",
    "ServerError",
    "TimeoutError",
    "UDFError",
    "AdminPolicy",
    "AerospikeKey",
    "BatchDeleteMeta",
    "BatchDeletePolicy",
    "BatchPolicy",
    "BatchReadPolicy",
    "BatchRecord",
    "BatchRecords",
    "BatchRetryInfo",
    "BatchUDFMeta",
    "BatchUDFPolicy",
    "BatchWriteResult",
    "BinTuple",
    "ClientConfig",
    "ExistsResult",
    "HLLPolicy",
    "InfoNodeResult",
    "ListPolicy",
    "MapPolicy",
    "OperateOrderedResult",
    "Privilege",
    "QueryPolicy",
    "ReadPolicy",
    "Record",
    "RecordMetadata",
    "RoleInfo",
    "ScanPolicy",
    "UserInfo",
    "WriteMeta",
    "WritePolicy",
]
