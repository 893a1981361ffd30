"""The operations shared by :class:`Client` and :class:`AsyncClient`, written once.

Each method validates its arguments, builds a command and hands it to ``self._run``; the sync
client runs it on the spot, the async client returns an awaitable. Results are produced by the
commands themselves, so there is no sync- or async-specific code here.
"""

from __future__ import annotations

import warnings
from typing import Any

from . import _policy as P
from ._client_batch import BatchMixin
from ._commands import info as info_cmds
from ._commands import record
from ._wire import constants as W
from .exception import ClientError, InvalidArgError
from .types import ClientConfig

_KNOWN_CONFIG = frozenset(ClientConfig.__annotations__) | {
    "policies", "tls", "lua", "rack_id", "rack_ids", "rack_aware", "_tls_context", "_tls_name",
}


def _policy_defaults(config: dict[str, Any]) -> dict[str, P.Policy | None]:
    """Client-wide default policies from ``config["policies"]`` (read/write/batch/query/scan/admin)."""
    given = config.get("policies") or {}
    if not isinstance(given, dict):
        raise InvalidArgError("config 'policies' must be a dict")
    kinds = {"read": P.READ, "write": P.WRITE, "batch": P.BATCH, "query": P.QUERY, "scan": P.SCAN,
             "admin": P.ADMIN, "info": P.INFO}
    out: dict[str, P.Policy | None] = {}
    for name, kind in kinds.items():
        out[name] = kind.resolve(given[name]) if given.get(name) else None
    return out


