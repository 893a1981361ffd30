"""Write ops for a bins dict (put, batch_write): ``encode_bins``.

Puts of one workload repeat a few *layouts*: the same bin names with values of the same types.
For bin names seen before, the ops come from a function generated for them and their value types
(as ``collections.namedtuple`` generates its methods) that takes the values as arguments and holds
every byte but the values as constants: one join instead of a loop of several calls per bin. Any
other input (other types, exotic values) takes the general loop, which validates names and values
and raises before anything is sent.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from .._wire import constants as W
from .._wire.values import ValueTypeError, encode_particle, pack_cdt
from ..exception import _InvalidArgType, _InvalidArgValue
from .keys import check_bin_name

_pack_u32 = struct.Struct(">I").pack
_pack_int64 = struct.Struct(">q").pack
_pack_double = struct.Struct(">d").pack

#: Write-op bytes between size and value, per particle type and bin name (see _op_tail).
_OP_TAILS: dict[int, dict[Any, bytes]] = {1: {}, 2: {}, 3: {}, 4: {}, W.PT_MAP: {}, W.PT_LIST: {}}
_str_tail = _OP_TAILS[3].get  # (the caches are emptied, never replaced)
_blob_tail = _OP_TAILS[4].get
#: Whole op heads (size, then the tail) of int and float bins, whose values are always 8 bytes.
_INT_HEADS: dict[Any, bytes] = {}
_FLOAT_HEADS: dict[Any, bytes] = {}
_int_head = _INT_HEADS.get
_float_head = _FLOAT_HEADS.get
#: Bin names -> generated encoder for the value types first seen with them (None: left to the loop).
_LAYOUTS: dict[tuple[Any, ...], Callable[..., bytes | None] | None] = {}
#: Names seen once: an encoder is generated the second time (one-off layouts cost nothing).
_SEEN: set[tuple[Any, ...]] = set()
#: Packed sizes of small ops (a tuple index costs less than a struct call).
_U32_TABLE = tuple(_pack_u32(i) for i in range(1024))
_MAX_LAYOUTS = 512
_MAX_BINS = 32
#: Particle type by value type, for the layouts the generator handles.
_GEN_TYPES = {str: 3, bytes: 4, int: 1, float: 2}


def _op_tail(name: Any, ptype: int) -> bytes:
    """A write op's bytes after its size, up to its value: op, particle type, 0, name length, name
    (cached per particle type and bin name; the name is validated here)."""
    nb = check_bin_name(name)
    tail = bytes((W.OP_WRITE, ptype, 0, len(nb))) + nb
    cache = _OP_TAILS.get(ptype)
    if cache is None:
        cache = _OP_TAILS[ptype] = {}
    elif len(cache) >= 4096:
        cache.clear()
    cache[name] = tail
    return tail


def _op_head8(name: Any, ptype: int, cache: dict[Any, bytes]) -> bytes:
    """The head of a write op with an 8-byte value: size and :func:`_op_tail` (cached per name)."""
    tail = _op_tail(name, ptype)
    if len(cache) >= 4096:
        cache.clear()
    head = cache[name] = _pack_u32(len(tail) + 8) + tail
    return head


def encode_bins(bins: Any) -> bytes:
    """One write op per bin (a None value deletes the bin), concatenated.

    Bad names or values raise before anything is sent (``TypeError`` for a non-dict,
    ``InvalidArgError`` for the rest).
    """
    if type(bins) is dict and 0 < len(bins) <= _MAX_BINS:
        names = tuple(bins)
        try:
            enc = _LAYOUTS[names]
        except KeyError:
            enc = _learn(names, bins)
        except TypeError:  # an unhashable bin name: the general loop names the problem
            enc = None
        if enc is not None:
            try:
                ops = enc(*bins.values())
            except struct.error:  # an int out of the 64-bit range: the general loop says so
                ops = None
            if ops is not None:
                return ops
    return _encode_loop(bins)


def _encode_loop(bins: Any) -> bytes:
    """The general path: validate and encode bin by bin."""
    if not isinstance(bins, dict):
        raise _InvalidArgType(f"bins must be a dict of bin name -> value, not {type(bins).__name__}")
    if not bins:
        raise _InvalidArgValue("bins must not be empty")
    parts: list[bytes] = []
    for name, value in bins.items():
        t = type(value)
        if t is str:
            tail = _str_tail(name) or _op_tail(name, 3)
            v = value.encode()
        elif t is int and -0x8000000000000000 <= value <= 0x7FFFFFFFFFFFFFFF:
            parts += (_int_head(name) or _op_head8(name, 1, _INT_HEADS), _pack_int64(value))
            continue
        elif t is float:
            parts += (_float_head(name) or _op_head8(name, 2, _FLOAT_HEADS), _pack_double(value))
            continue
        elif t is list or t is dict:
            pt = W.PT_LIST if t is list else W.PT_MAP
            try:
                v = pack_cdt(value)
            except (ValueTypeError, OverflowError, ValueError) as e:
                raise _InvalidArgValue(f"bin {name!r}: {e}") from None
            tail = _OP_TAILS[pt].get(name) or _op_tail(name, pt)
        elif t is bytes:
            tail = _blob_tail(name) or _op_tail(name, 4)
            v = value
        else:
            try:
                pt, v = encode_particle(value)
            except (ValueTypeError, OverflowError, ValueError) as e:
                raise _InvalidArgValue(f"bin {name!r}: {e}") from None
            cache = _OP_TAILS.get(pt)
            tail = (cache.get(name) if cache is not None else None) or _op_tail(name, pt)
        n = len(tail) + len(v)
        parts += (_U32_TABLE[n] if n < 1024 else _pack_u32(n), tail, v)
    return b"".join(parts)


def _learn(names: tuple[Any, ...], bins: dict[Any, Any]) -> Callable[..., bytes | None] | None:
    """The encoder for bins named ``names``, generated for the value types of ``bins`` when these
    names are seen for the second time (None the first time, or when a type is left to the loop)."""
    if names not in _SEEN:
        if len(_SEEN) >= 4 * _MAX_LAYOUTS:
            _SEEN.clear()
        _SEEN.add(names)
        return None
    types = tuple(map(type, bins.values()))
    enc = None
    if all(t in _GEN_TYPES for t in types) and all(type(n) is str for n in names):
        enc = _generate(names, types)  # validates the names (raises for a bad one)
    if len(_LAYOUTS) >= _MAX_LAYOUTS:
        _LAYOUTS.clear()
    _LAYOUTS[names] = enc
    return enc


def _generate(names: tuple[str, ...], types: tuple[type, ...]) -> Callable[..., bytes | None]:
    """Generate ``encode(v0, v1, ...) -> bytes | None`` for bins of these names and value types.

    A value of another type returns None; an int out of the 64-bit range raises ``struct.error``
    (the general loop then handles either). Runs of ints and floats are packed by one struct call
    with their op heads; the size of a str/bytes op comes from a table. Constants enter the source
    through ``repr`` only.
    """
    args = [f"v{i}" for i in range(len(names))]
    checks = []
    body = []
    parts: list[str] = []
    run_fmt: list[str] = []
    run_args: list[str] = []
    namespace: dict[str, Any] = {"_u32": _pack_u32, "_U": _U32_TABLE, "_N": len(_U32_TABLE)}

    def end_run() -> None:
        if run_fmt:
            name = f"_p{len(parts)}"
            namespace[name] = struct.Struct(">" + "".join(run_fmt)).pack
            parts.append(f"{name}({', '.join(run_args)})")
            run_fmt.clear()
            run_args.clear()

    for i, (name, t) in enumerate(zip(names, types, strict=True)):
        pt = _GEN_TYPES[t]
        tail = _op_tail(name, pt)
        checks.append(f"type(v{i}) is not {t.__name__}")
        if pt in (1, 2):
            head = _pack_u32(len(tail) + 8) + tail
            run_fmt.append(f"{len(head)}s{'q' if pt == 1 else 'd'}")
            run_args.append(f"{head!r}, v{i}")
            continue
        end_run()
        if pt == 3:
            body.append(f"    v{i} = v{i}.encode()\n")
        body.append(f"    n{i} = {len(tail)} + len(v{i})\n")
        parts.append(f"_U[n{i}] if n{i} < _N else _u32(n{i}), {tail!r}, v{i}")
    end_run()
    source = (
        f"def encode({', '.join(args)}):\n"
        f"    if {' or '.join(checks)}:\n"
        "        return None\n"
        + "".join(body)
        + f"    return b''.join(({', '.join(parts)},))\n"
    )
    exec(source, namespace)  # noqa: S102 - generated from names and types above, constants via repr
    fn = namespace["encode"]
    fn.source = source
    encode: Callable[..., bytes | None] = fn
    return encode


__all__ = ["encode_bins"]
