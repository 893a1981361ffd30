"""Expression evaluation of the embedded server: filters (field 43) and expression ops (wire 7/8).

An expression arrives as msgpack. It is compiled once (cached by its bytes) into closures, with
the server's static typing: comparison and arithmetic operands must have the same type (an int
never equals a float), logic takes booleans, a filter must be boolean; violations and malformed
trees answer PARAMETER (4). At run time a missing bin, a bin of another type, a key that was not
stored or a division by zero give *unknown*; logic is three-valued (Kleene) and a filter that
is not true filters the record out (27).

Approximations (documented): ``geo_compare`` handles points, polygons and ``AeroCircle`` on a
sphere (point in region, region contains point, polygon inside region by its vertices);
POSIX regexes are translated to Python's ``re`` (basic vs extended syntax, bracket classes such
as ``[[:alpha:]]``, ``REGEX_ICASE``/``REGEX_NEWLINE``). List/map/bit/HLL read calls (op 127) run
the same functions as the read operations (``cdt.apply``, ``bits.read_result``,
``hll.read_result``); their modify calls are not evaluated (PARAMETER).
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Callable
from typing import Any

import msgpack

from .._wire import cdt as CDT
from .._wire import constants as W
from .._wire.expiry import CITRUS_EPOCH
from .._wire.message import WireOp
from .._wire.values import HLL, GeoJSON, cdt_sort_key, decode_particle, encode_particle, pack_cdt
from . import bits, cdt, hll
from .context import OpContext
from .errors import BIN_EXISTS, BIN_NOT_FOUND, OP_NOT_APPLICABLE, PARAMETER, ResultError
from .storage import Clock, StoredRecord, delete_bin


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()
_MASK = (1 << 64) - 1

# Static result types.
NIL, BOOL, INT, STR, LIST, MAP, BLOB, FLOAT, GEO, HLLT, ANY = (
    "nil", "bool", "int", "str", "list", "map", "blob", "float", "geo", "hll", "any")
_EXP_TYPES = {0: NIL, 1: BOOL, 2: INT, 3: STR, 4: LIST, 5: MAP, 6: BLOB, 7: FLOAT, 8: GEO, 9: HLLT}
_BIN_PTYPES = {BOOL: W.PT_BOOL, INT: W.PT_INTEGER, STR: W.PT_STRING, LIST: W.PT_LIST, MAP: W.PT_MAP,
               BLOB: W.PT_BLOB, FLOAT: W.PT_FLOAT, GEO: W.PT_GEOJSON, HLLT: W.PT_HLL}
_KEY_PTYPES = {INT: W.PT_INTEGER, STR: W.PT_STRING, BLOB: W.PT_BLOB}


class Ctx:
    """What an expression sees: the record and the server's clock."""

    __slots__ = ("rec", "ns", "clock", "vars")

    def __init__(self, rec: StoredRecord, ns: Any, clock: Clock) -> None:
        self.rec: StoredRecord = rec
        self.ns: Any = ns
        self.clock: Clock = clock
        self.vars: dict[str, Any] = {}


Fn = Callable[[Ctx], Any]
Compiled = tuple[str, Fn]
#: Compiles one expression node: ``(args, env)`` -> its code (``env``: variable name -> type).
Builder = Callable[[list[Any], dict[str, str]], Compiled]


def _err(msg: str) -> ResultError:
    return ResultError(PARAMETER, f"expression: {msg}")


def _runtime_type(v: Any) -> str:
    t = type(v)
    if t is bool:
        return BOOL
    if t is int:
        return INT
    if t is float:
        return FLOAT
    if t is GeoJSON:
        return GEO
    if t is str:
        return STR
    if t is HLL:
        return HLLT
    if t is bytes:
        return BLOB
    if t is list:
        return LIST
    if t is dict:
        return MAP
    return NIL if v is None else ANY


def _wrap(v: int) -> int:
    v &= _MASK
    return v - (1 << 64) if v >> 63 else v


# --------------------------------------------------------------------------- constants


def _const(v: Any) -> Any:
    """A msgpack-decoded (raw) constant -> Python value (strings carry their particle prefix)."""
    t = type(v)
    if t is bytes:
        if not v:
            raise _err("string constant without particle type")
        p, rest = v[0], v[1:]
        if p == W.PT_STRING:
            return rest.decode("utf-8", "replace")
        if p == W.PT_BLOB:
            return rest
        if p == W.PT_GEOJSON:
            return GeoJSON(rest.decode("utf-8", "replace"))
        raise _err(f"unknown particle prefix {p} in a string constant")
    if t is list:
        return [_const(x) for x in v if type(x) is not cdt.Ext]
    if t is dict:
        return {_hashable(_const(k)): _const(x) for k, x in v.items() if type(k) is not cdt.Ext}
    if t is cdt.Ext:
        raise _err("wildcard/infinity outside a CDT operation")
    return v


