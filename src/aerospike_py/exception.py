"""Aerospike exception hierarchy, result-code names and the result-code -> exception mapping.

Every exception carries ``code`` (Aerospike result code; client-side codes are negative), ``msg``,
``in_doubt`` (a write may have been applied), ``node`` (name of the node involved, if known) and
``key`` (the key tuple involved, if known).
"""

from __future__ import annotations

import warnings
from typing import Any

# Names of Aerospike result codes. Names of the codes exported as ``aerospike_py.AEROSPIKE_*``
# constants are exactly those constants; the others follow the C client's ``as_status.h`` with the
# ``AEROSPIKE_ERR_`` prefix used by this API.
_RESULT_CODE_NAMES: dict[int, str] = {
    # Client-side (negative) codes.
    -16: "AEROSPIKE_ERR_BATCH_FAILED",
    -15: "AEROSPIKE_ERR_NO_RESPONSE",
    -12: "AEROSPIKE_ERR_MAX_RETRIES_EXCEEDED",
    -11: "AEROSPIKE_ERR_CLUSTER",
    -10: "AEROSPIKE_ERR_CONNECTION",
    -9: "AEROSPIKE_ERR_TLS_ERROR",
    -8: "AEROSPIKE_ERR_INVALID_NODE",
    -7: "AEROSPIKE_ERR_NO_MORE_CONNECTIONS",
    -6: "AEROSPIKE_ERR_ASYNC_CONNECTION",
    -5: "AEROSPIKE_ERR_CLIENT_ABORT",
    -4: "AEROSPIKE_ERR_INVALID_HOST",
    -3: "AEROSPIKE_NO_MORE_RECORDS",
    -2: "AEROSPIKE_ERR_INVALID_ARG",
    -1: "AEROSPIKE_ERR_CLIENT",
    # Server result codes.
    0: "AEROSPIKE_OK",
    1: "AEROSPIKE_ERR_SERVER",
    2: "AEROSPIKE_ERR_RECORD_NOT_FOUND",
    3: "AEROSPIKE_ERR_RECORD_GENERATION",
    4: "AEROSPIKE_ERR_PARAM",
    5: "AEROSPIKE_ERR_RECORD_EXISTS",
    6: "AEROSPIKE_ERR_BIN_EXISTS",
    7: "AEROSPIKE_ERR_CLUSTER_KEY_MISMATCH",
    8: "AEROSPIKE_ERR_SERVER_MEM",
    9: "AEROSPIKE_ERR_TIMEOUT",
    10: "AEROSPIKE_ERR_ALWAYS_FORBIDDEN",
    11: "AEROSPIKE_ERR_PARTITION_UNAVAILABLE",
    12: "AEROSPIKE_ERR_BIN_TYPE",
    13: "AEROSPIKE_ERR_RECORD_TOO_BIG",
    14: "AEROSPIKE_ERR_KEY_BUSY",
    15: "AEROSPIKE_ERR_SCAN_ABORT",
    16: "AEROSPIKE_ERR_UNSUPPORTED_FEATURE",
    17: "AEROSPIKE_ERR_BIN_NOT_FOUND",
    18: "AEROSPIKE_ERR_DEVICE_OVERLOAD",
    19: "AEROSPIKE_ERR_KEY_MISMATCH",
    20: "AEROSPIKE_ERR_INVALID_NAMESPACE",
    21: "AEROSPIKE_ERR_BIN_NAME",
    22: "AEROSPIKE_ERR_FAIL_FORBIDDEN",
    23: "AEROSPIKE_ERR_ELEMENT_NOT_FOUND",
    24: "AEROSPIKE_ERR_ELEMENT_EXISTS",
    25: "AEROSPIKE_ERR_ENTERPRISE_ONLY",
    26: "AEROSPIKE_ERR_OP_NOT_APPLICABLE",
    27: "AEROSPIKE_ERR_FILTERED_OUT",
    28: "AEROSPIKE_ERR_LOST_CONFLICT",
    29: "AEROSPIKE_ERR_INVALID_ENCODING",
    32: "AEROSPIKE_ERR_XDR_KEY_BUSY",
    50: "AEROSPIKE_QUERY_END",
    51: "AEROSPIKE_SECURITY_NOT_SUPPORTED",
    52: "AEROSPIKE_SECURITY_NOT_ENABLED",
    53: "AEROSPIKE_ERR_SECURITY_SCHEME_NOT_SUPPORTED",
    54: "AEROSPIKE_ERR_INVALID_COMMAND",
    55: "AEROSPIKE_ERR_INVALID_FIELD",
    56: "AEROSPIKE_ERR_ILLEGAL_STATE",
    60: "AEROSPIKE_ERR_INVALID_USER",
    61: "AEROSPIKE_ERR_USER_ALREADY_EXISTS",
    62: "AEROSPIKE_ERR_INVALID_PASSWORD",
    63: "AEROSPIKE_ERR_EXPIRED_PASSWORD",
    64: "AEROSPIKE_ERR_FORBIDDEN_PASSWORD",
    65: "AEROSPIKE_ERR_INVALID_CREDENTIAL",
    66: "AEROSPIKE_ERR_EXPIRED_SESSION",
    70: "AEROSPIKE_ERR_INVALID_ROLE",
    71: "AEROSPIKE_ERR_ROLE_ALREADY_EXISTS",
    72: "AEROSPIKE_ERR_INVALID_PRIVILEGE",
    73: "AEROSPIKE_ERR_INVALID_WHITELIST",
    74: "AEROSPIKE_ERR_QUOTAS_NOT_ENABLED",
    75: "AEROSPIKE_ERR_INVALID_QUOTA",
    80: "AEROSPIKE_ERR_NOT_AUTHENTICATED",
    81: "AEROSPIKE_ERR_ROLE_VIOLATION",
    82: "AEROSPIKE_ERR_NOT_WHITELISTED",
    83: "AEROSPIKE_ERR_QUOTA_EXCEEDED",
    100: "AEROSPIKE_ERR_UDF",
    120: "AEROSPIKE_ERR_MRT_BLOCKED",
    121: "AEROSPIKE_ERR_MRT_VERSION_MISMATCH",
    122: "AEROSPIKE_ERR_MRT_EXPIRED",
    123: "AEROSPIKE_ERR_MRT_TOO_MANY_WRITES",
    124: "AEROSPIKE_ERR_MRT_COMMITTED",
    125: "AEROSPIKE_ERR_MRT_ABORTED",
    126: "AEROSPIKE_ERR_MRT_ALREADY_LOCKED",
    127: "AEROSPIKE_ERR_MRT_MONITOR_EXISTS",
    150: "AEROSPIKE_ERR_BATCH_DISABLED",
    151: "AEROSPIKE_ERR_BATCH_MAX_REQUESTS_EXCEEDED",
    152: "AEROSPIKE_ERR_BATCH_QUEUES_FULL",
    160: "AEROSPIKE_ERR_GEO_INVALID_GEOJSON",
    200: "AEROSPIKE_ERR_INDEX_FOUND",
    201: "AEROSPIKE_ERR_INDEX_NOT_FOUND",
    202: "AEROSPIKE_ERR_INDEX_OOM",
    203: "AEROSPIKE_ERR_INDEX_NOT_READABLE",
    204: "AEROSPIKE_ERR_INDEX",
    205: "AEROSPIKE_ERR_INDEX_NAME_MAXLEN",
    206: "AEROSPIKE_ERR_INDEX_MAXCOUNT",
    210: "AEROSPIKE_ERR_QUERY_ABORTED",
    211: "AEROSPIKE_ERR_QUERY_QUEUE_FULL",
    212: "AEROSPIKE_ERR_QUERY_TIMEOUT",
    213: "AEROSPIKE_ERR_QUERY",
}


