"""List and map (CDT) operations of the embedded server: wire ops 3 (read) and 4 (modify).

Bins stay raw particles (ptype 20 list / 19 map, msgpack). An op decodes the bin into
:class:`CList` / :class:`CMap` (which keep the order flags), works on them in place and encodes
the result back. Strings/blobs stay as msgpack str with Aerospike's type-byte prefix, so values
are compared and stored exactly as received.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Callable
from itertools import chain
from operator import itemgetter
from typing import Any, NamedTuple, NoReturn

import msgpack

from .._wire import cdt as CDT
from .._wire import constants as W
from .._wire.cdt import (
    INVERTED,
    L_ADD_UNIQUE,
    L_INSERT_BOUNDED,
    M_CREATE_ONLY,
    M_UPDATE_ONLY,
    NO_FAIL,
    PARTIAL,
    RT_COUNT,
    RT_EXISTS,
    RT_INDEX,
    RT_KEY,
    RT_KEY_VALUE,
    RT_NONE,
    RT_ORDERED_MAP,
    RT_RANK,
    RT_REV_INDEX,
    RT_REV_RANK,
    RT_UNORDERED_MAP,
    RT_VALUE,
)
from .._wire.message import WireOp
from .context import NO_RESULT, OpContext
from .errors import (
    ELEMENT_EXISTS,
    ELEMENT_NOT_FOUND,
    INCOMPATIBLE_TYPE,
    OP_NOT_APPLICABLE,
    PARAMETER,
    RECORD_TOO_BIG,
    ResultError,
)


class Ext(NamedTuple):
    """A msgpack extension value (msgpack's own ExtType refuses Aerospike's type -1, used by
    wildcard and infinity)."""

    code: int
    data: bytes


class CList(list[Any]):
    """A list with its order flag (0 unordered, 1 ordered)."""

    __slots__ = ("flags", "fresh")

    def __init__(self, items: Any = (), flags: int = 0) -> None:
        super().__init__(items)
        self.flags: int = flags
        #: Made by this op (a missing bin or context level): the op's policy may set its order.
        self.fresh: bool = False


def _fresh_list(flags: int = 0) -> CList:
    lst = CList(flags=flags)
    lst.fresh = True
    return lst


class CMap:
    """A map as ordered ``[key, value]`` pairs with its order flag (0, 1 key-, 3 key-value-ordered)."""

    __slots__ = ("items", "flags")

    def __init__(self, items: Any = (), flags: int = 0) -> None:
        self.items: list[list[Any]] = [list(p) for p in items]
        self.flags: int = flags
        if flags & 1:
            self.sort()

    def sort(self) -> None:
        keys = [kv[0] for kv in self.items]
        if sort_keys(keys) is keys:  # all ints, floats or strings: by the keys themselves
            self.items.sort(key=_first)
        else:
            self.items.sort(key=lambda kv: sort_key(kv[0]))

    def find(self, key: Any) -> int:
        hashed, probe = hash_keys([kv[0] for kv in self.items])
        try:
            return hashed.index(probe(key))
        except ValueError:
            return -1


# --------------------------------------------------------------------------- msgpack


_S = {n: struct.Struct(">" + f) for n, f in (("H", "H"), ("I", "I"), ("Q", "Q"), ("b", "b"), ("h", "h"),
                                               ("i", "i"), ("q", "q"), ("f", "f"), ("d", "d"))}


def unpack(data: bytes, whole: bool = False) -> Any:
    """Decode Aerospike msgpack into CList/CMap/scalars (strings keep their type-byte prefix);
    ``whole``: the value must fill ``data`` exactly.

    msgpack's own decoder does it when it can (C speed: a 100k-element map in milliseconds); what
    it refuses (Aerospike's ext type -1, nesting past 1,024 levels, malformed data) goes through
    :func:`_unpack`, which also names what is wrong."""
    try:
        return _unpackb(data, raw=True, strict_map_key=False, ext_hook=Ext, list_hook=_list_hook,
                        object_pairs_hook=_map_hook)
    except msgpack.ExtraData as e:
        if not whole:
            return e.unpacked  # type: ignore[attr-defined]  # (msgpack's stubs omit it)
    except Exception:  # noqa: BLE001, S110 - decoded (or refused with its reason) below
        pass
    try:
        v, i = _unpack(memoryview(data), 0)
    except (IndexError, struct.error, ValueError, TypeError) as e:
        raise ResultError(PARAMETER, f"bad msgpack: {e}") from None
    if whole and i != len(data):
        raise ResultError(PARAMETER, "bad msgpack: extra data")
    return v


_unpackb = msgpack.unpackb


def _list_hook(items: list[Any]) -> CList:
    out = CList(items)
    if items and _is_flag(items[0]):
        out.flags = out.pop(0).code
    return out


def _map_hook(pairs: list[tuple[Any, Any]]) -> CMap:
    m = CMap()
    if Ext in map(type, map(_first, pairs)):  # (C-level scan: an order flag is rare)
        for k, v in pairs:
            if _is_flag(k):
                m.flags = k.code
            else:
                m.items.append([k, v])
    else:
        m.items = list(map(list, pairs))
    return m


_first = itemgetter(0)


def _num(b: memoryview, i: int, fmt: str, size: int) -> tuple[Any, int]:
    return _S[fmt].unpack_from(b, i)[0], i + size


def _unpack(b: memoryview, i: int) -> tuple[Any, int]:
    """The value at ``i`` and the offset after it. Iterative (an explicit stack of open
    collections), so values nested as deep as a real server stores them decode."""
    stack: list[list[Any]] = []  # open collections: [CList | CMap, items left, pending map key]
    while True:
        v, i, n = _head(b, i)
        if n:  # a non-empty collection: its items come next
            stack.append([v, n, _NO_KEY])
            continue
        while stack:  # ``v`` is complete: put it in its collection, closing those it completes
            top = stack[-1]
            coll = top[0]
            if type(coll) is CList:
                coll.append(v)
            elif top[2] is _NO_KEY:
                top[2] = v
            else:
                if _is_flag(top[2]):
                    coll.flags = top[2].code
                else:
                    coll.items.append([top[2], v])
                top[2] = _NO_KEY
            top[1] -= 1
            if top[1]:
                break
            stack.pop()
            if type(coll) is CList and coll and _is_flag(coll[0]):
                coll.flags = coll.pop(0).code
            v = coll
        else:
            return v, i


_NO_KEY = object()


def _head(b: memoryview, i: int) -> tuple[Any, int, int]:
    """A scalar (``n`` = 0) or an empty collection and the number of values its items hold (``n``)."""
    c = b[i]
    i += 1
    if c <= 0x7F:
        return c, i, 0
    if c >= 0xE0:
        return c - 0x100, i, 0
    if c <= 0x8F:
        return CMap(), i, 2 * (c & 0x0F)
    if c <= 0x9F:
        return CList(), i, c & 0x0F
    if c <= 0xBF:
        n = c & 0x1F
        return bytes(b[i:i + n]), i + n, 0
    if c == 0xC0:
        return None, i, 0
    if c == 0xC2:
        return False, i, 0
    if c == 0xC3:
        return True, i, 0
    if c in (0xC4, 0xD9):
        n = b[i]
        return bytes(b[i + 1:i + 1 + n]), i + 1 + n, 0
    if c in (0xC5, 0xDA):
        n, i = _num(b, i, "H", 2)
        return bytes(b[i:i + n]), i + n, 0
    if c in (0xC6, 0xDB):
        n, i = _num(b, i, "I", 4)
        return bytes(b[i:i + n]), i + n, 0
    if c in (0xC7, 0xC8, 0xC9):
        n, i = (b[i], i + 1) if c == 0xC7 else _num(b, i, "H" if c == 0xC8 else "I", 2 if c == 0xC8 else 4)
        t, i = _num(b, i, "b", 1)
        return Ext(t, bytes(b[i:i + n])), i + n, 0
    if 0xD4 <= c <= 0xD8:
        n = 1 << (c - 0xD4)
        t, i = _num(b, i, "b", 1)
        return Ext(t, bytes(b[i:i + n])), i + n, 0
    if c == 0xCC:
        return b[i], i + 1, 0
    f = _SCALARS.get(c)
    if f is not None:
        v, i = _num(b, i, *f)
        return (float(v) if c == 0xCA else v), i, 0
    if c in (0xDC, 0xDD):
        n, i = _num(b, i, "H" if c == 0xDC else "I", 2 if c == 0xDC else 4)
        if n > len(b) - i:  # each item takes a byte at least: a count the data cannot hold is a lie
            raise ValueError(f"list of {n} items in {len(b) - i} bytes")
        return CList(), i, n
    if c in (0xDE, 0xDF):
        n, i = _num(b, i, "H" if c == 0xDE else "I", 2 if c == 0xDE else 4)
        if 2 * n > len(b) - i:
            raise ValueError(f"map of {n} entries in {len(b) - i} bytes")
        return CMap(), i, 2 * n
    raise ValueError(f"unknown msgpack byte {c:#x}")


_SCALARS = {0xCA: ("f", 4), 0xCB: ("d", 8), 0xCD: ("H", 2), 0xCE: ("I", 4), 0xCF: ("Q", 8),
            0xD0: ("b", 1), 0xD1: ("h", 2), 0xD2: ("i", 4), 0xD3: ("q", 8)}


def _is_flag(v: Any) -> bool:
    return type(v) is Ext and v.code >= 0 and not v.data


_packer = msgpack.Packer(use_bin_type=False, autoreset=True)


def _header(n: int, small: int, b16: bytes, b32: bytes) -> bytes:
    if n < 16:
        return bytes([small | n])
    return b16 + n.to_bytes(2, "big") if n < 0x10000 else b32 + n.to_bytes(4, "big")


def pack(v: Any) -> bytes:
    """Encode CList/CMap/scalars back to Aerospike msgpack (order flags as a leading ext).
    Iterative, as :func:`unpack`: any depth."""
    out: list[bytes] = []
    append = out.append
    stack = [iter((v,))]
    while stack:
        for x in stack[-1]:
            if isinstance(x, list) and not isinstance(x, CList):
                x = CList(x)
            if isinstance(x, CList):
                if len(x) >= _FLAT_MIN and (flat := _flat(x)) is not None:  # msgpack's packer, at once
                    append(flat)
                    continue
                append(_header(len(x) + (1 if x.flags else 0), 0x90, b"\xdc", b"\xdd"))
                if x.flags:
                    append(b"\xc7\x00" + bytes([x.flags]))
                if x:
                    stack.append(iter(x))
                    break
            elif isinstance(x, CMap):
                if len(x.items) >= _FLAT_MIN and (flat := _flat(x)) is not None:
                    append(flat)
                    continue
                append(_header(len(x.items) + (1 if x.flags else 0), 0x80, b"\xde", b"\xdf"))
                if x.flags:
                    append(b"\xc7\x00" + bytes([x.flags]) + b"\xc0")
                if x.items:
                    stack.append(chain.from_iterable(x.items))
                    break
            elif type(x) is Ext:
                n = len(x.data)
                fixed = _FIXEXT.get(n)
                head = bytes([fixed]) if fixed else _header_ext(n)
                append(head + (x.code & 0xFF).to_bytes(1, "big") + x.data)
            else:
                append(_packer.pack(x))
        else:
            stack.pop()
    return b"".join(out)


_FIXEXT = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}
#: Collections this long or longer are first offered to msgpack's packer whole (see :func:`_flat`).
_FLAT_MIN = 16


def _refuse(v: Any) -> Any:
    raise TypeError


def _flat(x: Any) -> bytes | None:
    """``x`` packed by msgpack in one call when it is a list or map without an order flag whose
    items are plain scalars (exact int, float, bytes, bool, None; map keys distinct), else None."""
    if x.flags:
        return None
    if type(x) is CMap:
        d = dict(x.items) if set(map(type, map(_first, x.items))) <= _SCALAR_TYPES else None
        if d is None or len(d) != len(x.items):
            return None
        x = d
    else:
        x = list(x)
    try:
        return _strict_packb(x, use_bin_type=False, strict_types=True, default=_refuse)
    except (TypeError, ValueError, OverflowError):
        return None


_SCALAR_TYPES = frozenset((int, float, bytes, bool, type(None)))
_strict_packb = msgpack.packb


def _header_ext(n: int) -> bytes:
    if n < 0x100:
        return b"\xc7" + bytes([n])
    return b"\xc8" + n.to_bytes(2, "big") if n < 0x10000 else b"\xc9" + n.to_bytes(4, "big")


# --------------------------------------------------------------------------- ordering


def sort_key(v: Any) -> tuple[Any, ...]:
    """Aerospike's order: nil < bool < int < string < list < map < bytes < float < geojson < inf < wildcard."""
    t = type(v)
    if t is int:
        return (3, v)
    if t is bytes:
        p = v[0] if v else 4
        return ((4 if p == 3 else 9 if p == 0x17 else 7), v[1:])
    if v is None:
        return (1,)
    if t is bool:
        return (2, int(v))
    if t is float:
        return (8, v)
    if t is CList or isinstance(v, list):
        return (5, tuple(sort_key(x) for x in v))
    if t is CMap:
        return (6, len(v.items), tuple(sorted((sort_key(k), sort_key(x)) for k, x in v.items)))
    if t is Ext and v.code == -1:
        return (11,) if v.data == b"\x00" else (10,)
    return (0,)


def sort_keys(values: list[Any]) -> list[Any]:
    """``sort_key`` of each value; the values themselves when all are ints, all floats or all
    strings (the same order, without a tuple per value: collections of 100k elements stay fast)."""
    if values:
        types = set(map(type, values))  # (C-level scans only)
        if types == _INT or types == _FLOAT:
            return values
        if types == _BYTES and min(values)[:1] == b"\x03" == max(values)[:1]:  # (all strings)
            return values
    return list(map(sort_key, values))


_INT, _FLOAT, _BYTES = {int}, {float}, {bytes}


def sort_values(lst: list[Any], reverse: bool = False) -> None:
    """Sort ``lst`` in place in Aerospike's order (stable)."""
    if sort_keys(lst) is lst:
        lst.sort(reverse=reverse)
    else:
        lst.sort(key=sort_key, reverse=reverse)


def hash_keys(values: list[Any]) -> tuple[list[Any], Callable[[Any], Any]]:
    """What to compare ``values`` by for Aerospike's equality, and the function that gives a probe
    value's: the values themselves when all are ints, floats or strings (a probe of another kind
    gets its sort key, a tuple, which equals none of them), else their sort keys."""
    keys = sort_keys(values)
    if keys is values and values:
        t = type(values[0])
        if t is bytes:
            return keys, lambda v: v if type(v) is bytes and v[:1] == b"\x03" else sort_key(v)
        return keys, lambda v: v if type(v) is t else sort_key(v)
    return keys, sort_key


def _plain(pattern: Any) -> bool:
    """No wildcard anywhere in ``pattern``: matching it is equality of sort keys."""
    if _is_wildcard(pattern):
        return False
    return all(map(_plain, pattern)) if isinstance(pattern, CList) else True


def _is_wildcard(v: Any) -> bool:
    return type(v) is Ext and v.code == -1 and v.data == b"\x00"


def matches(pattern: Any, v: Any) -> bool:
    """Value equality with wildcard support (a wildcard in a list matches the rest)."""
    if _is_wildcard(pattern):
        return True
    if isinstance(pattern, CList) and isinstance(v, CList):
        for i, p in enumerate(pattern):
            if _is_wildcard(p):
                return True
            if i >= len(v) or not matches(p, v[i]):
                return False
        return len(pattern) == len(v)
    return sort_key(pattern) == sort_key(v)


# --------------------------------------------------------------------------- selection helpers


def _int_arg(args: list[Any], i: int, default: Any = None) -> Any:
    if i >= len(args):
        if default is None:
            raise ResultError(PARAMETER, "missing argument")
        return default
    v = args[i]
    if type(v) is not int:
        raise ResultError(PARAMETER, "integer argument expected")
    return v


def _arg(args: list[Any], i: int) -> Any:
    if i >= len(args):
        raise ResultError(PARAMETER, "missing argument")
    return args[i]


def _norm_index(index: int, n: int) -> int:
    """Index of a single element, or raise OP_NOT_APPLICABLE."""
    i = index + n if index < 0 else index
    if i < 0 or i >= n:
        raise ResultError(OP_NOT_APPLICABLE, "index out of range")
    return i


def _range(index: int, count: int | None, n: int) -> range:
    """Positions selected by (index, count) clamped to [0, n)."""
    if count is not None and count < 0:
        raise ResultError(PARAMETER, "negative count")
    start = index + n if index < 0 else index
    end = n if count is None else start + count
    return range(max(start, 0), max(min(end, n), max(start, 0)))


def _rank_order(values: list[Any]) -> list[int]:
    """Positions sorted by value (stable)."""
    return sorted(range(len(values)), key=sort_keys(values).__getitem__)


def _value_rank_start(values: list[Any], value: Any) -> int:
    k = sort_key(value)
    return sum(1 for v in values if sort_key(v) < k)


class Selection:
    """Selected positions (in the order results are reported) plus whether one element was asked."""

    def __init__(self, positions: list[int], single: bool = False, order: str | None = None) -> None:
        self.positions = positions
        self.single = single
        #: How the real server orders index/rank results of this selection: "irange"/"rrange" (an
        #: index/rank range: its reverse indexes/ranks ascend), "lrrange" (a list's rank range: in
        #: index order, ranks ascending), "kirange" (an unordered map's key interval: as "irange", but
        #: its ranks stay in key order when it takes every entry), "rank" (ranks by rank), "asc" (all
        #: ascending), None (as selected).
        self.order = order


def _select(values: list[Any], code_kind: str, args: list[Any], rt: int, *, first_arg: int = 1, is_map: bool = False) -> Selection:
    """Common selection by index/rank/value/value-list/interval/rel-rank over ``values``."""
    n = len(values)
    a = first_arg
    if code_kind == "index":
        return Selection([_norm_index(_int_arg(args, a), n)], True, order=None if is_map else "lindex")
    if code_kind == "rank":
        rank = _norm_index(_int_arg(args, a), n)
        if not is_map and not getattr(values, "flags", 1) & 1:  # an unordered list: a rank range of one
            return Selection(_heap_rank_range(values, rank, 1), True)  # (equal values: as the heap picks)
        return Selection([_rank_order(values)[rank]], True)
    if code_kind == "index_range":
        count = args[a + 1] if len(args) > a + 1 else None
        return Selection(list(_range(_int_arg(args, a), count, n)), order="irange" if is_map else "lindex")
    if code_kind == "rank_range":
        count = args[a + 1] if len(args) > a + 1 else None
        order = _rank_order(values)
        r = _range(_int_arg(args, a), count, n)
        if not is_map and getattr(values, "flags", 0) & 1:  # an ordered list's rank range is an index range
            return Selection(list(r), order="lindex")
        if not is_map and not getattr(values, "flags", 1) & 1 and len(r):  # of equal values: the heap's
            return Selection(_heap_rank_range(values, r.start, len(r)), order=_heap_order(r.start, len(r), n))
        return Selection([order[i] for i in r], order="rrange" if is_map else _heap_order(r.start, len(r), n))
    if code_kind == "value":
        val = _arg(args, a)
        if _plain(val):
            key = sort_key(val)
            return Selection([i for i, k in enumerate(map(sort_key, values)) if k == key],
                             order="rrange" if is_map else "lrrange")
        return Selection([i for i, v in enumerate(values) if matches(val, v)], order="rrange" if is_map else "lrrange")
    if code_kind == "value_list":
        vals = _arg(args, a)
        if not isinstance(vals, CList):
            raise ResultError(PARAMETER, "value list expected")
        plain = {sort_key(p) for p in vals if _plain(p)}  # (one look-up per value, not one per pair)
        wild = [p for p in vals if not _plain(p)]
        return Selection([i for i, v in enumerate(values)
                          if sort_key(v) in plain or wild and any(matches(p, v) for p in wild)], order="rank")
    if code_kind == "interval":
        lo = sort_key(_arg(args, a))
        hi = sort_key(args[a + 1]) if len(args) > a + 1 else (10,)
        return Selection([i for i, v in enumerate(values) if lo <= sort_key(v) < hi],
                         order="rrange" if is_map else "lrrange")
    if code_kind == "rel_rank":
        start = _value_rank_start(values, _arg(args, a)) + _int_arg(args, a + 1)
        count = args[a + 2] if len(args) > a + 2 else None
        order = _rank_order(values)
        end = n if count is None else start + count
        if count is not None and count < 0:
            raise ResultError(PARAMETER, "negative count")
        first = max(start, 0)
        picked = [order[r] for r in range(first, max(min(end, n), 0))]
        if not is_map and getattr(values, "flags", 0) & 1:  # an ordered list: an index range
            return Selection(sorted(picked), order="lindex")
        if not is_map and not getattr(values, "flags", 1) & 1 and picked:  # of equal values: the heap's
            return Selection(_heap_rank_range(values, first, len(picked)), order=_heap_order(first, len(picked), n))
        return Selection(picked, order="rrange" if is_map else _heap_order(first, len(picked), n))
    raise ResultError(PARAMETER, f"unknown selection {code_kind}")


def _invert(sel: Selection, n: int) -> Selection:
    if sel.single:  # the real server: INVERTED only goes with selections of several elements
        raise ResultError(OP_NOT_APPLICABLE, "inverted single-element selection")
    chosen = set(sel.positions)
    return Selection([i for i in range(n) if i not in chosen], order="asc")


def _index_count(index: int, count: int | None, n: int) -> tuple[int, int]:
    """The real server's ``calc_index_count_multi``: (start, count) clamped to ``n`` elements."""
    if count is not None and count < 0:
        raise ResultError(PARAMETER, "negative count")
    if index >= n:
        return n, 0
    if index < 0:
        index += n
        if index < 0:
            if count is None:
                return 0, n
            return 0, 0 if -index >= count else min(count + index, n)
    return index, n - index if count is None else min(count, n - index)


def _rel_index_count(index: int, count: int | None, rel: int, n: int) -> tuple[int, int]:
    """The real server's ``calc_rel_index_count`` then ``calc_index_count_multi``."""
    index += rel
    if index < 0:
        if count is not None:
            count = max(count + index, 0)
        index = 0
    return _index_count(index, count, n)


def _segments(parts: list[tuple[int, int]], n: int, rev: bool) -> CList:
    """Index/rank results the real server builds range by range: each (start, count) ascends,
    mapped to reverse positions (``n - start - count`` on) for the reverse return types."""
    out: list[int] = []
    for start, count in parts:
        if count > 0:
            out.extend(range(n - start - count, n - start) if rev else range(start, start + count))
    return CList(out)


def _heap_order(start: int, count: int, n: int) -> str:
    """The order of an unordered list's rank range: its values come as the real server's heap
    leaves them (:func:`_heap_rank_range`), largest first from a min-heap (a range nearer the
    bottom: "lrrange0"), smallest first from a max-heap ("lrrange")."""
    return "lrrange0" if start <= n - start - count else "lrrange"


def _heap_rank_range(values: list[Any], start: int, count: int) -> list[int]:
    """Positions of ranks ``start .. start+count``, lowest rank first, as the real server picks
    them among equal values: a binary heap over the positions (min-heap, or max-heap when the
    range is nearer the top), popped to the end of its array (``order_heap_init_build_by_range_temp``)."""
    n = len(values)
    keys = [sort_key(v) for v in values]
    tail = n - start - count
    less = start <= tail
    discard = start if less else tail

    def before(a: int, b: int) -> bool:  # cmp_fn(a, b) == heap.cmp
        return keys[a] < keys[b] if less else keys[a] > keys[b]

    heap = list(range(n))
    filled = n

    def heapify(i: int) -> None:
        while True:
            c1, c2 = 2 * i + 1, 2 * i + 2
            if c1 >= filled:
                return
            child = c1 if c2 >= filled or before(heap[c1], heap[c2]) or keys[heap[c1]] == keys[heap[c2]] else c2
            if not before(heap[child], heap[i]):
                return
            heap[i], heap[child] = heap[child], heap[i]
            i = child

    for i in range(n // 2 - 1, -1, -1):
        heapify(i)
    end = n - 1
    for _ in range(count + discard):
        top = heap[0]
        filled -= 1
        heap[0] = heap[filled]
        heapify(0)
        heap[end] = top
        end -= 1
    out = heap[filled : filled + count]
    return out[::-1] if less else out  # lowest rank first (order_heap_reverse_end)


def _list_plain_positions(lst: CList, kind: str, args: list[Any], rt: int, chosen: set[int]) -> CList:
    """Index/rank results of a (not inverted) multi-element list selection in the real server's
    order (particle_list.c): ranges ascend (also in reverse terms); masks go by index, each mapped
    (reverse indexes descend); an unordered list's ranks of a value list go value by value."""
    n = len(lst)
    rev = rt in (RT_REV_INDEX, RT_REV_RANK)
    is_rank = rt in (RT_RANK, RT_REV_RANK)
    ordered = bool(lst.flags & 1)

    def one(i: int) -> int:
        return n - 1 - i if rev else i

    def mask() -> CList:
        return CList([one(i) for i in sorted(chosen)])

    if kind == "value_list":
        keys = sorted(map(sort_key, lst))
        if not ordered and not is_rank:
            return mask()
        out: list[int] = []
        items = _arg(args, 1)
        last = {sort_key(v): j for j, v in enumerate(items)}
        for j, v in enumerate(items):
            if not ordered and last[sort_key(v)] != j:  # (an unordered list's ranks: each value once,
                continue  # where it last stands: offset_index_find_items)
            lo = bisect.bisect_left(keys, sort_key(v))
            cnt = bisect.bisect_right(keys, sort_key(v)) - lo
            out.extend(_segments([(lo, cnt)], n, rev) if ordered else [one(lo + j) for j in range(cnt)])
        return CList(out)
    if kind in ("index_range", "rank_range"):
        start, count = _index_count(_int_arg(args, 1), args[2] if len(args) > 2 else None, n)
    elif kind == "rel_rank":
        rel = bisect.bisect_left(sorted(map(sort_key, lst)), sort_key(_arg(args, 1)))
        start, count = _rel_index_count(_int_arg(args, 2), args[3] if len(args) > 3 else None, rel, n)
    else:  # value, interval
        start, count = bisect.bisect_left(sorted(map(sort_key, lst)), sort_key(_arg(args, 1))), len(chosen)
    if count == 0:
        return CList()
    if kind == "index_range" or ordered:
        if not is_rank or ordered or count == n:
            return _segments([(0 if is_rank and count == n else start, count)], n, rev)
        ordered_keys = sorted(map(sort_key, lst))
        return CList([one(bisect.bisect_left(ordered_keys, sort_key(lst[i]))) for i in range(start, start + count)])
    return _segments([(start, count)], n, rev) if is_rank else mask()


def _list_inverted_positions(lst: CList, kind: str, args: list[Any], rt: int,
                             chosen: set[int]) -> tuple[CList | None, set[int]]:
    """Index/rank results (None for other return types) of an INVERTED multi-element list
    selection in the real server's order (particle_list.c), and the positions selected before the
    inversion: complements of index ranges come as a head and a tail range; masks ascend by index;
    rank complements come as the rank segments around the selected rank range. Of equal values,
    an unordered list's rank range takes the ones the real server's heap takes."""
    n = len(lst)
    rev = rt in (RT_REV_INDEX, RT_REV_RANK)
    is_rank = rt in (RT_RANK, RT_REV_RANK)
    wanted = rt in (RT_INDEX, RT_REV_INDEX, RT_RANK, RT_REV_RANK)

    def mask() -> CList:
        return CList([(n - 1 - i if rev else i) for i in range(n) if i not in chosen])

    def ranks(idxs: range) -> list[int]:
        ordered = sorted(map(sort_key, lst))
        out = [bisect.bisect_left(ordered, sort_key(lst[i])) for i in idxs]
        return [n - 1 - r for r in out] if rev else out

    if kind == "value_list":
        if not wanted:
            return None, chosen
        vals = _arg(args, 1)
        if not vals:
            return _segments([(0, n)], n, rev), chosen
        if lst.flags & 1 or not is_rank:
            return mask(), chosen
        keys = sorted(map(sort_key, lst))
        parts, prev = [], 0
        for k in sorted({sort_key(v) for v in vals}):
            lo, hi = bisect.bisect_left(keys, k), bisect.bisect_right(keys, k)
            if hi > lo:
                parts.append((prev, lo - prev))
                prev = hi
        parts.append((prev, n - prev))
        return _segments(parts, n, rev), chosen
    if kind in ("index_range", "rank_range"):
        start, count = _index_count(_int_arg(args, 1), args[2] if len(args) > 2 else None, n)
    elif kind == "rel_rank":
        rel = bisect.bisect_left(sorted(map(sort_key, lst)), sort_key(_arg(args, 1)))
        start, count = _rel_index_count(_int_arg(args, 2), args[3] if len(args) > 3 else None, rel, n)
    else:  # value, interval: the rank of the interval's start and how many it holds
        start, count = bisect.bisect_left(sorted(map(sort_key, lst)), sort_key(_arg(args, 1))), len(chosen)
    if kind in ("rank_range", "rel_rank") and not lst.flags & 1:
        chosen = set(_heap_rank_range(lst, start, count))
    if not wanted:
        return None, chosen
    if kind == "index_range" or lst.flags & 1:  # an index range: its complement, head and tail
        if count == 0:
            return _segments([(0, n)], n, rev), chosen
        if start == 0:
            head, tail = (0, 0), (count, n - count)
        elif start + count >= n:
            head, tail = (0, start), (n, 0)
        else:
            head, tail = (0, start), (start + count, n - start - count)
        if is_rank and not lst.flags & 1:
            return CList(ranks(range(head[0], head[0] + head[1])) + ranks(range(tail[0], tail[0] + tail[1]))), chosen
        return _segments([head, tail], n, rev), chosen
    if not is_rank:
        return mask(), chosen
    return _segments([(0, start), (start + count, n - start - count)], n, rev), chosen


def _map_list_positions(m: CMap, keys: list[Any], values: list[Any], kind: str, items: Any, rt: int,
                        chosen: list[int], res: Any) -> Any:
    """Index/rank results of a key or value list selection (not inverted) in the real server's
    order (particle_map.c, ``res`` when another rule applies): item by item in the list's order.
    A key-ordered map's key list answers each item, repeats included; an unordered map's answers
    a repeated key once, where its last repeat stands (offset_index_find_items). A value list
    answers ranks so of a map of two or more entries (each rank of a value's run of equal values)
    and indexes by mask (in storage order), and 0 for every item found in a map of one entry (its
    order index is valid there)."""
    if not isinstance(items, list) or not all(map(_plain, items)):
        return res
    n = len(keys)
    rev = rt in (RT_REV_INDEX, RT_REV_RANK)
    wanted = [sort_key(v) for v in items]
    last = {k: j for j, k in enumerate(wanted)}
    if kind == "key_list":
        where = {sort_key(k): i for i, k in enumerate(keys)}
        found = [where[k] for j, k in enumerate(wanted) if k in where and (m.flags & 1 or last[k] == j)]
        return CList([n - 1 - i if rev else i for i in found])
    if n > 1 and rt in (RT_INDEX, RT_REV_INDEX):
        where = {sort_key(k): i for i, k in enumerate(keys)}
        picked = set(chosen)
        idx = [where[sort_key(kv[0])] for kv in m.items]
        return CList([n - 1 - i if rev else i for i in idx if i in picked])
    space = sorted(map(sort_key, values))
    out: list[int] = []
    for j, k in enumerate(wanted):
        if n > 1 and last[k] != j:
            continue
        lo = bisect.bisect_left(space, k)
        hi = bisect.bisect_right(space, k)
        out.extend((n - 1 - r if rev else r) if n > 1 else 0 for r in range(lo, hi))
    return CList(out)


def _map_inverted_positions(m: CMap, keys: list[Any], values: list[Any], kind: str, args: list[Any], rt: int,
                            chosen: set[int]) -> tuple[CList, set[int]]:
    """Index/rank results of an INVERTED multi-element map selection in the real server's order
    (particle_map.c), and the key indexes selected before the inversion. Masks go in storage
    order (an unordered map's insertion order), ranges as head/tail segments or ranks in order.
    (A map read from storage has no value order index there: the paths without one apply.)"""
    n = len(keys)
    rev = rt in (RT_REV_INDEX, RT_REV_RANK)
    is_rank = rt in (RT_RANK, RT_REV_RANK)
    kord = bool(m.flags & 1)
    where = {sort_key(k): i for i, k in enumerate(keys)}
    storage = [where[sort_key(kv[0])] for kv in m.items]
    ranks = _ranks(values)
    every = _segments([(0, n)], n, rev)

    def out(kis: Any) -> CList:
        return CList([(n - 1 - (ranks[k] if is_rank else k)) if rev else (ranks[k] if is_rank else k) for k in kis])

    def by_mask(picked: set[int]) -> CList:
        return out(k for k in storage if k not in picked)

    def around(found: list[tuple[int, int]]) -> CList:  # segments around (start, count) ranges
        parts, prev = [], 0
        for lo, cnt in found:
            if cnt:
                parts.append((prev, lo - prev))
                prev = lo + cnt
        parts.append((prev, n - prev))
        return _segments(parts, n, rev)

    def in_rank_order(start: int, count: int) -> list[int]:  # (equal values: by key, as there)
        return _rank_order(values)[start : start + count]

    if kind in ("value_list", "key_list"):
        items = _arg(args, 1)
        if not items:
            return every, chosen
        if kind == "key_list" and kord or not is_rank and kind == "value_list":
            return by_mask(chosen), chosen
        space = sorted(map(sort_key, values if kind == "value_list" else keys))
        found = [(bisect.bisect_left(space, k), bisect.bisect_right(space, k) - bisect.bisect_left(space, k))
                 for k in sorted({sort_key(v) for v in items})]
        return around(found), chosen
    if kind in ("value", "interval"):
        rank = bisect.bisect_left(sorted(map(sort_key, values)), sort_key(_arg(args, 1)))
        count = len(chosen)
        if not count:
            return every, chosen
        return (around([(rank, count)]) if is_rank else by_mask(chosen)), chosen
    if kind in ("rank_range", "rel_rank"):
        if kind == "rank_range":
            start, count = _index_count(_int_arg(args, 1), args[2] if len(args) > 2 else None, n)
        else:
            rel = bisect.bisect_left(sorted(map(sort_key, values)), sort_key(_arg(args, 1)))
            start, count = _rel_index_count(_int_arg(args, 2), args[3] if len(args) > 3 else None, rel, n)
        chosen = set(in_rank_order(start, count))
        if count == 0:
            head: tuple[int, int] | None = (0, n)
        elif start == 0:
            head = (count, n - count)
        elif start + count >= n:
            head = (0, start)
        else:
            head = None
        if head is not None:  # reduced to a plain rank range
            return (_segments([head], n, rev) if is_rank else out(in_rank_order(*head))), chosen
        return (around([(start, count)]) if is_rank else by_mask(chosen)), chosen
    # index_range, key_rel, key_interval: ranges of key indexes
    if kind == "index_range":
        start, count = _index_count(_int_arg(args, 1), args[2] if len(args) > 2 else None, n)
    elif kind == "key_rel":
        rel = bisect.bisect_left([sort_key(k) for k in keys], sort_key(_arg(args, 1)))
        start, count = _rel_index_count(_int_arg(args, 2), args[3] if len(args) > 3 else None, rel, n)
    else:
        start, count = bisect.bisect_left([sort_key(k) for k in keys], sort_key(_arg(args, 1))), len(chosen)
        if not kord:  # (the segments around it even when it is empty: split where it begins)
            return (by_mask(chosen) if is_rank else
                    _segments([(0, start), (start + count, n - start - count)], n, rev)), chosen
    chosen = set(range(start, start + count))
    if count == 0:
        return every, chosen
    if start == 0:
        return (out(range(count, n)) if is_rank else _segments([(count, n - count)], n, rev)), chosen
    if start + count >= n:
        return (out(range(start)) if is_rank else _segments([(0, start)], n, rev)), chosen
    if not is_rank:
        return around([(start, count)]), chosen
    if kord:
        return out([*range(start), *range(start + count, n)]), chosen
    return by_mask(chosen), chosen


def _ranks(values: list[Any]) -> list[int]:
    order = _rank_order(values)
    ranks = [0] * len(values)
    for r, i in enumerate(order):
        ranks[i] = r
    return ranks


def _result(values: list[Any], sel: Selection, rt: int, keys: list[Any] | None = None, map_flags: int = 0) -> Any:
    """Build the result of a selection for return type ``rt`` (without the INVERTED bit)."""
    n = len(values)
    pos = sel.positions
    single = sel.single
    if rt == RT_NONE:
        return None
    if rt == RT_COUNT:
        return len(pos)
    if rt == RT_EXISTS:
        return bool(pos)
    if sel.order == "lrrange0":
        # A list's rank range nearer the bottom: values come largest first (the real server's min-heap)
        if rt == RT_VALUE:
            pos = pos[::-1]
        sel = Selection(pos, sel.single, "lrrange")
    if sel.order == "lrrange" and rt != RT_VALUE:  # a list's rank range reports in index order
        pos = sorted(pos)
    if rt in (RT_INDEX, RT_REV_INDEX):
        out = [(i if rt == RT_INDEX else n - 1 - i) for i in pos]
    elif rt in (RT_RANK, RT_REV_RANK):
        ranks: dict[int, int] | list[int]
        if sel.order == "lindex" and getattr(values, "flags", 0) & 1:  # an ordered list: rank is index
            ranks = list(range(n))
        elif sel.order == "lindex":  # a list element found by index: ties share their lowest rank
            ordered = sorted(map(sort_key, values))
            ranks = {i: bisect.bisect_left(ordered, sort_key(values[i])) for i in pos}
        else:
            ranks = _ranks(values)
        out = [(ranks[i] if rt == RT_RANK else n - 1 - ranks[i]) for i in pos]
    elif rt == RT_VALUE:
        out = [values[i] for i in pos]
    elif rt == RT_KEY and keys is not None:
        out = [keys[i] for i in pos]
    elif rt in (RT_KEY_VALUE, RT_ORDERED_MAP, RT_UNORDERED_MAP) and keys is not None:
        flags = {RT_KEY_VALUE: 8, RT_ORDERED_MAP: 1, RT_UNORDERED_MAP: 0}[rt]
        m = CMap(flags=0)
        m.items = [[keys[i], values[i]] for i in pos]
        if flags == 1:
            m.sort()
        m.flags = flags
        return m
    else:
        raise ResultError(PARAMETER, f"unsupported return type {rt}")
    if single:
        if not out:  # not found: -1 for index and rank types, as the real server
            return -1 if rt in (RT_INDEX, RT_REV_INDEX, RT_RANK, RT_REV_RANK) else None
        return out[0]
    if sel.order is not None and len(pos) == n and rt in (RT_INDEX, RT_REV_INDEX, RT_RANK, RT_REV_RANK) and not (
            sel.order == "rrange" and rt in (RT_INDEX, RT_REV_INDEX)) and not (  # (a map's rank order stays)
            sel.order == "kirange" and rt in (RT_RANK, RT_REV_RANK)):
        return CList(range(n))  # a range (or an inversion) taking every element: 0..n-1, as the real server
    if sel.order is not None and rt in (RT_INDEX, RT_REV_INDEX, RT_RANK, RT_REV_RANK):
        if sel.order == "asc" or (sel.order == "rank" and rt in (RT_RANK, RT_REV_RANK)) or (
                sel.order in ("irange", "kirange", "lindex") and rt == RT_REV_INDEX) or (sel.order == "rrange" and rt in (RT_RANK, RT_REV_RANK)) or (
                sel.order == "lrrange" and rt in (RT_RANK, RT_REV_RANK)):
            out.sort(reverse=sel.order == "rank" and rt == RT_REV_RANK)
    return CList(out)


def _split_rt(rt: Any) -> tuple[int, bool]:
    if type(rt) is not int or rt < 0:
        raise ResultError(PARAMETER, "bad return type")
    return rt & ~INVERTED, bool(rt & INVERTED)


# --------------------------------------------------------------------------- lists

#: The selecting list ops (get_by_* and remove_by_*): what they select by.
_LIST_SELECT = {
    CDT.L_GET_BY_INDEX: "index", CDT.L_GET_BY_RANK: "rank", CDT.L_GET_BY_VALUE: "value",
    CDT.L_GET_BY_VALUE_LIST: "value_list", CDT.L_GET_BY_INDEX_RANGE: "index_range",
    CDT.L_GET_BY_VALUE_INTERVAL: "interval", CDT.L_GET_BY_RANK_RANGE: "rank_range",
    CDT.L_GET_BY_VALUE_REL_RANK_RANGE: "rel_rank",
    CDT.L_REMOVE_BY_INDEX: "index", CDT.L_REMOVE_BY_RANK: "rank", CDT.L_REMOVE_BY_VALUE: "value",
    CDT.L_REMOVE_BY_VALUE_LIST: "value_list", CDT.L_REMOVE_BY_INDEX_RANGE: "index_range",
    CDT.L_REMOVE_BY_VALUE_INTERVAL: "interval", CDT.L_REMOVE_BY_RANK_RANGE: "rank_range",
    CDT.L_REMOVE_BY_VALUE_REL_RANK_RANGE: "rel_rank",
}
#: Ops that create a missing bin (or context level).
_LIST_CREATES = {CDT.L_SET_TYPE, CDT.L_APPEND, CDT.L_APPEND_ITEMS, CDT.L_INSERT, CDT.L_INSERT_ITEMS, CDT.L_SET,
                 CDT.L_INCREMENT}
_MAP_CREATES = {CDT.M_SET_TYPE, CDT.M_ADD, CDT.M_ADD_ITEMS, CDT.M_PUT, CDT.M_PUT_ITEMS, CDT.M_REPLACE,
                CDT.M_REPLACE_ITEMS, CDT.M_INCREMENT, CDT.M_DECREMENT}


#: More nils than this cannot fit in a record of the default max-record-size (1 MiB; one byte each).
MAX_PAD = 1024 * 1024


def _pad(lst: list[Any], count: int) -> None:
    """Append ``count`` nils, after checking that they could fit in a record at all."""
    if count > MAX_PAD:
        raise ResultError(RECORD_TOO_BIG, f"{count} nils of padding")
    lst.extend([None] * count)


def _has_wildcard(v: Any) -> bool:
    if _is_wildcard(v):
        return True
    return isinstance(v, list) and any(_has_wildcard(x) for x in v)


def _unique_items(lst: CList, items: list[Any], flags: int, single: bool) -> list[Any]:
    """The items ADD_UNIQUE lets in, by particle_list.c's rules (NO_FAIL refusals: a no-op).

    An ordered list first refuses items that repeat one another (OP_NOT_APPLICABLE; with NO_FAIL
    and PARTIAL each goes in once), then items already there (ELEMENT_EXISTS; PARTIAL skips them).
    An unordered list looks at the items one by one: one already there is skipped with PARTIAL
    (else ELEMENT_EXISTS), one repeating an earlier item is refused as above; when PARTIAL skipped
    every item, ELEMENT_EXISTS. A single item (append, insert) already there is ELEMENT_EXISTS."""
    n = len(lst)
    partial = flags & NO_FAIL and flags & PARTIAL  # (PARTIAL only counts with NO_FAIL)
    wild = any(_has_wildcard(v) for v in items)
    keys = None if wild else [sort_key(v) for v in items]
    have = None if wild else {sort_key(x) for x in lst}

    def present(i: int) -> bool:
        return keys[i] in have if keys is not None and have is not None else any(matches(items[i], x) for x in lst)

    def repeats(i: int) -> bool:
        return (keys[i] in keys[:i]) if keys is not None else any(matches(items[i], w) for w in items[:i])

    def refuse(code: int, why: str) -> NoReturn:
        if flags & NO_FAIL:
            raise _SoftFail(n)
        raise ResultError(code, why)

    if single:
        if present(0):
            refuse(ELEMENT_EXISTS, "unique item exists")
        return items
    if lst.flags & 1:
        firsts = [i for i in range(len(items)) if not repeats(i)]
        if len(firsts) != len(items):
            if not flags & NO_FAIL:
                raise ResultError(OP_NOT_APPLICABLE, "unique items that repeat")
            if not partial:
                raise _SoftFail(n)
        keep = []
        for i in firsts:
            if present(i):
                if not partial:
                    refuse(ELEMENT_EXISTS, "unique item exists")
                continue
            keep.append(items[i])
        return keep
    keep, skipped = [], 0
    for i in range(len(items)):
        if present(i):
            if not partial:
                refuse(ELEMENT_EXISTS, "unique item exists")
            skipped += 1
        elif repeats(i):
            if not flags & NO_FAIL:
                raise ResultError(OP_NOT_APPLICABLE, "unique items that repeat")
            if not partial:
                raise _SoftFail(n)
            skipped += 1
        else:
            keep.append(items[i])
    if items and skipped == len(items):
        refuse(ELEMENT_EXISTS, "every unique item exists")
    return keep


def _list_add_items(lst: CList, items: list[Any], flags: int, index: int | None, single: bool = False) -> int:
    """Append (index None) or insert ``items`` honouring ADD_UNIQUE / NO_FAIL / PARTIAL; return new size."""
    n = len(lst)
    if items and index is not None and not lst.flags & 1:  # (an insert checks its index first)
        if index < -n or index > 0x7FFFFFFF:
            raise ResultError(OP_NOT_APPLICABLE, "index out of range")
        if flags & L_INSERT_BOUNDED and (index + n if index < 0 else index) > n:
            if flags & NO_FAIL:
                raise _SoftFail(n)
            raise ResultError(OP_NOT_APPLICABLE, "index out of bounds")
    if flags & L_ADD_UNIQUE and items:
        items = _unique_items(lst, items, flags, single)
    if not items:  # nothing to add: no index checks, no padding (an ordered list still refuses an index)
        if lst.flags & 1 and index is not None and not lst.fresh:
            raise ResultError(OP_NOT_APPLICABLE, "insert into an ordered list")
        return len(lst)
    if lst.flags & 1:
        if index is not None:
            raise ResultError(OP_NOT_APPLICABLE, "insert into an ordered list")
        # Each item after the equal ones already there, equal items in their given order: a
        # stable sort of the sorted list followed by the items (timsort merges the two runs).
        lst.extend(items)
        sort_values(lst)
        return len(lst)
    if index is None:
        lst.extend(items)
        return len(lst)
    n = len(lst)
    if index < 0:
        if index + n < 0:
            raise ResultError(OP_NOT_APPLICABLE, "index out of range")
        index += n
    if index > n:
        if flags & L_INSERT_BOUNDED:
            if flags & NO_FAIL:
                raise _SoftFail(n)
            raise ResultError(OP_NOT_APPLICABLE, "index out of bounds")
        _pad(lst, index - n)
    lst[index:index] = items
    return len(lst)


def _resort(lst: CList) -> None:
    if lst.flags & 1:
        sort_values(lst)


def _exists_inverted(kind: str, n: int, picked: set[int], ordered: bool, is_list: bool) -> bool:
    """EXISTS with INVERTED as a real 8.1 server answers it (key and value lists aside).

    Where the server keeps the selection and inverts its answer (cdt.c
    result_data_set_index_rank_count), it answers ``count == 0``: whether the selection *before*
    the inversion is empty. Where it turns an inverted range touching an end into the plain range
    of the rest, or goes by a mask, it answers whether anything is left. ``picked`` holds the
    selected positions in the order of the selection (indexes for index ranges, ranks for rank
    ranges and values)."""
    cnt = len(picked)
    if n == 0:  # (not found, except where the count is looked at all the same)
        return (not ordered) and (kind in ("value", "interval") if is_list else kind == "key_interval")
    left, none = n - cnt > 0, cnt == 0
    if is_list:
        return left if ordered or kind == "index_range" else none
    if kind in ("value", "interval"):
        return none
    if kind == "key_interval" or kind in ("index_range", "key_rel") and ordered:
        return left if ordered else none
    return left if cnt == 0 or 0 in picked or n - 1 in picked else none


def _list_select(lst: CList, code: int, args: list[Any]) -> Any:
    """get_by_* / remove_by_*: the selected elements' result (removed for a remove_by_*)."""
    rt, inverted = _split_rt(_arg(args, 0))
    kind = _LIST_SELECT[code]
    sel = _select(lst, kind, args, rt)
    selected = list(sel.positions)
    if inverted:
        if sel.single:
            _invert(sel, len(lst))  # (not applicable)
        res, chosen = _list_inverted_positions(lst, kind, args, rt, set(sel.positions))
        sel = _invert(Selection(sorted(chosen)), len(lst))
        if res is not None:
            if code >= 32:
                lst[:] = [v for i, v in enumerate(lst) if i in chosen]
            return res
    elif not sel.single and rt in (RT_INDEX, RT_REV_INDEX, RT_RANK, RT_REV_RANK):
        chosen = set(sel.positions)
        if kind in ("rank_range", "rel_rank") and not lst.flags & 1:  # ties: as the real heap picks
            _, chosen = _list_inverted_positions(lst, kind, args, RT_NONE, chosen)
        res = _list_plain_positions(lst, kind, args, rt, chosen)
        if code >= 32:
            lst[:] = [v for i, v in enumerate(lst) if i not in chosen]
        return res
    answer: Any = _result(lst, sel, rt) if rt not in (RT_KEY, RT_KEY_VALUE) else _bad_rt(rt)
    if inverted and rt == RT_EXISTS and kind not in ("value_list", "index", "rank"):
        answer = _exists_inverted(kind, len(lst), set(selected), bool(lst.flags & 1), True)
    if not inverted and kind == "rank" and rt in (RT_RANK, RT_REV_RANK) and sel.positions:
        rank = _norm_index(_int_arg(args, 1), len(lst))  # (the rank asked: whichever equal value the heap took)
        answer = rank if rt == RT_RANK else len(lst) - 1 - rank
    if not inverted and rt == RT_VALUE and kind == "value_list" and lst.flags & 1:
        # an ordered list answers item by item, in the items' order, an item asked twice twice
        vals = _arg(args, 1)
        if all(map(_plain, vals)):
            space = [sort_key(v) for v in lst]
            answer = CList([lst[i] for k in map(sort_key, vals)
                            for i in range(bisect.bisect_left(space, k), bisect.bisect_right(space, k))])
    if code >= CDT.L_REMOVE_BY_INDEX:
        chosen = set(sel.positions)
        lst[:] = [v for i, v in enumerate(lst) if i not in chosen]
    return answer


def _list_set_type(lst: CList, code: int, args: list[Any]) -> Any:
    lst.flags = _int_arg(args, 0, 0) & 1
    _resort(lst)
    return None


def _list_append(lst: CList, code: int, args: list[Any]) -> Any:
    """append, append_items."""
    items = [_arg(args, 0)] if code == CDT.L_APPEND else _arg(args, 0)
    if not isinstance(items, list):
        raise ResultError(PARAMETER, "list expected")
    if lst.fresh and not lst and len(args) > 1 and not lst.flags:
        lst.flags = _int_arg(args, 1, 0) & 1
    return _list_add_items(lst, list(items), _int_arg(args, 2, 0), None, code == CDT.L_APPEND)


def _list_insert(lst: CList, code: int, args: list[Any]) -> Any:
    """insert, insert_items."""
    items = [_arg(args, 1)] if code == CDT.L_INSERT else _arg(args, 1)
    if not isinstance(items, list):
        raise ResultError(PARAMETER, "list expected")
    return _list_add_items(lst, list(items), _int_arg(args, 2, 0), _int_arg(args, 0), code == CDT.L_INSERT)


def _list_pop(lst: CList, code: int, args: list[Any]) -> Any:
    """pop, remove."""
    i = _norm_index(_int_arg(args, 0), len(lst))
    v = lst.pop(i)
    return v if code == CDT.L_POP else 1


def _list_range(lst: CList, code: int, args: list[Any]) -> Any:
    """pop_range, remove_range, get_range."""
    r = _range(_int_arg(args, 0), args[1] if len(args) > 1 else None, len(lst))
    got = CList(lst[r.start:r.stop])
    if code != CDT.L_GET_RANGE:
        del lst[r.start:r.stop]
    return got if code != CDT.L_REMOVE_RANGE else len(got)


def _list_set(lst: CList, code: int, args: list[Any]) -> Any:
    n = len(lst)
    flags = _int_arg(args, 2, 0)
    if lst.flags & 1:
        raise ResultError(OP_NOT_APPLICABLE, "set on an ordered list")
    index, val = _int_arg(args, 0), _arg(args, 1)
    if flags & L_ADD_UNIQUE and any(matches(val, x) for x in lst):
        if flags & NO_FAIL:
            raise _SoftFail(None)
        raise ResultError(ELEMENT_EXISTS)
    if index < 0:
        index = _norm_index(index, n)
    if index >= n:
        if index > n and flags & L_INSERT_BOUNDED:  # (n itself: an append)
            if flags & NO_FAIL:
                raise _SoftFail(None)
            raise ResultError(OP_NOT_APPLICABLE, "index out of bounds")
        _pad(lst, index - n + 1)
    lst[index] = val
    return None


def _list_trim(lst: CList, code: int, args: list[Any]) -> Any:
    n = len(lst)
    r = _range(_int_arg(args, 0), _int_arg(args, 1), n)
    kept = lst[r.start:r.stop]
    lst[:] = kept
    return n - len(kept)


def _list_clear(lst: CList, code: int, args: list[Any]) -> Any:
    lst.clear()
    return None


def _list_increment(lst: CList, code: int, args: list[Any]) -> Any:
    n = len(lst)
    index = _int_arg(args, 0)
    incr = args[1] if len(args) > 1 else 1
    if type(incr) not in (int, float):
        raise ResultError(PARAMETER, "number expected")
    if lst.fresh and not lst and len(args) > 2 and not lst.flags:
        lst.flags = _int_arg(args, 2, 0) & 1
    i = index + n if index < 0 else index
    if i < 0:
        raise ResultError(OP_NOT_APPLICABLE, "index out of range")
    flags = _int_arg(args, 3, 0)
    if i >= n:
        if i > n and lst.flags & 1:
            raise ResultError(OP_NOT_APPLICABLE, "index out of bounds of an ordered list")
        if i > n and flags & L_INSERT_BOUNDED:  # (n: an append)
            if flags & NO_FAIL:
                raise _SoftFail(incr)  # the real server answers the increment, changes nothing
            raise ResultError(OP_NOT_APPLICABLE, "index out of bounds")
        if flags & L_ADD_UNIQUE and any(matches(incr, x) for x in lst):  # (an insert of the increment)
            if flags & NO_FAIL:
                raise _SoftFail(incr)  # the real server answers the increment, changes nothing
            raise ResultError(ELEMENT_EXISTS)
        _pad(lst, i - n + 1)
        lst[i] = incr
    else:
        new = _add(lst[i], incr)
        if flags & L_ADD_UNIQUE and any(matches(new, x) for j, x in enumerate(lst) if j != i):
            if flags & NO_FAIL:
                raise _SoftFail(new)  # (answers the value it would have written)
            raise ResultError(ELEMENT_EXISTS)
        lst[i] = new
    v = lst[i]
    _resort(lst)
    return v


def _list_sort(lst: CList, code: int, args: list[Any]) -> Any:
    flags = _int_arg(args, 0, 0)
    sort_values(lst, reverse=bool(flags & 1))
    if flags & 2:
        out: list[Any] = []
        for v in lst:
            if not out or sort_key(out[-1]) != sort_key(v):
                out.append(v)
        lst[:] = out
    return None


def _list_size(lst: CList, code: int, args: list[Any]) -> Any:
    return len(lst)


def _list_get(lst: CList, code: int, args: list[Any]) -> Any:
    return lst[_norm_index(_int_arg(args, 0), len(lst))]


#: List op code -> ``handler(list, code, args) -> result`` (None: no result).
_LIST_OPS: dict[int, Callable[[CList, int, list[Any]], Any]] = {
    CDT.L_SET_TYPE: _list_set_type,
    CDT.L_APPEND: _list_append,
    CDT.L_APPEND_ITEMS: _list_append,
    CDT.L_INSERT: _list_insert,
    CDT.L_INSERT_ITEMS: _list_insert,
    CDT.L_POP: _list_pop,
    CDT.L_REMOVE: _list_pop,
    CDT.L_POP_RANGE: _list_range,
    CDT.L_REMOVE_RANGE: _list_range,
    CDT.L_GET_RANGE: _list_range,
    CDT.L_SET: _list_set,
    CDT.L_TRIM: _list_trim,
    CDT.L_CLEAR: _list_clear,
    CDT.L_INCREMENT: _list_increment,
    CDT.L_SORT: _list_sort,
    CDT.L_SIZE: _list_size,
    CDT.L_GET: _list_get,
    **dict.fromkeys(_LIST_SELECT, _list_select),
}


def list_op(lst: CList, code: int, args: list[Any]) -> Any:
    """Apply list op ``code`` to ``lst`` in place; return the result value (None: no result)."""
    return _dispatch(_LIST_OPS, "list", lst, code, args)


def _dispatch(table: dict[int, Callable[[Any, int, list[Any]], Any]], what: str, container: Any, code: int,
              args: list[Any]) -> Any:
    """``table[code](container, code, args)``; PARAMETER for a code the table does not have."""
    handler = table.get(code)
    if handler is None:
        raise ResultError(PARAMETER, f"unknown {what} op {code}")
    return handler(container, code, args)


def _bad_rt(rt: int) -> NoReturn:
    raise ResultError(PARAMETER, f"return type {rt} is not valid for lists")


def _add(cur: Any, incr: Any) -> Any:
    if type(cur) is int and type(incr) is int:
        return (cur + incr + (1 << 63)) % (1 << 64) - (1 << 63)
    if type(cur) is float and type(incr) in (int, float):
        return cur + incr
    if type(cur) is int and type(incr) is float:
        return cur + int(incr)
    raise ResultError(PARAMETER, "increment of a non-number")  # (the real server's code)


# --------------------------------------------------------------------------- maps

#: The selecting map ops (get_by_* and remove_by_*): what they select by.
_MAP_SELECT = {
    CDT.M_GET_BY_KEY: "key", CDT.M_GET_BY_INDEX: "index", CDT.M_GET_BY_RANK: "rank",
    CDT.M_GET_ALL_BY_VALUE: "value", CDT.M_GET_BY_KEY_INTERVAL: "key_interval",
    CDT.M_GET_BY_INDEX_RANGE: "index_range", CDT.M_GET_BY_VALUE_INTERVAL: "interval",
    CDT.M_GET_BY_RANK_RANGE: "rank_range", CDT.M_GET_BY_KEY_LIST: "key_list", CDT.M_GET_BY_VALUE_LIST: "value_list",
    CDT.M_GET_BY_KEY_REL_INDEX_RANGE: "key_rel", CDT.M_GET_BY_VALUE_REL_RANK_RANGE: "rel_rank",
    CDT.M_REMOVE_BY_KEY: "key", CDT.M_REMOVE_BY_INDEX: "index", CDT.M_REMOVE_BY_RANK: "rank",
    CDT.M_REMOVE_BY_KEY_LIST: "key_list", CDT.M_REMOVE_ALL_BY_VALUE: "value",
    CDT.M_REMOVE_BY_VALUE_LIST: "value_list", CDT.M_REMOVE_BY_KEY_INTERVAL: "key_interval",
    CDT.M_REMOVE_BY_INDEX_RANGE: "index_range", CDT.M_REMOVE_BY_VALUE_INTERVAL: "interval",
    CDT.M_REMOVE_BY_RANK_RANGE: "rank_range", CDT.M_REMOVE_BY_KEY_REL_INDEX_RANGE: "key_rel",
    CDT.M_REMOVE_BY_VALUE_REL_RANK_RANGE: "rel_rank",
}


def _map_select(m: CMap, kind: str, args: list[Any], rt: int) -> tuple[list[Any], list[Any], Selection]:
    """Return (keys, values, selection) with keys/values in key order (index order)."""
    items = m.items
    order = sorted(range(len(items)), key=sort_keys([k for k, _ in items]).__getitem__)
    keys = [items[i][0] for i in order]
    values = [items[i][1] for i in order]
    n = len(keys)
    if kind == "key":
        k = sort_key(_arg(args, 1))
        return keys, values, Selection([i for i in range(n) if sort_key(keys[i]) == k], True)
    if kind == "key_list":
        if rt & ~INVERTED in (RT_RANK, RT_REV_RANK):
            raise ResultError(OP_NOT_APPLICABLE, "rank results of a key list")
        ks = _arg(args, 1)
        if not isinstance(ks, CList):
            raise ResultError(PARAMETER, "key list expected")
        hashed, probe = hash_keys(keys)
        where = {k: i for i, k in enumerate(hashed)}  # (one look-up per key asked, not a scan)
        pos = {where[w] for w in map(probe, ks) if w in where}
        return keys, values, Selection(sorted(pos))
    if kind == "key_interval":
        lo = sort_key(_arg(args, 1))
        hi = sort_key(args[2]) if len(args) > 2 else (10,)
        # (an unordered map's key interval goes by mask: "kirange", whose ranks never reduce to 0..n-1)
        return keys, values, Selection([i for i in range(n) if lo <= sort_key(keys[i]) < hi],
                                       order="irange" if m.flags & 1 else "kirange")
    if kind == "key_rel":
        rel = sort_key(_arg(args, 1))
        start = sum(1 for k in keys if sort_key(k) < rel) + _int_arg(args, 2)
        count = args[3] if len(args) > 3 else None
        if count is not None and count < 0:
            raise ResultError(PARAMETER, "negative count")
        end = n if count is None else start + count
        return keys, values, Selection(list(range(max(start, 0), max(min(end, n), 0))), order="irange")
    return keys, values, _select(values, kind, args, rt, is_map=True)


def insert_pos(m: CMap, key: Any) -> int:
    """Where the real server puts a new key: sorted position in a key-ordered map; in an unordered
    map, before the first greater key as long as the keys before it ascend, else at the end."""
    k = sort_key(key)
    if m.flags & 1:
        return bisect.bisect_left([sort_key(kk) for kk, _ in m.items], k)
    prev = None
    for i, (kk, _) in enumerate(m.items):
        sk = sort_key(kk)
        if prev is not None and not prev < sk:
            break
        if k < sk:
            return i
        prev = sk
    return len(m.items)


def _map_write(m: CMap, key: Any, val: Any, flags: int, *, create: bool = True, update: bool = True) -> bool:
    """Put one entry honouring write flags; False when skipped by NO_FAIL."""
    i = m.find(key)
    if i >= 0:
        if not update or flags & M_CREATE_ONLY:
            if flags & NO_FAIL:
                return False
            raise ResultError(ELEMENT_EXISTS)
        m.items[i][1] = val
        return True
    if not create or flags & M_UPDATE_ONLY:
        if flags & NO_FAIL:
            return False
        raise ResultError(ELEMENT_NOT_FOUND)
    m.items.insert(insert_pos(m, key), [key, val])
    return True


def _map_put_many(m: CMap, items: list[Any], flags: int) -> None:
    """:func:`_map_write` of each ``(key, value)`` in turn, on a key-sorted map: entries found by
    hash of their sort key, new ones appended and the map sorted once (O(n log n), not O(n^2))."""
    _, probe = hash_keys([kv[0] for kv in m.items] + [kv[0] for kv in items])
    index = {probe(kv[0]): kv for kv in m.items}
    added = False
    for key, val in items:
        sk = probe(key)
        kv = index.get(sk)
        if kv is not None:
            if flags & M_CREATE_ONLY:
                if flags & NO_FAIL:
                    continue
                raise ResultError(ELEMENT_EXISTS)
            kv[1] = val
            continue
        if flags & M_UPDATE_ONLY:
            if flags & NO_FAIL:
                continue
            raise ResultError(ELEMENT_NOT_FOUND)
        kv = index[sk] = [key, val]
        m.items.append(kv)
        added = True
    if added:
        m.sort()


def _map_select_op(m: CMap, code: int, args: list[Any]) -> Any:
    """get_by_* / remove_by_*: the selected entries' result (removed for a remove_by_*)."""
    rt, inverted = _split_rt(_arg(args, 0))
    kind = _MAP_SELECT[code]
    keys, values, sel = _map_select(m, kind, args, rt)
    selected = list(sel.positions)
    if inverted and not sel.single and rt in (RT_INDEX, RT_REV_INDEX, RT_RANK, RT_REV_RANK):
        res, chosen = _map_inverted_positions(m, keys, values, kind, args, rt, set(sel.positions))
        if code < 96:
            kept = {sort_key(keys[i]) for i in chosen}
            m.items = [kv for kv in m.items if sort_key(kv[0]) in kept]
        return res
    if not inverted and not sel.single and kind in ("interval", "value") and rt in (RT_INDEX, RT_REV_INDEX):
        # found by mask: key indexes in storage order (an unordered map's insertion order)
        n = len(keys)
        where = {sort_key(k): i for i, k in enumerate(keys)}
        chosen = set(sel.positions)
        idx = [where[sort_key(kv[0])] for kv in m.items]
        res = CList([(n - 1 - i if rt == RT_REV_INDEX else i) for i in idx if i in chosen])
        if code < 96 and chosen:
            m.items = [kv for kv in m.items if where[sort_key(kv[0])] not in chosen]
        return res
    if inverted and not (sel.single and not sel.positions and m.flags & 1):
        # (a key-ordered map answers a missing key as not found, inverted or not)
        sel = _invert(sel, len(keys))
        if kind in ("rank_range", "rel_rank"):
            chosen = set(sel.positions)
            rank_of = _ranks(values)
            picked = {rank_of[i] for i in selected}
            if not picked or 0 in picked or len(keys) - 1 in picked:  # the rest is a rank range: by rank
                sel.positions = [i for i in _rank_order(values) if i in chosen]
            else:  # the rest of a range amid the ranks goes by mask: in storage order
                where = {sort_key(k): i for i, k in enumerate(keys)}
                sel.positions = [j for j in (where[sort_key(kv[0])] for kv in m.items) if j in chosen]
    if sel.single and not sel.positions and rt in (RT_KEY_VALUE, RT_ORDERED_MAP, RT_UNORDERED_MAP):
        sel.single = False
    answer: Any = _result(values, sel, rt, keys)
    if not inverted and kind in ("key_list", "value_list") and rt in (RT_INDEX, RT_REV_INDEX, RT_RANK, RT_REV_RANK):
        answer = _map_list_positions(m, keys, values, kind, _arg(args, 1), rt, sel.positions, answer)
    if inverted and rt == RT_EXISTS and kind not in ("key_list", "value_list", "key", "index", "rank"):
        ranked = kind not in ("index_range", "key_rel", "key_interval")
        picked = {_ranks(values)[i] for i in selected} if ranked else set(selected)
        answer = _exists_inverted(kind, len(keys), picked, bool(m.flags & 1), False)
    if code < CDT.M_SIZE and sel.positions:  # a remove_by_*
        hashed, probe = hash_keys([kv[0] for kv in m.items])
        gone = {probe(keys[i]) for i in sel.positions}
        m.items = [kv for kv, h in zip(m.items, hashed, strict=True) if h not in gone]
    return answer


def _map_set_type(m: CMap, code: int, args: list[Any]) -> Any:
    order = _int_arg(args, 0, 0)
    m.flags = order & 3
    if m.flags & 1:
        m.sort()
    return None


#: The write flag each op implies (add: create only, replace: update only, put: none).
_MAP_IMPLIED_FLAGS = {CDT.M_ADD: M_CREATE_ONLY, CDT.M_REPLACE: M_UPDATE_ONLY,
                      CDT.M_ADD_ITEMS: M_CREATE_ONLY, CDT.M_REPLACE_ITEMS: M_UPDATE_ONLY}


def _map_put(m: CMap, code: int, args: list[Any]) -> Any:
    """add, put, replace."""
    flags = _int_arg(args, 3, 0)
    flags |= _MAP_IMPLIED_FLAGS.get(code, 0)
    _set_map_order(m, args, 2)
    _map_write(m, _arg(args, 0), _arg(args, 1), flags)
    return _done(m)


def _map_put_items(m: CMap, code: int, args: list[Any]) -> Any:
    """add_items, put_items, replace_items."""
    items = _arg(args, 0)
    if not isinstance(items, CMap):
        raise ResultError(PARAMETER, "map expected")
    flags = _int_arg(args, 2, 0) | _MAP_IMPLIED_FLAGS.get(code, 0)
    _set_map_order(m, args, 1)
    # The real server rewrites an unordered map key-sorted before adding items; a key-ordered
    # one is sorted already.
    m.sort()
    if flags & NO_FAIL and not flags & PARTIAL:
        trial = CMap(m.items, m.flags)
        try:
            _map_put_many(trial, items.items, flags & ~NO_FAIL)
        except ResultError:
            return _done(m)
        m.items = trial.items
        return _done(m)
    _map_put_many(m, items.items, flags)
    return _done(m)


def _map_increment(m: CMap, code: int, args: list[Any]) -> Any:
    """increment, decrement."""
    key = _arg(args, 0)
    incr = args[1] if len(args) > 1 else 1
    if type(incr) not in (int, float):
        raise ResultError(PARAMETER, "number expected")
    if code == CDT.M_DECREMENT:
        incr = -incr
    _set_map_order(m, args, 2)
    i = m.find(key)
    if i < 0:
        m.items.insert(insert_pos(m, key), [key, incr])
        _done(m)
        return incr
    m.items[i][1] = _add(m.items[i][1], incr)
    v = m.items[i][1]
    _done(m)
    return v


def _map_clear(m: CMap, code: int, args: list[Any]) -> Any:
    m.items.clear()
    return None


def _map_size(m: CMap, code: int, args: list[Any]) -> Any:
    return len(m.items)


#: Map op code -> ``handler(map, code, args) -> result`` (None: no result).
_MAP_OPS: dict[int, Callable[[CMap, int, list[Any]], Any]] = {
    CDT.M_SET_TYPE: _map_set_type,
    CDT.M_ADD: _map_put,
    CDT.M_PUT: _map_put,
    CDT.M_REPLACE: _map_put,
    CDT.M_ADD_ITEMS: _map_put_items,
    CDT.M_PUT_ITEMS: _map_put_items,
    CDT.M_REPLACE_ITEMS: _map_put_items,
    CDT.M_INCREMENT: _map_increment,
    CDT.M_DECREMENT: _map_increment,
    CDT.M_CLEAR: _map_clear,
    CDT.M_SIZE: _map_size,
    **dict.fromkeys(_MAP_SELECT, _map_select_op),
}


def map_op(m: CMap, code: int, args: list[Any]) -> Any:
    """Apply map op ``code`` to ``m`` in place; return the result value (None: no result)."""
    return _dispatch(_MAP_OPS, "map", m, code, args)


def _set_map_order(m: CMap, args: list[Any], i: int) -> None:
    if not m.items and len(args) > i and type(args[i]) is int and not m.flags:
        m.flags = args[i] & 3


def _done(m: CMap) -> int:
    if m.flags & 1:
        m.sort()
    return len(m.items)


# --------------------------------------------------------------------------- context and dispatch


def _new_container(ctype: int) -> Any:
    create = ctype & 0xC0
    if ctype & 0x30 == 0x10:
        return _fresh_list(1 if create == 0xC0 else 0)
    return CMap(flags={0x40: 0, 0x80: 1, 0xC0: 3}.get(create, 0))


def _maker(path: list[Any], nxt: int, is_list: bool) -> Any:
    """What a context level creates: the container the next item needs, or the op's kind at the end."""
    if nxt < len(path):
        ctype = path[nxt]
        if type(ctype) is not int:
            raise ResultError(PARAMETER, "bad context type")
        return lambda: _new_container(ctype)
    return _fresh_list if is_list else CMap


class _SoftFail(Exception):
    """A write skipped by NO_FAIL: the op's result is ``value``, nothing changed."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


class _Discard(Exception):
    """A NO_FAIL write skipped in context levels it created: answer ``value``, keep nothing."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


class _NothingToDo(Exception):
    """A create context made missing levels, but the op does not create: a no-op (nil)."""


def _step(cur: Any, ctype: int, value: Any, modify: bool, make: Any = None, made: list[Any] | None = None) -> Any:
    """Return the element ``(ctype, value)`` selects in ``cur``, creating it with ``make()`` when asked.

    As on the real server, a context item's create flags describe the collection that *holds* the
    element (used when that collection is created); the new element itself is shaped by the next
    context item, or at the last level by the operation (and its policy's order).
    """
    base = ctype & 0x3F
    # Once a level was created, every level below it is new too: the real server creates them
    # whether their items have create flags or not (cdt_context_dig: create_triggered), if they
    # are map keys or list indexes 0 / -1 (cdt_context_ctx_type_create_sz).
    below_new = made is not None and made[0]
    if below_new and (base not in (0x10, 0x22) or base == 0x10 and type(value) is int and (
            value < -1 or value > 0 and not ctype & 0xC0)):
        raise ResultError(OP_NOT_APPLICABLE, "context level below a created one cannot be created")
    create = (ctype & 0xC0 or below_new) and modify
    if base in (0x10, 0x11, 0x13):
        if not isinstance(cur, CList):
            raise ResultError(OP_NOT_APPLICABLE, "context expects a list")
        n = len(cur)
        if base == 0x10:
            if type(value) is not int:
                raise ResultError(PARAMETER, "context index must be an int")
            i = value + n if value < 0 else value
            if 0 <= i < n:
                return cur[i]
            if create and n == 0 and value == -1:
                i = 0  # the real server creates at -1 of an empty list (the end)
            if not create or i < 0:
                raise ResultError(OP_NOT_APPLICABLE, "context index not found")
            if made is not None:
                made[0] = True
            if i > n and not cur.flags & 1 and ctype & 0xC0 != 0x80:
                raise ResultError(OP_NOT_APPLICABLE, "context index out of bounds")
            new = make() if make is not None else _fresh_list()
            if not cur.flags & 1:
                _pad(cur, i - n)  # nils (0x80); an ordered list ignores the index
            cur.append(new)
            if cur.flags & 1:
                _resort(cur)
            return new
        if base == 0x11:
            return cur[_rank_order(cur)[_norm_index(value, n)]]
        for x in cur:
            if matches(value, x):
                return x
        raise ResultError(OP_NOT_APPLICABLE, "context value not found")
    if not isinstance(cur, CMap):
        raise ResultError(OP_NOT_APPLICABLE, "context expects a map")
    if base == 0x22:
        i = cur.find(value)
        if i >= 0:
            return cur.items[i][1]
        if not create:
            raise ResultError(OP_NOT_APPLICABLE, "context key not found")
        if made is not None:
            made[0] = True
        new = make() if make is not None else CMap()
        cur.items.insert(insert_pos(cur, value), [value, new])
        if cur.flags & 1:
            cur.sort()
        return new
    pairs = sorted(cur.items, key=lambda kv: sort_key(kv[0]))
    if base == 0x20:
        return pairs[_norm_index(value, len(pairs))][1]
    if base == 0x21:
        vals = [v for _, v in pairs]
        return vals[_rank_order(vals)[_norm_index(value, len(vals))]]
    if base == 0x23:
        for _, v in pairs:
            if matches(value, v):
                return v
        raise ResultError(OP_NOT_APPLICABLE, "context value not found")
    raise ResultError(PARAMETER, f"unknown context type {ctype:#x}")


def _parse(value: bytes) -> tuple[list[Any], int, list[Any]]:
    payload = unpack(value)
    if not isinstance(payload, CList) or not payload:
        raise ResultError(PARAMETER, "CDT op must be a msgpack list")
    ctx: list[Any] = []
    if payload[0] == 0xFF:
        if len(payload) != 3 or not isinstance(payload[1], CList) or not isinstance(payload[2], CList):
            raise ResultError(PARAMETER, "bad CDT context")
        ctx = list(payload[1])
        if len(ctx) % 2 or not ctx:
            raise ResultError(PARAMETER, "bad CDT context")
        payload = payload[2]
        if not payload:
            raise ResultError(PARAMETER, "empty CDT op")
    code = payload[0]
    if type(code) is not int:
        raise ResultError(PARAMETER, "bad CDT op code")
    return ctx, code, list(payload[1:])


def to_particle(v: Any) -> tuple[int, bytes] | None:
    """A result value as a bin particle."""
    t = type(v)
    if v is None:
        return None
    if t is bool:
        return W.PT_BOOL, b"\x01" if v else b"\x00"
    if t is int:
        return W.PT_INTEGER, v.to_bytes(8, "big", signed=v < 0)
    if t is float:
        return W.PT_FLOAT, struct.pack(">d", v)
    if t is bytes:
        p = v[0] if v else 4
        if p == 3:
            return W.PT_STRING, v[1:]
        if p == 0x17:
            return W.PT_GEOJSON, b"\x00\x00\x00" + v[1:]
        return W.PT_BLOB, v[1:]
    if t is CMap:
        return W.PT_MAP, pack(v)
    return W.PT_LIST, pack(v)


def handle_op(ctx: OpContext, op: WireOp) -> tuple[int, bytes] | None:
    """The handler of the CDT_READ and CDT_MODIFY wire ops."""
    path, code, args = _parse(bytes(op.value))
    is_list = CDT.is_list_code(code)
    modify = op.op == W.OP_CDT_MODIFY
    if CDT.is_modify_code(code) != modify:
        raise ResultError(PARAMETER, f"CDT op {code} sent as wire op {op.op}")
    stored = ctx.bins.get(op.name)
    if stored is None:
        # As the real server: a list read of a missing bin answers nothing (nil when every op
        # must answer), a map read nil; a modify op that does not create is a no-op (a list sort
        # fails), whatever the context says.
        if not modify:  # (a map read after a touch op in the same command: nothing either)
            return NO_RESULT if is_list or ctx.touched else None
        creates = code in (_LIST_CREATES if is_list else _MAP_CREATES)
        if path:
            if not path[0] & 0xC0:
                raise ResultError(OP_NOT_APPLICABLE, "bin not found")
            root = _new_container(path[0])
        elif not creates:
            if is_list and code == CDT.L_SORT:
                raise ResultError(INCOMPATIBLE_TYPE, "sort of a missing bin")
            return None
        else:
            root = _fresh_list() if is_list else CMap()
    elif stored[0] in (W.PT_LIST, W.PT_MAP):
        root = unpack(stored[1])
    elif path:
        raise ResultError(PARAMETER, "context in a bin that is not a collection")
    else:
        raise ResultError(INCOMPATIBLE_TYPE, "bin is not a collection")
    try:
        result = apply(root, path, code, args, modify, stored is None)
    except _NothingToDo:
        return None
    except _Discard as e:
        return to_particle(e.value)
    if modify:
        ctx.bins[op.name] = (W.PT_LIST if isinstance(root, CList) else W.PT_MAP, pack(root))
    elif result is None and not ctx.flags & W.INFO2_WRITE:
        return NO_RESULT  # a read command's read returning nothing (RETURN_NONE): no bin in the reply
    return to_particle(result)


def apply(root: Any, path: list[Any], code: int, args: list[Any], modify: bool = False, created: bool = False) -> Any:
    """Apply CDT op ``code`` to the element of ``root`` that context ``path`` selects; its result.

    The one place a CDT op's semantics are computed: used by the op handler (reads and writes)
    and by the expression evaluator (CALL of the CDT module, reads only, ``modify`` False).
    """
    is_list = CDT.is_list_code(code)
    if CDT.is_modify_code(code) != modify:
        raise ResultError(PARAMETER, f"CDT op {code} is not a {'modify' if modify else 'read'} op")
    target = root
    made = [False]
    for i in range(0, len(path), 2):
        ctype = path[i]
        if type(ctype) is not int:
            raise ResultError(PARAMETER, "bad context type")
        target = _step(target, ctype, path[i + 1], modify, _maker(path, i + 2, is_list), made)
    if (made[0] or created) and code not in (_LIST_CREATES if is_list else _MAP_CREATES):
        if is_list and code == CDT.L_SORT and created:
            raise ResultError(INCOMPATIBLE_TYPE, "sort of a missing list")
        # The context had to create levels (it could: every missing level has create flags), but
        # the op does not create: the real server does nothing and answers nil.
        raise _NothingToDo
    if is_list and not isinstance(target, CList) or not is_list and not isinstance(target, CMap):
        raise ResultError(INCOMPATIBLE_TYPE, "collection type mismatch")
    try:
        return list_op(target, code, args) if is_list else map_op(target, code, args)
    except _SoftFail as e:
        if made[0]:  # levels created only for a write that did not happen are not kept
            raise _Discard(e.value) from None
        return e.value

