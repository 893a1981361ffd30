"""Secondary indexes of the embedded server, and their info commands.

An index (integer, string, blob or geo2dsphere; over a bin's value, its list elements, map keys or
map values, optionally inside a nested element chosen by a CDT context) is built over the existing
records when it is created and kept up to date by :class:`~.storage.Namespace` on every put,
delete, expiry, truncate and partition migration. It maps each record to its index keys (distinct
per record) and each key to its records. Queries ask it for ``(bval, digest)`` candidates per
partition: ``bval`` is what the real server sends back (field 15) and takes again to resume: the
integer itself, or the 64-bit wyhash of a string or blob (as the real server computes it).

Info commands answer as CE 8.1.2 does, quirks included (checked byte for byte against it):
``sindex-create``, ``sindex-delete``, ``sindex-list``, ``sindex-stat``, ``sindex-exists`` and the
deprecated ``sindex[/<ns>[/<name>]]``. Index definitions are cluster-wide (on every node of an
embedded cluster), entries are per node.
"""

from __future__ import annotations

import base64
import bisect
import struct
import time
from collections.abc import Iterable
from typing import Any

from .._wire import constants as W
from .._wire.digest import partition_id
from . import cdt, geo
from .errors import ResultError
from .storage import Namespace, StoredRecord

ITYPE_DEFAULT, ITYPE_LIST, ITYPE_MAPKEYS, ITYPE_MAPVALUES = 0, 1, 2, 3
ITYPE_NAMES = ("default", "list", "mapkeys", "mapvalues")
KTYPES = {"numeric": W.PT_INTEGER, "string": W.PT_STRING, "blob": W.PT_BLOB, "geo2dsphere": W.PT_GEOJSON}
KTYPE_NAMES = {v: k for k, v in KTYPES.items()}
#: Prefix byte of strings, blobs and GeoJSON inside Aerospike msgpack.
_MSGPACK_PREFIX = {W.PT_STRING: 3, W.PT_BLOB: 4, W.PT_GEOJSON: 0x17}
#: What ``used_bytes`` of ``sindex-stat`` says (the real server's arena stage size).
USED_BYTES = 16777216
MAX_INDEXES = 256

_M64 = (1 << 64) - 1
_SECRET = (0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3, 0x589965CC75374CC3)
_SEED = 0x29FBB14CC886F ^ _SECRET[0]
_u64 = struct.Struct("<Q").unpack_from
_u32 = struct.Struct("<I").unpack_from


def _mix(a: int, b: int) -> int:
    p = a * b
    return (p & _M64) ^ (p >> 64)


def wyhash64(data: bytes) -> int:
    """The 64-bit hash the real server gives strings and blobs in indexes (wyhash, final version 3)."""
    n = len(data)
    seed = _SEED
    s1, s2, s3 = _SECRET[1], _SECRET[2], _SECRET[3]
    if n <= 16:
        if n >= 4:
            q = (n >> 3) << 2
            a = (_u32(data, 0)[0] << 32) | _u32(data, q)[0]
            b = (_u32(data, n - 4)[0] << 32) | _u32(data, n - 4 - q)[0]
        elif n > 0:
            a, b = (data[0] << 16) | (data[n >> 1] << 8) | data[n - 1], 0
        else:
            a = b = 0
    else:
        i, p = n, 0
        if i > 48:
            see1 = see2 = seed
            while i > 48:
                seed = _mix(_u64(data, p)[0] ^ s1, _u64(data, p + 8)[0] ^ seed)
                see1 = _mix(_u64(data, p + 16)[0] ^ s2, _u64(data, p + 24)[0] ^ see1)
                see2 = _mix(_u64(data, p + 32)[0] ^ s3, _u64(data, p + 40)[0] ^ see2)
                p += 48
                i -= 48
            seed ^= see1 ^ see2
        while i > 16:
            seed = _mix(_u64(data, p)[0] ^ s1, _u64(data, p + 8)[0] ^ seed)
            i -= 16
            p += 16
        a, b = _u64(data, p + i - 16)[0], _u64(data, p + i - 8)[0]
    return _mix(s1 ^ n, _mix(a ^ s1, b ^ seed))


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


# --------------------------------------------------------------------------- definitions