def _hashable(v: Any) -> Any:
    return tuple(v) if type(v) is list else v


def _value_node(v: Any) -> Compiled:
    val = _const(v)
    typ = _runtime_type(val)
    return typ, lambda c: val


# --------------------------------------------------------------------------- compile


def _compile(obj: Any, env: dict[str, str]) -> Compiled:
    if type(obj) is not list:
        return _value_node(obj)
    if not obj or type(obj[0]) is not int:
        raise _err("an operation must be an array starting with its op code")
    op, args = obj[0], obj[1:]
    builder = _BUILDERS.get(op)
    if builder is None:
        raise _err(f"unsupported op code {op}")
    return builder(args, env)


def _need(args: list[Any], lo: int, hi: int | None = None, what: str = "") -> None:
    if len(args) < lo or (hi is not None and len(args) > hi):
        raise _err(f"{what}: wrong number of arguments ({len(args)})")


def _compare(op: int) -> Builder:
    name = {1: "eq", 2: "ne", 3: "gt", 4: "ge", 5: "lt", 6: "le"}[op]

    def build(args: list[Any], env: dict[str, str]) -> Compiled:
        _need(args, 2, 2, name)
        lt, lf = _compile(args[0], env)
        rt, rf = _compile(args[1], env)
        if lt != rt and ANY not in (lt, rt):
            raise _err(f"{name}: cannot compare {lt} with {rt}")
        if op > 2 and lt in (GEO, HLLT):
            raise _err(f"{name}: {lt} values are not ordered")

        def fn(c: Ctx) -> Any:
            a = lf(c)
            if a is UNKNOWN:
                return UNKNOWN
            b = rf(c)
            if b is UNKNOWN or _runtime_type(a) != _runtime_type(b):
                return UNKNOWN
            return _cmp(op, a, b)

        return BOOL, fn

    return build


def _order_key(v: Any) -> Any:
    t = type(v)
    if t is str:
        return v.encode()
    if t in (int, float, bytes, bool):
        return v
    return cdt_sort_key(v)


def _cmp(op: int, a: object, b: object) -> bool:
    if op == 1:
        return a == b
    if op == 2:
        return a != b
    ka, kb = _order_key(a), _order_key(b)
    if op == 3:
        return bool(ka > kb)
    if op == 4:
        return bool(ka >= kb)
    if op == 5:
        return bool(ka < kb)
    return bool(ka <= kb)


def _logic(op: int) -> Builder:
    def build(args: list[Any], env: dict[str, str]) -> Compiled:
        if op == 18:
            _need(args, 1, 1, "not")
        else:
            _need(args, 2, None, "and/or/xor")
        subs = [_compile(a, env) for a in args]
        for t, _ in subs:
            if t not in (BOOL, ANY):
                raise _err(f"logical operation on a {t}")
        fns = [f for _, f in subs]

        if op == 18:
            f0 = fns[0]

            def fn(c: Ctx) -> Any:
                v = f0(c)
                return UNKNOWN if v is UNKNOWN or type(v) is not bool else not v
        elif op == 16:

            def fn(c: Ctx) -> Any:
                unk = False
                for f in fns:
                    v = f(c)
                    if v is False:
                        return False
                    if v is not True:
                        unk = True
                return UNKNOWN if unk else True
        elif op == 17:

            def fn(c: Ctx) -> Any:
                unk = False
                for f in fns:
                    v = f(c)
                    if v is True:
                        return True
                    if v is not False:
                        unk = True
                return UNKNOWN if unk else False
        else:

            def fn(c: Ctx) -> Any:
                n = 0
                for f in fns:
                    v = f(c)
                    if type(v) is not bool:
                        return UNKNOWN
                    n += v
                return n == 1

        return BOOL, fn

    return build


def _numeric_type(subs: list[Compiled], what: str, allowed: tuple[str, ...] = (INT, FLOAT)) -> str:
    typ = ANY
    for t, _ in subs:
        if t == ANY:
            continue
        if t not in allowed:
            raise _err(f"{what}: {t} operand")
        if typ != ANY and t != typ:
            raise _err(f"{what}: mixes {typ} and {t}")
        typ = t
    return typ


def _int_div(a: int, b: int) -> Any:
    if b == 0:
        return UNKNOWN
    q = abs(a) // abs(b)
    return _wrap(q if (a < 0) == (b < 0) else -q)


