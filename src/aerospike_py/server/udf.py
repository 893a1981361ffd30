"""Record UDFs on the embedded server: Lua modules run by ``lupa`` (Lua 5.4) behind Aerospike's
record API, and the ``udf-put``/``udf-list``/``udf-get``/``udf-remove`` info commands.

Lua 5.4 because the real server 8 embeds Lua 5.4 (its integers are 64-bit, ``//`` and bit
operators exist, and error messages read the same), so a module behaves here as it does there.
``lupa`` is an optional dependency (``pip install aerospike-purepy[server]``); without it, UDF
calls answer with the real server's "module not found" failure and registration still works.

What a module sees is built by ``udf_lua.lua``: the safe parts of the standard library (no
``io``, no ``os`` beyond time functions, no ``load``/``dofile``, ``require`` only of registered
modules, no ``debug``), Aerospike's ``list``/``map``/``bytes``/``geojson`` types, ``record.*``,
``aerospike:*`` and the ``trace/debug/info/warn`` loggers. A call that runs longer than its
time limit (the request's timeout, else 1 s) fails with ``UDF Execution Timeout``, as on the real
server; the Lua heap of a node is bounded (``UdfEngine.max_memory``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
import time
from importlib import resources
from typing import Any

from .._wire import constants as W
from .._wire.message import pack_op
from .._wire.values import GeoJSON, KeyOrderedDict, decode_particle, encode_particle, unpack_cdt
from . import errors as E
from .errors import ResultError
from .handler import MESSAGE_HANDLERS, check_filter, record_digest, reply, void_time_for
from .info import INFO_HANDLERS
from .storage import CITRUS_EPOCH, StoredRecord

log = logging.getLogger("aerospike_py.server.udf")

#: The largest module the server accepts (decoded bytes), as on the real server.
MAX_UDF_CONTENT = 1024 * 1024
#: Time limit of a call whose request carries no timeout (the real server's default, 1 s).
DEFAULT_TIME_LIMIT_MS = 1000
_LOG_LEVELS = {1: logging.WARNING, 2: logging.INFO, 3: logging.DEBUG, 4: logging.DEBUG}
_LUA_ERROR = re.compile(r'^\[string "([^"]*)"\]:(\d+): (.*)$', re.S)


class UdfModule:
    """A registered module: file name, source, and the hash ``udf-list`` shows."""

    __slots__ = ("name", "content", "content64", "hash")

    def __init__(self, name: str, content: bytes, content64: str) -> None:
        self.name = name
        self.content = content
        self.content64 = content64
        # The real server hashes its stored JSON object (SHA1, hex): same text, same hash.
        obj = json.dumps({"content64": content64, "type": "LUA", "name": name})
        self.hash = hashlib.sha1(obj.encode()).hexdigest()


# --------------------------------------------------------------------------- Lua engine


def lupa_available() -> bool:
    try:
        import lupa.lua54  # noqa: F401
    except ImportError:
        return False
    return True


def _deny_attributes(obj: Any, name: Any, setting: bool) -> Any:
    raise AttributeError("Python attributes are not reachable from a UDF")


class UdfEngine:
    """One Lua 5.4 state per node: modules (each in its own sandboxed globals) and calls."""

    #: Bound of the Lua heap of one node, bytes (a UDF that needs more fails "not enough memory").
    max_memory = 128 * 1024 * 1024

    def __init__(self, node: Any) -> None:
        from lupa import lua54

        self.node = node
        self.lock = threading.RLock()
        self.rt = lua54.LuaRuntime(encoding=None, unpack_returned_tuples=True, register_eval=False,
                                   register_builtins=False, attribute_filter=_deny_attributes,
                                   max_memory=self.max_memory)
        self.lua_type = lua54.lua_type
        self.deadline = 0.0
        host = self.rt.table_from({b"expired": self._expired, b"log": self._log, b"now_ms": self._now_ms,
                                   b"source": self._source})
        code = resources.files(__package__).joinpath("udf_lua.lua").read_bytes()
        self.api = self.rt.execute(code, host)
        self.kind = self.api[b"kind"]
        self.new_list = self.api[b"new_list"]
        self.new_map = self.api[b"new_map"]
        self.map_set = self.api[b"map_set"]
        self.new_bytes = self.api[b"new_bytes"]
        self.new_geojson = self.api[b"new_geojson"]
        #: module file name -> (hash, env) of loaded modules.
        self.envs: dict[str, tuple[str, Any]] = {}

    # callbacks from Lua ---------------------------------------------------

    def _expired(self) -> bool:
        return time.monotonic() > self.deadline

    def _log(self, level: int, msg: bytes) -> None:
        log.log(_LOG_LEVELS.get(level, logging.DEBUG), "%s", msg.decode(errors="replace"))

    def _now_ms(self) -> int:
        return int(self.node.clock.time() * 1000)

    def _source(self, name: bytes) -> bytes | None:
        m = self.node.udfs.get(name.decode(errors="replace") + ".lua")
        return None if m is None else m.content

    # modules -------------------------------------------------------------

    def validate(self, name: str, content: bytes) -> tuple[str, int, str] | None:
        """Compile and run a module's top level in a fresh environment, as the real server does at
        registration: ``None``, or ``(file, line, message)`` of the error."""
        with self.lock:
            self.deadline = time.monotonic() + DEFAULT_TIME_LIMIT_MS / 1000
            ok, err = self.api[b"load"](content, name.encode(), self.api[b"new_env"]())
        if ok:
            return None
        text = err.decode(errors="replace") if isinstance(err, bytes) else "(Null error message returned by lua)"
        m = _LUA_ERROR.match(text)
        if m:
            return m.group(1), int(m.group(2)), m.group(3)
        return name, 0, text.split("\n", 1)[0][:256]

    def env_of(self, module: UdfModule) -> Any:
        cached = self.envs.get(module.name)
        if cached is not None and cached[0] == module.hash:
            return cached[1]
        env = self.api[b"new_env"]()
        self.deadline = time.monotonic() + DEFAULT_TIME_LIMIT_MS / 1000
        ok, err = self.api[b"load"](module.content, b"@./" + module.name.encode(), env)
        if not ok:
            return None
        self.envs[module.name] = (module.hash, env)
        return env

    # values ----------------------------------------------------------------

    def to_lua(self, v: Any) -> Any:
        t = type(v)
        if t is int or t is float or t is bool or v is None:
            return v
        if t is str:
            return v.encode()
        if t is GeoJSON:
            return self.new_geojson(v.encode())
        if isinstance(v, str):
            return v.encode()
        if isinstance(v, (bytes, bytearray)):
            return self.new_bytes(bytes(v), 4)
        if isinstance(v, (list, tuple)):
            return self.new_list(self.rt.table_from([self.to_lua(x) for x in v]), len(v))
        if isinstance(v, dict):
            m = self.new_map()
            for k, x in v.items():
                self.map_set(m, self.to_lua(k), self.to_lua(x))
            return m
        return None

    def from_lua(self, v: Any) -> Any:
        t = type(v)
        if t is int or t is float or t is bool or v is None:
            return v
        if t is bytes:
            return v.decode(errors="replace")
        if self.lua_type(v) != "table":
            return None
        k = self.kind(v)
        if k == 1:
            items = v[b"_v"]
            return [self.from_lua(items[i]) for i in range(1, v[b"_n"] + 1)]
        if k == 2:
            keys = v[b"_k"]
            return {self.from_lua(keys[nk]): self.from_lua(x) for nk, x in v[b"_m"].items()}
        if k == 3:
            return bytes(v[b"_s"])
        if k == 4:
            return GeoJSON(v[b"_s"].decode(errors="replace"))
        return None

    # calls -----------------------------------------------------------------

    def call(self, env: Any, function: str, rec: Any, args: list[Any], limit_ms: int) -> tuple[bool, Any]:
        self.deadline = time.monotonic() + limit_ms / 1000
        lua_args = self.rt.table_from([self.to_lua(a) for a in args])
        return self.api[b"call"](env, function.encode(), rec, lua_args, len(args))


def engine_of(node: Any) -> UdfEngine | None:
    """The node's engine (made on first use); None when lupa is not installed."""
    eng = node.extensions.get("udf_engine")
    if eng is None:
        if not lupa_available():
            return None
        eng = node.extensions["udf_engine"] = UdfEngine(node)
    return eng