def _result_code_name(code: int) -> str:
    """Return the ``AEROSPIKE_*`` name of a result code, or ``"AEROSPIKE_ERR"`` when unknown."""
    return _RESULT_CODE_NAMES.get(code, "AEROSPIKE_ERR")


class AerospikeError(Exception):
    """Base class of every error raised by the client."""

    code: int = -1
    msg: str
    in_doubt: bool
    node: str | None
    key: Any

    def __init__(
        self,
        msg: str = "",
        code: int | None = None,
        *,
        in_doubt: bool = False,
        node: str | None = None,
        key: Any = None,
    ) -> None:
        msg = msg if isinstance(msg, str) else str(msg)
        super().__init__(msg)
        self.msg = msg
        self.code = type(self).code if code is None else int(code)
        self.in_doubt = bool(in_doubt)
        self.node = node
        self.key = key

    def __str__(self) -> str:
        text = f"{_result_code_name(self.code)} ({self.code})"
        if self.msg:
            text = f"{text}: {self.msg}"
        if self.in_doubt:
            text += " [in_doubt]"
        return text

    def __repr__(self) -> str:
        parts = [repr(self.msg), f"code={self.code}"]
        if self.in_doubt:
            parts.append("in_doubt=True")
        if self.node is not None:
            parts.append(f"node={self.node!r}")
        if self.key is not None:
            parts.append(f"key={self.key!r}")
        return f"{type(self).__name__}({', '.join(parts)})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only attributes (and any extra ones, e.g. __notes__) travel in the state dict,
        # which BaseException.__setstate__ restores.
        return (type(self), (self.msg, self.code), dict(self.__dict__))


