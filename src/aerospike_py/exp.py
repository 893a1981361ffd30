"""Expression builders (server-side filters and expression operations).

Every builder returns a plain dict node ``{"__expr__": kind, ...}``; pass the root as
``policy["filter_expression"]`` or to :func:`exp_read` / :func:`exp_write` in ``operate``.
:func:`_pack_filter` turns a tree into the msgpack wire form the server evaluates (field 43 of a
command, or the value of an expression operation). Trees are checked when packed: malformed
nodes raise :class:`~aerospike_py.exception.InvalidArgError` before anything is sent; type
errors the server detects (an int compared with a string) come back as server errors.

    from aerospike_py import exp
    f = exp.and_(exp.ge(exp.int_bin("age"), exp.int_val(21)), exp.bin_exists("name"))
    client.get(key, policy={"filter_expression": f})
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack

from ._wire import cdt as CDT
from ._wire.values import INFINITY, WILDCARD, ValueTypeError, pack_cdt
from .exception import InvalidArgError, _InvalidArgType, _InvalidArgValue

Expr = dict[str, Any]

EXP_TYPE_NIL = 0
EXP_TYPE_BOOL = 1
EXP_TYPE_INT = 2
EXP_TYPE_STRING = 3
EXP_TYPE_LIST = 4
EXP_TYPE_MAP = 5
EXP_TYPE_BLOB = 6
EXP_TYPE_FLOAT = 7
EXP_TYPE_GEO = 8
EXP_TYPE_HLL = 9

# Flags of expression operations (as the official clients name them).
EXP_READ_DEFAULT = 0
EXP_READ_EVAL_NO_FAIL = 16
EXP_WRITE_DEFAULT = 0
EXP_WRITE_CREATE_ONLY = 1
EXP_WRITE_UPDATE_ONLY = 2
EXP_WRITE_ALLOW_DELETE = 4
EXP_WRITE_POLICY_NO_FAIL = 8
EXP_WRITE_EVAL_NO_FAIL = 16

#: Public op codes of expression operations in ``operate``.
_OP_EXP_READ = 5001
_OP_EXP_WRITE = 5002


class _Op:
    """Wire op codes of the expression language."""

    UNKNOWN = 0
    EQ, NE, GT, GE, LT, LE, REGEX, GEO = 1, 2, 3, 4, 5, 6, 7, 8
    AND, OR, NOT, EXCLUSIVE = 16, 17, 18, 19
    ADD, SUB, MUL, DIV, POW, LOG, MOD, ABS, FLOOR, CEIL = 20, 21, 22, 23, 24, 25, 26, 27, 28, 29
    TO_INT, TO_FLOAT = 30, 31
    INT_AND, INT_OR, INT_XOR, INT_NOT, INT_LSHIFT, INT_RSHIFT, INT_ARSHIFT = 32, 33, 34, 35, 36, 37, 38
    INT_COUNT, INT_LSCAN, INT_RSCAN = 39, 40, 41
    MIN, MAX = 50, 51
    DIGEST_MODULO, DEVICE_SIZE, LAST_UPDATE, SINCE_UPDATE, VOID_TIME, TTL = 64, 65, 66, 67, 68, 69
    SET_NAME, KEY_EXISTS, IS_TOMBSTONE, MEMORY_SIZE, RECORD_SIZE = 70, 71, 72, 73, 74
    KEY, BIN, BIN_TYPE = 80, 81, 82
    COND, VAR, LET, QUOTED, CALL = 123, 124, 125, 126, 127


def _node(kind: str, **fields: Any) -> Expr:
    d: Expr = {"__expr__": kind}
    d.update(fields)
    return d


# --------------------------------------------------------------------------- values


def int_val(val: int) -> Expr:
    """A 64-bit integer constant."""
    return _node("int_val", val=val)


def float_val(val: float) -> Expr:
    """A double constant."""
    return _node("float_val", val=val)


def string_val(val: str) -> Expr:
    """A string constant."""
    return _node("string_val", val=val)


def bool_val(val: bool) -> Expr:
    """A boolean constant."""
    return _node("bool_val", val=val)


def blob_val(val: bytes) -> Expr:
    """A bytes constant."""
    return _node("blob_val", val=val)


def list_val(val: list[Any]) -> Expr:
    """A list constant."""
    return _node("list_val", val=val)


def map_val(val: dict[Any, Any]) -> Expr:
    """A map constant."""
    return _node("map_val", val=val)


def geo_val(val: str) -> Expr:
    """A GeoJSON constant (the JSON text)."""
    return _node("geo_val", val=val)


def nil() -> Expr:
    """The nil value."""
    return _node("nil")


def infinity() -> Expr:
    """Infinity (upper bound of CDT ranges)."""
    return _node("infinity")


def wildcard() -> Expr:
    """Wildcard (matches anything in CDT values)."""
    return _node("wildcard")


# --------------------------------------------------------------------------- bins


def int_bin(name: str) -> Expr:
    """The integer value of bin ``name`` (unknown when missing or of another type)."""
    return _node("int_bin", name=name)


def float_bin(name: str) -> Expr:
    """The float value of bin ``name``."""
    return _node("float_bin", name=name)


def string_bin(name: str) -> Expr:
    """The string value of bin ``name``."""
    return _node("string_bin", name=name)


def bool_bin(name: str) -> Expr:
    """The boolean value of bin ``name``."""
    return _node("bool_bin", name=name)


def blob_bin(name: str) -> Expr:
    """The bytes value of bin ``name``."""
    return _node("blob_bin", name=name)


def list_bin(name: str) -> Expr:
    """The list value of bin ``name``."""
    return _node("list_bin", name=name)


def map_bin(name: str) -> Expr:
    """The map value of bin ``name``."""
    return _node("map_bin", name=name)


def geo_bin(name: str) -> Expr:
    """The GeoJSON value of bin ``name``."""
    return _node("geo_bin", name=name)


def hll_bin(name: str) -> Expr:
    """The HyperLogLog value of bin ``name``."""
    return _node("hll_bin", name=name)


def bin_exists(name: str) -> Expr:
    """True when bin ``name`` exists."""
    return _node("bin_exists", name=name)


def bin_type(name: str) -> Expr:
    """The particle type of bin ``name`` (0 when missing)."""
    return _node("bin_type", name=name)


# --------------------------------------------------------------------------- record metadata


def key(exp_type: int) -> Expr:
    """The stored user key, of type ``exp_type`` (EXP_TYPE_INT/STRING/BLOB)."""
    return _node("key", exp_type=exp_type)


def key_exists() -> Expr:
    """True when the record stores its user key."""
    return _node("key_exists")


def set_name() -> Expr:
    """The record's set name."""
    return _node("set_name")


