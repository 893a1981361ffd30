"""Python values <-> Aerospike particles, and msgpack for lists and maps (CDT values).

Inside msgpack, Aerospike stores strings and blobs as msgpack *str* whose first byte is the
particle type (0x03 string, 0x04 blob, 0x17 GeoJSON). Ordered lists/maps carry a leading ext
element holding the order flag. Wildcard and infinity are fixext1 values of type 0xff.
"""

from __future__ import annotations

import struct
from typing import Any

import msgpack

from .constants import (
    PT_BLOB,
    PT_BOOL,
    PT_FLOAT,
    PT_GEOJSON,
    PT_HLL,
    PT_INTEGER,
    PT_LIST,
    PT_MAP,
    PT_NULL,
    PT_STRING,
)
from .memo import Memo

_INT64 = struct.Struct(">q")
_UINT64 = struct.Struct(">Q")
_DOUBLE = struct.Struct(">d")

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
MAX_DEPTH = 64


class GeoJSON(str):
    """A GeoJSON string stored with the GeoJSON particle type (a plain ``str`` otherwise)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"GeoJSON({str.__repr__(self)})"


class HLL(bytes):
    """A HyperLogLog value as stored by the server (a plain ``bytes`` otherwise)."""

    __slots__ = ()


class _Special:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"aerospike_py.{self._name}"


#: Matches any value in CDT range/value operations.
WILDCARD = _Special("WILDCARD")
#: Greater than any value in CDT range operations.
INFINITY = _Special("INFINITY")

_WILDCARD_BYTES = b"\xd4\xff\x00"  # fixext1, type -1, payload 0
_INFINITY_BYTES = b"\xd4\xff\x01"


class KeyOrderedDict(dict[Any, Any]):
    """A dict written to the server as a key-ordered map."""

    __slots__ = ()


class ValueTypeError(TypeError):
    """A value cannot be stored in Aerospike."""


# --------------------------------------------------------------------------- msgpack (CDT)


#: Values msgpack reads and writes as Aerospike stores them (no type byte, no conversion): lists and
#: maps of these alone go through msgpack's C code both ways, without a walk in Python.
_SCALARS = frozenset((int, float, bool, type(None)))
_all_scalars = _SCALARS.issuperset


def _to_packable(v: Any, depth: int = 0) -> Any:
    t = type(v)
    if t is str:
        return "\x03" + v
    if t is int:
        if v < INT64_MIN or v > 0xFFFFFFFFFFFFFFFF:
            raise OverflowError(f"integer {v} does not fit in 64 bits")
        return v
    if t is float or t is bool or v is None:
        return v
    if depth >= MAX_DEPTH:
        raise ValueError(f"value nested deeper than {MAX_DEPTH} levels")
    if t is list:
        return [_to_packable(x, depth + 1) for x in v]
    if t is dict:
        # Keys in Aerospike's order, as the official client writes (unordered) maps.
        if len(v) > 1:
            kts = {type(k) for k in v}
            keys = sorted(v) if kts == {str} or kts == {int} else sorted(v, key=cdt_sort_key)
            return {_to_packable(k, depth + 1): _to_packable(v[k], depth + 1) for k in keys}
        return {_to_packable(k, depth + 1): _to_packable(x, depth + 1) for k, x in v.items()}
    if t is bytes or t is bytearray or t is HLL:
        return _Raw(b"\x04" + bytes(v))
    if t is GeoJSON:
        return _Raw(b"\x17" + v.encode())
    if isinstance(v, KeyOrderedDict):
        return _OrderedMap(v, depth)
    if v is WILDCARD or v is INFINITY:
        return v
    # Subclasses of the basic types (IntEnum, str subclasses...) behave as their base.
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return _to_packable(int(v), depth)
    if isinstance(v, float):
        return float(v)
    if isinstance(v, str):
        return _to_packable(str(v), depth)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return _Raw(b"\x04" + bytes(v))
    if isinstance(v, list):
        return _to_packable(list(v), depth)
    if isinstance(v, dict):
        return _to_packable(dict(v), depth)
    raise ValueTypeError(f"unsupported value type {t.__name__} ({v!r:.60})")


class _Raw(bytes):
    """Bytes to write as a msgpack *str* (blob and GeoJSON values carry a type prefix)."""

    __slots__ = ()


def _str_header(n: int) -> bytes:
    if n < 32:
        return bytes((0xA0 | n,))
    if n < 0x100:
        return b"\xd9" + bytes((n,))
    if n < 0x10000:
        return b"\xda" + n.to_bytes(2, "big")
    return b"\xdb" + n.to_bytes(4, "big")


class _OrderedMap:
    __slots__ = ("items",)

    def __init__(self, d: dict[Any, Any], depth: int) -> None:
        self.items = sorted(
            ((k, _to_packable(x, depth + 1)) for k, x in d.items()), key=lambda kv: cdt_sort_key(kv[0])
        )


def _pack_default(obj: Any) -> Any:
    raise ValueTypeError(f"unsupported value type {type(obj).__name__}")


_packer = msgpack.Packer(use_bin_type=True, autoreset=True, default=_pack_default)


def pack_cdt(value: Any) -> bytes:
    """Encode a list/map (or any CDT operand) as Aerospike msgpack."""
    t = type(value)
    if t is list or t is dict:
        try:
            return _pack_fast(value)
        except (_NotFast, ValueError, OverflowError):
            pass  # other types or a bad value: the general path encodes it or names the problem
    return _pack_general(value)


def _pack_general(value: Any) -> bytes:
    """The reference encoder: values made packable (:func:`_to_packable`), then msgpack."""
    obj = _to_packable(value)
    if _contains_ordered(obj):
        return _pack_with_ordered(obj)
    return _packer.pack(obj)


#: Nesting handled by the fast path (deeper values take the general path).
_FAST_DEPTH = 16
#: msgpack of the ints -32..127 (a negative index reads the negative fixints at the end).
_FIXINT = tuple(_packer.pack(i) for i in range(128)) + tuple(_packer.pack(i) for i in range(-32, 0))
#: Array/map headers of up to 15 elements.
_ARRAY_HEADS = tuple(bytes((0x90 | n,)) for n in range(16))
_MAP_HEADS = tuple(bytes((0x80 | n,)) for n in range(16))
#: str header and particle-type byte of a string/blob of n < 255 bytes (the header counts the type byte).
_STR_HEADS = tuple(_str_header(n + 1) + b"\x03" for n in range(255))
_BLOB_HEADS = tuple(_str_header(n + 1) + b"\x04" for n in range(255))
_STR_KEYS = frozenset((str,))
_INT_KEYS = frozenset((int,))
_pack_float = struct.Struct(">Bd").pack
#: str 16 header and type byte of a string/blob of 255 <= n < 65535 bytes (the header counts the type byte).
_pack_str16_head = struct.Struct(">BHB").pack
_pack_int = msgpack.Packer(autoreset=True).pack  # (no default: an int out of range raises OverflowError)


class _Packed(bytes):
    """A map key already packed (str header, type byte, UTF-8), from ``_PACKED_KEYS``."""

    __slots__ = ()


def _pack_key(k: str) -> _Packed:
    b = k.encode()  # (a str that is no UTF-8 raises: the general path names it)
    m = len(b)
    return _Packed((_STR_HEADS[m] if m < 255 else _str_header(m + 1) + b"\x03") + b)


#: str map key -> its msgpack (:class:`_Packed`): the keys of a workload's maps repeat.
_PACKED_KEYS: Memo[str, _Packed] = Memo(_pack_key)


class _NotFast(Exception):
    """A value the fast path leaves to the general one."""


def _pack_fast(value: list[Any] | dict[Any, Any]) -> bytes:
    """:func:`_pack_general`'s bytes for a plain list/dict (see :func:`_fast_into`)."""
    out: list[bytes] = []
    _fast_into(value, out, 0)
    return b"".join(out)