# --- client side -----------------------------------------------------------------------------


class ClientError(AerospikeError):
    """Client-side failure (not connected, internal error, ...)."""

    code = -1


class BackpressureError(ClientError):
    """Waiting for an operation slot exceeded ``operation_queue_timeout_ms``."""

    code = -1


class RustPanicError(ClientError):
    """Kept for compatibility with aerospike-py (a native panic); never raised by this client."""

    code = -1


class ClusterError(AerospikeError):
    """Connection / cluster failure (connection refused, invalid host or node, pool exhausted)."""

    code = -11


class InvalidArgError(ClientError):
    """An argument or policy value is invalid (raised before anything is sent).

    A ``ClientError`` (as the official client's ``ParamError``); what is raised is also a
    ``TypeError`` when the argument has the wrong type, a ``ValueError`` when its value is wrong.
    """

    code = -2


class _InvalidArgType(InvalidArgError, TypeError):
    """An argument of the wrong type: both :class:`InvalidArgError` and ``TypeError``."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_invalid_arg, (True, self.msg, self.code), dict(self.__dict__))


class _InvalidArgValue(InvalidArgError, ValueError):
    """An argument with a wrong value: both :class:`InvalidArgError` and ``ValueError``."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_invalid_arg, (False, self.msg, self.code), dict(self.__dict__))


def _rebuild_invalid_arg(wrong_type: bool, msg: str, code: int) -> InvalidArgError:
    """Unpickling of the two kinds (their class names are shown as ``InvalidArgError``)."""
    return (_InvalidArgType if wrong_type else _InvalidArgValue)(msg, code)


def _invalid_arg(msg: str, value: object, kinds: type | tuple[type, ...] = int) -> InvalidArgError:
    """The exception for a bad ``value``: a ``ValueError`` kind when it is of ``kinds`` (a wrong
    value), else a ``TypeError`` kind (a wrong type; bools are never ints here)."""
    ok = isinstance(value, kinds) and not isinstance(value, bool)
    return (_InvalidArgValue if ok else _InvalidArgType)(msg)


# Tracebacks and reprs name them as what users catch.
_InvalidArgType.__name__ = _InvalidArgType.__qualname__ = "InvalidArgError"
_InvalidArgValue.__name__ = _InvalidArgValue.__qualname__ = "InvalidArgError"


class AerospikeTimeoutError(AerospikeError):
    """The operation timed out (client or server side)."""

    code = 9


# --- server side -----------------------------------------------------------------------------


class ServerError(AerospikeError):
    """The server returned an error result code."""

    code = 1


class AerospikeIndexError(ServerError):
    """Secondary index error."""

    code = 204


class IndexNotFound(AerospikeIndexError):
    """The secondary index does not exist."""

    code = 201


class IndexFoundError(AerospikeIndexError):
    """The secondary index already exists."""

    code = 200


class QueryError(ServerError):
    """Query / scan error."""

    code = 213


class QueryAbortedError(QueryError):
    """The query or scan was aborted."""

    code = 210


class AdminError(ServerError):
    """Security / user administration error."""

    code = 1


class UDFError(ServerError):
    """UDF execution or registration error."""

    code = 100


# --- record level ----------------------------------------------------------------------------


class RecordError(AerospikeError):
    """Record-level error."""

    code = 1


class RecordNotFound(RecordError):
    """The record does not exist."""

    code = 2


class RecordExistsError(RecordError):
    """The record already exists."""

    code = 5


class RecordGenerationError(RecordError):
    """The record generation does not match the expected one."""

    code = 3


class RecordTooBig(RecordError):
    """The record is larger than the namespace allows."""

    code = 13


class BinNameError(RecordError):
    """A bin name is too long or invalid."""

    code = 21


class BinExistsError(RecordError):
    """The bin already exists."""

    code = 6


class BinNotFound(RecordError):
    """The bin does not exist."""

    code = 17


class BinTypeError(RecordError):
    """The operation is not applicable to the bin's type."""

    code = 12


