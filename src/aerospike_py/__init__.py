"""aerospike_py: a fast, pure-Python client for the Aerospike database.

    import aerospike_py
    with aerospike_py.client({"hosts": [("127.0.0.1", 3000)]}).connect() as c:
        c.put(("test", "demo", "k"), {"a": 1})
        record = c.get(("test", "demo", "k"))
"""

import logging
from typing import Any as _Any

from . import (
    bit_operations,
    cdt_ctx,
    exception,
    exp,
    hll_operations,
    list_operations,
    map_operations,
    numpy_batch,
    predicates,
    types,
)
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
    UnknownFieldWarning,
)
from .exception import _IndexError as IndexError  # noqa: A004
from .exception import _TimeoutError as TimeoutError  # noqa: A004
from .numpy_batch import NumpyBatchRecords
from .types import (
    AdminPolicy,
    AerospikeKey,
    AerospikeRecord,
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
    Bins,
    BinTuple,
    ClientConfig,
    ExistsResult,
    HLLPolicy,
    InfoNodeResult,
    LazyBatchRecords,
    ListPolicy,
    MapPolicy,
    OperateOrderedResult,
    Operation,
    Privilege,
    QueryPolicy,
    ReadPolicy,
    Record,
    RecordMetadata,
    RoleInfo,
    ScanPolicy,
    UserInfo,
    UserKey,
    WriteMeta,
    WritePolicy,
)

#: The package's logger (``logging.getLogger("aerospike_py")``), silent unless configured.
logger: logging.Logger = logging.getLogger("aerospike_py")
logger.addHandler(logging.NullHandler())


def client(config: ClientConfig | dict[str, _Any]) -> Client:
    """A new, not yet connected :class:`Client`; call ``.connect()``."""
    return Client(config)


def async_client(config: ClientConfig | dict[str, _Any]) -> AsyncClient:
    """A new, not yet connected :class:`AsyncClient`; ``await c.connect()``."""
    return AsyncClient(config)


def __getattr__(name: str) -> _Any:
    # ``aerospike_py.server`` without importing the embedded server on every ``import aerospike_py``.
    if name == "server":
        import importlib

        return importlib.import_module(".server", __name__)
    # ``__version__`` from the installed metadata, read on first use (importlib.metadata is slow to
    # import); ``PackageNotFoundError`` is a top-level name of aerospike-py 0.14.4 too.
    if name == "PackageNotFoundError":
        from importlib.metadata import PackageNotFoundError

        return PackageNotFoundError
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("aerospike-purepy")
        except PackageNotFoundError:  # running from a source tree
            v = "0.0.0"
        globals()["__version__"] = v
        return v
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "__version__",  # noqa: F405 - a lazy attribute (see __getattr__)
    *_constant_names,
    "AerospikeRecord",
    "Bins",
    "LazyBatchRecords",
    "NumpyBatchRecords",
    "Operation",
    "UserKey",
    "bit_operations",
    "cdt_ctx",
    "exp",
    "hll_operations",
    "list_operations",
    "map_operations",
    "numpy_batch",
    "server",  # noqa: F405 - a lazy attribute (see __getattr__)
    "types",
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
    "UnknownFieldWarning",
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

#: Names the original also has at top level, kept for drop-in use but not part of ``__all__``.
_COMPAT_NAMES = ("PackageNotFoundError", "logger", "logging")


def __dir__() -> list[str]:
    return sorted({*__all__, *_COMPAT_NAMES})