def _fast_into(v: Any, out: list[bytes], depth: int) -> None:
    """Append the msgpack of a plain list/dict to ``out``, as :func:`_pack_general` writes it.

    Only exact ``str``/``bytes``/``int``/``float``/``bool``/``None`` values and plain lists and
    dicts (with keys all ``str`` or all ``int``, or one key) are handled, scalars inline (no call
    per value), lists and maps of numbers only by one call of msgpack's C packer; anything else
    raises ``_NotFast``, a bad value ``OverflowError`` (an int beyond 64 bits) or ``ValueError`` (a
    str that is not UTF-8): the general path then encodes the whole value or names the problem.
    """
    append = out.append
    n = len(v)
    seq: Any
    if type(v) is list:
        # Numbers only (first and last tell mixed lists cheaply): msgpack's C packer (its call costs
        # more than the walk over fewer than three).
        if n > 2 and type(v[0]) in _SCALARS and type(v[-1]) in _SCALARS and _all_scalars(map(type, v)):
            append(_pack_plain(v))
            return
        append(_ARRAY_HEADS[n] if n < 16 else _array_header(n))
        seq = v
    else:
        if n > 1:
            kts = frozenset(map(type, v))
            if kts != _STR_KEYS and kts != _INT_KEYS:
                raise _NotFast  # other keys sort by cdt_sort_key
            keys = sorted(v)
            if n > 2 and type(v[keys[0]]) in _SCALARS and _all_scalars(map(type, v.values())):  # as lists
                ks = map(_STR_PREFIX, keys) if kts == _STR_KEYS else keys
                append(_pack_plain(dict(zip(ks, map(v.__getitem__, keys)))))  # noqa: B905 - same length
                return
            append(_MAP_HEADS[n] if n < 16 else _map_header(n))
            seq = [None] * (2 * n)
            seq[::2] = map(_PACKED_KEYS.__getitem__, keys) if kts == _STR_KEYS else keys
            seq[1::2] = map(v.__getitem__, keys)
        else:
            append(_MAP_HEADS[n])
            seq = [x for kv in v.items() for x in kv]
    for x in seq:
        t = type(x)
        if t is str:
            b = x.encode()
            m = len(b)
            append(_STR_HEADS[m] if m < 255 else _pack_str16_head(0xDA, m + 1, 3) if m < 0xFFFF
                   else _str_header(m + 1) + b"\x03")
            append(b)
        elif t is int:
            append(_FIXINT[x] if -32 <= x < 128 else _pack_int(x))
        elif t is _Packed:
            append(x)
        elif t is bytes:
            m = len(x)
            append(_BLOB_HEADS[m] if m < 255 else _pack_str16_head(0xDA, m + 1, 4) if m < 0xFFFF
                   else _str_header(m + 1) + b"\x04")
            append(x)
        elif t is float:
            append(_pack_float(0xCB, x))
        elif t is list or t is dict:
            if depth >= _FAST_DEPTH:
                raise _NotFast
            _fast_into(x, out, depth + 1)
        elif x is None:
            append(b"\xc0")
        elif t is bool:
            append(b"\xc3" if x else b"\xc2")
        else:
            raise _NotFast


