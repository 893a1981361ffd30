"""Policy dicts -> validated, resolved policies with defaults.

Wrong types and out-of-range values raise :class:`~aerospike_py.exception.InvalidArgError` before
anything is sent. Field names of the original and of the official client are accepted with the
same meaning; other unknown fields are ignored with an ``UnknownFieldWarning`` (once per name).
Resolution of the default (``None``) policy is free: it is computed once.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from . import _constants as C
from ._wire import constants as W
from .exception import _invalid_arg, _InvalidArgType, _InvalidArgValue, _warn_unknown_field

_tuple_new = tuple.__new__

_TRANSPORT_DEFAULTS: dict[str, Any] = {
    "socket_timeout": 30000,
    "total_timeout": 1000,
    "max_retries": 2,
    "sleep_between_retries": 0,
    "timeout_delay": 0,
    "filter_expression": None,
    "replica": C.POLICY_REPLICA_SEQUENCE,
    "read_mode_ap": C.POLICY_READ_MODE_AP_ONE,
    "read_touch_ttl_percent": 0,
}

READ_DEFAULTS = dict(_TRANSPORT_DEFAULTS)
WRITE_DEFAULTS = dict(
    _TRANSPORT_DEFAULTS,
    max_retries=0,
    durable_delete=False,
    key=C.POLICY_KEY_DIGEST,
    exists=C.POLICY_EXISTS_IGNORE,
    gen=C.POLICY_GEN_IGNORE,
    commit_level=C.POLICY_COMMIT_LEVEL_ALL,
    ttl=0,
)
BATCH_DEFAULTS = dict(
    _TRANSPORT_DEFAULTS,
    concurrency=C.BATCH_CONCURRENCY_PARALLEL,
    allow_inline=True,
    allow_inline_ssd=False,
    respond_all_keys=True,
    key=C.POLICY_KEY_DIGEST,
    exists=C.POLICY_EXISTS_UPDATE,
    gen=C.POLICY_GEN_IGNORE,
    commit_level=C.POLICY_COMMIT_LEVEL_ALL,
    durable_delete=False,
    ttl=0,
)
QUERY_DEFAULTS = dict(
    _TRANSPORT_DEFAULTS,
    total_timeout=0,
    max_records=0,
    records_per_second=0,
    max_concurrent_nodes=0,
    record_queue_size=1024,
    expected_duration=C.QUERY_DURATION_LONG,
    include_bin_data=True,
    partition_filter=None,
)
SCAN_DEFAULTS = dict(
    _TRANSPORT_DEFAULTS,
    total_timeout=0,
    records_per_second=0,
    max_records=0,
    durable_delete=False,
    ttl=0,
    partition_filter=None,
)
ADMIN_DEFAULTS: dict[str, Any] = {"timeout": 1000}
INFO_DEFAULTS: dict[str, Any] = {"timeout": 1000, "total_timeout": 1000, "socket_timeout": 1000}

_INT_FIELDS_NONNEG = {
    "socket_timeout",
    "total_timeout",
    "max_retries",
    "sleep_between_retries",
    "timeout_delay",
    "timeout",
    "max_records",
    "records_per_second",
    "max_concurrent_nodes",
    "record_queue_size",
}
_ENUMS: dict[str, tuple[int, ...]] = {
    "replica": (0, 1, 2),
    "read_mode_ap": (0, 1),
    "key": (0, 1),
    "exists": (0, 1, 2, 3, 4),
    "gen": (0, 1, 2),
    "commit_level": (0, 1),
    "expected_duration": (0, 1, 2),
}
_BOOLS = {"durable_delete", "allow_inline", "allow_inline_ssd", "respond_all_keys", "include_bin_data"}


class Policy(dict[str, Any]):
    """A resolved policy: every field present, values validated. Attribute access for speed.

    ``cacheable`` marks long-lived policies (defaults) whose derived values may be cached.
    """

    __slots__ = ("cacheable", "attrs")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cacheable = False
        #: write_attrs(self, None), remembered for cacheable policies.
        self.attrs: WriteAttrs | None = None

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _check_value(kind: str, name: str, value: Any) -> Any:
    if name in _INT_FIELDS_NONNEG:
        if type(value) is not int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise _InvalidArgType(f"{kind} policy field {name!r} must be an int, not {type(value).__name__}")
        if value < 0:
            raise _InvalidArgValue(f"{kind} policy field {name!r} must be >= 0, got {value}")
        if value > 0xFFFFFFFF:
            raise _InvalidArgValue(f"{kind} policy field {name!r} out of range: {value}")
        return value
    if name in _ENUMS:
        if isinstance(value, bool) or not isinstance(value, int) or value not in _ENUMS[name]:
            raise _InvalidArgValue(f"{kind} policy field {name!r} has invalid value {value!r}")
        return int(value)
    if name in _BOOLS:
        if not isinstance(value, (bool, int)):
            raise _InvalidArgType(f"{kind} policy field {name!r} must be a bool, not {type(value).__name__}")
        return bool(value)
    if name == "ttl":
        return check_ttl(value)
    if name == "read_touch_ttl_percent":
        if isinstance(value, bool) or not isinstance(value, int) or not -1 <= value <= 100:
            raise _invalid_arg(f"read_touch_ttl_percent must be an int in -1..100, got {value!r}", value)
        return value
    if name == "concurrency":
        if isinstance(value, bool) or value not in (C.BATCH_CONCURRENCY_SEQUENTIAL, C.BATCH_CONCURRENCY_PARALLEL):
            raise _InvalidArgValue(
                f"batch policy concurrency must be BATCH_CONCURRENCY_SEQUENTIAL (0) or "
                f"BATCH_CONCURRENCY_PARALLEL (1), got {value!r}"
            )
        return value
    return value


def check_ttl(value: Any) -> int:
    """Validate a TTL (seconds, or -1 never expire, -2 keep, -3 client default, 0 namespace default)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _InvalidArgType(f"ttl must be an int, not {type(value).__name__}")
    if value < -3 or value > 0xFFFFFFFF:
        raise _InvalidArgValue(f"ttl out of range: {value}")
    return value


