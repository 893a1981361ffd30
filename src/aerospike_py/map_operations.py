"""Map CDT operation builders: each returns an operation dict for ``operate`` / ``operate_ordered``.

Signatures match the original API; every builder also takes an optional keyword ``ctx`` (a list of
:mod:`aerospike_py.cdt_ctx` items). Return types may be OR-ed with :data:`MAP_RETURN_INVERTED`.
"""

from __future__ import annotations

from typing import Any

from .types import MapPolicy, Operation

#: OR into a return type to select every entry *not* matched.
MAP_RETURN_INVERTED = 0x10000
#: Return the selected entries as a dict (unordered / key-ordered on the server).
MAP_RETURN_UNORDERED_MAP = 16
MAP_RETURN_ORDERED_MAP = 17

_OP_MAP_SET_ORDER = 2001
_OP_MAP_PUT = 2002
_OP_MAP_PUT_ITEMS = 2003
_OP_MAP_INCREMENT = 2004
_OP_MAP_DECREMENT = 2005
_OP_MAP_CLEAR = 2006
_OP_MAP_REMOVE_BY_KEY = 2007
_OP_MAP_REMOVE_BY_KEY_LIST = 2008
_OP_MAP_REMOVE_BY_KEY_RANGE = 2009
_OP_MAP_REMOVE_BY_VALUE = 2010
_OP_MAP_REMOVE_BY_VALUE_LIST = 2011
_OP_MAP_REMOVE_BY_VALUE_RANGE = 2012
_OP_MAP_REMOVE_BY_INDEX = 2013
_OP_MAP_REMOVE_BY_INDEX_RANGE = 2014
_OP_MAP_REMOVE_BY_RANK = 2015
_OP_MAP_REMOVE_BY_RANK_RANGE = 2016
_OP_MAP_SIZE = 2017
_OP_MAP_GET_BY_KEY = 2018
_OP_MAP_GET_BY_KEY_RANGE = 2019
_OP_MAP_GET_BY_VALUE = 2020
_OP_MAP_GET_BY_VALUE_RANGE = 2021
_OP_MAP_GET_BY_INDEX = 2022
_OP_MAP_GET_BY_INDEX_RANGE = 2023
_OP_MAP_GET_BY_RANK = 2024
_OP_MAP_GET_BY_RANK_RANGE = 2025
_OP_MAP_GET_BY_KEY_LIST = 2026
_OP_MAP_GET_BY_VALUE_LIST = 2027
# Beyond the original API.
_OP_MAP_GET_BY_KEY_REL_INDEX_RANGE = 2028
_OP_MAP_GET_BY_VALUE_REL_RANK_RANGE = 2029
_OP_MAP_REMOVE_BY_KEY_REL_INDEX_RANGE = 2030
_OP_MAP_REMOVE_BY_VALUE_REL_RANK_RANGE = 2031
_OP_MAP_CREATE = 2032

_UNSET: Any = object()


def _op(code: int, bin: str, ctx: list[Any] | None = None, **kw: Any) -> Operation:
    out: Operation = {"op": code, "bin": bin}
    for k, v in kw.items():
        if v is not _UNSET:
            out[k] = v
    if ctx:
        out["ctx"] = ctx
    return out


def _opt(v: Any) -> Any:
    return _UNSET if v is None else v


def map_set_order(bin: str, map_order: int, *, ctx: list[Any] | None = None) -> Operation:
    """Set the map's order (``MAP_UNORDERED`` / ``MAP_KEY_ORDERED`` / ``MAP_KEY_VALUE_ORDERED``)."""
    return _op(_OP_MAP_SET_ORDER, bin, ctx, val=map_order)


def map_put(bin: str, key: Any, val: Any, policy: MapPolicy | None = None, *,
            ctx: list[Any] | None = None) -> Operation:
    """Put ``key: val``; returns the new size."""
    return _op(_OP_MAP_PUT, bin, ctx, map_key=key, val=val, map_policy=_opt(policy))


def map_put_items(bin: str, items: dict[Any, Any], policy: MapPolicy | None = None, *,
                  ctx: list[Any] | None = None) -> Operation:
    """Put every entry of ``items``; returns the new size."""
    return _op(_OP_MAP_PUT_ITEMS, bin, ctx, val=items, map_policy=_opt(policy))