# --------------------------------------------------------------------------- info commands


def _nodes_of(server: Any) -> list[Any]:
    """Every node that must hold a module: the whole embedded cluster, or this node."""
    cluster = server.cluster
    if cluster is None:
        return [server]
    return list(getattr(cluster, "nodes", [server]))


def info_udf_put(server: Any, params: dict[str, str]) -> str:
    name = params.get("filename")
    if not name:
        return "error=invalid_filename"
    dot = name.find(".")
    if dot <= 0 or dot == len(name) - 1:
        return "error=invalid_filename"
    clen = params.get("content-len")
    if clen is None:
        return "error=invalid_content_len"
    udf_type = params.get("udf-type", "LUA")
    if udf_type != "LUA":
        return "error=invalid_udf_type"
    if not clen.isdigit() or int(clen) % 4:
        return "error=invalid_content_len"
    content64 = params.get("content")
    if content64 is None or len(content64) != int(clen):
        return "error=invalid_content"
    if len(content64) // 4 * 3 > MAX_UDF_CONTENT:
        return "error=invalid_udf_content_len,>1M"
    try:
        content = base64.b64decode(content64, validate=True)
    except ValueError:
        return "error=invalid_base64_content"
    if not content:
        return "error=invalid_base64_content"
    eng = engine_of(server)
    if eng is not None:
        err = eng.validate(name, content)
        if err is not None:
            file, line, message = err
            return (f"error=compile_error;file={file};line={line};message="
                    f"{base64.b64encode(message.encode()).decode()}")
    module = UdfModule(name, content, content64)
    for node in _nodes_of(server):
        node.udfs[name] = module
    return "ok"


