"""UDFs on the embedded server: record UDFs and stream UDF aggregations run in Lua 5.4 (see
:mod:`aerospike_py._lua`, which says what a module sees), and the
``udf-put``/``udf-list``/``udf-get``/``udf-remove`` info commands.

Without ``lupa`` (``pip install aerospike-purepy[server]``), UDF calls answer with the real
server's "module not found" failure and registration still works. A call that runs longer than
its time limit (the request's timeout, else 1 s) fails with ``UDF Execution Timeout``, as on the
real server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
from typing import Any

from .._lua import SCOPE_SERVER, LuaEngine, lupa_available
from .._wire import constants as W
from .._wire.constants import MSG_HEADER_SIZE
from .._wire.digest import partition_id
from .._wire.expiry import CITRUS_EPOCH
from .._wire.message import MSG_HEADER, pack_op
from .._wire.query import pack_last
from .._wire.values import KeyOrderedDict, decode_particle, encode_particle, unpack_cdt
from . import errors as E
from .errors import ResultError
from .handler import check_filter, record_digest, reply, void_time_for
from .storage import StoredRecord

log: logging.Logger = logging.getLogger("aerospike_py.server.udf")

#: The largest module the server accepts (decoded bytes), as on the real server.
MAX_UDF_CONTENT = 1024 * 1024
#: Time limit of a call whose request carries no timeout (the real server's default, 1 s).
DEFAULT_TIME_LIMIT_MS = 1000
_LUA_ERROR = re.compile(r'^\[string "([^"]*)"\]:(\d+): (.*)$', re.S)


class UdfModule:
    """A registered module: file name, source, and the hash ``udf-list`` shows."""

    __slots__ = ("name", "content", "content64", "hash")

    def __init__(self, name: str, content: bytes, content64: str) -> None:
        self.name: str = name
        self.content: bytes = content
        self.content64: str = content64
        # The real server hashes its stored JSON object (SHA1, hex): same text, same hash.
        obj = json.dumps({"content64": content64, "type": "LUA", "name": name})
        self.hash: str = hashlib.sha1(obj.encode()).hexdigest()


# --------------------------------------------------------------------------- Lua engine


class UdfEngine(LuaEngine):
    """The Lua state of one node: its modules, each in its own sandboxed globals."""

    logger = log

    def __init__(self, node: Any) -> None:
        self.node = node
        super().__init__()
        #: module file name -> (hash, env) of loaded modules.
        self.envs: dict[str, tuple[str, Any]] = {}

    def now_ms(self) -> int:
        return int(self.node.clock.time() * 1000)

    def source(self, name: str) -> bytes | None:
        m = self.node.udfs.get(name + ".lua")
        return None if m is None else m.content

    def validate(self, name: str, content: bytes) -> tuple[str, int, str] | None:
        """Compile and run a module's top level in a fresh environment, as the real server does at
        registration: ``None``, or ``(file, line, message)`` of the error."""
        with self.lock:
            env, text = self.load(content, name.encode(), DEFAULT_TIME_LIMIT_MS)
        if env is not None:
            return None
        assert text is not None
        m = _LUA_ERROR.match(text)
        if m:
            return m.group(1), int(m.group(2)), m.group(3)
        return name, 0, text.split("\n", 1)[0][:256]

    def env_of(self, module: UdfModule) -> Any:
        cached = self.envs.get(module.name)
        if cached is not None and cached[0] == module.hash:
            return cached[1]
        env, _ = self.load(module.content, b"@./" + module.name.encode(), DEFAULT_TIME_LIMIT_MS)
        if env is None:
            return None
        self.envs[module.name] = (module.hash, env)
        return env


def engine_of(node: Any) -> UdfEngine | None:
    """The node's engine (made on first use); None when lupa is not installed."""
    eng: UdfEngine | None = node.extensions.get("udf_engine")
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


def _lua_record(eng: UdfEngine, now: int, rec: StoredRecord | None, digest: bytes, ttl: int) -> Any:
    """The Lua record a UDF gets for ``rec`` (None: no record), as of citrus time ``now``."""
    bins = eng.rt.table()
    names = eng.rt.table()  # the bins in storage order (new_record keeps it, as the real server)
    if rec is None:
        meta = eng.rt.table_from({b"gen": 0, b"ttl": 0, b"lut": 0, b"digest": digest, b"size": 0})
        return eng.api[b"new_record"](bins, names, meta, False, ttl)
    for i, (name, (pt, data)) in enumerate(rec.bins.items(), 1):
        bins[name.encode()] = eng.to_lua(decode_particle(pt, data))
        names[i] = name.encode()
    vt = rec.void_time
    meta = eng.rt.table_from({
        b"gen": rec.generation, b"ttl": max(vt - now, 0) if vt else 0,
        b"lut": rec.last_update_ns // 1_000_000 - CITRUS_EPOCH * 1000,
        b"set": rec.set_name.encode() if rec.set_name else None,
        b"key": eng.to_lua(_key_value(rec.key)), b"digest": digest, b"size": rec.size(),
    })
    return eng.api[b"new_record"](bins, names, meta, True, ttl)