def map_increment(bin: str, key: Any, incr: Any, policy: MapPolicy | None = None, *,
                  ctx: list[Any] | None = None) -> Operation:
    """Add ``incr`` to the number under ``key`` (created when missing); returns the new value."""
    return _op(_OP_MAP_INCREMENT, bin, ctx, map_key=key, val=incr, map_policy=_opt(policy))


def map_decrement(bin: str, key: Any, decr: Any, policy: MapPolicy | None = None, *,
                  ctx: list[Any] | None = None) -> Operation:
    """Subtract ``decr`` from the number under ``key``; returns the new value."""
    return _op(_OP_MAP_DECREMENT, bin, ctx, map_key=key, val=decr, map_policy=_opt(policy))


def map_clear(bin: str, *, ctx: list[Any] | None = None) -> Operation:
    """Remove every entry."""
    return _op(_OP_MAP_CLEAR, bin, ctx)


def map_size(bin: str, *, ctx: list[Any] | None = None) -> Operation:
    """Return the number of entries."""
    return _op(_OP_MAP_SIZE, bin, ctx)


def map_remove_by_key(bin: str, key: Any, return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Remove the entry under ``key``."""
    return _op(_OP_MAP_REMOVE_BY_KEY, bin, ctx, map_key=key, return_type=return_type)


def map_remove_by_key_list(bin: str, keys: list[Any], return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Remove the entries under ``keys``."""
    return _op(_OP_MAP_REMOVE_BY_KEY_LIST, bin, ctx, val=keys, return_type=return_type)


def map_remove_by_key_range(bin: str, begin: Any, end: Any, return_type: int, *,
                            ctx: list[Any] | None = None) -> Operation:
    """Remove the entries with keys in ``[begin, end)``."""
    return _op(_OP_MAP_REMOVE_BY_KEY_RANGE, bin, ctx, val=begin, val_end=end, return_type=return_type)


def map_remove_by_key_rel_index_range(bin: str, key: Any, index: int, return_type: int,
                                      count: int | None = None, *, ctx: list[Any] | None = None) -> Operation:
    """Remove ``count`` entries from the key-order position of ``key`` plus ``index``."""
    return _op(_OP_MAP_REMOVE_BY_KEY_REL_INDEX_RANGE, bin, ctx, map_key=key, index=index, return_type=return_type,
               count=_opt(count))


def map_remove_by_value(bin: str, val: Any, return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Remove the entries whose value equals ``val``."""
    return _op(_OP_MAP_REMOVE_BY_VALUE, bin, ctx, val=val, return_type=return_type)


def map_remove_by_value_list(bin: str, values: list[Any], return_type: int, *,
                             ctx: list[Any] | None = None) -> Operation:
    """Remove the entries whose value is in ``values``."""
    return _op(_OP_MAP_REMOVE_BY_VALUE_LIST, bin, ctx, val=values, return_type=return_type)


def map_remove_by_value_range(bin: str, begin: Any, end: Any, return_type: int, *,
                              ctx: list[Any] | None = None) -> Operation:
    """Remove the entries with values in ``[begin, end)``."""
    return _op(_OP_MAP_REMOVE_BY_VALUE_RANGE, bin, ctx, val=begin, val_end=end, return_type=return_type)


def map_remove_by_value_rel_rank_range(bin: str, value: Any, rank: int, return_type: int,
                                       count: int | None = None, *, ctx: list[Any] | None = None) -> Operation:
    """Remove ``count`` entries from the value rank of ``value`` plus ``rank``."""
    return _op(_OP_MAP_REMOVE_BY_VALUE_REL_RANK_RANGE, bin, ctx, val=value, rank=rank, return_type=return_type,
               count=_opt(count))


def map_remove_by_index(bin: str, index: int, return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Remove the entry at ``index`` (key order)."""
    return _op(_OP_MAP_REMOVE_BY_INDEX, bin, ctx, index=index, return_type=return_type)


def map_remove_by_index_range(bin: str, index: int, return_type: int, count: int | None = None, *,
                              ctx: list[Any] | None = None) -> Operation:
    """Remove ``count`` entries (all when None) from ``index``."""
    return _op(_OP_MAP_REMOVE_BY_INDEX_RANGE, bin, ctx, index=index, return_type=return_type, count=_opt(count))


def map_remove_by_rank(bin: str, rank: int, return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Remove the entry of value ``rank``."""
    return _op(_OP_MAP_REMOVE_BY_RANK, bin, ctx, rank=rank, return_type=return_type)


def map_remove_by_rank_range(bin: str, rank: int, return_type: int, count: int | None = None, *,
                             ctx: list[Any] | None = None) -> Operation:
    """Remove ``count`` entries (all when None) from value ``rank``."""
    return _op(_OP_MAP_REMOVE_BY_RANK_RANGE, bin, ctx, rank=rank, return_type=return_type, count=_opt(count))


def map_get_by_key(bin: str, key: Any, return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Select the entry under ``key``."""
    return _op(_OP_MAP_GET_BY_KEY, bin, ctx, map_key=key, return_type=return_type)


def map_get_by_key_range(bin: str, begin: Any, end: Any, return_type: int, *,
                         ctx: list[Any] | None = None) -> Operation:
    """Select the entries with keys in ``[begin, end)``."""
    return _op(_OP_MAP_GET_BY_KEY_RANGE, bin, ctx, val=begin, val_end=end, return_type=return_type)


def map_get_by_key_rel_index_range(bin: str, key: Any, index: int, return_type: int,
                                   count: int | None = None, *, ctx: list[Any] | None = None) -> Operation:
    """Select ``count`` entries from the key-order position of ``key`` plus ``index``."""
    return _op(_OP_MAP_GET_BY_KEY_REL_INDEX_RANGE, bin, ctx, map_key=key, index=index, return_type=return_type,
               count=_opt(count))


def map_get_by_value(bin: str, val: Any, return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Select the entries whose value equals ``val``."""
    return _op(_OP_MAP_GET_BY_VALUE, bin, ctx, val=val, return_type=return_type)


def map_get_by_value_range(bin: str, begin: Any, end: Any, return_type: int, *,
                           ctx: list[Any] | None = None) -> Operation:
    """Select the entries with values in ``[begin, end)``."""
    return _op(_OP_MAP_GET_BY_VALUE_RANGE, bin, ctx, val=begin, val_end=end, return_type=return_type)


def map_get_by_value_rel_rank_range(bin: str, value: Any, rank: int, return_type: int,
                                    count: int | None = None, *, ctx: list[Any] | None = None) -> Operation:
    """Select ``count`` entries from the value rank of ``value`` plus ``rank``."""
    return _op(_OP_MAP_GET_BY_VALUE_REL_RANK_RANGE, bin, ctx, val=value, rank=rank, return_type=return_type,
               count=_opt(count))


def map_get_by_index(bin: str, index: int, return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Select the entry at ``index`` (key order)."""
    return _op(_OP_MAP_GET_BY_INDEX, bin, ctx, index=index, return_type=return_type)


def map_get_by_index_range(bin: str, index: int, return_type: int, count: int | None = None, *,
                           ctx: list[Any] | None = None) -> Operation:
    """Select ``count`` entries (all when None) from ``index``."""
    return _op(_OP_MAP_GET_BY_INDEX_RANGE, bin, ctx, index=index, return_type=return_type, count=_opt(count))


def map_get_by_rank(bin: str, rank: int, return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Select the entry of value ``rank``."""
    return _op(_OP_MAP_GET_BY_RANK, bin, ctx, rank=rank, return_type=return_type)


def map_get_by_rank_range(bin: str, rank: int, return_type: int, count: int | None = None, *,
                          ctx: list[Any] | None = None) -> Operation:
    """Select ``count`` entries (all when None) from value ``rank``."""
    return _op(_OP_MAP_GET_BY_RANK_RANGE, bin, ctx, rank=rank, return_type=return_type, count=_opt(count))


def map_get_by_key_list(bin: str, keys: list[Any], return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Select the entries under ``keys``."""
    return _op(_OP_MAP_GET_BY_KEY_LIST, bin, ctx, val=keys, return_type=return_type)


def map_get_by_value_list(bin: str, values: list[Any], return_type: int, *,
                          ctx: list[Any] | None = None) -> Operation:
    """Select the entries whose value is in ``values``."""
    return _op(_OP_MAP_GET_BY_VALUE_LIST, bin, ctx, val=values, return_type=return_type)


def map_create(bin: str, map_order: int = 0, *, ctx: list[Any] | None = None) -> Operation:
    """Create an empty map at ``ctx`` (or the bin) if none is there."""
    return _op(_OP_MAP_CREATE, bin, ctx, val=map_order)


__all__ = [n for n in dir() if n.startswith("map_")] + [
    "MAP_RETURN_INVERTED", "MAP_RETURN_ORDERED_MAP", "MAP_RETURN_UNORDERED_MAP", "MapPolicy", "Operation",
]


def __dir__() -> list[str]:
    return sorted(__all__)