class IndexDef:
    """What an index covers: set (None: every set), bin, key type, collection type, context."""

    __slots__ = ("name", "namespace", "set_name", "bin", "ktype", "itype", "ctx_b64", "ctx")

    def __init__(self, name: str, namespace: str, set_name: str | None, bin_name: str, ktype: int, itype: int,
                 ctx_b64: str | None) -> None:
        self.name: str = name
        self.namespace: str = namespace
        self.set_name: str | None = set_name
        self.bin: str = bin_name
        self.ktype: int = ktype
        self.itype: int = itype
        self.ctx_b64: str | None = ctx_b64
        self.ctx: list[Any] | None = None if ctx_b64 is None else list(cdt.unpack(base64.b64decode(ctx_b64)))

    def key(self) -> tuple[Any, ...]:
        """Identity of the definition (what ``already exists with different definition`` compares)."""
        return self.set_name, self.bin, self.ktype, self.itype, self.ctx_b64

    def list_entry(self, b64: bool) -> str:
        if self.ctx_b64 is None:
            ctx = "null"
        elif b64:
            ctx = self.ctx_b64
        else:
            ctx = format_ctx(self.ctx or [])
        return (f"ns={self.namespace}:indexname={self.name}:set={self.set_name or 'null'}:bin={self.bin}"
                f":type={KTYPE_NAMES[self.ktype]}:indextype={ITYPE_NAMES[self.itype]}:context={ctx}:exp=null:state=RW")


_CTX_NAMES = {0: "index", 1: "rank", 2: "key", 3: "value"}


def _display(v: Any) -> str:
    if type(v) is bytes and v:
        kind = {3: "string", 4: "bytes", 0x17: "geojson"}.get(v[0], "bytes")
        return f"<{kind}#{len(v) - 1}>"
    if isinstance(v, bool) or v is None:
        return str(v).lower() if v is not None else "nil"
    return str(v)


def format_ctx(ctx: list[Any]) -> str:
    """A context as ``sindex-list`` shows it: ``[list_index(1), map_key(<string#1>)]``."""
    parts = []
    for i in range(0, len(ctx) - 1, 2):
        t = ctx[i]
        kind = "list_" if t & 0x10 else "map_" if t & 0x20 else ""
        parts.append(f"{kind}{_CTX_NAMES.get(t & 0x0F, '?')}({_display(ctx[i + 1])})")
    return "[" + ", ".join(parts) + "]"


def check_ctx(data: bytes) -> bool:
    """Whether ``data`` is a msgpack CDT context: a non-empty list of (int type, value) pairs."""
    try:
        ctx = cdt.unpack(data, whole=True)
    except ResultError:
        return False
    if not isinstance(ctx, cdt.CList) or not ctx or len(ctx) % 2:
        return False
    return all(type(ctx[i]) is int and (ctx[i] & 0x30) and (ctx[i] & 0x0F) in _CTX_NAMES
               for i in range(0, len(ctx), 2))


# --------------------------------------------------------------------------- keys of a record


def _scalar_key(v: Any, ktype: int) -> Any:
    """The index key of one msgpack element (None when it is not of the index's type)."""
    if ktype == W.PT_INTEGER:
        return v if type(v) is int else None
    if type(v) is bytes and v and v[0] == _MSGPACK_PREFIX[ktype]:
        return v[1:]
    return None


def _particle_key(ptype: int, value: bytes, ktype: int) -> Any:
    if ptype != ktype:
        return None
    if ktype == W.PT_INTEGER:
        return int.from_bytes(value, "big", signed=True)
    if ktype == W.PT_GEOJSON:
        return bytes(value[3 + 8 * int.from_bytes(value[1:3], "big"):]) if len(value) >= 3 else None
    return bytes(value)