def record_size() -> Expr:
    """The record's size in bytes."""
    return _node("record_size")


def last_update() -> Expr:
    """Last update time, nanoseconds since the Unix epoch."""
    return _node("last_update")


def since_update() -> Expr:
    """Milliseconds since the last update."""
    return _node("since_update")


def void_time() -> Expr:
    """Expiration time, nanoseconds since the Unix epoch (-1: never expires)."""
    return _node("void_time")


def ttl() -> Expr:
    """Seconds until expiration (-1: never expires)."""
    return _node("ttl")


def is_tombstone() -> Expr:
    """True for a tombstone (never, on the embedded server)."""
    return _node("is_tombstone")


def digest_modulo(modulo: int) -> Expr:
    """The record digest modulo ``modulo``."""
    return _node("digest_modulo", modulo=modulo)


# --------------------------------------------------------------------------- comparison / logic


def eq(left: Expr, right: Expr) -> Expr:
    """left == right."""
    return _node("eq", left=left, right=right)


def ne(left: Expr, right: Expr) -> Expr:
    """left != right."""
    return _node("ne", left=left, right=right)


def gt(left: Expr, right: Expr) -> Expr:
    """left > right."""
    return _node("gt", left=left, right=right)


def ge(left: Expr, right: Expr) -> Expr:
    """left >= right."""
    return _node("ge", left=left, right=right)


def lt(left: Expr, right: Expr) -> Expr:
    """left < right."""
    return _node("lt", left=left, right=right)


def le(left: Expr, right: Expr) -> Expr:
    """left <= right."""
    return _node("le", left=left, right=right)


def and_(*exprs: Expr) -> Expr:
    """Logical AND of two or more boolean expressions."""
    return _node("and", exprs=list(exprs))


def or_(*exprs: Expr) -> Expr:
    """Logical OR of two or more boolean expressions."""
    return _node("or", exprs=list(exprs))


def not_(expr: Expr) -> Expr:
    """Logical NOT."""
    return _node("not", expr=expr)


def xor_(*exprs: Expr) -> Expr:
    """True when exactly one of the boolean expressions is true."""
    return _node("xor", exprs=list(exprs))


# --------------------------------------------------------------------------- arithmetic


def num_add(*exprs: Expr) -> Expr:
    """Sum (all ints or all floats)."""
    return _node("num_add", exprs=list(exprs))


def num_sub(*exprs: Expr) -> Expr:
    """Difference; one argument negates it."""
    return _node("num_sub", exprs=list(exprs))


def num_mul(*exprs: Expr) -> Expr:
    """Product."""
    return _node("num_mul", exprs=list(exprs))


def num_div(*exprs: Expr) -> Expr:
    """Quotient (integer division truncates toward zero); one argument gives 1/x."""
    return _node("num_div", exprs=list(exprs))


def num_mod(numerator: Expr, denominator: Expr) -> Expr:
    """Integer remainder (sign of the numerator)."""
    return _node("num_mod", exprs=[numerator, denominator])


def num_pow(base: Expr, exponent: Expr) -> Expr:
    """base ** exponent (floats)."""
    return _node("num_pow", exprs=[base, exponent])


def num_log(num: Expr, base: Expr) -> Expr:
    """Logarithm of ``num`` in ``base`` (floats)."""
    return _node("num_log", exprs=[num, base])


def num_abs(value: Expr) -> Expr:
    """Absolute value."""
    return _node("num_abs", exprs=[value])


def num_floor(num: Expr) -> Expr:
    """Floor of a float."""
    return _node("num_floor", exprs=[num])


def num_ceil(num: Expr) -> Expr:
    """Ceiling of a float."""
    return _node("num_ceil", exprs=[num])


def to_int(num: Expr) -> Expr:
    """Float -> int (truncates)."""
    return _node("to_int", exprs=[num])


def to_float(num: Expr) -> Expr:
    """Int -> float."""
    return _node("to_float", exprs=[num])


def min_(*exprs: Expr) -> Expr:
    """Minimum."""
    return _node("min", exprs=list(exprs))


def max_(*exprs: Expr) -> Expr:
    """Maximum."""
    return _node("max", exprs=list(exprs))


# --------------------------------------------------------------------------- integer bits


def int_and(*exprs: Expr) -> Expr:
    """Bitwise AND."""
    return _node("int_and", exprs=list(exprs))


def int_or(*exprs: Expr) -> Expr:
    """Bitwise OR."""
    return _node("int_or", exprs=list(exprs))


def int_xor(*exprs: Expr) -> Expr:
    """Bitwise XOR."""
    return _node("int_xor", exprs=list(exprs))


def int_not(expr: Expr) -> Expr:
    """Bitwise NOT."""
    return _node("int_not", exprs=[expr])


def int_lshift(value: Expr, shift: Expr) -> Expr:
    """Left shift (64-bit)."""
    return _node("int_lshift", exprs=[value, shift])


def int_rshift(value: Expr, shift: Expr) -> Expr:
    """Logical right shift (64-bit, zero fill)."""
    return _node("int_rshift", exprs=[value, shift])


def int_arshift(value: Expr, shift: Expr) -> Expr:
    """Arithmetic right shift (sign fill)."""
    return _node("int_arshift", exprs=[value, shift])


