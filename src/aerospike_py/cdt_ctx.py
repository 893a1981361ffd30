"""Nested CDT contexts: where inside a list/map bin an operation applies.

Pass a list of these as ``ctx=[...]`` to any ``list_operations`` / ``map_operations`` builder;
the first item selects an element of the bin, each next one an element of the previous one.
The ``*_create`` variants create the level when it is missing (with the given order).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .exception import _InvalidArgType, _InvalidArgValue

__all__ = [
    "CDTContext",
    "cdt_ctx_list_index",
    "cdt_ctx_list_index_create",
    "cdt_ctx_list_rank",
    "cdt_ctx_list_value",
    "cdt_ctx_map_index",
    "cdt_ctx_map_key",
    "cdt_ctx_map_key_create",
    "cdt_ctx_map_rank",
    "cdt_ctx_map_value",
]

# Wire context types (the low 6 bits) and create flags (the high 2 bits).
_CTX_LIST_INDEX = 0x10
_CTX_LIST_RANK = 0x11
_CTX_LIST_VALUE = 0x13
_CTX_MAP_INDEX = 0x20
_CTX_MAP_RANK = 0x21
_CTX_MAP_KEY = 0x22
_CTX_MAP_VALUE = 0x23
_CTX_CREATE_MASK = 0xC0


class CDTContext(NamedTuple):
    """One level of a nested context: the wire ``type`` (with create flags) and its ``value``."""

    type: int
    value: Any


def _int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _InvalidArgType(f"{name} must be an int, not {type(v).__name__}")
    return v


def cdt_ctx_list_index(index: int) -> CDTContext:
    """The list element at ``index`` (negative counts from the end)."""
    return CDTContext(_CTX_LIST_INDEX, _int("index", index))


def cdt_ctx_list_index_create(index: int, order: int = 0, pad: bool = False) -> CDTContext:
    """The list element at ``index``; create a list with ``order`` there if missing (``pad``: fill with nil)."""
    flag = 0xC0 if order == 1 else (0x80 if pad else 0x40)
    return CDTContext(_CTX_LIST_INDEX | flag, _int("index", index))


def cdt_ctx_list_rank(rank: int) -> CDTContext:
    """The list element of ``rank`` (0 = smallest, -1 = largest)."""
    return CDTContext(_CTX_LIST_RANK, _int("rank", rank))


def cdt_ctx_list_value(value: Any) -> CDTContext:
    """The first list element equal to ``value``."""
    return CDTContext(_CTX_LIST_VALUE, value)


def cdt_ctx_map_index(index: int) -> CDTContext:
    """The map entry at ``index`` in key order."""
    return CDTContext(_CTX_MAP_INDEX, _int("index", index))


def cdt_ctx_map_rank(rank: int) -> CDTContext:
    """The map entry of value ``rank``."""
    return CDTContext(_CTX_MAP_RANK, _int("rank", rank))


def cdt_ctx_map_key(key: Any) -> CDTContext:
    """The map value stored under ``key``."""
    return CDTContext(_CTX_MAP_KEY, key)


def cdt_ctx_map_key_create(key: Any, order: int = 0) -> CDTContext:
    """The map value under ``key``; create a map with ``order`` (``MAP_*_ORDERED``) there if missing."""
    flag = {0: 0x40, 1: 0x80, 3: 0xC0}.get(order)
    if flag is None:
        raise _InvalidArgValue(f"unknown map order {order!r}")
    return CDTContext(_CTX_MAP_KEY | flag, key)


def cdt_ctx_map_value(value: Any) -> CDTContext:
    """The first map entry whose value equals ``value``."""
    return CDTContext(_CTX_MAP_VALUE, value)


def __dir__() -> list[str]:
    return sorted(__all__)