_STR_PREFIX = "\x03".__add__
#: msgpack without a ``default``: an int beyond 64 bits raises ``OverflowError``.
_pack_plain = msgpack.Packer(use_bin_type=True, autoreset=True).pack


def _contains_ordered(obj: Any) -> bool:
    """Whether the tree needs the hand-written packer (ordered maps, raw strings, specials)."""
    t = type(obj)
    if t is _OrderedMap or t is _Special or t is _Raw:
        return True
    if t is list:
        return any(_contains_ordered(x) for x in obj)
    if t is dict:
        return any(_contains_ordered(k) or _contains_ordered(x) for k, x in obj.items())
    return False


def _pack_with_ordered(obj: Any) -> bytes:
    """Slow path: pack a tree containing key-ordered maps (header written by hand)."""
    t = type(obj)
    if t is _OrderedMap:
        n = len(obj.items) + 1
        parts = [_map_header(n), b"\xc7\x00\x01\xc0"]
        for k, v in obj.items:
            parts.append(_pack_with_ordered(_to_packable(k)))
            parts.append(_pack_with_ordered(v))
        return b"".join(parts)
    if t is list:
        return _array_header(len(obj)) + b"".join(_pack_with_ordered(x) for x in obj)
    if t is dict:
        return _map_header(len(obj)) + b"".join(
            _pack_with_ordered(k) + _pack_with_ordered(v) for k, v in obj.items()
        )
    if t is _Raw:
        raw: _Raw = obj
        return _str_header(len(raw)) + raw
    if obj is WILDCARD:
        return _WILDCARD_BYTES
    if obj is INFINITY:
        return _INFINITY_BYTES
    return _packer.pack(obj)