def int_count(expr: Expr) -> Expr:
    """Number of set bits (of the 64-bit two's complement)."""
    return _node("int_count", exprs=[expr])


def int_lscan(value: Expr, search: Expr) -> Expr:
    """Index (from the most significant bit) of the first bit equal to ``search``, or -1."""
    return _node("int_lscan", exprs=[value, search])


def int_rscan(value: Expr, search: Expr) -> Expr:
    """Index (from the most significant bit) of the last bit equal to ``search``, or -1."""
    return _node("int_rscan", exprs=[value, search])


# --------------------------------------------------------------------------- other


def regex_compare(regex: str, flags: int, bin_expr: Expr) -> Expr:
    """True when the string ``bin_expr`` matches POSIX ``regex`` (``REGEX_*`` flags)."""
    return _node("regex_compare", regex=regex, flags=flags, bin=bin_expr)


def geo_compare(left: Expr, right: Expr) -> Expr:
    """True when the two GeoJSON values are within / contain each other."""
    return _node("geo_compare", left=left, right=right)


def cond(*exprs: Expr) -> Expr:
    """``cond(b1, v1, b2, v2, ..., default)``: the value of the first true condition."""
    return _node("cond", exprs=list(exprs))


def var(name: str) -> Expr:
    """The value of a variable defined by :func:`def_` in an enclosing :func:`let_`."""
    return _node("var", name=name)


def def_(name: str, value: Expr) -> Expr:
    """A variable definition, for :func:`let_`."""
    return _node("def", name=name, value=value)


def let_(*exprs: Expr) -> Expr:
    """``let_(def_("x", ...), ..., scope)``: define variables, then evaluate ``scope``."""
    return _node("let", exprs=list(exprs))


# --------------------------------------------------------------------------- list / map / bit / HLL reads
#
# Read operations of the list, map, bit and HLL APIs used inside expressions (the official clients'
# ListExp/MapExp/BitExp/HLLExp). Arguments may be expressions or plain Python values (wrapped as
# constants); ``bin`` is a bin name or an expression giving the list/map/blob/HLL value; ``ctx``
# is a list of ``aerospike_py.cdt_ctx`` items; ``inverted`` selects everything but the range.
# Single-element getters take ``value_type`` (an ``EXP_TYPE_*``): the type of what they return.
# A range end of ``None`` is sent as nil, as the official clients send it; nil is the lowest value,
# so the range is empty: use ``aerospike_py.INFINITY`` for "up to the largest".

_INVERTED = CDT.INVERTED
# NONE is not a valid return type in an expression (the official client refuses it too).
_LIST_RTS = CDT.LIST_RETURN_TYPES - {CDT.RT_NONE}
_MAP_RTS = CDT.MAP_RETURN_TYPES - {CDT.RT_NONE}
_MODULE_CDT, _MODULE_BIT, _MODULE_HLL = 0, 1, 2


def _v(x: Any) -> Expr:
    """An argument: an expression node as is, a Python value as a constant."""
    if isinstance(x, dict) and "__expr__" in x:
        return x
    if x is None:
        return nil()
    if x is WILDCARD:
        return wildcard()
    if x is INFINITY:
        return infinity()
    if isinstance(x, bool):
        return bool_val(x)
    if isinstance(x, int):
        return int_val(x)
    if isinstance(x, float):
        return float_val(x)
    if isinstance(x, str):
        return string_val(x)
    if isinstance(x, (bytes, bytearray)):
        return blob_val(bytes(x))
    if isinstance(x, (list, tuple)):
        return list_val(list(x))
    if isinstance(x, dict):
        return map_val(x)
    raise _InvalidArgType(f"expression argument of unsupported type {type(x).__name__}")


def _bin_arg(b: Any, accessor: Callable[[str], Expr]) -> Expr:
    if isinstance(b, str):
        return accessor(b)
    if isinstance(b, dict) and "__expr__" in b:
        return b
    raise _InvalidArgType(f"bin must be a bin name or an expression, not {type(b).__name__}")


def _ctx(ctx: Any) -> list[Any] | None:
    if not ctx:
        return None
    if not isinstance(ctx, (list, tuple)):
        raise _InvalidArgType("ctx must be a list of aerospike_py.cdt_ctx items")
    flat: list[Any] = []
    for item in ctx:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise _InvalidArgType(f"ctx items must come from aerospike_py.cdt_ctx, not {item!r:.60}")
        t, v = item
        if isinstance(t, bool) or not isinstance(t, int) or (t & ~CDT.CTX_CREATE_MASK) not in CDT.CTX_TYPES or t & ~0xFF:
            raise _InvalidArgValue(f"unknown ctx type {t!r}")
        flat += (t, v)
    return flat


def _rt(return_type: Any, allowed: frozenset[int], inverted: bool) -> int:
    if isinstance(return_type, bool) or not isinstance(return_type, int) or return_type < 0 \
            or (return_type & ~_INVERTED) not in allowed:
        raise _InvalidArgValue(f"unknown return type {return_type!r}")
    return return_type | (_INVERTED if inverted else 0)


def _multi_type(rt: int, is_map: bool) -> int:
    """The expression type a range/multi-element read returns for return type ``rt``."""
    base = rt & ~_INVERTED
    if base == CDT.RT_COUNT:
        return EXP_TYPE_INT
    if base == CDT.RT_EXISTS:
        return EXP_TYPE_BOOL
    if is_map and base in (CDT.RT_KEY_VALUE, CDT.RT_UNORDERED_MAP, CDT.RT_ORDERED_MAP):
        return EXP_TYPE_MAP
    return EXP_TYPE_LIST


def _value_type(t: Any) -> int:
    if isinstance(t, bool) or not isinstance(t, int) or not EXP_TYPE_NIL <= t <= EXP_TYPE_HLL:
        raise _InvalidArgValue(f"value_type must be an EXP_TYPE_* constant, not {t!r}")
    return t


def _call(exp_type: int, module: int, code: int, args: list[Any], bin_expr: Expr, ctx: Any = None) -> Expr:
    return _node("call", exp_type=exp_type, module=module, op=code, args=[_v(a) for a in args],
                 ctx=_ctx(ctx), bin=bin_expr)


