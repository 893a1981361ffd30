"""Public data types: NamedTuple return values and TypedDict inputs (policies, metas, config)."""

from collections.abc import ItemsView, Iterable, Iterator, KeysView, ValuesView
from typing import Any, NamedTuple, Protocol, TypedDict, runtime_checkable

# ---------------------------------------------------------------------------------------------
# Aliases
# ---------------------------------------------------------------------------------------------

UserKey = str | int
"""User key as it appears in ``batch_read`` result dicts."""

AerospikeRecord = dict[str, Any]
"""Bins of one record: ``{bin_name: value}``."""

Bins = dict[str, Any]
"""Bins of one record: ``{bin_name: value}``."""

Key = tuple[Any, ...]
"""Request key: ``(namespace, set, user_key)`` or ``(namespace, set, None, digest)``."""

Operation = dict[str, Any]
"""An operation for ``operate`` / ``operate_ordered`` / ``batch_operate`` (what the builders return)."""

# ---------------------------------------------------------------------------------------------
# Return types (NamedTuple: attribute access and tuple unpacking)
# ---------------------------------------------------------------------------------------------


class AerospikeKey(NamedTuple):
    """Record key as returned by the client."""

    namespace: str
    set_name: str
    user_key: str | int | bytes | None
    digest: bytes


class RecordMetadata(NamedTuple):
    """Record generation and remaining time-to-live (seconds)."""

    gen: int
    ttl: int


class Record(NamedTuple):
    """A record: ``(key, meta, bins)``."""

    key: AerospikeKey | None
    meta: RecordMetadata | None
    bins: dict[str, Any] | None


class ExistsResult(NamedTuple):
    """Result of ``exists()``; ``meta`` is None when the record does not exist."""

    key: AerospikeKey | None
    meta: RecordMetadata | None


class InfoNodeResult(NamedTuple):
    """Per-node result of ``info_all()``."""

    node_name: str
    error_code: int
    response: str


class BinTuple(NamedTuple):
    """One ``(name, value)`` pair of ``operate_ordered()``."""

    name: str
    value: Any


class OperateOrderedResult(NamedTuple):
    """Result of ``operate_ordered()``: bins in operation order."""

    key: AerospikeKey | None
    meta: RecordMetadata | None
    ordered_bins: list[BinTuple]


class BatchRecord(NamedTuple):
    """Per-record result of a batch call; ``result`` is the record's result code (0 = success)."""

    key: AerospikeKey | None
    result: int
    record: Record | None
    in_doubt: bool = False


class _BatchRecordsFields(NamedTuple):
    batch_records: list[BatchRecord]


class BatchRecords(_BatchRecordsFields):
    """Result of sync batch calls: ``batch_records``, the per-record results in request order.

    It also offers the dict-style API of aerospike-py's ``LazyBatchRecords`` over the records that
    were read (result 0, with a user key): ``keys()``, ``values()``, ``items()``, ``get(key)``,
    ``key in result``, ``len(result)`` (records found), ``to_dict()``, ``to_list()``, ... It stays a
    one-field NamedTuple (``(records,) = result`` unpacks it; iteration yields that one field).
    """

    def to_dict(self) -> dict[UserKey, dict[str, Any]]:
        """``{user_key: bins}`` of the records read (missing, failed and digest-only ones left out)."""
        d: dict[UserKey, dict[str, Any]] | None = self.__dict__.get("_dict")
        if d is None:
            d = self.__dict__["_dict"] = _found_dict(self.batch_records)
        return d

    def to_list(self) -> list[dict[str, Any] | None]:
        """Bins of every requested record in request order; ``None`` where it was not read."""
        return [br.record.bins if br.result == 0 and br.record is not None else None
                for br in self.batch_records]

    def keys(self) -> KeysView[UserKey]:
        """User keys of the records read (see :meth:`all_user_keys` for every requested key)."""
        return self.to_dict().keys()

    def values(self) -> ValuesView[dict[str, Any]]:
        """Bins of the records read."""
        return self.to_dict().values()

    def items(self) -> ItemsView[UserKey, dict[str, Any]]:
        """``(user_key, bins)`` of the records read."""
        return self.to_dict().items()

    def get(self, key: object, default: Any = None) -> Any:
        """Bins of the record read for ``key``, else ``default``."""
        return self.to_dict().get(key, default)  # type: ignore[call-overload]

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def __len__(self) -> int:
        return len(self.to_dict())

    def found_count(self) -> int:
        """Number of records read successfully (result 0)."""
        return sum(1 for br in self.batch_records if br.result == 0)

    def iter_records(self) -> Iterator[BatchRecord]:
        """Every :class:`BatchRecord` (missing and failed ones included), in request order."""
        return iter(self.batch_records)

    def all_user_keys(self) -> list[UserKey | bytes | None]:
        """The user key of every requested record in request order (``None`` for digest-only keys)."""
        return [br.key.user_key if br.key is not None else None for br in self.batch_records]

    def to_numpy(self, dtype: Any) -> Any:
        """The records as a :class:`~aerospike_py.numpy_batch.NumpyBatchRecords` of ``dtype``."""
        from .numpy_batch import _from_batch_records

        return _from_batch_records(self.batch_records, dtype)

    def release_cache(self) -> None:
        """Drop the cached ``to_dict()`` view (it is rebuilt on the next dict-style access)."""
        self.__dict__.pop("_dict", None)

    @staticmethod
    def merge_to_dict(handles: Iterable[Any]) -> list[dict[Any, dict[str, Any]]]:
        """``[h.to_dict() for h in handles]``: the dict view of each result, in order."""
        return [h.to_dict() for h in handles]