def _fold(name: str, int_fn: Callable[[int, int], Any], float_fn: Callable[[float, float], Any],
          unary: Callable[[Any], Any] | None = None, allowed: tuple[str, ...] = (INT, FLOAT),
          lo: int = 1, hi: int | None = None) -> Builder:
    def build(args: list[Any], env: dict[str, str]) -> Compiled:
        _need(args, lo, hi, name)
        subs = [_compile(a, env) for a in args]
        typ = _numeric_type(subs, name, allowed)
        fns = [f for _, f in subs]

        def fn(c: Ctx) -> Any:
            vals = []
            for f in fns:
                v = f(c)
                if v is UNKNOWN or type(v) not in (int, float):
                    return UNKNOWN
                vals.append(v)
            t0 = type(vals[0])
            if any(type(v) is not t0 for v in vals):
                return UNKNOWN
            if len(vals) == 1 and unary is not None:
                return unary(vals[0])
            step = int_fn if t0 is int else float_fn
            acc = vals[0]
            for v in vals[1:]:
                acc = step(acc, v)
                if acc is UNKNOWN:
                    return UNKNOWN
            return acc

        return typ, fn

    return build


def _fdiv(a: float, b: float) -> float:
    if b == 0.0:
        return math.copysign(math.inf, a) * (1.0 if math.copysign(1.0, b) > 0 else -1.0) if a else math.nan
    return a / b


def _unary_div(v: Any) -> Any:
    return _int_div(1, v) if type(v) is int else _fdiv(1.0, v)


def _int_mod(a: int, b: int) -> Any:
    if b == 0:
        return UNKNOWN
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _pow(a: float, b: float) -> Any:
    try:
        return math.pow(a, b)
    except (OverflowError, ValueError):
        return math.inf if a > 1 else math.nan


def _log(a: float, b: float) -> Any:
    try:
        return math.log(a) / math.log(b)
    except (ValueError, ZeroDivisionError):
        return math.nan


def _unary(name: str, arg_t: tuple[str, ...], res_t: str | None, f: Callable[[Any], Any]) -> Builder:
    def build(args: list[Any], env: dict[str, str]) -> Compiled:
        _need(args, 1, 1, name)
        t, g = _compile(args[0], env)
        if t != ANY and t not in arg_t:
            raise _err(f"{name}: {t} operand")
        rt = res_t or t

        def fn(c: Ctx) -> Any:
            v = g(c)
            if v is UNKNOWN or _runtime_type(v) not in arg_t:
                return UNKNOWN
            return f(v)

        return rt, fn

    return build


def _to_int(v: float) -> Any:
    if math.isnan(v) or not (-(2.0 ** 63) <= v < 2.0 ** 63):
        return UNKNOWN
    return int(v)


def _shift(name: str, f: Callable[[int, int], int]) -> Builder:
    return _fold(name, lambda a, b: _wrap(f(a, b)), lambda a, b: UNKNOWN, allowed=(INT,), lo=2, hi=2)


def _lshift(a: int, s: int) -> int:
    return (a << s) & _MASK if 0 <= s < 64 else 0


def _rshift(a: int, s: int) -> int:
    return (a & _MASK) >> s if 0 <= s < 64 else 0


def _arshift(a: int, s: int) -> int:
    return a >> s if 0 <= s < 64 else (-1 if a < 0 else 0)


def _scan(left: bool) -> Builder:
    def build(args: list[Any], env: dict[str, str]) -> Compiled:
        _need(args, 2, 2, "int_scan")
        (vt, vf), (st, sf) = _compile(args[0], env), _compile(args[1], env)
        if vt not in (INT, ANY) or st not in (BOOL, ANY):
            raise _err("int_lscan/int_rscan take an int and a bool")

        def fn(c: Ctx) -> Any:
            v, s = vf(c), sf(c)
            if type(v) is not int or type(s) is not bool:
                return UNKNOWN
            bits = format(v & _MASK, "064b")
            ch = "1" if s else "0"
            return bits.find(ch) if left else bits.rfind(ch)

        return INT, fn

    return build


def _minmax(is_max: bool) -> Builder:
    pick = max if is_max else min
    return _fold("max" if is_max else "min", lambda a, b: pick(a, b), lambda a, b: pick(a, b))


# --------------------------------------------------------------------------- record access


def _build_bin(args: list[Any], env: dict[str, str]) -> Compiled:
    _need(args, 2, 2, "bin")
    t, name = args
    typ = _EXP_TYPES.get(t) if type(t) is int else None
    if typ is None or typ == NIL or type(name) is not bytes:
        raise _err("bin: bad type or name")
    pt = _BIN_PTYPES[typ]
    bname = name.decode("utf-8", "replace")

    def fn(c: Ctx) -> Any:
        p = c.rec.bins.get(bname)
        if p is None or p[0] != pt:
            return UNKNOWN
        return decode_particle(p[0], p[1])

    return typ, fn