def record_keys(d: IndexDef, rec: StoredRecord) -> tuple[Any, ...]:
    """The distinct index keys of ``rec`` (empty when the index does not cover it)."""
    if d.set_name is not None and rec.set_name != d.set_name:
        return ()
    b = rec.bins.get(d.bin)
    if b is None:
        return ()
    ptype, value = b
    ktype, itype = d.ktype, d.itype
    if d.ctx is None and itype == ITYPE_DEFAULT:
        k = _particle_key(ptype, value, ktype)
        if k is None or ktype == W.PT_GEOJSON and not _valid_geo(k):
            return ()
        return (k,)
    if ptype not in (W.PT_LIST, W.PT_MAP):
        return ()
    try:
        target: Any = cdt.unpack(value)
        ctx = d.ctx or []
        for i in range(0, len(ctx), 2):
            target = cdt._step(target, ctx[i], ctx[i + 1], False)
    except (ResultError, IndexError, TypeError):
        return ()
    if itype == ITYPE_DEFAULT:
        elements: Iterable[Any] = (target,)
    elif itype == ITYPE_LIST:
        elements = target if isinstance(target, cdt.CList) else ()
    elif not isinstance(target, cdt.CMap):
        elements = ()
    elif itype == ITYPE_MAPKEYS:
        elements = (k for k, _ in target.items)
    else:
        elements = (v for _, v in target.items)
    out = []
    for v in elements:
        k = _scalar_key(v, ktype)
        if k is not None and k not in out and (ktype != W.PT_GEOJSON or _valid_geo(k)):
            out.append(k)
    return tuple(out)


_SHAPES: dict[bytes, Any] = {}


def shape_of(text: bytes) -> Any:
    """The parsed GeoJSON of an index key (cached; None when it does not parse)."""
    s = _SHAPES.get(text, _SHAPES)
    if s is _SHAPES:
        try:
            s = geo.parse(text)
        except geo.GeoError:
            s = None
        if len(_SHAPES) > 100_000:
            _SHAPES.clear()
        _SHAPES[text] = s
    return s


def _valid_geo(text: bytes) -> bool:
    return shape_of(text) is not None


def bval_of(ktype: int, key: Any) -> int:
    """The signed 64-bit ``bval`` of an index key."""
    if ktype == W.PT_INTEGER:
        bval: int = key  # an integer index's keys are ints
        return bval
    if ktype == W.PT_GEOJSON:
        return 0
    return _signed(wyhash64(key))


# --------------------------------------------------------------------------- the index


class SecondaryIndex:
    """The entries of one index on one node: record -> keys and key -> records."""

    def __init__(self, d: IndexDef) -> None:
        self.d = d
        self.by_digest: dict[bytes, tuple[Any, ...]] = {}
        self.by_key: dict[Any, set[bytes]] = {}
        self._sorted: list[Any] | None = None  # distinct integer keys, sorted (rebuilt when stale)
        self.n_entries: int = 0
        self.load_time: int = 0

    def build(self, ns: Namespace) -> None:
        start = time.monotonic()
        for part in ns.partitions:
            for rec in part.values():
                self.update(rec)
        self.load_time = int((time.monotonic() - start) * 1000)

    def clear(self) -> None:
        self.by_digest.clear()
        self.by_key.clear()
        self._sorted = None
        self.n_entries = 0

    def update(self, rec: StoredRecord) -> None:
        keys = record_keys(self.d, rec)
        digest = rec.digest
        old = self.by_digest.get(digest)
        if old == keys:
            return
        if old:
            self._drop(digest, old)
        if keys:
            self.by_digest[digest] = keys
            by_key = self.by_key
            for k in keys:
                s = by_key.get(k)
                if s is None:
                    by_key[k] = {digest}
                    self._sorted = None
                else:
                    s.add(digest)
            self.n_entries += len(keys)
        else:
            self.by_digest.pop(digest, None)

    def remove(self, digest: bytes) -> None:
        old = self.by_digest.pop(digest, None)
        if old:
            self._drop(digest, old)

    def _drop(self, digest: bytes, keys: tuple[Any, ...]) -> None:
        by_key = self.by_key
        for k in keys:
            s = by_key.get(k)
            if s is not None:
                s.discard(digest)
                if not s:
                    del by_key[k]
                    self._sorted = None
        self.n_entries -= len(keys)

    def candidates(self, query: Any, resume: dict[int, Any] | None = None) -> dict[int, list[tuple[int, bytes]]]:
        """``{partition id: [(bval, digest), ...]}`` of the records the query range selects (a
        record once, with its smallest bval past its partition's ``resume`` point ``(bval,
        digest)``, as the real server resumes a partition), each list sorted as the real index is."""
        ktype = self.d.ktype
        out: dict[int, list[tuple[int, bytes]]] = {}
        get = out.get
        if self.d.itype == ITYPE_DEFAULT and self.d.ctx is None:  # one key per record: no duplicates
            for key, digests in self._matching_keys(query):
                bval = bval_of(ktype, key)
                for d in digests:
                    pid = partition_id(d)
                    lst = get(pid)
                    if lst is None:
                        out[pid] = [(bval, d)]
                    else:
                        lst.append((bval, d))
        else:
            best: dict[bytes, int] = {}
            for key, digests in self._matching_keys(query):
                bval = bval_of(ktype, key)
                for d in digests:
                    cur = best.get(d)
                    if cur is None or bval < cur:
                        if resume:
                            after = resume.get(partition_id(d))
                            if after is not None and (bval, d) <= after:
                                continue  # (an entry before the resume point: the record's next one counts)
                        best[d] = bval
            for d, bval in best.items():
                out.setdefault(partition_id(d), []).append((bval, d))
        for lst in out.values():
            lst.sort()
        return out

    def _matching_keys(self, query: Any) -> Iterable[tuple[Any, set[bytes]]]:
        by_key = self.by_key
        if query.ktype != self.d.ktype:
            return
        if query.ktype == W.PT_INTEGER:
            lo, hi = query.start, query.end
            if lo == hi:
                s = by_key.get(lo)
                if s:
                    yield lo, s
                return
            keys = self._sorted
            if keys is None:
                keys = self._sorted = sorted(by_key)
            for k in keys[bisect.bisect_left(keys, lo):bisect.bisect_right(keys, hi)]:
                s = by_key.get(k)
                if s:
                    yield k, s
        elif query.ktype == W.PT_GEOJSON:
            for k, s in list(by_key.items()):
                shape = shape_of(k)
                if shape is not None and geo.matches(shape, query.shape):
                    yield k, s
        else:
            s = by_key.get(query.value)
            if s:
                yield query.value, s

    def stats(self, ns: Namespace, clock: Any) -> str:
        self._purge_expired(ns, clock)
        n = self.n_entries
        per_bval = int(n / len(self.by_key) + 0.5) if self.by_key else 0  # rounded half up, as there
        if self.d.itype == ITYPE_DEFAULT:
            per_rec = 1 if n else 0
        else:
            per_rec = int(n / len(self.by_digest) + 0.5) if self.by_digest else 0
        return (f"entries={n};used_bytes={USED_BYTES};entries_per_bval={per_bval};entries_per_rec={per_rec};"
                f"load_pct=100;load_time={self.load_time};stat_gc_recs=0")

    def _purge_expired(self, ns: Namespace, clock: Any) -> None:
        for digest in list(self.by_digest):
            ns.get(digest, clock)  # removes an expired record (and so its entries)