class PolicyKind:
    """Resolves user dicts of one policy kind against defaults (cached for ``None``)."""

    __slots__ = ("name", "defaults", "default_policy")

    def __init__(self, name: str, defaults: dict[str, Any]) -> None:
        self.name = name
        self.defaults = defaults
        self.default_policy = Policy(defaults)
        self.default_policy.cacheable = True

    def resolve(self, policy: dict[str, Any] | None, base: Policy | None = None) -> Policy:
        """A resolved policy; ``base`` holds client-level defaults (config ``policies``)."""
        if policy is None:
            if base is not None:
                base.cacheable = True
                return base
            return self.default_policy
        if not isinstance(policy, dict):
            raise _InvalidArgType(f"{self.name} policy must be a dict, not {type(policy).__name__}")
        out = Policy(base if base is not None else self.default_policy)
        defaults = self.defaults
        for k, v in policy.items():
            if k not in defaults:
                alias = _alias(self.name, k, v, defaults)
                if alias is None:
                    continue
                k, v = alias
            if v is None and k in ("filter_expression", "partition_filter"):
                out[k] = None
                continue
            out[k] = _check_value(self.name, k, v)
        return out


#: Fields of the official client (and the original) with no effect here: accepted silently.
#: ``key`` on reads: the original and official clients accept it (our reads never need the key).
_NO_EFFECT = frozenset({"deserialize", "compress", "compression_threshold", "read_mode_sc", "send_set_name",
                        "fail_on_cluster_change", "key", "socket_timeout", "total_timeout", "max_retries",
                        "sleep_between_retries", "timeout_delay", "replica", "read_touch_ttl_percent"})


def _alias(kind: str, name: Any, value: Any, defaults: dict[str, Any]) -> tuple[str, Any] | None:
    """``(field, value)`` an unknown field means here, or None (no effect; warned if unknown)."""
    if name == "expressions" and "filter_expression" in defaults:  # the official client's name
        return "filter_expression", value
    if name == "concurrent" and "concurrency" in defaults:  # official: bool, parallel when true
        return "concurrency", C.BATCH_CONCURRENCY_PARALLEL if value else C.BATCH_CONCURRENCY_SEQUENTIAL
    if name == "short_query" and "expected_duration" in defaults:  # official: bool
        return "expected_duration", C.QUERY_DURATION_SHORT if value else C.QUERY_DURATION_LONG
    if name == "timeout" and "total_timeout" in defaults:  # the official client's admin/info name
        return "total_timeout", value
    if name not in _NO_EFFECT:
        _warn_unknown_field(f"{kind} policy", name, stacklevel=5)
    return None