def _build_bin_type(args: list[Any], env: dict[str, str]) -> Compiled:
    _need(args, 1, 1, "bin_type")
    if type(args[0]) is not bytes:
        raise _err("bin_type: bad name")
    bname = args[0].decode("utf-8", "replace")

    def fn(c: Ctx) -> Any:
        p = c.rec.bins.get(bname)
        return 0 if p is None else p[0]

    return INT, fn


def _build_key(args: list[Any], env: dict[str, str]) -> Compiled:
    _need(args, 1, 1, "key")
    typ = _EXP_TYPES.get(args[0]) if type(args[0]) is int else None
    if typ not in _KEY_PTYPES:
        raise _err("key: type must be int, string or blob")
    pt = _KEY_PTYPES[typ]

    def fn(c: Ctx) -> Any:
        k = c.rec.key
        if not k or k[0] != pt:
            return UNKNOWN
        return decode_particle(pt, k[1:])

    return typ, fn


def _meta(typ: str, f: Callable[[Ctx], Any]) -> Builder:
    def build(args: list[Any], env: dict[str, str]) -> Compiled:
        _need(args, 0, 0, "metadata")
        return typ, f

    return build


def _ttl(c: Ctx) -> int:
    vt = c.rec.void_time
    return -1 if not vt else max(vt - c.clock.citrus_now(), 0)


def _void_time(c: Ctx) -> int:
    vt = c.rec.void_time
    return -1 if not vt else (vt + CITRUS_EPOCH) * 1_000_000_000


def _since_update(c: Ctx) -> int:
    return max(c.clock.nanos() - c.rec.last_update_ns, 0) // 1_000_000


def _build_digest_mod(args: list[Any], env: dict[str, str]) -> Compiled:
    _need(args, 1, 1, "digest_modulo")
    m = args[0]
    if type(m) is not int or not (-(1 << 31) <= m < (1 << 31)) or m == 0:
        raise _err("digest_modulo: bad modulo")
    mod = abs(m)

    def fn(c: Ctx) -> Any:
        return int.from_bytes(c.rec.digest[16:20], "little") % mod

    return INT, fn


# --------------------------------------------------------------------------- regex / geo

_POSIX_CLASSES = {
    "alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z", "lower": "a-z",
    "space": r" \t\n\r\f\v", "blank": r" \t", "punct": r"!-/:-@\[-`{-~", "xdigit": "0-9A-Fa-f",
    "cntrl": r"\x00-\x1f\x7f", "print": r"\x20-\x7e", "graph": r"\x21-\x7e",
}  # fmt: skip


