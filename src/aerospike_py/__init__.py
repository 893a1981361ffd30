"""aerospike_py: a fast, pure-Python client for the Aerospike database.

    import aerospike_py
    with aerospike_py.client({"hosts": [("127.0.0.1", 3000)]}).connect() as c:
        c.put(("test", "demo", "k"), {"a": 1})
        record = c.get(("test", "demo", "k"))
"""

from ._constants import *  # noqa: F403
from ._constants import __all__ as _constant_names

#: ``typing.TYPE_CHECKING`` without importing typing (type checkers take this name as true).
TYPE_CHECKING = False

# Everything else is loaded on first use (module ``__getattr__`` below), so ``import aerospike_py``
# stays light: no asyncio, ssl, numpy, logging or the embedded server until a program uses them.
# The imports below are for type checkers only; ``_LAZY`` maps each name to the module giving it
# (a test checks that the two agree).
if TYPE_CHECKING:
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
        server,
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
    from ._logging import logger as logger
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

del TYPE_CHECKING

_SUBMODULES = frozenset({
    "bit_operations", "cdt_ctx", "exception", "exp", "hll_operations", "list_operations",
    "map_operations", "numpy_batch", "predicates", "server", "types",
})

#: ``{module: names}`` of the lazily loaded top-level names (``alias=name`` where they differ).
_FROM = {
    "._async_client": "AsyncClient",
    "._client": "Client",
    "._client_query": "JOB_STATUS_COMPLETED JOB_STATUS_INPROGRESS JOB_STATUS_UNDEF",
    "._commands.query": "PartitionFilter partition_filter_all partition_filter_by_digest partition_filter_by_id "
                        "partition_filter_by_range",
    "._observability": "dropped_log_count get_metrics init_tracing internal_stage_profiling "
                       "is_internal_stage_metrics_enabled is_metrics_enabled metrics_server_port "
                       "register_prometheus_collector set_internal_stage_metrics_enabled set_log_level "
                       "set_metrics_enabled shutdown_tracing start_metrics_server stop_metrics_server",
    "._query": "AsyncQuery AsyncScan Query Scan",
    "._wire.values": "HLL INFINITY WILDCARD GeoJSON KeyOrderedDict",
    ".exception": "AdminError AerospikeError AerospikeIndexError AerospikeTimeoutError BackpressureError "
                  "BinExistsError BinNameError BinNotFound BinTypeError ClientError ClusterError FilteredOut "
                  "IndexFoundError IndexNotFound InvalidArgError QueryAbortedError QueryError RecordError "
                  "RecordExistsError RecordGenerationError RecordNotFound RecordTooBig RustPanicError ServerError "
                  "UDFError UnknownFieldWarning IndexError=_IndexError TimeoutError=_TimeoutError",
    ".numpy_batch": "NumpyBatchRecords",
    ".types": "AdminPolicy AerospikeKey AerospikeRecord BatchDeleteMeta BatchDeletePolicy BatchPolicy "
              "BatchReadPolicy BatchRecord BatchRecords BatchRetryInfo BatchUDFMeta BatchUDFPolicy "
              "BatchWriteResult Bins BinTuple ClientConfig ExistsResult HLLPolicy InfoNodeResult "
              "LazyBatchRecords ListPolicy MapPolicy OperateOrderedResult Operation Privilege QueryPolicy "
              "ReadPolicy Record RecordMetadata RoleInfo ScanPolicy UserInfo UserKey WriteMeta WritePolicy",
}
#: ``{name: (module, attribute)}``, from :data:`_FROM`.
_LAZY = {
    alias: (module, attr or alias)
    for module, names in _FROM.items()
    for alias, _, attr in (n.partition("=") for n in names.split())
}


def client(config: "ClientConfig | dict[str, _Any]") -> "Client":
    """A new, not yet connected :class:`Client`; call ``.connect()``."""
    from ._client import Client

    return Client(config)


def async_client(config: "ClientConfig | dict[str, _Any]") -> "AsyncClient":
    """A new, not yet connected :class:`AsyncClient`; ``await c.connect()``."""
    from ._async_client import AsyncClient

    return AsyncClient(config)


def __getattr__(name: str) -> "_Any":
    """Load a top-level name on first use, then keep it in the module (later uses cost nothing)."""
    from importlib import import_module

    where = _LAZY.get(name)
    if where is not None:
        value = getattr(import_module(where[0], __name__), where[1])
    elif name in _SUBMODULES:
        value = import_module(f".{name}", __name__)
    elif name in ("logger", "logging"):
        # The package's logger, silent unless configured (set up by whichever module logs first).
        from ._logging import logger

        value = logger if name == "logger" else import_module("logging")
    elif name == "PackageNotFoundError":
        # A top-level name of aerospike-py 0.14.4 too (importlib.metadata is slow to import).
        from importlib.metadata import PackageNotFoundError

        value = PackageNotFoundError
    elif name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("aerospike-purepy")
        except PackageNotFoundError:  # running from a source tree
            value = "0.0.0"
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


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