def info_udf_remove(server: Any, params: dict[str, str]) -> str:
    if "filename" not in params:
        return "error=invalid_filename"
    for node in _nodes_of(server):
        node.udfs.pop(params["filename"], None)
    return "ok"


def info_udf_list(server: Any, params: dict[str, str]) -> str:
    return "".join(f"filename={m.name},hash={m.hash},type=LUA;" for _, m in sorted(server.udfs.items()))


def info_udf_get(server: Any, params: dict[str, str]) -> str:
    name = params.get("filename")
    if not name:
        return "error=invalid_filename"
    m = server.udfs.get(name)
    if m is None:
        return "error=not_found"
    return f"type=LUA;content={m.content64};"


INFO_HANDLERS["udf-put"] = info_udf_put
INFO_HANDLERS["udf-remove"] = info_udf_remove
INFO_HANDLERS["udf-list"] = info_udf_list
INFO_HANDLERS["udf-get"] = info_udf_get


# --------------------------------------------------------------------------- apply


def _value_op(name: bytes, value: Any) -> bytes:
    if value is None:
        return pack_op(W.OP_READ, name, W.PT_NULL, b"")
    try:
        pt, data = encode_particle(value)
    except (TypeError, ValueError, OverflowError):
        return pack_op(W.OP_READ, name, W.PT_NULL, b"")
    return pack_op(W.OP_READ, name, pt, data)


def _failure(code: int, text: Any, gen: int, vt: int) -> bytes:
    if not isinstance(text, str):
        text = "result value type unexpected"
    return reply(code, gen, vt, [_value_op(b"FAILURE", text)])


def _key_value(key: bytes | None) -> Any:
    if not key:
        return None
    pt, data = key[0], key[1:]
    if pt == W.PT_INTEGER and len(data) == 8:
        return int.from_bytes(data, "big", signed=True)
    if pt == W.PT_STRING:
        return data.decode(errors="replace")
    if pt == W.PT_BLOB:
        return bytes(data)
    return None