def translate_posix(pattern: str, extended: bool) -> str:
    """A POSIX (basic or extended) regex -> an equivalent Python ``re`` pattern (common subset)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    special_bre = "(){}+?|"
    while i < n:
        ch = pattern[i]
        if ch == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            parts = ["["]
            k = i + 1
            while k < n and (k < j or pattern[k] != "]"):
                if pattern.startswith("[:", k):
                    end = pattern.find(":]", k + 2)
                    if end < 0 or pattern[k + 2:end] not in _POSIX_CLASSES:
                        raise re.error("bad character class")
                    parts.append(_POSIX_CLASSES[pattern[k + 2:end]])
                    k = end + 2
                    continue
                c2 = pattern[k]
                parts.append("\\" + c2 if c2 in "\\[" else c2)
                k += 1
            if k >= n:
                raise re.error("unterminated bracket expression")
            parts.append("]")
            out.append("".join(parts))
            i = k + 1
            continue
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if not extended and nxt in special_bre:
                out.append(nxt)
            else:
                out.append("\\" + nxt)
            i += 2
            continue
        if not extended and ch in special_bre:
            out.append("\\" + ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _build_regex(args: list[Any], env: dict[str, str]) -> Compiled:
    _need(args, 3, 3, "regex")
    flags, pattern, sub = args
    if type(flags) is not int or type(pattern) is not bytes:
        raise _err("regex: bad flags or pattern")
    t, f = _compile(sub, env)
    if t not in (STR, ANY):
        raise _err(f"regex on a {t}")
    py_flags = (re.IGNORECASE if flags & 2 else 0) | (re.MULTILINE if flags & 8 else re.DOTALL)
    try:
        rx = re.compile(translate_posix(pattern.decode(), bool(flags & 1)), py_flags)
    except (re.error, UnicodeDecodeError) as e:
        raise _err(f"regex does not compile: {e}") from None
    search = rx.search

    def fn(c: Ctx) -> Any:
        v = f(c)
        if type(v) is not str:
            return UNKNOWN
        return search(v) is not None

    return BOOL, fn


_EARTH_M = 6371008.8


def _parse_geo(text: str) -> Any:
    try:
        g = json.loads(text)
        kind = g["type"]
        co = g["coordinates"]
        if kind == "Point":
            return ("point", (float(co[0]), float(co[1])))
        if kind == "Polygon":
            return ("polygon", [[(float(p[0]), float(p[1])) for p in ring] for ring in co])
        if kind == "AeroCircle":
            return ("circle", ((float(co[0][0]), float(co[0][1])), float(co[1])))
    except (ValueError, KeyError, TypeError, IndexError):
        return None
    return None


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    lng1, lat1, lng2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * _EARTH_M * math.asin(min(1.0, math.sqrt(h)))


def _in_ring(p: tuple[float, float], ring: list[tuple[float, float]]) -> bool:
    x, y = p
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=False):
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def _point_in(p: tuple[float, float], region: tuple[str, Any]) -> bool:
    kind, data = region
    if kind == "circle":
        radius: float = data[1]
        return _distance(p, data[0]) <= radius
    if kind == "polygon":
        return _in_ring(p, data[0]) and not any(_in_ring(p, hole) for hole in data[1:])
    return kind == "point" and p == data


def _geo_match(a: Any, b: Any) -> bool:
    if a[0] == "point":
        return _point_in(a[1], b)
    if b[0] == "point":
        return _point_in(b[1], a)
    if a[0] == "polygon":
        return all(_point_in(p, b) for p in a[1][0])
    return _point_in(a[1][0], b)  # circle: its centre (approximation)


def _build_geo(args: list[Any], env: dict[str, str]) -> Compiled:
    _need(args, 2, 2, "geo_compare")
    (lt, lf), (rt, rf) = _compile(args[0], env), _compile(args[1], env)
    if lt not in (GEO, ANY) or rt not in (GEO, ANY):
        raise _err("geo_compare takes two GeoJSON values")
    for arg in args:
        if type(arg) is bytes and _parse_geo(_const(arg)) is None:
            raise _err("invalid GeoJSON constant")

    def fn(c: Ctx) -> Any:
        a, b = lf(c), rf(c)
        if type(a) is not GeoJSON or type(b) is not GeoJSON:
            return UNKNOWN
        ga, gb = _parse_geo(a), _parse_geo(b)
        if ga is None or gb is None:
            return UNKNOWN
        return _geo_match(ga, gb)

    return BOOL, fn


# --------------------------------------------------------------------------- control flow


def _build_cond(args: list[Any], env: dict[str, str]) -> Compiled:
    if len(args) < 3 or len(args) % 2 == 0:
        raise _err("cond needs condition/value pairs and a default")
    subs = [_compile(a, env) for a in args]
    typ = ANY
    for i, (t, _) in enumerate(subs):
        if i % 2 == 0 and i < len(subs) - 1:
            if t not in (BOOL, ANY):
                raise _err("cond: condition is not boolean")
        elif t != ANY:
            if typ != ANY and t != typ:
                raise _err(f"cond: branches of types {typ} and {t}")
            typ = t
    pairs = [(subs[i][1], subs[i + 1][1]) for i in range(0, len(subs) - 1, 2)]
    default = subs[-1][1]

    def fn(c: Ctx) -> Any:
        for test, action in pairs:
            v = test(c)
            if v is True:
                return action(c)
            if v is not False:
                return UNKNOWN
        return default(c)

    return typ, fn


def _build_let(args: list[Any], env: dict[str, str]) -> Compiled:
    if len(args) < 1 or len(args) % 2 == 0:
        raise _err("let needs name/value pairs and a scope")
    inner = dict(env)
    defs: list[tuple[str, Fn]] = []
    for i in range(0, len(args) - 1, 2):
        name = args[i]
        if type(name) is not bytes:
            raise _err("let: variable name must be a string")
        sname = name.decode("utf-8", "replace")
        if sname in inner:  # the real server rejects a variable defined again (PARAMETER),
            raise _err(f"let: variable {sname!r} defined twice")  # even inside its own value
        t, f = _compile(args[i + 1], {**inner, sname: ANY})
        inner[sname] = t
        defs.append((sname, f))
    typ, scope = _compile(args[-1], inner)

    def fn(c: Ctx) -> Any:
        saved = dict(c.vars)
        try:
            for n, f in defs:
                c.vars[n] = f(c)
            return scope(c)
        finally:
            c.vars = saved

    return typ, fn


def _build_var(args: list[Any], env: dict[str, str]) -> Compiled:
    _need(args, 1, 1, "var")
    if type(args[0]) is not bytes:
        raise _err("var: name must be a string")
    name = args[0].decode("utf-8", "replace")
    if name not in env:
        raise _err(f"var {name!r} is not defined")
    return env[name], lambda c: c.vars.get(name, UNKNOWN)


def _build_quoted(args: list[Any], env: dict[str, str]) -> Compiled:
    _need(args, 1, 1, "quoted")
    if type(args[0]) is not list:
        raise _err("quoted value must be a list")
    val = _const(args[0])
    return LIST, lambda c: val


# --------------------------------------------------------------------------- CALL: list/map/bit/HLL reads

_CALL_MODULES = {0: (LIST, MAP), 1: (BLOB,), 2: (HLLT,)}
_CALL_MODIFY = 0x40


def _to_module(v: Any, module: int) -> Any:
    """A raw (decoded) constant -> the representation the module's op code works on: CList/CMap
    for list/map ops (order flags restored), plain lists/dicts for bit/HLL ops."""
    if module != 0:
        return v
    if type(v) is list:
        out = cdt.CList(_to_module(x, 0) for x in v)
        if out and cdt._is_flag(out[0]):
            out.flags = out.pop(0).code
        return out
    if type(v) is dict:
        m = cdt.CMap()
        for k, x in v.items():
            if cdt._is_flag(k):
                m.flags = k.code
            else:
                m.items.append([_to_module(k, 0), _to_module(x, 0)])
        return m
    return v


def _py_to_module(v: Any, module: int) -> Any:
    """A run-time (Python) value -> the module's representation."""
    data = pack_cdt(v)
    if module == 0:
        return cdt.unpack(data)
    return msgpack.unpackb(data, raw=True, strict_map_key=False)