READ = PolicyKind("read", READ_DEFAULTS)
WRITE = PolicyKind("write", WRITE_DEFAULTS)
BATCH = PolicyKind("batch", BATCH_DEFAULTS)
QUERY = PolicyKind("query", QUERY_DEFAULTS)
SCAN = PolicyKind("scan", SCAN_DEFAULTS)
ADMIN = PolicyKind("admin", ADMIN_DEFAULTS)
INFO = PolicyKind("info", INFO_DEFAULTS)

_META_KEYS = frozenset(("gen", "ttl", "key", "exists", "commit_level", "durable_delete"))


class WriteAttrs(NamedTuple):
    """The message attributes of a write (made with ``tuple.__new__``: no Python-level ``__new__``)."""

    info2: int
    info3: int
    generation: int
    #: The record TTL as sent (unsigned 32-bit, see :func:`ttl_to_wire`).
    ttl: int
    key_policy: int
    durable: bool


def write_attrs(policy: Policy, meta: dict[str, Any] | None) -> WriteAttrs:
    """The :class:`WriteAttrs` of a write with ``policy`` and ``meta``.

    Fields set in ``meta`` (WriteMeta) win over the policy's.
    """
    if not meta and policy.attrs is not None:
        return policy.attrs
    exists = policy["exists"]
    gen_policy = policy["gen"]
    ttl = policy["ttl"]
    key_policy = policy["key"]
    commit = policy["commit_level"]
    durable = policy["durable_delete"]
    generation = 0
    if meta:
        if not isinstance(meta, dict):
            raise _InvalidArgType(f"meta must be a dict, not {type(meta).__name__}")
        for k in meta:
            if k not in _META_KEYS:
                _warn_unknown_field("meta", k, stacklevel=5)
        if "ttl" in meta:
            ttl = check_ttl(meta["ttl"])
        if "gen" in meta:
            g = meta["gen"]
            if isinstance(g, bool) or not isinstance(g, int) or not 0 <= g <= 0xFFFFFFFF:
                raise _invalid_arg(f"meta gen must be an int in 0..2**32-1, got {g!r}", g)
            generation = g
            if gen_policy == C.POLICY_GEN_IGNORE:
                gen_policy = C.POLICY_GEN_EQ
        if "key" in meta:
            key_policy = _check_value("meta", "key", meta["key"])
        if "exists" in meta:
            exists = _check_value("meta", "exists", meta["exists"])
        if "commit_level" in meta:
            commit = _check_value("meta", "commit_level", meta["commit_level"])
        if "durable_delete" in meta:
            durable = _check_value("meta", "durable_delete", meta["durable_delete"])
    info2 = W.INFO2_WRITE
    info3 = 0
    if gen_policy == C.POLICY_GEN_EQ:
        info2 |= W.INFO2_GENERATION
    elif gen_policy == C.POLICY_GEN_GT:
        info2 |= W.INFO2_GENERATION_GT
    if exists:
        if exists == C.POLICY_EXISTS_UPDATE_ONLY:
            info3 |= W.INFO3_UPDATE_ONLY
        elif exists == C.POLICY_EXISTS_REPLACE:
            info3 |= W.INFO3_CREATE_OR_REPLACE
        elif exists == C.POLICY_EXISTS_REPLACE_ONLY:
            info3 |= W.INFO3_REPLACE_ONLY
        elif exists == C.POLICY_EXISTS_CREATE_ONLY:
            info2 |= W.INFO2_CREATE_ONLY
    if commit == C.POLICY_COMMIT_LEVEL_MASTER:
        info3 |= W.INFO3_COMMIT_MASTER
    if durable:
        info2 |= W.INFO2_DURABLE_DELETE
    out = _tuple_new(WriteAttrs, (info2, info3, generation, ttl_to_wire(ttl), key_policy, durable))
    if not meta and policy.cacheable:
        policy.attrs = out
    return out


def ttl_to_wire(ttl: int) -> int:
    """A TTL as the unsigned 32-bit request value (-1 never expire, -2 keep current)."""
    if ttl >= 0:
        return ttl
    if ttl == -3:
        return 0
    return ttl & 0xFFFFFFFF