#: Write conditions a UDF call may not carry (the real server answers PARAMETER).
_UDF_BAD_INFO2 = W.INFO2_GENERATION | W.INFO2_GENERATION_GT | W.INFO2_CREATE_ONLY
_UDF_BAD_INFO3 = W.INFO3_UPDATE_ONLY | W.INFO3_CREATE_OR_REPLACE | W.INFO3_REPLACE_ONLY


def apply_udf(server: Any, h: Any, fields: dict[int, bytes]) -> bytes:
    """Run one record UDF call; its reply frame."""
    ns_name = fields.get(W.FIELD_NAMESPACE)
    ns = server.namespaces.get(ns_name.decode() if ns_name is not None else "")
    if ns is None:
        raise ResultError(E.NAMESPACE_NOT_FOUND)
    if h.info2 & _UDF_BAD_INFO2 or h.info3 & _UDF_BAD_INFO3:
        raise ResultError(E.PARAMETER, "a UDF takes no generation or exists condition")
    digest = record_digest(fields)
    pid = partition_id(digest)
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
        lua_rec = _lua_record(eng, clock.citrus_now(), rec, digest, h.record_ttl)
        ok, value = eng.call(env, function, lua_rec, args, limit)
        if not ok:
            return _failure(E.UDF_ERROR, eng.from_lua(value) if isinstance(value, bytes) else value, gen, vt)
        result = eng.from_lua(value)
        out_bins, out_names, updated, _open, ttl, drop_key, failed, _created, written = (
            eng.api[b"record_state"](lua_rec))
        if failed:
            return reply(failed, gen, vt)
        if not updated:
            return reply(E.OK, gen, vt, [_value_op(b"SUCCESS", result)])
        new_bins = {}
        old_bins = rec.bins if rec is not None else {}
        for name in out_names.values():  # storage order: kept bins, then new ones as first set
            text = name.decode(errors="replace")
            if text in old_bins and not written[name]:  # a bin the UDF did not set stays as stored
                new_bins[text] = old_bins[text]  # (an HLL stays an HLL, a key-ordered map key-ordered)
            else:
                new_bins[text] = encode_particle(_plain(eng.from_lua(out_bins[name])))
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
        if rec is None:
            return reply(E.KEY_NOT_FOUND)
        ns.delete(digest)
        server.on_write(ns, digest, None)
        # The real server answers a UDF's delete with the next generation and no void time.
        return reply(E.OK, rec.generation % 0xFFFF + 1, 0, [_value_op(b"SUCCESS", result)])
    if rec is not None:
        work = rec.copy()
    else:
        work = StoredRecord(digest, (fields.get(W.FIELD_SET) or b"").decode())
    work.bins = bins
    key = fields.get(W.FIELD_KEY)
    if key is not None:
        work.key = key
    if drop_key:
        work.key = None
    gen, vt = (rec.generation, rec.void_time) if rec is not None else (0, 0)
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



# --------------------------------------------------------------------------- background UDF jobs


def handle_query_udf(server: Any, h: Any, fields: dict[int, bytes], offset: int, body: Any) -> list[bytes]:
    """MESSAGE_HANDLERS["query_udf"]: a query with a UDF: a stream UDF aggregation (UDF_OP 1, see
    :func:`aggregate`) or a background UDF job (UDF_OP 2). A background job runs the record UDF
    on every matching record the node holds, as an internal transaction: records are updated,
    never created, and answer nothing; ``query-show`` reports the job."""
    from .._wire.message import MessageHeader
    from . import query as Q

    udf_op = fields.get(W.FIELD_UDF_OP, b"\x00")[:1]
    if udf_op == b"\x01":
        return aggregate(server, h, fields, body)
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



# --------------------------------------------------------------------------- aggregation

_VALUE_MSG = MSG_HEADER.pack(MSG_HEADER_SIZE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1)


