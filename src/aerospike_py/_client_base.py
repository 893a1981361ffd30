"""The operations shared by :class:`Client` and :class:`AsyncClient`, written once.

Each method validates its arguments, builds a command and hands it to ``self._run``; the sync
client runs it on the spot, the async client returns an awaitable. Results are produced by the
commands themselves, so there is no sync- or async-specific code here.
"""

from __future__ import annotations

from typing import Any

from . import _policy as P
from ._client_batch import BatchMixin
from ._client_query import QueryMixin
from ._commands import admin as admin_cmds
from ._commands import info as info_cmds
from ._commands import record
from ._commands import udf as udf_cmds
from ._wire import constants as W
from .exception import ClientError, _invalid_arg, _InvalidArgType, _warn_unknown_field
from .types import ClientConfig

_KNOWN_CONFIG = frozenset(ClientConfig.__annotations__) | {
    "policies", "tls", "lua", "rack_id", "rack_ids", "rack_aware", "_tls_context", "_tls_name",
}


def _policy_defaults(config: dict[str, Any]) -> dict[str, P.Policy | None]:
    """Client-wide default policies from ``config["policies"]`` (read/write/batch/query/scan/admin)."""
    given = config.get("policies") or {}
    if not isinstance(given, dict):
        raise _InvalidArgType("config 'policies' must be a dict")
    kinds = {"read": P.READ, "write": P.WRITE, "batch": P.BATCH, "query": P.QUERY, "scan": P.SCAN,
             "admin": P.ADMIN, "info": P.INFO}
    out: dict[str, P.Policy | None] = {}
    for name, kind in kinds.items():
        out[name] = kind.resolve(given[name]) if given.get(name) else None
    return out


