"""HyperLogLog operations: each function returns an op dict for ``operate``/``operate_ordered``.

``index_bit_count`` is 4-16, ``minhash_bit_count`` 0 or 4-51 (index + minhash <= 64); ``policy``
is an :class:`~aerospike_py.types.HLLPolicy` (``{"flags": HLL_WRITE_*}``).
"""

from __future__ import annotations

from typing import Any

from .types import HLLPolicy, Operation

_INIT, _ADD, _GET_COUNT, _GET_UNION, _GET_UNION_COUNT = 3001, 3002, 3003, 3004, 3005
_GET_INTERSECT_COUNT, _GET_SIMILARITY, _DESCRIBE, _FOLD, _SET_UNION = 3006, 3007, 3008, 3009, 3010

__all__ = [
    "hll_add", "hll_describe", "hll_fold", "hll_get_count", "hll_get_intersect_count", "hll_get_similarity",
    "hll_get_union", "hll_get_union_count", "hll_init", "hll_set_union", "HLLPolicy", "Operation",
]


def _op(code: int, bin: str, policy: HLLPolicy | None = None, **fields: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"op": code, "bin": bin}
    d.update((k, v) for k, v in fields.items() if v is not None)
    if policy is not None:
        d["hll_policy"] = policy
    return d


def hll_init(bin: str, index_bit_count: int, minhash_bit_count: int | None = None, *,
             policy: HLLPolicy | None = None) -> dict[str, Any]:
    """Create or reset the HLL bin."""
    return _op(_INIT, bin, policy, index_bit_count=index_bit_count, minhash_bit_count=minhash_bit_count)


def hll_add(bin: str, values: list[Any], index_bit_count: int | None = None,
            minhash_bit_count: int | None = None, *, policy: HLLPolicy | None = None) -> dict[str, Any]:
    """Add values (creating the bin with the given bit counts); returns how many registers changed."""
    return _op(_ADD, bin, policy, val=values, index_bit_count=index_bit_count, minhash_bit_count=minhash_bit_count)


def hll_get_count(bin: str) -> dict[str, Any]:
    """Estimated number of distinct values."""
    return _op(_GET_COUNT, bin)


def hll_get_union(bin: str, values: list[Any]) -> dict[str, Any]:
    """The union of the bin with the given HLL values (an ``HLL``)."""
    return _op(_GET_UNION, bin, val=values)


def hll_get_union_count(bin: str, values: list[Any]) -> dict[str, Any]:
    """Estimated count of the union with the given HLL values."""
    return _op(_GET_UNION_COUNT, bin, val=values)


def hll_get_intersect_count(bin: str, values: list[Any]) -> dict[str, Any]:
    """Estimated count of the intersection with the given HLL values."""
    return _op(_GET_INTERSECT_COUNT, bin, val=values)


def hll_get_similarity(bin: str, values: list[Any]) -> dict[str, Any]:
    """Estimated Jaccard similarity with the given HLL values (a float)."""
    return _op(_GET_SIMILARITY, bin, val=values)


def hll_describe(bin: str) -> dict[str, Any]:
    """``[index_bit_count, minhash_bit_count]`` of the bin."""
    return _op(_DESCRIBE, bin)


def hll_fold(bin: str, index_bit_count: int) -> dict[str, Any]:
    """Reduce the bin to ``index_bit_count`` index bits (only without minhash bits)."""
    return _op(_FOLD, bin, index_bit_count=index_bit_count)


def hll_set_union(bin: str, values: list[Any], *, policy: HLLPolicy | None = None) -> dict[str, Any]:
    """Store the union of the bin with the given HLL values."""
    return _op(_SET_UNION, bin, policy, val=values)


def __dir__() -> list[str]:
    return sorted(__all__)