def apply_udf(server: Any, h: Any, fields: dict[int, bytes]) -> bytes:
    """Run one record UDF call; its reply frame."""
    ns_name = fields.get(W.FIELD_NAMESPACE)
    ns = server.namespaces.get(ns_name.decode() if ns_name is not None else "")
    if ns is None:
        raise ResultError(E.NAMESPACE_NOT_FOUND)
    digest = record_digest(fields)
    pid = (digest[0] | (digest[1] << 8)) & 0xFFF
    if server.cluster is not None:
        owner = server.cluster.serving_node(server, pid, True)
        if owner is not server:
            server, ns = owner, owner.namespaces[ns.name]
    server.count_request(pid)
    clock = server.clock
    rec = ns.get(digest, clock)
    gen, vt = (rec.generation, rec.void_time) if rec is not None else (0, 0)
    if rec is not None and W.FIELD_FILTER_EXP in fields:
        try:
            check_filter(server, fields, rec, ns)
        except ResultError as e:
            e.generation, e.void_time = gen, vt
            raise
    module_name = fields.get(W.FIELD_UDF_PACKAGE_NAME, b"").decode(errors="replace") + ".lua"
    function = fields.get(W.FIELD_UDF_FUNCTION, b"").decode(errors="replace")
    arglist = fields.get(W.FIELD_UDF_ARGLIST)
    try:
        args = unpack_cdt(arglist) if arglist else []
    except Exception:  # noqa: BLE001 - a malformed argument list is a parameter error
        raise ResultError(E.PARAMETER, "bad UDF argument list") from None
    if not isinstance(args, list):
        raise ResultError(E.PARAMETER, "UDF arguments must be a list")
    module = server.udfs.get(module_name)
    eng = engine_of(server) if module is not None else None
    if module is None or eng is None:
        return _failure(E.UDF_ERROR, "UDF: Execution Error 1", gen, vt)
    limit = getattr(server, "udf_time_limit_ms", None) or h.transaction_ttl or DEFAULT_TIME_LIMIT_MS
    with eng.lock:
        env = eng.env_of(module)
        if env is None:
            return _failure(E.UDF_ERROR, "UDF: Execution Error 1", gen, vt)
        bins = eng.rt.table()
        if rec is not None:
            for name, (pt, data) in rec.bins.items():
                bins[name.encode()] = eng.to_lua(decode_particle(pt, data))
        now = clock.citrus_now()
        meta = eng.rt.table_from({
            b"gen": gen, b"ttl": max(vt - now, 0) if vt else 0,
            b"lut": (rec.last_update_ns // 1_000_000 - CITRUS_EPOCH * 1000) if rec is not None else 0,
            b"set": rec.set_name.encode() if rec is not None and rec.set_name else None,
            b"key": eng.to_lua(_key_value(rec.key)) if rec is not None else None,
            b"digest": digest, b"size": rec.size() if rec is not None else 0,
        })
        lua_rec = eng.api[b"new_record"](bins, meta, rec is not None, h.record_ttl)
        ok, value = eng.call(env, function, lua_rec, args, limit)
        if not ok:
            return _failure(E.UDF_ERROR, eng.from_lua(value) if isinstance(value, bytes) else value, gen, vt)
        result = eng.from_lua(value)
        out_bins, updated, _open, ttl, drop_key, failed, _created = eng.api[b"record_state"](lua_rec)
        if failed:
            return reply(failed, gen, vt)
        if not updated:
            return reply(E.OK, gen, vt, [_value_op(b"SUCCESS", result)])
        new_bins = {}
        for name, v in out_bins.items():
            new_bins[name.decode(errors="replace")] = encode_particle(_plain(eng.from_lua(v)))
    return _write(server, ns, digest, rec, new_bins, fields, ttl, drop_key, result)


def _plain(v: Any) -> Any:
    """A map value from Lua is written as an unordered map (as the real server writes it)."""
    if type(v) is KeyOrderedDict:
        return dict(v)
    return v


def _write(server: Any, ns: Any, digest: bytes, rec: StoredRecord | None, bins: dict[str, tuple[int, bytes]],
           fields: dict[int, bytes], ttl: int, drop_key: bool, result: Any) -> bytes:
    clock = server.clock
    exists = rec is not None
    if not bins:
        if not exists:
            return reply(E.KEY_NOT_FOUND)
        ns.delete(digest)
        server.on_write(ns, digest, None)
        return reply(E.OK, 0, 0, [_value_op(b"SUCCESS", result)])
    if exists:
        work = rec.copy()
    else:
        work = StoredRecord(digest, (fields.get(W.FIELD_SET) or b"").decode())
    work.bins = bins
    key = fields.get(W.FIELD_KEY)
    if key is not None:
        work.key = key
    if drop_key:
        work.key = None
    gen, vt = (rec.generation, rec.void_time) if exists else (0, 0)
    if work.size() > ns.max_record_size:
        return reply(E.RECORD_TOO_BIG, gen, vt)
    work.void_time = void_time_for(ttl, ns, clock, vt, exists)
    work.generation = gen % 0xFFFF + 1
    work.last_update_ns = clock.nanos()
    work.packed = None
    ns.put(work)
    server.on_write(ns, digest, work)
    return reply(E.OK, work.generation, work.void_time, [_value_op(b"SUCCESS", result)])


def handle_udf(server: Any, h: Any, fields: dict[int, bytes], offset: int, body: Any) -> list[bytes]:
    """MESSAGE_HANDLERS["udf"]: a record UDF call (single or a batch entry)."""
    try:
        return [apply_udf(server, h, fields)]
    except ResultError as e:
        return [reply(e.code, e.generation, e.void_time)]


MESSAGE_HANDLERS["udf"] = handle_udf


# --------------------------------------------------------------------------- background UDF jobs


def handle_query_udf(server: Any, h: Any, fields: dict[int, bytes], offset: int, body: Any) -> list[bytes]:
    """MESSAGE_HANDLERS["query_udf"]: a query with a UDF. A background UDF job (UDF_OP 2) runs the
    record UDF on every matching record the node holds, as an internal transaction: records are
    updated, never created, and answer nothing; ``query-show`` reports the job. Aggregations
    (stream UDFs) are not supported here (16)."""
    from .._wire.message import MessageHeader
    from . import query as Q

    udf_op = fields.get(W.FIELD_UDF_OP, b"\x00")[:1]
    if udf_op != b"\x02":
        return [reply(E.UNSUPPORTED_FEATURE)]
    ns = server.namespaces.get(fields.get(W.FIELD_NAMESPACE, b"").decode())
    if ns is None:
        return [reply(E.NAMESPACE_NOT_FOUND)]
    try:
        req = Q.parse_request(h, fields, body, [])
        if req.set_name and not Q._set_known(ns, req.set_name):
            return [reply(E.KEY_NOT_FOUND)]
        ix = Q._index_for(server, ns, req)
    except ResultError as e:
        return [reply(e.code)]
    job = Q.Job(req, "background-udf", ix.d.name if ix is not None else "", Q._client_name(server),
                req.trid or Q._next_trid())
    req.pids = None  # background jobs cover every partition the node holds
    owned = Q._owned(server)
    pids = sorted(owned) if owned is not None else list(range(W.N_PARTITIONS))
    wh = MessageHeader(0, W.INFO2_WRITE, 0, 0, 0, 0, h.record_ttl, 0, 0, 0)
    base = {W.FIELD_NAMESPACE: ns.name.encode()}
    for f in (W.FIELD_UDF_PACKAGE_NAME, W.FIELD_UDF_FUNCTION, W.FIELD_UDF_ARGLIST, W.FIELD_FILTER_EXP):
        if f in fields:
            base[f] = fields[f]
    targets = [rec.digest for _pid, _bval, rec in Q._records(server, ns, req, ix, pids)]
    for digest in targets:
        if ns.get(digest, server.clock) is None:
            continue  # internal UDFs never create records
        rf = dict(base)
        rf[W.FIELD_DIGEST] = digest
        try:
            rc = apply_udf(server, wh, rf)[13]
        except ResultError as e:
            rc = e.code
        if rc == E.OK:
            job.succeeded += 1
        elif rc == E.FILTERED_OUT:
            job.filtered_bins += 1
        else:
            job.failed += 1
    job.finish = time.monotonic()
    Q._register(server, job)
    return [Q._FIN]


MESSAGE_HANDLERS["query_udf"] = handle_query_udf