def _call_arg(arg: Any, module: int, env: dict[str, str]) -> tuple[bool, Any]:
    """(is_constant, value or evaluator) of one argument of the called op."""
    if type(arg) is list:
        if len(arg) == 2 and arg[0] == 126:  # a quoted list constant
            return True, _to_module(arg[1], module)
        _, f = _compile(arg, env)
        return False, f
    return True, _to_module(arg, module)


def _call_container(node: Any, module: int, env: dict[str, str]) -> Compiled:
    """An evaluator of the value the op applies to (a raw stored bin when it is a plain bin read)."""
    typ, f = _compile(node, env)
    if typ != ANY and typ not in _CALL_MODULES[module]:
        raise _err(f"call: a {typ} cannot be the operand of module {module}")
    if type(node) is list and len(node) == 3 and node[0] == 81 and type(node[2]) is bytes:
        pt = _BIN_PTYPES.get(_EXP_TYPES.get(node[1], NIL))
        bname = node[2].decode("utf-8", "replace")

        def raw(c: Ctx) -> Any:
            p = c.rec.bins.get(bname)
            if p is None or p[0] != pt:
                return UNKNOWN
            return cdt.unpack(p[1]) if module == 0 else bytes(p[1])

        return typ, raw

    def evaluated(c: Ctx) -> Any:
        v = f(c)
        if v is UNKNOWN or v is None:
            return UNKNOWN
        if module == 0:
            return _py_to_module(v, 0) if type(v) in (list, dict) else UNKNOWN
        return bytes(v) if isinstance(v, bytes) else UNKNOWN

    return typ, evaluated


def _build_call(args: list[Any], env: dict[str, str]) -> Compiled:
    """``[CALL, result type, module, op payload, operand]``: a list/map (module 0), bit (1) or HLL (2)
    read op evaluated by the same code as the server's read operations; any error -> unknown."""
    _need(args, 4, 4, "call")
    rtype, module, payload, operand = args
    typ = _EXP_TYPES.get(rtype) if type(rtype) is int else None
    if typ is None or type(module) is not int:
        raise _err("call: bad result type or module")
    if module & _CALL_MODIFY:
        raise _err("call: list/map/bit/HLL modify expressions are not supported")
    if module not in _CALL_MODULES or type(payload) is not list or not payload:
        raise _err("call: bad module or op")
    path: list[Any] = []
    if module == 0 and payload[0] == 0xFF:
        if len(payload) != 3 or type(payload[1]) is not list or type(payload[2]) is not list or not payload[2]:
            raise _err("call: bad context")
        path, payload = list(_to_module(payload[1], 0)), payload[2]
        if not path or len(path) % 2:
            raise _err("call: bad context")
    code = payload[0]
    if type(code) is not int:
        raise _err("call: bad op code")
    if module == 0 and CDT.is_modify_code(code) or module > 0 and code < 50:
        raise _err(f"call: op {code} is not a read op")
    parts = [_call_arg(a, module, env) for a in payload[1:]]
    _, container = _call_container(operand, module, env)

    def fn(c: Ctx) -> Any:
        op_args = []
        for const, v in parts:
            if not const:
                v = v(c)
                if v is UNKNOWN:
                    return UNKNOWN
                v = _py_to_module(v, module)
            op_args.append(v)
        target = container(c)
        if target is UNKNOWN:
            return UNKNOWN
        try:
            if module == 0:
                particle = cdt.to_particle(cdt.apply(target, path, code, op_args))
            elif module == 1:
                particle = bits.read_result([code, *op_args], target)
            else:
                particle = hll.read_result([code, *op_args], hll.Sketch.decode(target))
        except (ResultError, ValueError, TypeError, IndexError, struct.error):
            return UNKNOWN
        if particle is None:
            # A collection read that selects nothing (a missing map key, say) has no value on the
            # real server: the expression is unknown (a filter fails, an exp op errors).
            return UNKNOWN if module == 0 else None
        v = decode_particle(*particle)
        if module == 0 and typ not in (ANY, NIL) and _runtime_type(v) != typ:
            return UNKNOWN  # a value of another type than the call declares
        return v

    return typ, fn