def _agg_error(server: Any, eng: UdfEngine | None, err: Any, code: int) -> list[bytes]:
    """The failure of an aggregation: its FAILURE value, then the end with result 1 (the job is
    abandoned, as the real server does it)."""
    from . import query as Q

    text = f"UDF: Execution Error {code}"
    if err is not None and eng is not None:
        # The real server passes the error value to a string conversion that refuses anything else.
        text += " : " + (eng.error_text(err) if isinstance(err, bytes) else
                         f"bad argument #1 to '?' (string expected, got {eng.lua_type(err) or 'userdata'})")
    msg = _VALUE_MSG + _value_op(b"FAILURE", text)
    return [Q._frame([msg], len(msg)), Q._frame([pack_last(E.SERVER_ERROR)], 22)]


def aggregate(server: Any, h: Any, fields: dict[int, bytes], body: Any) -> list[bytes]:
    """A stream UDF aggregation, as the real server runs it (``as/src/query/query.c``): for each
    partition the node is master of, the module's function builds its stream stages, and the
    server-side ones (up to and including the first reduce) run over the partition's matching
    records (read-only Lua records); every value they yield is a message with a ``SUCCESS`` bin,
    one frame per partition. A Lua error answers one ``FAILURE`` message
    (``UDF: Execution Error 2 : <error>``; ``... 1`` for a module that cannot be loaded) and ends
    the answer with result 1. No filter expression (16) and no short query (4)."""
    from . import query as Q

    ns = server.namespaces.get(fields.get(W.FIELD_NAMESPACE, b"").decode(errors="replace"))
    if ns is None:
        return [reply(E.NAMESPACE_NOT_FOUND)]
    if h.info1 & W.INFO1_SHORT_QUERY:
        return [reply(E.PARAMETER)]
    if W.FIELD_FILTER_EXP in fields:
        return [reply(E.UNSUPPORTED_FEATURE)]
    try:
        req = Q.parse_request(h, fields, body, [])
        if req.set_name and not Q._set_known(ns, req.set_name):
            return [reply(E.KEY_NOT_FOUND)]
        ix = Q._index_for(server, ns, req)
        arglist = fields.get(W.FIELD_UDF_ARGLIST)
        try:
            args = unpack_cdt(arglist) if arglist else []
        except Exception:  # noqa: BLE001 - a malformed argument list is a parameter error
            raise ResultError(E.PARAMETER) from None
        if not isinstance(args, list):
            raise ResultError(E.PARAMETER)
    except ResultError as e:
        return [reply(e.code)]
    module = server.udfs.get(fields.get(W.FIELD_UDF_PACKAGE_NAME, b"").decode(errors="replace") + ".lua")
    function = fields.get(W.FIELD_UDF_FUNCTION, b"").decode(errors="replace")
    job = Q.Job(req, "aggregation", ix.d.name if ix is not None else "", Q._client_name(server),
                req.trid or Q._next_trid())
    req.pids = None  # every partition the node is master of
    owned = Q._owned(server, master_only=True)
    pids = sorted(owned) if owned is not None else list(range(W.N_PARTITIONS))
    limit = getattr(server, "udf_time_limit_ms", None) or h.transaction_ttl or DEFAULT_TIME_LIMIT_MS
    eng = engine_of(server) if module is not None else None
    frames: list[bytes] = []
    groups: dict[int, list[StoredRecord]] = {}
    for pid, _bval, rec in Q._records(server, ns, req, ix, pids):
        groups.setdefault(pid, []).append(rec)
    try:
        if groups and eng is None:
            return frames + _agg_error(server, None, None, 1)
        if eng is None:
            return [Q._FIN]
        with eng.lock:
            env = eng.env_of(module)
            if env is None:
                return _agg_error(server, None, None, 1)
            now = server.clock.citrus_now()
            for recs in groups.values():
                ok, stages, _ = eng.stages(env, function, SCOPE_SERVER, args, limit)
                if not ok:
                    return frames + _agg_error(server, eng, stages, 2)
                values = eng.rt.table_from([_lua_record(eng, now, r, r.digest, 0) for r in recs])
                ok, out = eng.run_stages(stages, values, len(recs), limit)
                if not ok:
                    return frames + _agg_error(server, eng, out, 2)
                job.succeeded += len(recs)
                if out:
                    msgs = [_VALUE_MSG + _value_op(b"SUCCESS", _plain(eng.from_lua(v))) for v in out]
                    frames.append(Q._frame(msgs, sum(map(len, msgs))))
        frames.append(Q._FIN)
        return frames
    finally:
        job.finish = time.monotonic()
        job.net_io_bytes = sum(map(len, frames))
        Q._register(server, job)