class ClientBase(BatchMixin, QueryMixin):
    """Argument checking and command building for every data operation."""

    def __init__(self, config: dict[str, Any]) -> None:
        if not isinstance(config, dict):
            raise _InvalidArgType(f"config must be a dict, not {type(config).__name__}")
        for k in config:
            if k not in _KNOWN_CONFIG:
                # The original ignores unknown keys silently; we ignore them too, but say so.
                _warn_unknown_field("config", k)
        hosts = config.get("hosts")
        if not hosts or not isinstance(hosts, (list, tuple)):
            raise _invalid_arg("config 'hosts' must be a non-empty list of (host, port) tuples", hosts,
                               (list, tuple))
        cn = config.get("cluster_name")
        if cn is not None and not isinstance(cn, str):
            raise _InvalidArgType("config 'cluster_name' must be a str")
        for k in ("timeout", "idle_timeout", "max_conns_per_node", "min_conns_per_node", "tend_interval"):
            v = config.get(k)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise _invalid_arg(f"config {k!r} must be an int >= 0, got {v!r}", v)
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
        """Apply several operations atomically (:class:`Record`); a bin several operations answer
        holds the list of their results in operation order."""
        p = P.WRITE.resolve(policy, self._write_default)
        return self._run(record.operate(key, ops, meta, p))

    def operate_ordered(self, key: Any, ops: list[dict[str, Any]], meta: dict[str, Any] | None = None,
                        policy: dict[str, Any] | None = None) -> Any:
        """Like :meth:`operate`, with one :class:`BinTuple` per result in operation order."""
        p = P.WRITE.resolve(policy, self._write_default)
        return self._run(record.operate(key, ops, meta, p, ordered=True))

    # ------------------------------------------------------------------ UDF

    def apply(self, key: Any, module: str, function: str, args: list[Any] | None = None,
              policy: dict[str, Any] | None = None) -> Any:
        """Call the record UDF ``module.function(rec, *args)`` on the record at ``key``; return its
        value. A failing UDF raises :class:`UDFError` with the server's ``file:line: message``."""
        p = self._write_policy if policy is None else P.WRITE.resolve(policy, self._write_default)
        return self._run(udf_cmds.apply(key, module, function, args, p))

    def udf_put(self, filename: str, udf_type: int = 0, policy: dict[str, Any] | None = None) -> Any:
        """Register the Lua module in file ``filename`` (its base name is the module's file name);
        returns once every node of the cluster lists it."""
        p = self._admin_policy(policy)
        cmd, name = udf_cmds.udf_put(filename, udf_type, p)
        return self._drive(udf_cmds.wait_steps(self._cluster_view, cmd, name, True, p))

    def udf_remove(self, module: str, policy: dict[str, Any] | None = None) -> Any:
        """Remove a registered module (``name`` or ``name.lua``); returns once no node lists it."""
        p = self._admin_policy(policy)
        cmd, name = udf_cmds.udf_remove(module, p)
        return self._drive(udf_cmds.wait_steps(self._cluster_view, cmd, name, False, p))

    def udf_list(self, policy: dict[str, Any] | None = None) -> Any:
        """The registered modules: ``[{"name", "hash", "type", "content"}]`` (``content`` empty)."""
        return self._run(udf_cmds.udf_list(self._admin_policy(policy)))

    def udf_get(self, module: str, language: int = 0, policy: dict[str, Any] | None = None) -> Any:
        """The source text of the registered module file ``module`` (``"name.lua"``, as the official
        client takes it); :class:`UDFError` (``not_found``) when there is none by that file name."""
        return self._run(udf_cmds.udf_get(module, language, self._admin_policy(policy)))

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

    # ------------------------------------------------------------------ security (admin_*)

    def _connect_config(self, username: str | None, password: str | None) -> dict[str, Any]:
        """The config a connection is made with: ``connect(username, password)`` wins."""
        if username is None:
            return self._config
        return {**self._config, "user": username, "password": password}

    def admin_create_user(self, username: str, password: str, roles: list[str],
                          policy: dict[str, Any] | None = None) -> Any:
        """Create a user with a password and roles."""
        return self._run(admin_cmds.create_user(username, password, roles, self._admin_policy(policy)))

    def admin_drop_user(self, username: str, policy: dict[str, Any] | None = None) -> Any:
        """Delete a user."""
        return self._run(admin_cmds.drop_user(username, self._admin_policy(policy)))

    def admin_change_password(self, username: str, password: str, policy: dict[str, Any] | None = None) -> Any:
        """Set a user's password; for the client's own user, a change checked against the old
        password (and later logins use the new one)."""
        p = self._admin_policy(policy)
        cluster = getattr(self, "_cluster", None)
        auth = cluster.auth if cluster is not None else None
        if auth is not None and auth.credential is not None and username == auth.user:
            cmd = admin_cmds.change_password(username, auth.credential, password, p)
            return self._then(self._run(cmd), lambda _: auth.set_password(password))
        return self._run(admin_cmds.set_password(username, password, p))

    def admin_grant_roles(self, username: str, roles: list[str], policy: dict[str, Any] | None = None) -> Any:
        """Add roles to a user."""
        return self._run(admin_cmds.grant_roles(username, roles, self._admin_policy(policy)))

    def admin_revoke_roles(self, username: str, roles: list[str], policy: dict[str, Any] | None = None) -> Any:
        """Remove roles from a user."""
        return self._run(admin_cmds.revoke_roles(username, roles, self._admin_policy(policy)))

    def admin_query_user_info(self, username: str, policy: dict[str, Any] | None = None) -> Any:
        """``{"user", "roles", "conns_in_use"}`` (+ ``read_info``/``write_info`` when the server
        sends them); ``AdminError`` for an unknown user."""
        return self._run(admin_cmds.query_user(username, self._admin_policy(policy)))

    def admin_query_users_info(self, policy: dict[str, Any] | None = None) -> Any:
        """Every user, as :meth:`admin_query_user_info` describes one."""
        return self._run(admin_cmds.query_users(self._admin_policy(policy)))

    def admin_create_role(self, role: str, privileges: list[Any], policy: dict[str, Any] | None = None,
                          whitelist: list[str] | None = None, read_quota: int = 0, write_quota: int = 0) -> Any:
        """Create a role with privileges, an optional allowlist and read/write quotas (records/s)."""
        return self._run(admin_cmds.create_role(role, privileges, whitelist, read_quota, write_quota,
                                                self._admin_policy(policy)))

    def admin_drop_role(self, role: str, policy: dict[str, Any] | None = None) -> Any:
        """Delete a role (users lose it)."""
        return self._run(admin_cmds.drop_role(role, self._admin_policy(policy)))

    def admin_grant_privileges(self, role: str, privileges: list[Any], policy: dict[str, Any] | None = None) -> Any:
        """Add privileges to a role."""
        return self._run(admin_cmds.grant_privileges(role, privileges, self._admin_policy(policy)))

    def admin_revoke_privileges(self, role: str, privileges: list[Any], policy: dict[str, Any] | None = None) -> Any:
        """Remove privileges from a role."""
        return self._run(admin_cmds.revoke_privileges(role, privileges, self._admin_policy(policy)))

    def admin_query_role(self, role: str, policy: dict[str, Any] | None = None) -> Any:
        """``{"name", "privileges": [{"code", "ns", "set"}], "allowlist", "read_quota", "write_quota"}``."""
        return self._run(admin_cmds.query_role(role, self._admin_policy(policy)))

    def admin_query_roles(self, policy: dict[str, Any] | None = None) -> Any:
        """Every role, as :meth:`admin_query_role` describes one."""
        return self._run(admin_cmds.query_roles(self._admin_policy(policy)))

    def admin_set_whitelist(self, role: str, whitelist: list[str], policy: dict[str, Any] | None = None) -> Any:
        """Replace a role's allowlist of client addresses (empty: no restriction)."""
        return self._run(admin_cmds.set_whitelist(role, whitelist, self._admin_policy(policy)))

    def admin_set_quotas(self, role: str, read_quota: int = 0, write_quota: int = 0,
                         policy: dict[str, Any] | None = None) -> Any:
        """Set a role's read and write quotas (records per second; 0: none)."""
        return self._run(admin_cmds.set_quotas(role, read_quota, write_quota, self._admin_policy(policy)))

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

    def stats(self) -> dict[str, Any]:
        """Cluster and pool statistics (no I/O): ``{"cluster_name", "tend_count", "nodes": [...]}``
        with per node ``name``, ``address``, ``active``, ``connections`` (``open``, ``in_use``,
        ``in_pool``, ``created``, ``closed``; sync and async pools together), ``errors``,
        ``timeouts``, ``retries`` and ``queue_waits``. Not connected: no nodes."""
        cluster = getattr(self, "_cluster", None)
        if cluster is None:
            return {"cluster_name": self._config.get("cluster_name"), "tend_count": 0, "nodes": []}
        stats: dict[str, Any] = cluster.stats()
        return stats

    def _cluster_view(self) -> Any:
        """The connected cluster (nodes, partition tables), for commands that split by node."""
        cluster = getattr(self, "_cluster", None)
        if cluster is None:
            raise self._not_connected()
        return cluster

    @staticmethod
    def _not_connected() -> ClientError:
        return ClientError("Client is not connected. Call connect() first.")