def _build_unknown(args: list[Any], env: dict[str, str]) -> Compiled:
    _need(args, 0, 0, "unknown")
    return ANY, lambda c: UNKNOWN


_BUILDERS: dict[int, Builder] = {
    0: _build_unknown,
    **{op: _compare(op) for op in range(1, 7)},
    7: _build_regex, 8: _build_geo,
    16: _logic(16), 17: _logic(17), 18: _logic(18), 19: _logic(19),
    20: _fold("add", lambda a, b: _wrap(a + b), lambda a, b: a + b),
    21: _fold("sub", lambda a, b: _wrap(a - b), lambda a, b: a - b, unary=lambda v: _wrap(-v) if type(v) is int else -v),
    22: _fold("mul", lambda a, b: _wrap(a * b), lambda a, b: a * b),
    23: _fold("div", _int_div, _fdiv, unary=_unary_div),
    24: _fold("pow", lambda a, b: UNKNOWN, _pow, allowed=(FLOAT,), lo=2, hi=2),
    25: _fold("log", lambda a, b: UNKNOWN, _log, allowed=(FLOAT,), lo=2, hi=2),
    26: _fold("mod", _int_mod, lambda a, b: UNKNOWN, allowed=(INT,), lo=2, hi=2),
    27: _unary("abs", (INT, FLOAT), None, lambda v: _wrap(abs(v)) if type(v) is int else abs(v)),
    28: _unary("floor", (FLOAT,), FLOAT, lambda v: float(math.floor(v)) if math.isfinite(v) else v),
    29: _unary("ceil", (FLOAT,), FLOAT, lambda v: float(math.ceil(v)) if math.isfinite(v) else v),
    30: _unary("to_int", (FLOAT,), INT, _to_int),
    31: _unary("to_float", (INT,), FLOAT, float),
    32: _fold("int_and", lambda a, b: a & b, lambda a, b: UNKNOWN, allowed=(INT,)),
    33: _fold("int_or", lambda a, b: a | b, lambda a, b: UNKNOWN, allowed=(INT,)),
    34: _fold("int_xor", lambda a, b: a ^ b, lambda a, b: UNKNOWN, allowed=(INT,)),
    35: _unary("int_not", (INT,), INT, lambda v: ~v),
    36: _shift("int_lshift", _lshift),
    37: _shift("int_rshift", _rshift),
    38: _shift("int_arshift", _arshift),
    39: _unary("int_count", (INT,), INT, lambda v: bin(v & _MASK).count("1")),
    40: _scan(True), 41: _scan(False),
    50: _minmax(False), 51: _minmax(True),
    64: _build_digest_mod,
    65: _meta(INT, lambda c: 0),
    66: _meta(INT, lambda c: c.rec.last_update_ns),
    67: _meta(INT, _since_update),
    68: _meta(INT, _void_time),
    69: _meta(INT, _ttl),
    70: _meta(STR, lambda c: c.rec.set_name),
    71: _meta(BOOL, lambda c: c.rec.key is not None),
    72: _meta(BOOL, lambda c: False),
    73: _meta(INT, lambda c: 0),
    74: _meta(INT, lambda c: c.rec.size()),
    80: _build_key, 81: _build_bin, 82: _build_bin_type,
    123: _build_cond, 124: _build_var, 125: _build_let, 126: _build_quoted, 127: _build_call,
}  # fmt: skip


# --------------------------------------------------------------------------- entry points

def _plain(v: Any) -> Any:
    """CDT-decoded msgpack -> plain lists/dicts (an order flag stays an ext key/element).

    The server's own decoder is used rather than msgpack's, which reads ext type -1 (Aerospike's
    wildcard/infinity) as a timestamp and rejects it.
    """
    if isinstance(v, cdt.CList):
        out = [_plain(x) for x in v]
        return [cdt.Ext(v.flags, b""), *out] if v.flags else out
    if isinstance(v, cdt.CMap):
        d: dict[Any, Any] = {cdt.Ext(v.flags, b""): None} if v.flags else {}
        for k, x in v.items:
            d[_hashable(_plain(k))] = _plain(x)
        return d
    return v