def _map_header(n: int) -> bytes:
    if n < 16:
        return bytes([0x80 | n])
    if n < 0x10000:
        return b"\xde" + n.to_bytes(2, "big")
    return b"\xdf" + n.to_bytes(4, "big")


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes([0x90 | n])
    if n < 0x10000:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


_ExtType = msgpack.ExtType
_unpackb = msgpack.unpackb


def _ext_hook(code: int, data: bytes) -> Any:
    return msgpack.ExtType(code, data)


def _from_raw(v: bytes) -> Any:
    """A msgpack *str* of a CDT: its first byte is the particle type (string, blob, GeoJSON)."""
    if not v:
        return b""
    p = v[0]
    if p == 3:
        return v[1:].decode()
    if p == PT_GEOJSON:
        return GeoJSON(v[1:].decode())
    return v[1:]


#: Map keys as stored (msgpack *str* with the type byte) -> their Python value: map keys repeat
#: across records, and a hit (``_MAP_KEYS[k]``, one subscript) reuses the hash msgpack computed for
#: its dict (no slice, decode or hashing of a new ``str``).
_MAP_KEYS: Memo[bytes, Any] = Memo(_from_raw)
#: ``x[1:]`` without building a slice object per value.
_AFTER_TYPE = slice(1, None)


def _from_unpacked(v: Any) -> Any:
    """Python values of an unpacked CDT (``raw=True``): lists are converted in place, and scalars
    inside lists and maps are handled inline (no call per int, float or string); a list of
    numbers only is left as it is, map keys come from ``_MAP_KEYS``.

    An empty msgpack *str* inside a list or map raises ``IndexError`` (its type byte is read as
    ``x[0]``, cheaper than a slice): the caller then decodes the value again with
    :func:`_from_unpacked_deep` (lists may have been converted in place already)."""
    t = type(v)
    if t is bytes:
        return _from_raw(v)
    if t is list:
        if v and type(v[0]) is _ExtType:
            v = v[1:]  # order flag of an ordered list
        if _all_scalars(map(type, v)):
            return v
        for i, x in enumerate(v):
            tx = type(x)
            if tx is bytes:
                p = x[0]
                v[i] = x[_AFTER_TYPE].decode() if p == 3 else x[_AFTER_TYPE] if p == 4 else _from_raw(x)
            elif tx is list or tx is dict:
                v[i] = _from_unpacked(x)
        return v
    if t is dict:
        out = {}
        keys = _MAP_KEYS
        for k, x in v.items():
            tk = type(k)
            if tk is bytes:
                k = keys[k]
            elif tk is _ExtType:
                continue  # order flag of an ordered map
            tx = type(x)
            if tx is bytes:
                p = x[0]
                x = x[_AFTER_TYPE].decode() if p == 3 else x[_AFTER_TYPE] if p == 4 else _from_raw(x)
            elif tx is list or tx is dict:
                x = _from_unpacked(x)
            out[k] = x
        return out
    return v


def _from_unpacked_deep(root: Any) -> Any:
    """:func:`_from_unpacked` without recursion, for values nested too deep for the call stack."""
    top: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(root, top, 0)]
    while stack:
        v, parent, slot = stack.pop()
        t = type(v)
        if t is list:
            if v and type(v[0]) is msgpack.ExtType:
                v = v[1:]
            new: Any = [None] * len(v)
            stack.extend((x, new, i) for i, x in enumerate(v))
        elif t is dict:
            new = {}
            pending = []
            for k, x in v.items():
                if type(k) is not msgpack.ExtType:
                    key = _from_unpacked(k)
                    new[key] = None  # (insertion order kept; the value is filled in later)
                    pending.append((x, new, key))
            stack.extend(reversed(pending))  # filled in wire order: of keys equal once converted,
            # the last value stays (as with _from_unpacked)
        else:
            new = _from_unpacked(v)
        parent[slot] = new
    return top[0]


def unpack_cdt(data: bytes | memoryview) -> Any:
    """Decode Aerospike msgpack into Python values, nested as deep as a server stores them (msgpack's
    own decoder, up to 1,024 levels; :func:`_unpack_deep` past that)."""
    try:
        obj = _unpackb(data, raw=True, strict_map_key=False, ext_hook=_ExtType)
    except (TypeError, ValueError):  # list/map keys, deep nesting, wildcard/infinity, or malformed
        obj, streamed = _unpack_raw(data)
        if streamed:
            return _from_unpacked_deep(obj)
    try:
        return _from_unpacked(obj)
    except (RecursionError, IndexError):
        # Nested too deep for the call stack, or an empty *str* (no type byte): the plain walk,
        # over a fresh decode (the fast walk converts lists in place).
        return _from_unpacked_deep(_unpack_raw(data)[0])