class ClientBase(BatchMixin):
    """Argument checking and command building for every data operation."""

    def __init__(self, config: dict[str, Any]) -> None:
        if not isinstance(config, dict):
            raise TypeError(f"config must be a dict, not {type(config).__name__}")
        unknown = sorted(str(k) for k in config if k not in _KNOWN_CONFIG)
        if unknown:
            # The original API ignores unknown keys silently; we ignore them too, but say so.
            warnings.warn(f"aerospike_py: ignoring unknown config keys {unknown}", stacklevel=3)
        hosts = config.get("hosts")
        if not hosts or not isinstance(hosts, (list, tuple)):
            raise InvalidArgError("config 'hosts' must be a non-empty list of (host, port) tuples")
        cn = config.get("cluster_name")
        if cn is not None and not isinstance(cn, str):
            raise InvalidArgError("config 'cluster_name' must be a str")
        for k in ("timeout", "idle_timeout", "max_conns_per_node", "min_conns_per_node", "tend_interval"):
            v = config.get(k)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise InvalidArgError(f"config {k!r} must be an int >= 0, got {v!r}")
        self._config = dict(config)
        self._defaults = _policy_defaults(config)
        d = self._defaults
        self._read_default = d["read"]
        self._write_default = d["write"]
        self._admin_default = d["admin"]
        #: The resolved policies used when a call passes none.
        self._read_policy = P.READ.resolve(None, self._read_default)
        self._write_policy = P.WRITE.resolve(None, self._write_default)

    # Provided by the facades.
    def _run(self, cmd: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _then(self, value: Any, fn: Any) -> Any:
        """``fn(value)`` for an operation that post-processes what ``_run``/``_run_many`` gave;
        the async client returns an awaitable that applies ``fn`` once ``value`` resolves."""
        return fn(value)

    # ------------------------------------------------------------------ reads

    def get(self, key: Any, policy: dict[str, Any] | None = None) -> Any:
        """Read all bins of a record (:class:`Record`); ``RecordNotFound`` when it does not exist."""
        p = self._read_policy if policy is None else P.READ.resolve(policy, self._read_default)
        return self._run(record.get(key, p))

    def select(self, key: Any, bins: list[str], policy: dict[str, Any] | None = None) -> Any:
        """Read the named bins of a record (:class:`Record`)."""
        p = self._read_policy if policy is None else P.READ.resolve(policy, self._read_default)
        return self._run(record.select(key, bins, p))

    def exists(self, key: Any, policy: dict[str, Any] | None = None) -> Any:
        """:class:`ExistsResult`; ``meta`` is ``None`` when the record does not exist."""
        p = self._read_policy if policy is None else P.READ.resolve(policy, self._read_default)
        return self._run(record.exists(key, p))

    # ------------------------------------------------------------------ writes

    def put(self, key: Any, bins: dict[str, Any], meta: dict[str, Any] | None = None,
            policy: dict[str, Any] | None = None) -> Any:
        """Write bins (a ``None`` value deletes that bin)."""
        p = self._write_policy if policy is None else P.WRITE.resolve(policy, self._write_default)
        return self._run(record.put(key, bins, meta, p))

    def remove(self, key: Any, meta: dict[str, Any] | None = None, policy: dict[str, Any] | None = None) -> Any:
        """Delete a record; ``RecordNotFound`` when it does not exist."""
        p = P.WRITE.resolve(policy, self._write_default)
        return self._run(record.remove(key, meta, p))

    def touch(self, key: Any, val: int = 0, meta: dict[str, Any] | None = None,
              policy: dict[str, Any] | None = None) -> Any:
        """Reset a record's TTL to ``val`` seconds (0: meta/policy TTL) and bump its generation."""
        p = P.WRITE.resolve(policy, self._write_default)
        return self._run(record.touch(key, val, meta, p))

    def append(self, key: Any, bin: str, val: Any, meta: dict[str, Any] | None = None,
               policy: dict[str, Any] | None = None) -> Any:
        """Append a str/bytes to a bin."""
        p = P.WRITE.resolve(policy, self._write_default)
        return self._run(record.single_bin_op(key, W.OP_APPEND, bin, val, meta, p))

    def prepend(self, key: Any, bin: str, val: Any, meta: dict[str, Any] | None = None,
                policy: dict[str, Any] | None = None) -> Any:
        """Prepend a str/bytes to a bin."""
        p = P.WRITE.resolve(policy, self._write_default)
        return self._run(record.single_bin_op(key, W.OP_PREPEND, bin, val, meta, p))

    def increment(self, key: Any, bin: str, offset: Any, meta: dict[str, Any] | None = None,
                  policy: dict[str, Any] | None = None) -> Any:
        """Add an int/float to a bin (created when absent)."""
        p = P.WRITE.resolve(policy, self._write_default)
        return self._run(record.single_bin_op(key, W.OP_INCR, bin, offset, meta, p))

    def remove_bin(self, key: Any, bin_names: list[str], meta: dict[str, Any] | None = None,
                   policy: dict[str, Any] | None = None) -> Any:
        """Delete the named bins."""
        p = P.WRITE.resolve(policy, self._write_default)
        return self._run(record.remove_bin(key, bin_names, meta, p))

    def operate(self, key: Any, ops: list[dict[str, Any]], meta: dict[str, Any] | None = None,
                policy: dict[str, Any] | None = None) -> Any:
        """Apply several operations atomically; bins hold the last result per bin (:class:`Record`)."""
        p = P.WRITE.resolve(policy, self._write_default)
        return self._run(record.operate(key, ops, meta, p))

    def operate_ordered(self, key: Any, ops: list[dict[str, Any]], meta: dict[str, Any] | None = None,
                        policy: dict[str, Any] | None = None) -> Any:
        """Like :meth:`operate`, with one :class:`BinTuple` per result in operation order."""
        p = P.WRITE.resolve(policy, self._write_default)
        return self._run(record.operate(key, ops, meta, p, ordered=True))

    # ------------------------------------------------------------------ info / admin

    def _admin_policy(self, policy: dict[str, Any] | None) -> P.Policy:
        p = P.ADMIN.resolve(policy, self._admin_default)
        t = p["timeout"]
        return P.Policy(p, total_timeout=t, socket_timeout=t, max_retries=0, sleep_between_retries=0,
                        replica=0)

    def info_random_node(self, command: str, policy: dict[str, Any] | None = None) -> Any:
        """Send an info command to one node; return its answer."""
        return self._run(info_cmds.info(command, self._admin_policy(policy)))

    def info_all(self, command: str, policy: dict[str, Any] | None = None) -> Any:
        """Send an info command to every node: a list of :class:`InfoNodeResult`."""
        return self._run_all(info_cmds.info(command, self._admin_policy(policy)))

    def truncate(self, namespace: str, set_name: str | None, nanos: int = 0,
                 policy: dict[str, Any] | None = None) -> Any:
        """Delete every record of a set (or namespace) last updated before ``nanos`` (0: now)."""
        return self._run(info_cmds.truncate(namespace, set_name, nanos, self._admin_policy(policy)))

    def _run_all(self, cmd: Any) -> Any:  # pragma: no cover - abstract
        """Run an info command on every node: list of InfoNodeResult."""
        raise NotImplementedError

    def _run_many(self, cmds: list[Any], parallel: bool = True, combine: Any = None) -> Any:  # pragma: no cover
        """Run several commands (each on ``cmd.node`` when set); results in the same order.

        Sync: a list (in threads when ``parallel``); async: an awaitable of that list. With
        ``combine``, a command's AerospikeError takes its place in the list instead of being
        raised, and the call returns ``combine(results)`` (async: awaitable of it).
        """
        raise NotImplementedError

    def get_node_names(self) -> list[str]:
        """Names of the nodes currently in the cluster (no I/O)."""
        cluster = getattr(self, "_cluster", None)
        return [n.name for n in cluster.node_list] if cluster is not None else []

    def _cluster_view(self) -> Any:
        """The connected cluster (nodes, partition tables), for commands that split by node."""
        cluster = getattr(self, "_cluster", None)
        if cluster is None:
            raise self._not_connected()
        return cluster

    @staticmethod
    def _not_connected() -> ClientError:
        return ClientError("Client is not connected. Call connect() first.")