class FilteredOut(RecordError):
    """The record was filtered out by a filter expression."""

    code = 27


class UnknownFieldWarning(UserWarning):
    """A policy, meta or config dict has a field this client does not know; it is ignored.

    Issued once per field name (``warnings.simplefilter("error", UnknownFieldWarning)`` makes
    unknown fields errors).
    """


_WARNED: set[tuple[str, str]] = set()


def _warn_unknown_field(where: str, name: object, stacklevel: int = 4) -> None:
    """Warn, once per ``(where, name)``, that ``where`` has an unknown field ``name``."""
    key = (where, str(name))
    if key in _WARNED:
        return
    if len(_WARNED) >= 1024:  # (bounded: past that many names, each warns once more)
        _WARNED.clear()
    _WARNED.add(key)
    warnings.warn(f"aerospike_py: unknown {where} field {name!r} ignored", UnknownFieldWarning,
                  stacklevel=stacklevel)


# Deprecated aliases (same class objects); module access to the public names warns, see __getattr__.
_TimeoutError = AerospikeTimeoutError
_IndexError = AerospikeIndexError

_CLASS_BY_CODE: dict[int, type[AerospikeError]] = {
    # client side
    -1: ClientError,
    -2: InvalidArgError,
    -4: ClusterError,
    -6: ClusterError,
    -7: ClusterError,
    -8: ClusterError,
    -9: ClusterError,
    -10: ClusterError,
    -11: ClusterError,
    # record level
    2: RecordNotFound,
    3: RecordGenerationError,
    5: RecordExistsError,
    6: BinExistsError,
    12: BinTypeError,
    13: RecordTooBig,
    17: BinNotFound,
    21: BinNameError,
    23: RecordError,
    24: RecordError,
    27: FilteredOut,
    # timeout
    9: AerospikeTimeoutError,
    # index
    200: IndexFoundError,
    201: IndexNotFound,
    202: AerospikeIndexError,
    203: AerospikeIndexError,
    204: AerospikeIndexError,
    205: AerospikeIndexError,
    206: AerospikeIndexError,
    # query / scan
    15: QueryAbortedError,
    210: QueryAbortedError,
    211: QueryError,
    212: QueryError,
    213: QueryError,
    # UDF
    100: UDFError,
    # security
    **dict.fromkeys((51, 52, 53, 54, 55, 56), AdminError),
    **dict.fromkeys(range(60, 67), AdminError),
    **dict.fromkeys(range(70, 76), AdminError),
    **dict.fromkeys(range(80, 84), AdminError),
}


def _exception_class_for(code: int) -> type[AerospikeError]:
    """Return the exception class used for a result code."""
    cls = _CLASS_BY_CODE.get(code)
    if cls is not None:
        return cls
    if code > 0:
        return ServerError
    if code < 0:
        return ClientError
    return AerospikeError


def _error_from_result_code(
    code: int,
    msg: str = "",
    *,
    in_doubt: bool = False,
    node: str | None = None,
    key: Any = None,
) -> AerospikeError:
    """Build (not raise) the exception matching an Aerospike result code."""
    return _exception_class_for(code)(msg, code, in_doubt=in_doubt, node=node, key=key)


_DEPRECATED_ALIASES: dict[str, tuple[type[AerospikeError], str]] = {
    "TimeoutError": (AerospikeTimeoutError, "AerospikeTimeoutError"),
    "IndexError": (AerospikeIndexError, "AerospikeIndexError"),
}


def __getattr__(name: str) -> Any:
    alias = _DEPRECATED_ALIASES.get(name)
    if alias is not None:
        cls, replacement = alias
        warnings.warn(
            f"aerospike_py.exception.{name} is deprecated, use {replacement} instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AerospikeError",
    "ClientError",
    "BackpressureError",
    "RustPanicError",
    "ClusterError",
    "InvalidArgError",
    "AerospikeTimeoutError",
    "ServerError",
    "AerospikeIndexError",
    "IndexNotFound",
    "IndexFoundError",
    "QueryError",
    "QueryAbortedError",
    "AdminError",
    "UDFError",
    "RecordError",
    "RecordNotFound",
    "RecordExistsError",
    "RecordGenerationError",
    "RecordTooBig",
    "BinNameError",
    "BinExistsError",
    "BinNotFound",
    "BinTypeError",
    "FilteredOut",
    "UnknownFieldWarning",
]


def __dir__() -> list[str]:
    return sorted(__all__)