def _unpack_raw(data: bytes | memoryview) -> tuple[Any, bool]:
    """``data`` unpacked as :func:`unpack_cdt` walks it, and whether the streaming decoder
    (:func:`_unpack_deep`) gave it (to walk without recursion): a map keyed by lists/maps has
    tuple keys; values nested past msgpack's limit, or holding wildcard/infinity (fixext 1 of
    type -1, which msgpack reads as a timestamp and refuses), are streamed."""
    try:
        try:
            return _unpackb(data, raw=True, strict_map_key=False, ext_hook=_ExtType), False
        except TypeError:  # unhashable keys: decode them as tuples
            return _unpackb(
                data, raw=True, strict_map_key=False, ext_hook=_ExtType, use_list=False, list_hook=tuple
            ), False
    except _StackError:
        return _unpack_deep(data), True
    except ValueError:
        if _CMP_EXT not in bytes(data):
            raise
        return _unpack_deep(data), True


_StackError = msgpack.exceptions.StackError
#: fixext 1 of type -1: the start of a wildcard/infinity value.
_CMP_EXT = b"\xd4\xff"
_NO_KEY = object()


def _unpack_deep(data: bytes | memoryview) -> Any:
    """``msgpack.unpackb(data, raw=True, ...)`` for values nested past msgpack's limit: collections
    are opened and closed on an explicit stack, scalars are msgpack's own; an unhashable map key
    becomes a tuple. A value cut short is a ``ValueError``, as ``unpackb`` answers it (the
    streaming unpacker's ``OutOfData`` is no ``ValueError``)."""
    try:
        return _unpack_deep_stream(data)
    except (msgpack.OutOfData, IndexError):
        raise ValueError("msgpack value cut short") from None


def _unpack_deep_stream(data: bytes | memoryview) -> Any:
    buf = bytes(data)
    u = msgpack.Unpacker(raw=True, strict_map_key=False, ext_hook=_ext_hook, max_buffer_size=max(len(buf), 1))
    u.feed(buf)
    tell = u.tell
    stack: list[list[Any]] = []  # open collections: [list | dict, values left, pending map key]
    while True:
        c = buf[tell()]
        if 0x90 <= c <= 0x9F or c == 0xDC or c == 0xDD:
            n = u.read_array_header()
            v: Any = []
            if n:
                stack.append([v, n, _NO_KEY])
                continue
        elif 0x80 <= c <= 0x8F or c == 0xDE or c == 0xDF:
            n = u.read_map_header()
            v = {}
            if n:
                stack.append([v, 2 * n, _NO_KEY])
                continue
        elif c == 0xD4 and buf[tell() + 1] == 0xFF:
            # Wildcard/infinity (fixext 1, type -1): None, as the Rust client (0.14.4) returns
            # them; msgpack would read a timestamp.
            if buf[tell() + 2] > 1:
                raise ValueError(f"unknown ext type -1 value {buf[tell() + 2]}")
            u.skip()
            v = None
        else:
            v = u.unpack()
        while stack:  # ``v`` is complete: put it in its collection, closing those it completes
            top = stack[-1]
            coll = top[0]
            if type(coll) is list:
                coll.append(v)
            elif top[2] is _NO_KEY:
                top[2] = v
            else:
                key = top[2]
                try:
                    coll[key] = v
                except TypeError:
                    coll[_as_key(key)] = v
                top[2] = _NO_KEY
            top[1] -= 1
            if top[1]:
                break
            stack.pop()
            v = coll
        else:
            if tell() != len(buf):
                raise msgpack.ExtraData(v, buf[tell():])
            return v


def _as_key(v: Any) -> Any:
    """A list or map used as a map key, as a (hashable) tuple."""
    if type(v) is list:
        return tuple(_as_key(x) for x in v)
    if type(v) is dict:
        return tuple((_as_key(k), _as_key(x)) for k, x in v.items())
    return v


# --------------------------------------------------------------------------- particles