_CACHE: dict[bytes, Compiled] = {}
_CACHE_MAX = 512


def compile_expression(data: bytes | memoryview) -> Compiled:
    """Decode and type-check an expression (PARAMETER on malformed or ill-typed input)."""
    key = bytes(data)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    try:
        obj = _plain(cdt.unpack(key, whole=True))
    except ResultError as e:
        raise _err(str(e)) from None
    except RecursionError:
        raise _err("nested too deeply") from None
    try:
        compiled = _compile(obj, {})
    except RecursionError:
        raise _err("nested too deeply") from None
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = compiled
    return compiled


def evaluate(data: bytes | memoryview, rec: StoredRecord, ns: Any, clock: Clock) -> Any:
    """The value of an expression on a record (``UNKNOWN`` when it cannot be computed)."""
    _, fn = compile_expression(data)
    return fn(Ctx(rec, ns, clock))


def filter_passes(data: bytes | memoryview, rec: StoredRecord, ns: Any, clock: Any) -> bool:
    """Filter-expression hook: true only when the (boolean) expression evaluates to true."""
    typ, fn = compile_expression(data)
    if typ not in (BOOL, ANY):
        raise _err(f"a filter must be boolean, not {typ}")
    return fn(Ctx(rec, ns, clock)) is True


def _op_args(op: WireOp) -> tuple[bytes, int]:
    """Split an expression op value ``[expression, flags]``."""
    if op.ptype != W.PT_BLOB:
        raise ResultError(PARAMETER)
    value = bytes(op.value)
    if not value or value[0] != 0x92:
        raise ResultError(PARAMETER)
    unp = msgpack.Unpacker(raw=True, strict_map_key=False)
    unp.feed(value[1:])
    try:
        unp.skip()
        start = unp.tell()
        flags = unp.unpack()
    except (ValueError, msgpack.UnpackException, msgpack.OutOfData):
        raise ResultError(PARAMETER) from None
    if type(flags) is not int:
        raise ResultError(PARAMETER)
    return value[1:1 + start], flags


def _to_particle(v: Any) -> tuple[int, bytes] | None:
    if v is None:
        return None
    if type(v) is GeoJSON:
        return W.PT_GEOJSON, b"\x00\x00\x00" + v.encode()
    if type(v) is dict:  # keep the order the value has (a rank-ordered result, say), as the real server
        return W.PT_MAP, cdt.pack(_as_is(v))
    return encode_particle(v)


def _as_is(v: Any) -> Any:
    """A run-time (Python) value -> the CDT module's representation, map entries in their order."""
    t = type(v)
    if t is dict:
        m = cdt.CMap()
        m.items = [[_as_is(k), _as_is(x)] for k, x in v.items()]
        return m
    if t is list:
        return cdt.CList(_as_is(x) for x in v)
    if t is str:
        return b"\x03" + v.encode()
    if t is bytes or t is bytearray:
        return b"\x04" + bytes(v)
    if t is GeoJSON:
        return b"\x17" + v.encode()
    return v


def exp_read(ctx: OpContext, op: WireOp) -> tuple[int, bytes] | None:
    body, flags = _op_args(op)
    v = evaluate(body, ctx.record, ctx.namespace, ctx.clock)
    if v is UNKNOWN:
        if flags & 16:
            return None
        raise ResultError(OP_NOT_APPLICABLE)
    return _to_particle(v)


def exp_write(ctx: OpContext, op: WireOp) -> None:
    body, flags = _op_args(op)
    compile_expression(body)  # a malformed expression fails first (PARAMETER), as on the real server
    bins = ctx.record.bins
    no_fail = bool(flags & 8)
    exists = op.name in bins
    if flags & 1 and exists:
        if no_fail:
            return None
        raise ResultError(BIN_EXISTS)
    if flags & 2 and not exists:
        if no_fail:
            return None
        raise ResultError(BIN_NOT_FOUND)
    v = evaluate(body, ctx.record, ctx.namespace, ctx.clock)
    if v is UNKNOWN:
        if flags & 16:
            return None
        raise ResultError(OP_NOT_APPLICABLE)
    if v is None:
        if not flags & 4:
            if no_fail:
                return None
            raise ResultError(OP_NOT_APPLICABLE)
        delete_bin(bins, op.name)
        return None
    bins[op.name] = _to_particle(v)  # type: ignore[assignment]
    return None

