"""List CDT operation builders: each returns an operation dict for ``operate`` / ``operate_ordered``.

Signatures match the original API; every builder also takes an optional keyword ``ctx`` (a list of
:mod:`aerospike_py.cdt_ctx` items) to act on a nested list. Return types may be OR-ed with
:data:`LIST_RETURN_INVERTED` on the selection operations.
"""

from __future__ import annotations

from typing import Any

from .types import ListPolicy, Operation

#: OR into a return type to select every element *not* matched.
LIST_RETURN_INVERTED = 0x10000

_OP_LIST_APPEND = 1001
_OP_LIST_APPEND_ITEMS = 1002
_OP_LIST_INSERT = 1003
_OP_LIST_INSERT_ITEMS = 1004
_OP_LIST_POP = 1005
_OP_LIST_POP_RANGE = 1006
_OP_LIST_REMOVE = 1007
_OP_LIST_REMOVE_RANGE = 1008
_OP_LIST_SET = 1009
_OP_LIST_TRIM = 1010
_OP_LIST_CLEAR = 1011
_OP_LIST_SIZE = 1012
_OP_LIST_GET = 1013
_OP_LIST_GET_RANGE = 1014
_OP_LIST_GET_BY_VALUE = 1015
_OP_LIST_GET_BY_INDEX = 1016
_OP_LIST_GET_BY_INDEX_RANGE = 1017
_OP_LIST_GET_BY_RANK = 1018
_OP_LIST_GET_BY_RANK_RANGE = 1019
_OP_LIST_GET_BY_VALUE_LIST = 1020
_OP_LIST_GET_BY_VALUE_RANGE = 1021
_OP_LIST_REMOVE_BY_VALUE = 1022
_OP_LIST_REMOVE_BY_VALUE_LIST = 1023
_OP_LIST_REMOVE_BY_VALUE_RANGE = 1024
_OP_LIST_REMOVE_BY_INDEX = 1025
_OP_LIST_REMOVE_BY_INDEX_RANGE = 1026
_OP_LIST_REMOVE_BY_RANK = 1027
_OP_LIST_REMOVE_BY_RANK_RANGE = 1028
_OP_LIST_INCREMENT = 1029
_OP_LIST_SORT = 1030
_OP_LIST_SET_ORDER = 1031
# Beyond the original API.
_OP_LIST_GET_BY_VALUE_REL_RANK_RANGE = 1032
_OP_LIST_REMOVE_BY_VALUE_REL_RANK_RANGE = 1033
_OP_LIST_CREATE = 1034

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


def list_append(bin: str, val: Any, policy: ListPolicy | None = None, *, ctx: list[Any] | None = None) -> Operation:
    """Append ``val``; returns the new size."""
    return _op(_OP_LIST_APPEND, bin, ctx, val=val, list_policy=_opt(policy))


def list_append_items(bin: str, values: list[Any], policy: ListPolicy | None = None, *,
                      ctx: list[Any] | None = None) -> Operation:
    """Append every item of ``values``; returns the new size."""
    return _op(_OP_LIST_APPEND_ITEMS, bin, ctx, val=values, list_policy=_opt(policy))


def list_insert(bin: str, index: int, val: Any, policy: ListPolicy | None = None, *,
                ctx: list[Any] | None = None) -> Operation:
    """Insert ``val`` at ``index``; returns the new size."""
    return _op(_OP_LIST_INSERT, bin, ctx, index=index, val=val, list_policy=_opt(policy))


def list_insert_items(bin: str, index: int, values: list[Any], policy: ListPolicy | None = None, *,
                      ctx: list[Any] | None = None) -> Operation:
    """Insert ``values`` at ``index``; returns the new size."""
    return _op(_OP_LIST_INSERT_ITEMS, bin, ctx, index=index, val=values, list_policy=_opt(policy))


def list_pop(bin: str, index: int, *, ctx: list[Any] | None = None) -> Operation:
    """Remove and return the item at ``index``."""
    return _op(_OP_LIST_POP, bin, ctx, index=index)


def list_pop_range(bin: str, index: int, count: int, *, ctx: list[Any] | None = None) -> Operation:
    """Remove and return ``count`` items from ``index``."""
    return _op(_OP_LIST_POP_RANGE, bin, ctx, index=index, count=count)