def _found_dict(records: list[BatchRecord]) -> dict[UserKey, dict[str, Any]]:
    out: dict[UserKey, dict[str, Any]] = {}
    for br in records:
        if br.result == 0 and br.record is not None and br.key is not None:
            uk = br.key.user_key
            if uk is not None and br.record.bins is not None:
                out[uk] = br.record.bins  # type: ignore[index]
    return out


@runtime_checkable
class LazyBatchRecords(Protocol):
    """What aerospike-py calls the result of ``batch_read``: the dict-style batch result API.

    Both the sync :class:`BatchRecords` and the async ``BatchReadHandle`` provide it, so
    ``isinstance(result, LazyBatchRecords)`` holds for both; ``LazyBatchRecords.merge_to_dict``
    works on either.
    """

    @property
    def batch_records(self) -> list[BatchRecord]:
        """One :class:`BatchRecord` per requested key, in request order."""
        ...

    def to_dict(self) -> dict[UserKey, dict[str, Any]]:
        """``{user_key: bins}`` of the records found (failed and digest-only records left out)."""
        ...

    def to_list(self) -> list[dict[str, Any] | None]:
        """Bins of every requested record in request order; ``None`` where it was not read."""
        ...

    def get(self, key: object, default: Any = None) -> Any:
        """The bins of the record of user key ``key`` (``default`` when it was not found)."""
        ...

    def found_count(self) -> int:
        """How many records were read successfully."""
        ...

    def iter_records(self) -> Iterator[BatchRecord]:
        """The :class:`BatchRecord` s, one by one, in request order."""
        ...

    def all_user_keys(self) -> list[UserKey | bytes | None]:
        """User keys of all requested records, in request order."""
        ...

    def to_numpy(self, dtype: Any) -> Any:
        """The records as a ``NumpyBatchRecords`` of the structured ``dtype`` (one field per bin)."""
        ...

    def release_cache(self) -> None:
        """Drop the cached dict view (:meth:`to_dict`); the next dict-style call builds it again."""
        ...

    def __contains__(self, key: object) -> bool: ...
    def __len__(self) -> int: ...

    @staticmethod
    def merge_to_dict(handles: Iterable[Any]) -> list[dict[Any, dict[str, Any]]]:
        """``[h.to_dict() for h in handles]``: the dict view of each result, in order."""
        return [h.to_dict() for h in handles]


class BatchRetryInfo(NamedTuple):
    """How the ``retry`` loop of ``batch_write`` went."""

    attempts: int
    max_attempts: int
    truncated_by_timeout: bool
    unresolved: int


class BatchWriteResult(NamedTuple):
    """Result of batch writes / operates / removes / applies."""

    batch_records: list[BatchRecord]
    retry: BatchRetryInfo | None = None


# ---------------------------------------------------------------------------------------------
# Input types (TypedDict, all keys optional)
# ---------------------------------------------------------------------------------------------


class ClientConfig(TypedDict, total=False):
    """Configuration of ``aerospike_py.client()`` / ``AsyncClient``."""

    hosts: list[tuple[str, int] | str]
    cluster_name: str | None
    auth_mode: int
    user: str
    password: str
    timeout: int
    idle_timeout: int
    max_conns_per_node: int
    min_conns_per_node: int
    conn_pools_per_node: int
    tend_interval: int
    use_services_alternate: bool
    max_concurrent_operations: int
    operation_queue_timeout_ms: int


class ReadPolicy(TypedDict, total=False):
    """Policy of single-record reads (get, select, exists)."""

    socket_timeout: int
    total_timeout: int
    max_retries: int
    sleep_between_retries: int
    timeout_delay: int
    filter_expression: Any
    replica: int
    read_mode_ap: int
    read_touch_ttl_percent: int


class WritePolicy(TypedDict, total=False):
    """Policy of single-record writes (put, remove, touch, operate, ...)."""

    socket_timeout: int
    total_timeout: int
    max_retries: int
    sleep_between_retries: int
    timeout_delay: int
    durable_delete: bool
    key: int
    exists: int
    gen: int
    commit_level: int
    ttl: int
    filter_expression: Any
    read_mode_ap: int
    read_touch_ttl_percent: int