# --------------------------------------------------------------------------- registry


class IndexRegistry:
    """Index definitions of one namespace in slot order (what ``sindex-list`` follows)."""

    def __init__(self) -> None:
        self.slots: list[IndexDef | None] = []

    def by_name(self, name: str) -> IndexDef | None:
        for d in self.slots:
            if d is not None and d.name == name:
                return d
        return None

    def add(self, d: IndexDef) -> None:
        for i, s in enumerate(self.slots):
            if s is None:
                self.slots[i] = d
                return
        self.slots.append(d)

    def remove(self, name: str) -> None:
        for i, s in enumerate(self.slots):
            if s is not None and s.name == name:
                self.slots[i] = None

    def defs(self) -> list[IndexDef]:
        return [d for d in self.slots if d is not None]


def _registry(node: Any, namespace: str) -> IndexRegistry:
    regs: dict[str, IndexRegistry] = node.extensions.setdefault("sindex", {})
    reg = regs.get(namespace)
    if reg is None:
        reg = regs[namespace] = IndexRegistry()
    return reg


def _all_nodes(node: Any) -> list[Any]:
    return list(node.cluster.nodes) if node.cluster is not None else [node]


def find_index(node: Any, ns: Namespace, name: str | None, set_name: str | None, bin_name: str, ktype: int,
               itype: int, ctx: bytes | None) -> SecondaryIndex | None:
    """The index a query names, or the one matching its definition (its set first, then set-less)."""
    if name:
        return ns.indexes.get(name)
    ctx_b64 = None if ctx is None else base64.b64encode(ctx).decode()
    for want_set in ((set_name, None) if set_name else (None,)):
        for d in _registry(node, ns.name).defs():
            if d.key() == (want_set, bin_name, ktype, itype, ctx_b64):
                return ns.indexes.get(d.name)
    return None


# --------------------------------------------------------------------------- info commands