def encode_particle(v: Any) -> tuple[int, bytes]:
    """Return ``(particle_type, bytes)`` for a bin value."""
    t = type(v)
    if t is str:
        return PT_STRING, v.encode()
    if t is int:
        if INT64_MIN <= v <= INT64_MAX:
            return PT_INTEGER, _INT64.pack(v)
        if INT64_MAX < v <= 0xFFFFFFFFFFFFFFFF:
            return PT_INTEGER, _UINT64.pack(v)
        raise OverflowError(f"integer {v} does not fit in 64 bits")
    if t is float:
        return PT_FLOAT, _DOUBLE.pack(v)
    if t is bytes:
        return PT_BLOB, v
    if t is bool:
        return PT_BOOL, b"\x01" if v else b"\x00"
    if t is list:
        return PT_LIST, pack_cdt(v)
    if t is dict or t is KeyOrderedDict:
        return PT_MAP, pack_cdt(v)
    if v is None:
        return PT_NULL, b""
    if t is bytearray:
        return PT_BLOB, bytes(v)
    if t is GeoJSON:
        return PT_GEOJSON, b"\x00\x00\x00" + v.encode()
    if t is HLL:
        return PT_HLL, bytes(v)
    if isinstance(v, bool):
        return encode_particle(bool(v))
    if isinstance(v, int):
        return encode_particle(int(v))
    if isinstance(v, float):
        return encode_particle(float(v))
    if isinstance(v, str):
        return encode_particle(str(v))
    if isinstance(v, (bytes, memoryview)):
        return PT_BLOB, bytes(v)
    if isinstance(v, list):
        return PT_LIST, pack_cdt(v)
    if isinstance(v, dict):
        return PT_MAP, pack_cdt(v)
    raise ValueTypeError(f"unsupported bin value type {t.__name__} ({v!r:.60})")


def decode_particle(ptype: int, data: bytes | memoryview) -> Any:
    """Decode a particle of the given type."""
    if ptype == PT_INTEGER:
        return _INT64.unpack(data)[0]  # (always 8 bytes: any other size is a malformed particle)
    if ptype == PT_STRING:
        return bytes(data).decode()
    if ptype == PT_FLOAT:
        return _DOUBLE.unpack(data)[0]
    if ptype == PT_BLOB:
        return bytes(data)
    if ptype == PT_LIST or ptype == PT_MAP:
        return unpack_cdt(data)
    if ptype == PT_BOOL:
        return data[0] != 0 if len(data) == 1 else bool(int.from_bytes(data, "big"))
    if ptype == PT_NULL:
        return None
    if ptype == PT_GEOJSON:
        ncells = int.from_bytes(data[1:3], "big")
        return GeoJSON(bytes(data[3 + 8 * ncells :]).decode())
    if ptype == PT_HLL:
        return HLL(data)
    return bytes(data)  # language blobs and unknown types: raw bytes


def cdt_type_rank(v: Any) -> int:
    """Aerospike's cross-type order: nil < bool < int < string < list < map < bytes < float < geojson."""
    t = type(v)
    if v is None:
        return 1
    if t is bool:
        return 2
    if t is int:
        return 3
    if t is str:
        return 4
    if t is list or t is tuple:
        return 5
    if isinstance(v, dict):
        return 6
    if t is bytes or t is bytearray:
        return 7
    if t is float:
        return 8
    if t is GeoJSON:
        return 9
    if v is INFINITY:
        return 10
    if v is WILDCARD:
        return 11
    if isinstance(v, bool):
        return 2
    if isinstance(v, int):
        return 3
    if isinstance(v, str):
        return 4
    if isinstance(v, bytes):
        return 7
    if isinstance(v, float):
        return 8
    return 0


def cdt_sort_key(v: Any) -> tuple[Any, ...]:
    """A key ordering values as Aerospike orders them inside lists and maps."""
    r = cdt_type_rank(v)
    if r in (3, 8, 2):
        return (r, v)
    if r == 4:
        return (r, v.encode())
    if r == 7:
        return (r, bytes(v))
    if r == 5:
        return (r, tuple(cdt_sort_key(x) for x in v))
    if r == 6:
        items = sorted((cdt_sort_key(k), cdt_sort_key(x)) for k, x in v.items())
        return (r, len(v), tuple(items))
    return (r,)