def _list_call(code: int, return_type: int, args: list[Any], bin: Any, ctx: Any, inverted: bool,
               value_type: int | None = None) -> Expr:
    rt = _rt(return_type, _LIST_RTS, inverted)
    t = _multi_type(rt, False) if value_type is None else _value_type(value_type)
    return _call(t, _MODULE_CDT, code, [rt, *args], _bin_arg(bin, list_bin), ctx)


def _map_call(code: int, return_type: int, args: list[Any], bin: Any, ctx: Any, inverted: bool,
              value_type: int | None = None) -> Expr:
    rt = _rt(return_type, _MAP_RTS, inverted)
    t = _multi_type(rt, True) if value_type is None else _value_type(value_type)
    return _call(t, _MODULE_CDT, code, [rt, *args], _bin_arg(bin, map_bin), ctx)


def list_size(bin: Any, ctx: Any = None) -> Expr:
    """Number of elements of a list (int)."""
    return _call(EXP_TYPE_INT, _MODULE_CDT, CDT.L_SIZE, [], _bin_arg(bin, list_bin), ctx)


def list_get_by_value(return_type: int, value: Any, bin: Any, ctx: Any = None, inverted: bool = False) -> Expr:
    """List elements equal to ``value``."""
    return _list_call(CDT.L_GET_BY_VALUE, return_type, [value], bin, ctx, inverted)


def list_get_by_value_range(return_type: int, begin: Any, end: Any, bin: Any, ctx: Any = None,
                            inverted: bool = False) -> Expr:
    """List elements with ``begin <= value < end`` (``end`` ``aerospike_py.INFINITY``: to the largest)."""
    return _list_call(CDT.L_GET_BY_VALUE_INTERVAL, return_type, [begin, end], bin, ctx, inverted)


def list_get_by_value_list(return_type: int, values: Any, bin: Any, ctx: Any = None, inverted: bool = False) -> Expr:
    """List elements equal to any of ``values``."""
    return _list_call(CDT.L_GET_BY_VALUE_LIST, return_type, [values], bin, ctx, inverted)


def list_get_by_value_rel_rank_range_to_end(return_type: int, value: Any, rank: Any, bin: Any, ctx: Any = None,
                                            inverted: bool = False) -> Expr:
    """List elements from rank ``rank`` relative to ``value`` to the last rank."""
    return _list_call(CDT.L_GET_BY_VALUE_REL_RANK_RANGE, return_type, [value, rank], bin, ctx, inverted)


def list_get_by_value_rel_rank_range(return_type: int, value: Any, rank: Any, count: Any, bin: Any,
                                     ctx: Any = None, inverted: bool = False) -> Expr:
    """``count`` list elements from rank ``rank`` relative to ``value``."""
    return _list_call(CDT.L_GET_BY_VALUE_REL_RANK_RANGE, return_type, [value, rank, count], bin, ctx, inverted)


def list_get_by_index(return_type: int, value_type: int, index: Any, bin: Any, ctx: Any = None) -> Expr:
    """The list element at ``index`` (of type ``value_type``)."""
    return _list_call(CDT.L_GET_BY_INDEX, return_type, [index], bin, ctx, False, value_type)


def list_get_by_index_range_to_end(return_type: int, index: Any, bin: Any, ctx: Any = None,
                                   inverted: bool = False) -> Expr:
    """List elements from ``index`` to the end."""
    return _list_call(CDT.L_GET_BY_INDEX_RANGE, return_type, [index], bin, ctx, inverted)


def list_get_by_index_range(return_type: int, index: Any, count: Any, bin: Any, ctx: Any = None,
                            inverted: bool = False) -> Expr:
    """``count`` list elements from ``index``."""
    return _list_call(CDT.L_GET_BY_INDEX_RANGE, return_type, [index, count], bin, ctx, inverted)


def list_get_by_rank(return_type: int, value_type: int, rank: Any, bin: Any, ctx: Any = None) -> Expr:
    """The list element of rank ``rank`` (0 smallest, -1 largest)."""
    return _list_call(CDT.L_GET_BY_RANK, return_type, [rank], bin, ctx, False, value_type)


def list_get_by_rank_range_to_end(return_type: int, rank: Any, bin: Any, ctx: Any = None,
                                  inverted: bool = False) -> Expr:
    """List elements from rank ``rank`` to the largest."""
    return _list_call(CDT.L_GET_BY_RANK_RANGE, return_type, [rank], bin, ctx, inverted)


def list_get_by_rank_range(return_type: int, rank: Any, count: Any, bin: Any, ctx: Any = None,
                           inverted: bool = False) -> Expr:
    """``count`` list elements from rank ``rank``."""
    return _list_call(CDT.L_GET_BY_RANK_RANGE, return_type, [rank, count], bin, ctx, inverted)


def map_size(bin: Any, ctx: Any = None) -> Expr:
    """Number of entries of a map (int)."""
    return _call(EXP_TYPE_INT, _MODULE_CDT, CDT.M_SIZE, [], _bin_arg(bin, map_bin), ctx)


def map_get_by_key(return_type: int, value_type: int, key: Any, bin: Any, ctx: Any = None) -> Expr:
    """The map entry with ``key`` (of type ``value_type``)."""
    return _map_call(CDT.M_GET_BY_KEY, return_type, [key], bin, ctx, False, value_type)


def map_get_by_key_range(return_type: int, begin: Any, end: Any, bin: Any, ctx: Any = None,
                         inverted: bool = False) -> Expr:
    """Map entries with ``begin <= key < end`` (``end`` ``aerospike_py.INFINITY``: to the largest)."""
    return _map_call(CDT.M_GET_BY_KEY_INTERVAL, return_type, [begin, end], bin, ctx, inverted)


def map_get_by_key_list(return_type: int, keys: Any, bin: Any, ctx: Any = None, inverted: bool = False) -> Expr:
    """Map entries with any of ``keys``."""
    return _map_call(CDT.M_GET_BY_KEY_LIST, return_type, [keys], bin, ctx, inverted)


