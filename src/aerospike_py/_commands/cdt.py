"""List and map operation dicts (op codes 1001-1034, 2001-2032) -> CDT wire operations.

A CDT op is wire op 3 (read) or 4 (modify) whose value is msgpack ``[cdt_code, args...]``;
with a context it becomes ``[0xff, [ctx_type, ctx_value, ...], [cdt_code, args...]]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._wire import cdt as CDT
from .._wire import constants as W
from .._wire.message import pack_op
from .._wire.values import ValueTypeError, pack_cdt
from ..cdt_ctx import CDTContext
from ..exception import _InvalidArgType, _InvalidArgValue, _warn_unknown_field
from .base import EncodedOp, OpEncoder
from .keys import check_bin_name


class _Missing:
    pass


_MISSING: Any = _Missing()


def _get(op: dict[str, Any], name: str, alt: str | None = None) -> Any:
    if name in op:
        return op[name]
    if alt is not None and alt in op:
        return op[alt]
    raise _InvalidArgValue(f"operation {op.get('op')} needs {name!r}")


def _int(op: dict[str, Any], name: str, default: Any = _MISSING) -> Any:
    v = op.get(name, default)
    if v is _MISSING:
        raise _InvalidArgType(f"operation {op.get('op')} needs an int {name!r}")
    if v is None and default is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise _InvalidArgType(f"{name!r} must be an int, not {type(v).__name__}")
    return v


def _list_arg(op: dict[str, Any], name: str = "val") -> list[Any]:
    v = _get(op, name)
    if not isinstance(v, (list, tuple)):
        raise _InvalidArgType(f"{name!r} must be a list, not {type(v).__name__}")
    return list(v)


def _return_type(op: dict[str, Any], allowed: frozenset[int]) -> int:
    rt: int = _int(op, "return_type")
    if (rt & ~CDT.INVERTED) not in allowed or rt < 0:
        raise _InvalidArgValue(f"unknown return type {rt}")
    return rt


#: Field names of list/map policies: ours and the original's, then the official client's.
_LIST_POLICY_FIELDS = frozenset({"order", "flags", "list_order", "write_flags"})
_MAP_POLICY_FIELDS = frozenset({"order", "write_mode", "map_order", "write_flags", "map_write_flags",
                                "map_write_mode"})


def _list_policy(op: dict[str, Any]) -> tuple[int, int] | None:
    p: object = op.get("list_policy")
    if p is None:
        return None
    if not isinstance(p, dict):
        raise _InvalidArgType(f"list_policy must be a dict, not {type(p).__name__}")
    for k in p:
        if k not in _LIST_POLICY_FIELDS:
            _warn_unknown_field("list policy", k)
    given: dict[str, int] = p  # checked below
    order, flags = given.get("order", given.get("list_order", 0)), given.get("flags", given.get("write_flags", 0))
    for name, v in (("order", order), ("flags", flags)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise _InvalidArgValue(f"list_policy {name} must be a non-negative int")
    if order not in (0, 1):
        raise _InvalidArgValue(f"unknown list order {order}")
    return order, flags


def _map_policy(op: dict[str, Any]) -> tuple[int, int]:
    p: object = op.get("map_policy")
    if p is None:
        return 0, 0
    if not isinstance(p, dict):
        raise _InvalidArgType(f"map_policy must be a dict, not {type(p).__name__}")
    for k in p:
        if k not in _MAP_POLICY_FIELDS:
            _warn_unknown_field("map policy", k)
    given: dict[str, int] = p  # checked below
    order = given.get("order", given.get("map_order", 0))
    flags = given.get("write_mode", given.get("write_flags", given.get("map_write_flags",
                                                                       given.get("map_write_mode", 0))))
    for name, v in (("order", order), ("write_mode", flags)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise _InvalidArgValue(f"map_policy {name} must be a non-negative int")
    if order not in (0, 1, 3):
        raise _InvalidArgValue(f"unknown map order {order}")
    return order, flags


def _ctx_list(op: dict[str, Any]) -> list[Any] | None:
    ctx = op.get("ctx")
    if not ctx:
        return None
    if not isinstance(ctx, (list, tuple)):
        raise _InvalidArgType("ctx must be a list of cdt_ctx items")
    flat: list[Any] = []
    for item in ctx:
        if isinstance(item, CDTContext) or (isinstance(item, tuple) and len(item) == 2):
            t, v = item
        elif isinstance(item, dict) and "type" in item:
            t, v = item["type"], item.get("value")
        else:
            raise _InvalidArgType(f"ctx items must come from aerospike_py.cdt_ctx, not {item!r:.60}")
        if isinstance(t, bool) or not isinstance(t, int) or (t & ~CDT.CTX_CREATE_MASK) not in CDT.CTX_TYPES:
            raise _InvalidArgValue(f"unknown ctx type {t!r}")
        flat += (t, v)
    return flat


Args = Callable[[dict[str, Any]], list[Any]]


def _encode(op: dict[str, Any], code: int, args: list[Any], is_write: bool, has_result: bool, is_map: bool) -> EncodedOp:
    try:
        name = op["bin"]
    except KeyError:
        raise _InvalidArgValue(f"operation {op.get('op')} needs a 'bin'") from None
    b = check_bin_name(name)
    payload: list[Any] = [code, *args]
    ctx = _ctx_list(op)
    if ctx is not None:
        payload = [CDT.CTX_PREFIX, ctx, payload]
    try:
        data = pack_cdt(payload)
    except (ValueTypeError, OverflowError, ValueError) as e:
        raise _InvalidArgValue(f"operation {op.get('op')} on bin {name!r}: {e}") from None
    wire = W.OP_CDT_MODIFY if is_write else W.OP_CDT_READ
    enc = EncodedOp(pack_op(wire, b, W.PT_BLOB, data), wire, name, is_write, has_result, is_map)
    rt = op.get("return_type")
    if is_map and isinstance(rt, int) and (rt & ~CDT.INVERTED) == CDT.RT_KEY_VALUE:
        enc.post = _key_value_pairs
    return enc


def _key_value_pairs(v: Any) -> Any:
    """A ``MAP_RETURN_KEY_VALUE`` result as the original gives it: a list of ``(key, value)``."""
    return list(v.items()) if isinstance(v, dict) else v


def _encoder(code: int, args: Args, is_write: bool, is_map: bool, result: bool | None) -> OpEncoder:
    """``result`` None: the op has a result unless its return type is NONE."""

    def enc(op: dict[str, Any]) -> EncodedOp:
        a = args(op)
        has = result if result is not None else (_int(op, "return_type") & ~CDT.INVERTED) != 0
        return _encode(op, code, a, is_write, has, is_map)

    return enc


def _opt_count(op: dict[str, Any]) -> list[Any]:
    c = _int(op, "count", None)
    return [] if c is None else [c]


def _end(op: dict[str, Any]) -> list[Any]:
    end = op.get("val_end")
    return [] if end is None else [end]


# --------------------------------------------------------------------------- list


def _lpol(op: dict[str, Any], *, with_order: bool = True) -> list[Any]:
    p = _list_policy(op)
    if p is None:
        return []
    return [p[0], p[1]] if with_order else [p[1]]


def _lrt(op: dict[str, Any]) -> int:
    return _return_type(op, CDT.LIST_RETURN_TYPES)


def _sort_flags(op: dict[str, Any]) -> list[Any]:
    v = _int(op, "val", 0)
    if v & ~0x3:
        raise _InvalidArgValue(f"unknown list sort flags {v}")
    return [v]


def _list_order(op: dict[str, Any]) -> list[Any]:
    v = _int(op, "val", 0)
    if v not in (0, 1):
        raise _InvalidArgValue(f"unknown list order {v}")
    return [v]


def _set_args(op: dict[str, Any]) -> list[Any]:
    p = _list_policy(op)
    base = [_int(op, "index"), _get(op, "val")]
    return base + [p[1]] if p is not None else base


def _incr_args(op: dict[str, Any]) -> list[Any]:
    val = op.get("val", 1)
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        raise _InvalidArgType(f"list_increment needs an int or float, not {type(val).__name__}")
    return [_int(op, "index"), val, *_lpol(op)]


_LIST: list[tuple[int, int, Args, bool, bool | None]] = [
    # public, cdt code, args, is_write, has_result
    (1001, CDT.L_APPEND, lambda o: [_get(o, "val"), *_lpol(o)], True, True),
    (1002, CDT.L_APPEND_ITEMS, lambda o: [_list_arg(o), *_lpol(o)], True, True),
    (1003, CDT.L_INSERT, lambda o: [_int(o, "index"), _get(o, "val"), *_lpol(o, with_order=False)], True, True),
    (1004, CDT.L_INSERT_ITEMS, lambda o: [_int(o, "index"), _list_arg(o), *_lpol(o, with_order=False)], True, True),
    (1005, CDT.L_POP, lambda o: [_int(o, "index")], True, True),
    (1006, CDT.L_POP_RANGE, lambda o: [_int(o, "index"), _int(o, "count")], True, True),
    (1007, CDT.L_REMOVE, lambda o: [_int(o, "index")], True, True),
    (1008, CDT.L_REMOVE_RANGE, lambda o: [_int(o, "index"), _int(o, "count")], True, True),
    (1009, CDT.L_SET, _set_args, True, False),
    (1010, CDT.L_TRIM, lambda o: [_int(o, "index"), _int(o, "count")], True, True),
    (1011, CDT.L_CLEAR, lambda o: [], True, False),
    (1012, CDT.L_SIZE, lambda o: [], False, True),
    (1013, CDT.L_GET, lambda o: [_int(o, "index")], False, True),
    (1014, CDT.L_GET_RANGE, lambda o: [_int(o, "index"), *_opt_count(o)], False, True),
    (1015, CDT.L_GET_BY_VALUE, lambda o: [_lrt(o), _get(o, "val")], False, True),
    (1016, CDT.L_GET_BY_INDEX, lambda o: [_lrt(o), _int(o, "index")], False, True),
    (1017, CDT.L_GET_BY_INDEX_RANGE, lambda o: [_lrt(o), _int(o, "index"), *_opt_count(o)], False, True),
    (1018, CDT.L_GET_BY_RANK, lambda o: [_lrt(o), _int(o, "rank")], False, True),
    (1019, CDT.L_GET_BY_RANK_RANGE, lambda o: [_lrt(o), _int(o, "rank"), *_opt_count(o)], False, True),
    (1020, CDT.L_GET_BY_VALUE_LIST, lambda o: [_lrt(o), _list_arg(o)], False, True),
    (1021, CDT.L_GET_BY_VALUE_INTERVAL, lambda o: [_lrt(o), _get(o, "val"), *_end(o)], False, True),
    (1022, CDT.L_REMOVE_BY_VALUE, lambda o: [_lrt(o), _get(o, "val")], True, None),
    (1023, CDT.L_REMOVE_BY_VALUE_LIST, lambda o: [_lrt(o), _list_arg(o)], True, None),
    (1024, CDT.L_REMOVE_BY_VALUE_INTERVAL, lambda o: [_lrt(o), _get(o, "val"), *_end(o)], True, None),
    (1025, CDT.L_REMOVE_BY_INDEX, lambda o: [_lrt(o), _int(o, "index")], True, None),
    (1026, CDT.L_REMOVE_BY_INDEX_RANGE, lambda o: [_lrt(o), _int(o, "index"), *_opt_count(o)], True, None),
    (1027, CDT.L_REMOVE_BY_RANK, lambda o: [_lrt(o), _int(o, "rank")], True, None),
    (1028, CDT.L_REMOVE_BY_RANK_RANGE, lambda o: [_lrt(o), _int(o, "rank"), *_opt_count(o)], True, None),
    (1029, CDT.L_INCREMENT, _incr_args, True, True),
    (1030, CDT.L_SORT, _sort_flags, True, False),
    (1031, CDT.L_SET_TYPE, _list_order, True, False),
    (1032, CDT.L_GET_BY_VALUE_REL_RANK_RANGE,
     lambda o: [_lrt(o), _get(o, "val"), _int(o, "rank"), *_opt_count(o)], False, True),
    (1033, CDT.L_REMOVE_BY_VALUE_REL_RANK_RANGE,
     lambda o: [_lrt(o), _get(o, "val"), _int(o, "rank"), *_opt_count(o)], True, None),
]

# --------------------------------------------------------------------------- map


def _mrt(op: dict[str, Any]) -> int:
    return _return_type(op, CDT.MAP_RETURN_TYPES)


def _mput(op: dict[str, Any]) -> list[Any]:
    order, flags = _map_policy(op)
    return [_get(op, "map_key"), _get(op, "val"), order, *([flags] if flags else [])]


def _mput_items(op: dict[str, Any]) -> list[Any]:
    items = _get(op, "val")
    if not isinstance(items, dict):
        raise _InvalidArgType(f"map_put_items needs a dict, not {type(items).__name__}")
    order, flags = _map_policy(op)
    return [items, order, *([flags] if flags else [])]


def _mincr(op: dict[str, Any]) -> list[Any]:
    val = _get(op, "val")
    if isinstance(val, bool) or not isinstance(val, (int, float)):
        raise _InvalidArgType(f"map increment/decrement needs an int or float, not {type(val).__name__}")
    order, _ = _map_policy(op)
    return [_get(op, "map_key"), val, order]


def _map_order(op: dict[str, Any]) -> list[Any]:
    v = _int(op, "val", 0)
    if v not in (0, 1, 3):
        raise _InvalidArgValue(f"unknown map order {v}")
    return [v]


def _kbegin(op: dict[str, Any]) -> Any:
    return _get(op, "val", "map_key")


_MAP: list[tuple[int, int, Args, bool, bool | None]] = [
    (2001, CDT.M_SET_TYPE, _map_order, True, False),
    (2002, CDT.M_PUT, _mput, True, True),
    (2003, CDT.M_PUT_ITEMS, _mput_items, True, True),
    (2004, CDT.M_INCREMENT, _mincr, True, True),
    (2005, CDT.M_DECREMENT, _mincr, True, True),
    (2006, CDT.M_CLEAR, lambda o: [], True, False),
    (2007, CDT.M_REMOVE_BY_KEY, lambda o: [_mrt(o), _get(o, "map_key")], True, None),
    (2008, CDT.M_REMOVE_BY_KEY_LIST, lambda o: [_mrt(o), _list_arg(o)], True, None),
    (2009, CDT.M_REMOVE_BY_KEY_INTERVAL, lambda o: [_mrt(o), _kbegin(o), *_end(o)], True, None),
    (2010, CDT.M_REMOVE_ALL_BY_VALUE, lambda o: [_mrt(o), _get(o, "val")], True, None),
    (2011, CDT.M_REMOVE_BY_VALUE_LIST, lambda o: [_mrt(o), _list_arg(o)], True, None),
    (2012, CDT.M_REMOVE_BY_VALUE_INTERVAL, lambda o: [_mrt(o), _get(o, "val"), *_end(o)], True, None),
    (2013, CDT.M_REMOVE_BY_INDEX, lambda o: [_mrt(o), _int(o, "index")], True, None),
    (2014, CDT.M_REMOVE_BY_INDEX_RANGE, lambda o: [_mrt(o), _int(o, "index"), *_opt_count(o)], True, None),
    (2015, CDT.M_REMOVE_BY_RANK, lambda o: [_mrt(o), _int(o, "rank")], True, None),
    (2016, CDT.M_REMOVE_BY_RANK_RANGE, lambda o: [_mrt(o), _int(o, "rank"), *_opt_count(o)], True, None),
    (2017, CDT.M_SIZE, lambda o: [], False, True),
    (2018, CDT.M_GET_BY_KEY, lambda o: [_mrt(o), _get(o, "map_key")], False, True),
    (2019, CDT.M_GET_BY_KEY_INTERVAL, lambda o: [_mrt(o), _kbegin(o), *_end(o)], False, True),
    (2020, CDT.M_GET_ALL_BY_VALUE, lambda o: [_mrt(o), _get(o, "val")], False, True),
    (2021, CDT.M_GET_BY_VALUE_INTERVAL, lambda o: [_mrt(o), _get(o, "val"), *_end(o)], False, True),
    (2022, CDT.M_GET_BY_INDEX, lambda o: [_mrt(o), _int(o, "index")], False, True),
    (2023, CDT.M_GET_BY_INDEX_RANGE, lambda o: [_mrt(o), _int(o, "index"), *_opt_count(o)], False, True),
    (2024, CDT.M_GET_BY_RANK, lambda o: [_mrt(o), _int(o, "rank")], False, True),
    (2025, CDT.M_GET_BY_RANK_RANGE, lambda o: [_mrt(o), _int(o, "rank"), *_opt_count(o)], False, True),
    (2026, CDT.M_GET_BY_KEY_LIST, lambda o: [_mrt(o), _list_arg(o)], False, True),
    (2027, CDT.M_GET_BY_VALUE_LIST, lambda o: [_mrt(o), _list_arg(o)], False, True),
    (2028, CDT.M_GET_BY_KEY_REL_INDEX_RANGE,
     lambda o: [_mrt(o), _get(o, "map_key"), _int(o, "index"), *_opt_count(o)], False, True),
    (2029, CDT.M_GET_BY_VALUE_REL_RANK_RANGE,
     lambda o: [_mrt(o), _get(o, "val"), _int(o, "rank"), *_opt_count(o)], False, True),
    (2030, CDT.M_REMOVE_BY_KEY_REL_INDEX_RANGE,
     lambda o: [_mrt(o), _get(o, "map_key"), _int(o, "index"), *_opt_count(o)], True, None),
    (2031, CDT.M_REMOVE_BY_VALUE_REL_RANK_RANGE,
     lambda o: [_mrt(o), _get(o, "val"), _int(o, "rank"), *_opt_count(o)], True, None),
]


def _create_encoder(is_map: bool) -> OpEncoder:
    """list_create / map_create: SET_TYPE on a context whose last level has the create flag."""

    def enc(op: dict[str, Any]) -> EncodedOp:
        if is_map:
            order = _map_order(op)[0]
            flag = {0: 0x40, 1: 0x80, 3: 0xC0}[order]
            code = CDT.M_SET_TYPE
        else:
            order = _list_order(op)[0]
            flag = 0xC0 if order else (0x80 if op.get("pad") else 0x40)
            code = CDT.L_SET_TYPE
        ctx = list(op.get("ctx") or [])
        if ctx:
            t, v = ctx[-1]
            ctx[-1] = CDTContext((t & ~CDT.CTX_CREATE_MASK) | flag, v)
        return _encode(dict(op, ctx=ctx), code, [order], True, False, is_map)

    return enc


#: Encoders of the list and map operations, by public op code (the rows of ``_LIST`` and ``_MAP``,
#: and list_create 1034 / map_create 2032).
ENCODERS: dict[int, OpEncoder] = {
    **{pub: _encoder(code, args, w, False, res) for pub, code, args, w, res in _LIST},
    **{pub: _encoder(code, args, w, True, res) for pub, code, args, w, res in _MAP},
    1034: _create_encoder(False),
    2032: _create_encoder(True),
}
