"""Stream UDF aggregation (``Query.apply(module, function, args)``), as the official clients run it.

Every node gets one query (no partition list: each answers for the partitions it is master of)
carrying the UDF fields with UDF_OP 1. Each runs the module's stream stages up to and including
the first ``reduce`` over each of its partitions and answers the values as messages with a
``SUCCESS`` bin (a ``FAILURE`` bin holds a Lua error: ``UDF: Execution Error 2 : file:line: msg``).
The client then runs the remaining stages (from that ``reduce`` on) over the values of all nodes
in Lua (``lupa``), locally: the result of the call is the values those yield.

The module's source on the client: ``<user_path>/<module>.lua`` (the ``lua: {"user_path": ...}``
client config, as the official client has it), else the module as registered on the server
(fetched with ``udf-get``), so a module registered with ``udf_put`` needs no local copy.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable, Generator
from typing import Any

from .._wire import constants as W
from .._wire import query as Q
from .._wire.message import MSG_HEADER, parse_bins, skip_fields
from .._wire.values import decode_particle
from ..exception import ClientError, UDFError, _error_from_result_code
from .base import MORE, Command, OffLoop
from .query import NodeCommand, Statement
from .udf import check_name, pack_args, udf_get

#: The official client's default ``lua.user_path``.
DEFAULT_USER_PATH = "/usr/local/aerospike/usr-lua"
#: Time limit of the local (client-side) stages, ms.
LOCAL_LIMIT_MS = 3_600_000
UDF_OP_AGGREGATE = 1
_unpack_counts = struct.Struct(">HH").unpack_from
_OP_HEADER = struct.Struct(">IBBBB")
_unpack_op = _OP_HEADER.unpack_from
_unpack_q = struct.Struct(">q").unpack_from
#: The first 37 bytes of a message carrying an integer value (then 8 bytes of value).
_INT_VALUE = MSG_HEADER.pack(22, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1) + _OP_HEADER.pack(19, 1, 1, 0, 7) + b"SUCCESS"

Step = tuple[list[Any], bool, Callable[[list[Any]], Any], float]


class Aggregation:
    """What ``Query.apply`` recorded: module, function, arguments (checked and packed)."""

    __slots__ = ("module", "function", "args", "arglist")

    def __init__(self, module: Any, function: Any, args: Any) -> None:
        check_name("UDF module", module)
        check_name("UDF function", function)
        self.arglist = pack_args(args)
        self.module: str = module
        self.function: str = function
        self.args: list[Any] = list(args or [])


class ClientLua:
    """The client's Lua state for aggregations (one per client, made on first use): modules from
    ``user_path`` (``require`` finds its siblings there), loaded once per source text."""

    def __init__(self, user_path: str) -> None:
        from .._lua import LuaEngine, lupa_available

        if not lupa_available():
            raise ClientError("stream UDF aggregation runs its final stages in Lua on the client: "
                              "install lupa (pip install 'aerospike-purepy[lua]')")
        outer = self

        class _Engine(LuaEngine):
            def source(self, name: str) -> bytes | None:
                return outer.local_source(name)

        self.user_path = user_path
        self.engine = _Engine()
        self.envs: dict[str, tuple[str, Any]] = {}

    def local_source(self, module: str) -> bytes | None:
        """``<user_path>/<module>.lua``, or None."""
        if os.sep in module or (os.altsep and os.altsep in module) or module.startswith("."):
            return None
        try:
            with open(os.path.join(self.user_path, module + ".lua"), "rb") as fh:
                return fh.read()
        except OSError:
            return None

    def env_of(self, module: str, content: bytes) -> Any:
        """The module's environment (its top level run once per source text); UDFError when it
        cannot be loaded (the official client's ``UDF: Execution Error 1``)."""
        digest = hashlib.sha1(content).hexdigest()
        cached = self.envs.get(module)
        if cached is not None and cached[0] == digest:
            return cached[1]
        env, err = self.engine.load(content, f"@./{module}.lua".encode(), LOCAL_LIMIT_MS)
        if env is None:
            raise UDFError(f"UDF: Execution Error 1 : {err}", 100)
        self.envs[module] = (digest, env)
        return env


def client_lua(client: Any) -> ClientLua:
    """The client's :class:`ClientLua` (made on first use, with the ``lua.user_path`` config)."""
    lua = getattr(client, "_lua", None)
    if lua is None:
        cfg = client._config.get("lua") or {}
        lua = client._lua = ClientLua(str(cfg.get("user_path") or DEFAULT_USER_PATH))
    return lua


class _NodeValues:
    """What one node answered: its values, and the first failure (raised at the last message, so
    that the connection is left at a message boundary)."""

    __slots__ = ("values", "failure")

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.failure: Exception | None = None


def _parse_values(cmd: Command, body: Any, node: str) -> Any:
    """The values of one answer frame into ``cmd.extra``; None after the last message."""
    nv: _NodeValues = cmd.extra
    append = nv.values.append
    buf = body if type(body) is bytes else bytes(body)
    off, end = 0, len(buf)
    while off < end:
        if buf[off:off + 37] == _INT_VALUE:  # the common case: an integer value
            append(_unpack_q(buf, off + 37)[0])
            off += 45
            continue
        info3, rc = buf[off + 3], buf[off + 5]
        n_fields, n_ops = _unpack_counts(buf, off + 18)
        off = skip_fields(buf, off + 22, n_fields) if n_fields else off + 22
        if n_ops == 1:  # a value: one op, bin SUCCESS or FAILURE
            size, _, pt, _, nlen = _unpack_op(buf, off)
            vs = off + 8 + nlen
            name = buf[off + 8:vs]
            off += 4 + size
            if name == b"SUCCESS":
                if pt == 1:
                    append(int.from_bytes(buf[vs:off], "big", signed=True))
                elif pt == 3:
                    append(buf[vs:off].decode())
                else:
                    append(decode_particle(pt, buf[vs:off]))
            elif name == b"FAILURE" and nv.failure is None:
                failure = decode_particle(pt, buf[vs:off])
                nv.failure = _error_from_result_code(
                    100, failure if isinstance(failure, str) else repr(failure), node=node)
        elif n_ops:
            _, off = parse_bins(buf, off, n_ops)
        if info3 & W.INFO3_LAST or rc:
            if nv.failure is not None:
                raise nv.failure
            if rc and rc != 2:  # 2: the set does not exist (no values)
                raise _error_from_result_code(rc, f"aggregation on node {node}", node=node)
            return None
    return MORE


def _node_command(stmt: Statement, agg: Aggregation, policy: Any, node: Any, task_id: int,
                  filter_exp: bytes | None = None) -> NodeCommand:
    flt = stmt.filter
    request = Q.pack_query(
        stmt.namespace, stmt.set_name, task_id=task_id, socket_timeout=policy["socket_timeout"],
        total_timeout=policy["total_timeout"], info1=W.INFO1_READ, info2=0, info3=W.INFO3_PARTITION_DONE,
        index_type=flt.index_type if flt else 0, index_range=flt.range if flt else None,
        index_context=flt.context if flt else None, filter_exp=filter_exp,
        udf=(UDF_OP_AGGREGATE, agg.module.encode(), agg.function.encode(), agg.arglist),
    )
    cmd = NodeCommand(None, request, False, _parse_values, policy, _NodeValues())
    cmd.stream = True
    cmd.node = node
    return cmd


def _as_is(results: list[Any]) -> list[Any]:
    return results


def aggregate_steps(cluster_view: Callable[[], Any], lua: ClientLua, stmt: Statement, agg: Aggregation,
                    policy: Any, task_id: int) -> Generator[Step, Any, list[Any]]:
    """An aggregation as steps (see ``BatchMixin._drive``); returns the final values.

    A filter expression in the policy is sent as the official client sends it: the real server
    (CE 8.1.2) refuses it with result 16 (UnsupportedFeature), and so does the embedded one."""
    exp = policy.get("filter_expression")
    filter_exp = None
    if exp is not None:
        from ..exp import _pack_filter

        filter_exp = _pack_filter(exp)
    content = lua.local_source(agg.module)
    if content is None:
        got = yield [udf_get(agg.module + ".lua", 0, policy)], False, _as_is, 0.0
        if isinstance(got[0], BaseException):
            if isinstance(got[0], UDFError):
                raise UDFError("UDF: Execution Error 1", 100) from got[0]
            raise got[0]
        content = got[0].encode()
    eng = lua.engine
    with eng.lock:
        env = lua.env_of(agg.module, content)
        ok, stages, n_stages = eng.stages(env, agg.function, 2, agg.args, LOCAL_LIMIT_MS)
    if not ok:
        raise UDFError(f"UDF: Execution Error 2 : {eng.error_text(stages)}", 100)
    cmds = [_node_command(stmt, agg, policy, node, task_id, filter_exp) for node in cluster_view().node_list]
    results = yield cmds, len(cmds) > 1, _as_is, 0.0
    values: list[Any] = []
    for cmd, r in zip(cmds, results, strict=True):
        if isinstance(r, BaseException):
            raise r
        values.extend(cmd.extra.values)
    if not n_stages:
        return values
    # The final stages over every node's values: a step of its own with no commands, so the async
    # client runs it off the event loop (OffLoop); a long reduce does not hold other coroutines.
    final: list[Any] = yield [], False, OffLoop(lambda _: final_stages(eng, stages, values)), 0.0
    return final


def final_stages(eng: Any, stages: Any, values: list[Any]) -> list[Any]:
    """Run the client-side ``stages`` over ``values`` (the nodes' answers): the values they yield."""
    with eng.lock:
        ok, out = eng.run_stages(stages, eng.rt.table_from([eng.to_lua(v) for v in values]), len(values),
                                 LOCAL_LIMIT_MS)
        if not ok:
            raise UDFError(f"UDF: Execution Error 2 : {eng.error_text(out)}", 100)
        return [eng.from_lua(v) for v in out]