def map_get_by_key_rel_index_range_to_end(return_type: int, key: Any, index: Any, bin: Any, ctx: Any = None,
                                          inverted: bool = False) -> Expr:
    """Map entries from index ``index`` relative to ``key`` to the end."""
    return _map_call(CDT.M_GET_BY_KEY_REL_INDEX_RANGE, return_type, [key, index], bin, ctx, inverted)


def map_get_by_key_rel_index_range(return_type: int, key: Any, index: Any, count: Any, bin: Any,
                                   ctx: Any = None, inverted: bool = False) -> Expr:
    """``count`` map entries from index ``index`` relative to ``key``."""
    return _map_call(CDT.M_GET_BY_KEY_REL_INDEX_RANGE, return_type, [key, index, count], bin, ctx, inverted)


def map_get_by_value(return_type: int, value: Any, bin: Any, ctx: Any = None, inverted: bool = False) -> Expr:
    """Map entries whose value equals ``value``."""
    return _map_call(CDT.M_GET_ALL_BY_VALUE, return_type, [value], bin, ctx, inverted)


def map_get_by_value_range(return_type: int, begin: Any, end: Any, bin: Any, ctx: Any = None,
                           inverted: bool = False) -> Expr:
    """Map entries with ``begin <= value < end`` (``end`` ``aerospike_py.INFINITY``: to the largest)."""
    return _map_call(CDT.M_GET_BY_VALUE_INTERVAL, return_type, [begin, end], bin, ctx, inverted)


def map_get_by_value_list(return_type: int, values: Any, bin: Any, ctx: Any = None, inverted: bool = False) -> Expr:
    """Map entries whose value equals any of ``values``."""
    return _map_call(CDT.M_GET_BY_VALUE_LIST, return_type, [values], bin, ctx, inverted)


def map_get_by_value_rel_rank_range_to_end(return_type: int, value: Any, rank: Any, bin: Any, ctx: Any = None,
                                           inverted: bool = False) -> Expr:
    """Map entries from rank ``rank`` relative to ``value`` to the largest."""
    return _map_call(CDT.M_GET_BY_VALUE_REL_RANK_RANGE, return_type, [value, rank], bin, ctx, inverted)


def map_get_by_value_rel_rank_range(return_type: int, value: Any, rank: Any, count: Any, bin: Any,
                                    ctx: Any = None, inverted: bool = False) -> Expr:
    """``count`` map entries from rank ``rank`` relative to ``value``."""
    return _map_call(CDT.M_GET_BY_VALUE_REL_RANK_RANGE, return_type, [value, rank, count], bin, ctx, inverted)


def map_get_by_index(return_type: int, value_type: int, index: Any, bin: Any, ctx: Any = None) -> Expr:
    """The map entry at ``index`` in key order (of type ``value_type``)."""
    return _map_call(CDT.M_GET_BY_INDEX, return_type, [index], bin, ctx, False, value_type)


def map_get_by_index_range_to_end(return_type: int, index: Any, bin: Any, ctx: Any = None,
                                  inverted: bool = False) -> Expr:
    """Map entries from ``index`` (key order) to the end."""
    return _map_call(CDT.M_GET_BY_INDEX_RANGE, return_type, [index], bin, ctx, inverted)


def map_get_by_index_range(return_type: int, index: Any, count: Any, bin: Any, ctx: Any = None,
                           inverted: bool = False) -> Expr:
    """``count`` map entries from ``index`` (key order)."""
    return _map_call(CDT.M_GET_BY_INDEX_RANGE, return_type, [index, count], bin, ctx, inverted)


def map_get_by_rank(return_type: int, value_type: int, rank: Any, bin: Any, ctx: Any = None) -> Expr:
    """The map entry of value rank ``rank`` (of type ``value_type``)."""
    return _map_call(CDT.M_GET_BY_RANK, return_type, [rank], bin, ctx, False, value_type)


def map_get_by_rank_range_to_end(return_type: int, rank: Any, bin: Any, ctx: Any = None,
                                 inverted: bool = False) -> Expr:
    """Map entries from value rank ``rank`` to the largest."""
    return _map_call(CDT.M_GET_BY_RANK_RANGE, return_type, [rank], bin, ctx, inverted)


def map_get_by_rank_range(return_type: int, rank: Any, count: Any, bin: Any, ctx: Any = None,
                          inverted: bool = False) -> Expr:
    """``count`` map entries from value rank ``rank``."""
    return _map_call(CDT.M_GET_BY_RANK_RANGE, return_type, [rank, count], bin, ctx, inverted)


def bit_get(bit_offset: Any, bit_size: Any, bin: Any) -> Expr:
    """``bit_size`` bits from ``bit_offset`` of a blob (blob)."""
    return _call(EXP_TYPE_BLOB, _MODULE_BIT, 50, [bit_offset, bit_size], _bin_arg(bin, blob_bin))


def bit_count(bit_offset: Any, bit_size: Any, bin: Any) -> Expr:
    """Number of set bits in ``bit_size`` bits from ``bit_offset`` (int)."""
    return _call(EXP_TYPE_INT, _MODULE_BIT, 51, [bit_offset, bit_size], _bin_arg(bin, blob_bin))


def bit_lscan(bit_offset: Any, bit_size: Any, value: Any, bin: Any) -> Expr:
    """Offset (within the range) of the first bit equal to ``value`` (bool), or -1 (int)."""
    return _call(EXP_TYPE_INT, _MODULE_BIT, 52, [bit_offset, bit_size, value], _bin_arg(bin, blob_bin))


def bit_rscan(bit_offset: Any, bit_size: Any, value: Any, bin: Any) -> Expr:
    """Offset (within the range) of the last bit equal to ``value`` (bool), or -1 (int)."""
    return _call(EXP_TYPE_INT, _MODULE_BIT, 53, [bit_offset, bit_size, value], _bin_arg(bin, blob_bin))