class _Reply(Exception):
    """An info answer decided early (an error)."""


_LIMITS = {"indexname": 64, "set": 64, "bin": 16, "namespace": 32, "ns": 32, "context": 2048, "type": 32,
           "indextype": 32, "indexdata": 64, "exp": 4096}


def _get(params: dict[str, str], name: str) -> str | None:
    """A parameter's value (None when absent); raises the real server's error when empty or too long."""
    v = params.get(name)
    if v is None:
        return None
    if not v:
        raise _Reply(f"ERROR:{20 if name == 'namespace' else 4}:missing '{name}' value")
    if len(v) >= _LIMITS.get(name, 64):
        raise _Reply(f"ERROR:4:'{name}' value too long")
    return v


def _required(params: dict[str, str], name: str) -> str:
    v = _get(params, name)
    if v is None:
        raise _Reply(f"ERROR:{20 if name == 'namespace' else 4}:missing '{name}'")
    return v


def _namespace_param(params: dict[str, str]) -> str | None:
    if "namespace" in params:
        return _get(params, "namespace")
    if "ns" in params:
        v = params["ns"]
        if not v:
            raise _Reply("ERROR:20:missing 'namespace' value")
        return v
    return None


def _required_ns(params: dict[str, str]) -> str:
    v = _namespace_param(params)
    if v is None:
        raise _Reply("ERROR:20:missing 'namespace'")
    return v


def sindex_create(node: Any, params: dict[str, str]) -> str:
    try:
        return _create(node, params)
    except _Reply as r:
        return str(r)


def _create(node: Any, params: dict[str, str]) -> str:
    name = _required(params, "indexname")
    ns_name = _required_ns(params)
    set_name = _get(params, "set")
    ctx_b64 = _get(params, "context")
    if ctx_b64 is not None:
        try:
            raw = base64.b64decode(ctx_b64, validate=True)
        except ValueError:
            return "ERROR:4:'context' invalid base64"
        if not check_ctx(raw):
            return "ERROR:4:'context' invalid cdt context"
        if base64.b64encode(raw).decode() != ctx_b64:
            return "ERROR:4:'context' invalid base64"
    itype_s = _get(params, "indextype")
    itype = ITYPE_DEFAULT
    if itype_s is not None:
        if itype_s.lower() not in ITYPE_NAMES:
            return "ERROR:4:bad 'indextype' - must be one of 'default', 'list', 'mapkeys', 'mapvalues'"
        itype = ITYPE_NAMES.index(itype_s.lower())
    indexdata = _get(params, "indexdata")
    type_s = _get(params, "type")
    if indexdata is None and type_s is None:
        return "ERROR:4:both 'indexdata' and 'type' are missing"
    if indexdata is not None and type_s is not None:
        return "ERROR:4:both 'indexdata' and 'type' are specified"
    if type_s is not None:
        ktype = KTYPES.get(type_s.lower())
        if ktype is None:
            return "ERROR:4:bad 'type' - must be one of 'numeric', 'string', 'blob', 'geo2dsphere'"
        bin_name = _get(params, "bin")
        exp = _get(params, "exp")
        if bin_name is not None and exp is not None:
            return "ERROR:4:both 'bin' and 'exp' are specified"
        if bin_name is None and exp is None:
            return "ERROR:4:both 'bin' and 'exp' are missing"
        if exp is not None:
            return "ERROR:4:expression indexes are not supported by the embedded server"
    else:
        assert indexdata is not None
        bin_name, comma, kt = indexdata.partition(",")
        if not comma:
            return "ERROR:4:'indexdata' missing bin type"
        if not bin_name:
            return "ERROR:4:'indexdata' missing bin name"
        if len(bin_name) >= 16:
            return "ERROR:4:'indexdata' bin name too long"
        ktype = KTYPES.get(kt.lower())
        if ktype is None:
            return ("ERROR:4:bad 'indexdata' bin type - must be one of 'numeric', 'string', 'blob', "
                    "'geo2dsphere'")
    if itype == ITYPE_MAPKEYS and ktype not in (W.PT_INTEGER, W.PT_STRING, W.PT_BLOB):
        return ("ERROR:4:bad 'indexdata' bin type for 'indextype' 'mapkeys' - must be one of 'numeric', "
                "'string', 'blob'")
    assert bin_name is not None
    d = IndexDef(name, ns_name, set_name, bin_name, ktype, itype, ctx_b64)
    reg = _registry(node, ns_name)
    old = reg.by_name(name)
    if old is not None:
        return "ok" if old.key() == d.key() else "ERROR:200:'indexname' already exists with different definition"
    same = next((x for x in reg.defs() if x.key() == d.key()), None)
    if same is not None:  # the same definition under another name: the real server renames it
        for n in _all_nodes(node):
            r = _registry(n, ns_name)
            r.slots[r.slots.index(same)] = d
            ns = n.namespaces.get(ns_name)
            ix = ns.indexes.pop(same.name, None) if ns is not None else None
            if ix is not None:
                ix.d = d
                ns.indexes[name] = ix
        return "ok"
    if len(reg.defs()) >= MAX_INDEXES:
        return "ERROR:206:already at sindex definition limit"
    for n in _all_nodes(node):
        _registry(n, ns_name).add(d)
        ns = n.namespaces.get(ns_name)
        if ns is not None:
            ix = SecondaryIndex(d)
            ix.build(ns)
            ns.indexes[name] = ix
    return "ok"