class BatchPolicy(TypedDict, total=False):
    """Policy of batch calls; the write fields are defaults for ``batch_write``."""

    socket_timeout: int
    total_timeout: int
    max_retries: int
    sleep_between_retries: int
    timeout_delay: int
    filter_expression: Any
    allow_inline: bool
    allow_inline_ssd: bool
    respond_all_keys: bool
    replica: int
    read_mode_ap: int
    read_touch_ttl_percent: int
    concurrency: int
    key: int
    exists: int
    gen: int
    commit_level: int
    durable_delete: bool
    ttl: int


class BatchReadPolicy(TypedDict, total=False):
    """Per-record policy of ``batch_read``."""

    read_touch_ttl_percent: int
    filter_expression: Any


class BatchDeletePolicy(TypedDict, total=False):
    """Batch-level policy of ``batch_remove``."""

    gen: int
    key: int
    commit_level: int
    durable_delete: bool
    filter_expression: Any


class BatchDeleteMeta(TypedDict, total=False):
    """Per-record meta of ``batch_remove``; ``gen`` is the expected generation."""

    gen: int
    key: int
    commit_level: int
    durable_delete: bool


class BatchUDFPolicy(TypedDict, total=False):
    """Batch-level policy of ``batch_apply``."""

    commit_level: int
    ttl: int
    key: int
    durable_delete: bool
    filter_expression: Any


class BatchUDFMeta(TypedDict, total=False):
    """Per-record overrides of ``batch_apply``."""

    module: str
    function: str
    args: list[Any]
    ttl: int
    commit_level: int
    key: int
    durable_delete: bool


class QueryPolicy(TypedDict, total=False):
    """Policy of queries (``Query.results()`` / ``foreach()``)."""

    socket_timeout: int
    total_timeout: int
    max_retries: int
    sleep_between_retries: int
    timeout_delay: int
    max_records: int
    records_per_second: int
    filter_expression: Any
    replica: int
    read_mode_ap: int
    read_touch_ttl_percent: int
    max_concurrent_nodes: int
    record_queue_size: int
    expected_duration: int
    include_bin_data: bool
    partition_filter: Any


class ScanPolicy(TypedDict, total=False):
    """Policy of scans (queries without a predicate)."""

    socket_timeout: int
    total_timeout: int
    max_retries: int
    sleep_between_retries: int
    timeout_delay: int
    filter_expression: Any
    replica: int
    read_mode_ap: int
    records_per_second: int
    max_records: int
    durable_delete: bool
    ttl: int
    partition_filter: Any


class AdminPolicy(TypedDict, total=False):
    """Policy of admin, index and truncate calls."""

    timeout: int


class WriteMeta(TypedDict, total=False):
    """Write meta (``put(..., meta=)``, per-record in ``batch_write``); ``gen`` is the expected generation."""

    gen: int
    ttl: int
    key: int
    exists: int
    commit_level: int
    durable_delete: bool


class Privilege(TypedDict, total=False):
    """A privilege: code (``PRIV_*`` or canonical name) with optional namespace / set scope."""

    code: int | str
    ns: str
    set: str


class UserInfo(TypedDict, total=False):
    """User description returned by ``admin_query_user_info``."""

    user: str
    roles: list[str]
    conns_in_use: int


class RoleInfo(TypedDict, total=False):
    """Role description returned by ``admin_query_role``."""

    name: str
    privileges: list[Privilege]
    allowlist: list[str]
    read_quota: int
    write_quota: int


class ListPolicy(TypedDict, total=False):
    """List CDT policy: ``LIST_ORDERED`` / ``LIST_UNORDERED`` and ``LIST_WRITE_*`` flags."""

    order: int
    flags: int


class MapPolicy(TypedDict, total=False):
    """Map CDT policy: ``MAP_*_ORDERED`` and ``MAP_WRITE_FLAGS_*`` / ``MAP_UPDATE*`` write mode."""

    order: int
    write_mode: int


class HLLPolicy(TypedDict, total=False):
    """HyperLogLog policy: ``HLL_WRITE_*`` flags."""

    flags: int


__all__ = [
    "AdminPolicy",
    "AerospikeKey",
    "AerospikeRecord",
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
    "Bins",
    "ClientConfig",
    "ExistsResult",
    "HLLPolicy",
    "InfoNodeResult",
    "Key",
    "LazyBatchRecords",
    "ListPolicy",
    "MapPolicy",
    "OperateOrderedResult",
    "Operation",
    "Privilege",
    "QueryPolicy",
    "ReadPolicy",
    "Record",
    "RecordMetadata",
    "RoleInfo",
    "ScanPolicy",
    "UserInfo",
    "UserKey",
    "WriteMeta",
    "WritePolicy",
]


def __dir__() -> list[str]:
    return sorted(__all__)