def bit_get_int(bit_offset: Any, bit_size: Any, signed: bool, bin: Any) -> Expr:
    """``bit_size`` (<= 64) bits from ``bit_offset`` as an integer, ``signed`` or not (int)."""
    if not isinstance(signed, bool):
        raise _InvalidArgType(f"signed must be a bool, not {type(signed).__name__}")
    return _call(EXP_TYPE_INT, _MODULE_BIT, 54, [bit_offset, bit_size, int(signed)], _bin_arg(bin, blob_bin))


def hll_get_count(bin: Any) -> Expr:
    """Estimated number of elements of an HLL (int)."""
    return _call(EXP_TYPE_INT, _MODULE_HLL, 50, [], _bin_arg(bin, hll_bin))


def hll_get_union(values: Any, bin: Any) -> Expr:
    """The union of the HLL with the HLLs ``values`` (hll)."""
    return _call(EXP_TYPE_HLL, _MODULE_HLL, 51, [values], _bin_arg(bin, hll_bin))


def hll_get_union_count(values: Any, bin: Any) -> Expr:
    """Estimated size of the union with the HLLs ``values`` (int)."""
    return _call(EXP_TYPE_INT, _MODULE_HLL, 52, [values], _bin_arg(bin, hll_bin))


def hll_get_intersect_count(values: Any, bin: Any) -> Expr:
    """Estimated size of the intersection with the HLLs ``values`` (int)."""
    return _call(EXP_TYPE_INT, _MODULE_HLL, 53, [values], _bin_arg(bin, hll_bin))


def hll_get_similarity(values: Any, bin: Any) -> Expr:
    """Estimated Jaccard similarity with the HLLs ``values`` (float)."""
    return _call(EXP_TYPE_FLOAT, _MODULE_HLL, 54, [values], _bin_arg(bin, hll_bin))


def hll_describe(bin: Any) -> Expr:
    """``[index_bit_count, minhash_bit_count]`` of an HLL (list)."""
    return _call(EXP_TYPE_LIST, _MODULE_HLL, 55, [], _bin_arg(bin, hll_bin))


def hll_may_contain(values: Any, bin: Any) -> Expr:
    """1 when every one of ``values`` may be in the HLL, else 0 (int)."""
    return _call(EXP_TYPE_INT, _MODULE_HLL, 56, [values], _bin_arg(bin, hll_bin))


# --------------------------------------------------------------------------- operate


def exp_read(bin: str, expr: Expr, flags: int = EXP_READ_DEFAULT) -> dict[str, Any]:
    """An ``operate`` op returning the value of ``expr`` under the name ``bin``."""
    return {"op": _OP_EXP_READ, "bin": bin, "expr": expr, "flags": flags}


def exp_write(bin: str, expr: Expr, flags: int = EXP_WRITE_DEFAULT) -> dict[str, Any]:
    """An ``operate`` op writing the value of ``expr`` to bin ``bin``."""
    return {"op": _OP_EXP_WRITE, "bin": bin, "expr": expr, "flags": flags}


# --------------------------------------------------------------------------- packing

_packer = msgpack.Packer(use_bin_type=False, autoreset=True)
_pack = _packer.pack
_BIN_TYPES = {
    "int_bin": EXP_TYPE_INT, "float_bin": EXP_TYPE_FLOAT, "string_bin": EXP_TYPE_STRING,
    "bool_bin": EXP_TYPE_BOOL, "blob_bin": EXP_TYPE_BLOB, "list_bin": EXP_TYPE_LIST,
    "map_bin": EXP_TYPE_MAP, "geo_bin": EXP_TYPE_GEO, "hll_bin": EXP_TYPE_HLL,
}  # fmt: skip
_META = {
    "key_exists": _Op.KEY_EXISTS, "set_name": _Op.SET_NAME, "record_size": _Op.RECORD_SIZE,
    "last_update": _Op.LAST_UPDATE, "since_update": _Op.SINCE_UPDATE, "void_time": _Op.VOID_TIME,
    "ttl": _Op.TTL, "is_tombstone": _Op.IS_TOMBSTONE,
}  # fmt: skip
_BINARY = {"eq": _Op.EQ, "ne": _Op.NE, "gt": _Op.GT, "ge": _Op.GE, "lt": _Op.LT, "le": _Op.LE, "geo_compare": _Op.GEO}
#: kind -> (wire op, min args, max args or None)
_VARARGS: dict[str, tuple[int, int, int | None]] = {
    "and": (_Op.AND, 2, None), "or": (_Op.OR, 2, None), "xor": (_Op.EXCLUSIVE, 2, None),
    "num_add": (_Op.ADD, 1, None), "num_sub": (_Op.SUB, 1, None), "num_mul": (_Op.MUL, 1, None),
    "num_div": (_Op.DIV, 1, None), "num_mod": (_Op.MOD, 2, 2), "num_pow": (_Op.POW, 2, 2),
    "num_log": (_Op.LOG, 2, 2), "num_abs": (_Op.ABS, 1, 1), "num_floor": (_Op.FLOOR, 1, 1),
    "num_ceil": (_Op.CEIL, 1, 1), "to_int": (_Op.TO_INT, 1, 1), "to_float": (_Op.TO_FLOAT, 1, 1),
    "min": (_Op.MIN, 1, None), "max": (_Op.MAX, 1, None),
    "int_and": (_Op.INT_AND, 1, None), "int_or": (_Op.INT_OR, 1, None), "int_xor": (_Op.INT_XOR, 1, None),
    "int_not": (_Op.INT_NOT, 1, 1), "int_lshift": (_Op.INT_LSHIFT, 2, 2), "int_rshift": (_Op.INT_RSHIFT, 2, 2),
    "int_arshift": (_Op.INT_ARSHIFT, 2, 2), "int_count": (_Op.INT_COUNT, 1, 1),
    "int_lscan": (_Op.INT_LSCAN, 2, 2), "int_rscan": (_Op.INT_RSCAN, 2, 2),
    "cond": (_Op.COND, 3, None),
}  # fmt: skip
_MAX_DEPTH = 64
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _str(b: bytes) -> bytes:
    """A msgpack str header + bytes (str8 for 32..255 bytes, as the official clients write)."""
    n = len(b)
    if n < 32:
        return bytes([0xA0 | n]) + b
    if n < 256:
        return b"\xd9" + bytes([n]) + b
    if n < 0x10000:
        return b"\xda" + n.to_bytes(2, "big") + b
    return b"\xdb" + n.to_bytes(4, "big") + b