def list_remove(bin: str, index: int, *, ctx: list[Any] | None = None) -> Operation:
    """Remove the item at ``index``; returns the number removed."""
    return _op(_OP_LIST_REMOVE, bin, ctx, index=index)


def list_remove_range(bin: str, index: int, count: int, *, ctx: list[Any] | None = None) -> Operation:
    """Remove ``count`` items from ``index``; returns the number removed."""
    return _op(_OP_LIST_REMOVE_RANGE, bin, ctx, index=index, count=count)


def list_set(bin: str, index: int, val: Any, *, policy: ListPolicy | None = None,
             ctx: list[Any] | None = None) -> Operation:
    """Set the item at ``index`` (pads with nil past the end unless INSERT_BOUNDED)."""
    return _op(_OP_LIST_SET, bin, ctx, index=index, val=val, list_policy=_opt(policy))


def list_trim(bin: str, index: int, count: int, *, ctx: list[Any] | None = None) -> Operation:
    """Keep only ``count`` items from ``index``; returns the number removed."""
    return _op(_OP_LIST_TRIM, bin, ctx, index=index, count=count)


def list_clear(bin: str, *, ctx: list[Any] | None = None) -> Operation:
    """Remove every item."""
    return _op(_OP_LIST_CLEAR, bin, ctx)


def list_size(bin: str, *, ctx: list[Any] | None = None) -> Operation:
    """Return the number of items."""
    return _op(_OP_LIST_SIZE, bin, ctx)


def list_get(bin: str, index: int, *, ctx: list[Any] | None = None) -> Operation:
    """Return the item at ``index``."""
    return _op(_OP_LIST_GET, bin, ctx, index=index)


def list_get_range(bin: str, index: int, count: int, *, ctx: list[Any] | None = None) -> Operation:
    """Return ``count`` items from ``index``."""
    return _op(_OP_LIST_GET_RANGE, bin, ctx, index=index, count=count)