def sindex_delete(node: Any, params: dict[str, str]) -> str:
    out = ""
    try:
        name = _required(params, "indexname")
    except _Reply as r:
        out = str(r)  # the real server answers on, after this error
        name = None
    try:
        ns_name = _required_ns(params)
    except _Reply as r:
        return str(r)
    if name is None:
        return out + "ok"
    if _registry(node, ns_name).by_name(name) is None:
        return "ok"
    for n in _all_nodes(node):
        _registry(n, ns_name).remove(name)
        ns = n.namespaces.get(ns_name)
        if ns is not None:
            ns.indexes.pop(name, None)
    return "ok"


def _local_ns(node: Any, params: dict[str, str]) -> Namespace:
    ns_name = _required_ns(params)
    ns: Namespace | None = node.namespaces.get(ns_name)
    if ns is None:
        raise _Reply("ERROR:20:namespace not found on node")
    return ns


def _stats(node: Any, ns: Namespace, name: str) -> str | None:
    ix = ns.indexes.get(name)
    return None if ix is None else ix.stats(ns, node.clock)


def sindex_stat(node: Any, params: dict[str, str]) -> str:
    prefix = ""
    try:
        name = _required(params, "indexname")
    except _Reply as r:
        prefix, name = str(r), ""
    try:
        ns = _local_ns(node, params)
    except _Reply as r:
        return str(r)
    s = _stats(node, ns, name)
    return prefix + (s if s is not None else "ERROR:201:no index")


def sindex_exists(node: Any, params: dict[str, str]) -> str:
    prefix = ""
    try:
        name = _required(params, "indexname")
    except _Reply as r:
        prefix, name = str(r), ""
    try:
        ns = _local_ns(node, params)
    except _Reply as r:
        return str(r)
    return prefix + ("true" if name in ns.indexes else "false")


def _list(node: Any, spaces: Iterable[str], b64: bool) -> str:
    out: list[str] = []
    for ns_name in spaces:
        out.extend(d.list_entry(b64) for d in _registry(node, ns_name).defs() if ns_name in node.namespaces)
    return ";".join(out)


def sindex_list(node: Any, params: dict[str, str]) -> str:
    try:
        ns_name = _namespace_param(params)
    except _Reply as r:
        return f"{r};{r}"
    if ns_name is not None and ns_name not in node.namespaces:
        return "ERROR:20:namespace not found on node;ERROR:20:namespace not found on node"
    b64 = params.get("b64")
    if b64 is not None and b64 not in ("true", "false"):
        return "ERROR:4:bad b64"
    return _list(node, [ns_name] if ns_name else list(node.namespaces), b64 == "true")


def sindex_legacy(node: Any, params: dict[str, str]) -> str:
    """``sindex``, ``sindex/<ns>``, ``sindex/<ns>/<name>`` (deprecated but still answered)."""
    raw = next(iter(params), "")
    if not raw:
        return _list(node, list(node.namespaces), False)
    ns_name, slash, name = raw.partition("/")
    ns = node.namespaces.get(ns_name)
    if ns is None:
        return "ns_type=unknown"
    if not slash:
        return _list(node, [ns_name], False)
    s = _stats(node, ns, name)
    return s if s is not None else "ERROR:201:no index"