def _array(n: int) -> bytes:
    return bytes([0x90 | n]) if n < 16 else b"\xdc" + n.to_bytes(2, "big")


def _bad(msg: str) -> InvalidArgError:
    return _InvalidArgValue(f"filter expression: {msg}")


def _get(node: Expr, field: str) -> Any:
    try:
        return node[field]
    except KeyError:
        raise _bad(f"{node['__expr__']} node needs {field!r}") from None


def _name(node: Expr, field: str = "name") -> str:
    name = _get(node, field)
    if not isinstance(name, str):
        raise _bad(f"{node['__expr__']}: {field} must be a str, not {type(name).__name__}")
    if node["__expr__"] != "var" and field == "name" and len(name.encode()) > 15:
        raise _bad(f"bin name {name!r} is longer than 15 bytes")
    return name


def _int(node: Expr, field: str) -> int:
    v = _get(node, field)
    if isinstance(v, bool) or not isinstance(v, int):
        raise _bad(f"{node['__expr__']}: {field} must be an int, not {type(v).__name__}")
    if not _INT64_MIN <= v <= _INT64_MAX:
        raise _bad(f"{node['__expr__']}: {v} does not fit in a signed 64-bit integer")
    return v


def _value(kind: str, node: Expr) -> bytes:
    v = _get(node, "val")
    if kind == "int_val":
        return _pack(_int(node, "val"))
    if kind == "float_val":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _bad(f"float_val needs a float, not {type(v).__name__}")
        return _pack(float(v))
    if kind == "string_val" or kind == "geo_val":
        if not isinstance(v, str):
            raise _bad(f"{kind} needs a str, not {type(v).__name__}")
        return _str((b"\x03" if kind == "string_val" else b"\x17") + v.encode())
    if kind == "bool_val":
        if not isinstance(v, bool):
            raise _bad(f"bool_val needs a bool, not {type(v).__name__}")
        return _pack(v)
    if kind == "blob_val":
        if not isinstance(v, (bytes, bytearray)):
            raise _bad(f"blob_val needs bytes, not {type(v).__name__}")
        return _str(b"\x04" + bytes(v))
    want = list if kind == "list_val" else dict
    if not isinstance(v, want):
        raise _bad(f"{kind} needs a {want.__name__}, not {type(v).__name__}")
    try:
        packed = pack_cdt(v)
    except (ValueTypeError, OverflowError, ValueError) as e:
        raise _bad(f"{kind}: {e}") from None
    return b"\x92\x7e" + packed if kind == "list_val" else packed


def _args(node: Expr, kind: str, lo: int, hi: int | None) -> list[Any]:
    exprs = _get(node, "exprs")
    if not isinstance(exprs, (list, tuple)):
        raise _bad(f"{kind}: exprs must be a list")
    n = len(exprs)
    if n < lo or (hi is not None and n > hi):
        want = str(lo) if hi == lo else f"at least {lo}"
        raise _bad(f"{kind} takes {want} arguments, got {n}")
    if kind == "cond" and n % 2 == 0:
        raise _bad("cond takes condition/value pairs and a default (an odd number of arguments)")
    return list(exprs)