def list_get_by_value(bin: str, val: Any, return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Select the items equal to ``val``."""
    return _op(_OP_LIST_GET_BY_VALUE, bin, ctx, val=val, return_type=return_type)


def list_get_by_index(bin: str, index: int, return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Select the item at ``index``."""
    return _op(_OP_LIST_GET_BY_INDEX, bin, ctx, index=index, return_type=return_type)


def list_get_by_index_range(bin: str, index: int, return_type: int, count: int | None = None, *,
                            ctx: list[Any] | None = None) -> Operation:
    """Select ``count`` items (all when None) from ``index``."""
    return _op(_OP_LIST_GET_BY_INDEX_RANGE, bin, ctx, index=index, return_type=return_type, count=_opt(count))


def list_get_by_rank(bin: str, rank: int, return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Select the item of ``rank`` (0 smallest, -1 largest)."""
    return _op(_OP_LIST_GET_BY_RANK, bin, ctx, rank=rank, return_type=return_type)


def list_get_by_rank_range(bin: str, rank: int, return_type: int, count: int | None = None, *,
                           ctx: list[Any] | None = None) -> Operation:
    """Select ``count`` items (all when None) from ``rank``."""
    return _op(_OP_LIST_GET_BY_RANK_RANGE, bin, ctx, rank=rank, return_type=return_type, count=_opt(count))


def list_get_by_value_list(bin: str, values: list[Any], return_type: int, *,
                           ctx: list[Any] | None = None) -> Operation:
    """Select the items equal to any of ``values``."""
    return _op(_OP_LIST_GET_BY_VALUE_LIST, bin, ctx, val=values, return_type=return_type)


def list_get_by_value_range(bin: str, begin: Any, end: Any, return_type: int, *,
                            ctx: list[Any] | None = None) -> Operation:
    """Select the items in ``[begin, end)`` (``end`` None: no upper bound)."""
    return _op(_OP_LIST_GET_BY_VALUE_RANGE, bin, ctx, val=begin, val_end=end, return_type=return_type)


def list_get_by_value_rel_rank_range(bin: str, value: Any, rank: int, return_type: int,
                                     count: int | None = None, *, ctx: list[Any] | None = None) -> Operation:
    """Select ``count`` items from the rank of ``value`` plus ``rank``."""
    return _op(_OP_LIST_GET_BY_VALUE_REL_RANK_RANGE, bin, ctx, val=value, rank=rank, return_type=return_type,
               count=_opt(count))


def list_remove_by_value(bin: str, val: Any, return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Remove the items equal to ``val``."""
    return _op(_OP_LIST_REMOVE_BY_VALUE, bin, ctx, val=val, return_type=return_type)


def list_remove_by_value_list(bin: str, values: list[Any], return_type: int, *,
                              ctx: list[Any] | None = None) -> Operation:
    """Remove the items equal to any of ``values``."""
    return _op(_OP_LIST_REMOVE_BY_VALUE_LIST, bin, ctx, val=values, return_type=return_type)


def list_remove_by_value_range(bin: str, begin: Any, end: Any, return_type: int, *,
                               ctx: list[Any] | None = None) -> Operation:
    """Remove the items in ``[begin, end)``."""
    return _op(_OP_LIST_REMOVE_BY_VALUE_RANGE, bin, ctx, val=begin, val_end=end, return_type=return_type)


def list_remove_by_value_rel_rank_range(bin: str, value: Any, rank: int, return_type: int,
                                        count: int | None = None, *, ctx: list[Any] | None = None) -> Operation:
    """Remove ``count`` items from the rank of ``value`` plus ``rank``."""
    return _op(_OP_LIST_REMOVE_BY_VALUE_REL_RANK_RANGE, bin, ctx, val=value, rank=rank, return_type=return_type,
               count=_opt(count))


def list_remove_by_index(bin: str, index: int, return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Remove the item at ``index``."""
    return _op(_OP_LIST_REMOVE_BY_INDEX, bin, ctx, index=index, return_type=return_type)


def list_remove_by_index_range(bin: str, index: int, return_type: int, count: int | None = None, *,
                               ctx: list[Any] | None = None) -> Operation:
    """Remove ``count`` items (all when None) from ``index``."""
    return _op(_OP_LIST_REMOVE_BY_INDEX_RANGE, bin, ctx, index=index, return_type=return_type, count=_opt(count))


def list_remove_by_rank(bin: str, rank: int, return_type: int, *, ctx: list[Any] | None = None) -> Operation:
    """Remove the item of ``rank``."""
    return _op(_OP_LIST_REMOVE_BY_RANK, bin, ctx, rank=rank, return_type=return_type)


def list_remove_by_rank_range(bin: str, rank: int, return_type: int, count: int | None = None, *,
                              ctx: list[Any] | None = None) -> Operation:
    """Remove ``count`` items (all when None) from ``rank``."""
    return _op(_OP_LIST_REMOVE_BY_RANK_RANGE, bin, ctx, rank=rank, return_type=return_type, count=_opt(count))


def list_increment(bin: str, index: int, val: int, policy: ListPolicy | None = None, *,
                   ctx: list[Any] | None = None) -> Operation:
    """Add ``val`` to the number at ``index``; returns the new value."""
    return _op(_OP_LIST_INCREMENT, bin, ctx, index=index, val=val, list_policy=_opt(policy))


def list_sort(bin: str, sort_flags: int = 0, *, ctx: list[Any] | None = None) -> Operation:
    """Sort the list (``LIST_SORT_DROP_DUPLICATES`` also removes duplicates)."""
    return _op(_OP_LIST_SORT, bin, ctx, val=sort_flags)


def list_set_order(bin: str, list_order: int = 0, *, ctx: list[Any] | None = None) -> Operation:
    """Make the list ordered (``LIST_ORDERED``) or unordered."""
    return _op(_OP_LIST_SET_ORDER, bin, ctx, val=list_order)


def list_create(bin: str, list_order: int = 0, pad: bool = False, *, ctx: list[Any] | None = None) -> Operation:
    """Create an empty list at ``ctx`` (or the bin) if none is there."""
    return _op(_OP_LIST_CREATE, bin, ctx, val=list_order, pad=pad)


__all__ = [n for n in dir() if n.startswith("list_")] + ["LIST_RETURN_INVERTED", "ListPolicy", "Operation"]


def __dir__() -> list[str]:
    return sorted(__all__)