def _emit(node: Any, out: list[bytes], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise _bad(f"nested deeper than {_MAX_DEPTH} levels")
    if not isinstance(node, dict):
        raise _bad(f"expected an expression node (dict from aerospike_py.exp), got {type(node).__name__}")
    kind = node.get("__expr__")
    if not isinstance(kind, str):
        raise _bad("node without '__expr__' (build expressions with aerospike_py.exp)")
    d = depth + 1
    if kind in _BINARY:
        out.append(b"\x93" + bytes([_BINARY[kind]]))
        _emit(_get(node, "left"), out, d)
        _emit(_get(node, "right"), out, d)
    elif kind in _VARARGS:
        op, lo, hi = _VARARGS[kind]
        args = _args(node, kind, lo, hi)
        out.append(_array(len(args) + 1) + bytes([op]))
        for a in args:
            _emit(a, out, d)
    elif kind in _BIN_TYPES:
        out.append(b"\x93\x51" + bytes([_BIN_TYPES[kind]]) + _str(_name(node).encode()))
    elif kind.endswith("_val"):
        if kind not in ("int_val", "float_val", "string_val", "bool_val", "blob_val", "list_val", "map_val",
                        "geo_val"):
            raise _bad(f"unknown expression kind {kind!r}")
        out.append(_value(kind, node))
    elif kind in _META:
        out.append(b"\x91" + bytes([_META[kind]]))
    elif kind == "not":
        out.append(b"\x92\x12")
        _emit(_get(node, "expr"), out, d)
    elif kind == "bin_exists":
        out.append(b"\x93\x02\x92\x52" + _str(_name(node).encode()) + b"\x00")
    elif kind == "bin_type":
        out.append(b"\x92\x52" + _str(_name(node).encode()))
    elif kind == "key":
        t = _int(node, "exp_type")
        if t not in (EXP_TYPE_INT, EXP_TYPE_STRING, EXP_TYPE_BLOB):
            raise _bad(f"key: exp_type must be EXP_TYPE_INT, EXP_TYPE_STRING or EXP_TYPE_BLOB, not {t}")
        out.append(b"\x92\x50" + bytes([t]))
    elif kind == "digest_modulo":
        m = _int(node, "modulo")
        if m <= 0 or m > 0x7FFFFFFF:
            raise _bad(f"digest_modulo: modulo must be in 1..2**31-1, not {m}")
        out.append(b"\x92\x40" + _pack(m))
    elif kind == "nil":
        out.append(b"\xc0")
    elif kind == "infinity":
        out.append(b"\xd4\xff\x01")
    elif kind == "wildcard":
        out.append(b"\xd4\xff\x00")
    elif kind == "unknown":
        out.append(b"\x91\x00")
    elif kind == "regex_compare":
        regex = _get(node, "regex")
        if not isinstance(regex, str):
            raise _bad("regex_compare: regex must be a str")
        flags = _int(node, "flags")
        if flags < 0 or flags > 15:
            raise _bad(f"regex_compare: flags must be a combination of REGEX_* (0..15), not {flags}")
        out.append(b"\x94\x07" + _pack(flags) + _str(regex.encode()))
        _emit(_get(node, "bin"), out, d)
    elif kind == "var":
        out.append(b"\x92\x7c" + _str(_name(node).encode()))
    elif kind == "let":
        args = _args(node, kind, 2, None)
        defs, scope = args[:-1], args[-1]
        out.append(_array(2 * len(defs) + 2) + b"\x7d")
        for df in defs:
            if not isinstance(df, dict) or df.get("__expr__") != "def":
                raise _bad("let_: every argument but the last must be a def_()")
            out.append(_str(_name(df).encode()))
            _emit(_get(df, "value"), out, d)
        _emit(scope, out, d)
    elif kind == "call":
        _emit_call(node, out, d)
    elif kind == "def":
        raise _bad("def_() is only valid as an argument of let_()")
    else:
        raise _bad(f"unknown expression kind {kind!r}")


def _emit_call(node: Expr, out: list[bytes], depth: int) -> None:
    """``[CALL, type, module, [code, args...] or [0xff, ctx, [code, args...]], bin]``."""
    t, module, code = _int(node, "exp_type"), _int(node, "module"), _int(node, "op")
    args = _get(node, "args")
    if not isinstance(args, list):
        raise _bad("call: args must be a list")
    out.append(b"\x95\x7f" + _pack(t) + _pack(module))
    ctx = node.get("ctx")
    if ctx:
        try:
            out.append(b"\x93\xcc\xff" + pack_cdt(list(ctx)))
        except (ValueTypeError, OverflowError, ValueError) as e:
            raise _bad(f"ctx: {e}") from None
    out.append(_array(len(args) + 1) + _pack(code))
    for a in args:
        _emit(a, out, depth)
    _emit(_get(node, "bin"), out, depth)


def _pack_expression(expr: Expr) -> bytes:
    """The msgpack wire form of an expression tree (raises InvalidArgError when malformed)."""
    out: list[bytes] = []
    _emit(expr, out, 0)
    return b"".join(out)


def _pack_filter(expr: Expr) -> bytes:
    """The body of a command's filter-expression field (43); reusable by batch/query commands."""
    if isinstance(expr, (bytes, bytearray)):
        return bytes(expr)  # already packed
    return _pack_expression(expr)



__all__ = [
    "Expr", "EXP_TYPE_NIL", "EXP_TYPE_BOOL", "EXP_TYPE_INT", "EXP_TYPE_STRING", "EXP_TYPE_LIST",
    "EXP_TYPE_MAP", "EXP_TYPE_BLOB", "EXP_TYPE_FLOAT", "EXP_TYPE_GEO", "EXP_TYPE_HLL", "EXP_READ_DEFAULT",
    "EXP_READ_EVAL_NO_FAIL", "EXP_WRITE_DEFAULT", "EXP_WRITE_CREATE_ONLY", "EXP_WRITE_UPDATE_ONLY",
    "EXP_WRITE_ALLOW_DELETE", "EXP_WRITE_POLICY_NO_FAIL", "EXP_WRITE_EVAL_NO_FAIL", "int_val",
    "float_val", "string_val", "bool_val", "blob_val", "list_val", "map_val", "geo_val", "nil",
    "infinity", "wildcard", "int_bin", "float_bin", "string_bin", "bool_bin", "blob_bin", "list_bin",
    "map_bin", "geo_bin", "hll_bin", "bin_exists", "bin_type", "key", "key_exists", "set_name",
    "record_size", "last_update", "since_update", "void_time", "ttl", "is_tombstone", "digest_modulo",
    "eq", "ne", "gt", "ge", "lt", "le", "and_", "or_", "not_", "xor_", "num_add", "num_sub", "num_mul",
    "num_div", "num_mod", "num_pow", "num_log", "num_abs", "num_floor", "num_ceil", "to_int", "to_float",
    "min_", "max_", "int_and", "int_or", "int_xor", "int_not", "int_lshift", "int_rshift", "int_arshift",
    "int_count", "int_lscan", "int_rscan", "regex_compare", "geo_compare", "cond", "var", "def_", "let_",
    "list_size", "list_get_by_value", "list_get_by_value_range", "list_get_by_value_list",
    "list_get_by_value_rel_rank_range_to_end", "list_get_by_value_rel_rank_range", "list_get_by_index",
    "list_get_by_index_range_to_end", "list_get_by_index_range", "list_get_by_rank",
    "list_get_by_rank_range_to_end", "list_get_by_rank_range", "map_size", "map_get_by_key",
    "map_get_by_key_range", "map_get_by_key_list", "map_get_by_key_rel_index_range_to_end",
    "map_get_by_key_rel_index_range", "map_get_by_value", "map_get_by_value_range",
    "map_get_by_value_list", "map_get_by_value_rel_rank_range_to_end", "map_get_by_value_rel_rank_range",
    "map_get_by_index", "map_get_by_index_range_to_end", "map_get_by_index_range", "map_get_by_rank",
    "map_get_by_rank_range_to_end", "map_get_by_rank_range", "bit_get", "bit_count", "bit_lscan",
    "bit_rscan", "bit_get_int", "hll_get_count", "hll_get_union", "hll_get_union_count",
    "hll_get_intersect_count", "hll_get_similarity", "hll_describe", "hll_may_contain", "exp_read",
    "exp_write",
]


def __dir__() -> list[str]:
    return sorted(__all__)
