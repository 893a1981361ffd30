"""Bit operations on blob bins: each function returns an op dict for ``operate``/``operate_ordered``.

``policy`` is an int of ``BIT_WRITE_*`` flags; offsets may be negative (from the end of the blob).
"""

from __future__ import annotations

from typing import Any, Union

from .types import Operation

_RESIZE, _INSERT, _REMOVE, _SET, _OR, _XOR, _AND, _NOT = 4001, 4002, 4003, 4004, 4005, 4006, 4007, 4008
_LSHIFT, _RSHIFT, _ADD, _SUBTRACT, _SET_INT = 4009, 4010, 4011, 4012, 4013
_GET, _COUNT, _LSCAN, _RSCAN, _GET_INT = 4050, 4051, 4052, 4053, 4054

__all__ = [
    "bit_add", "bit_and", "bit_count", "bit_get", "bit_get_int", "bit_insert", "bit_lscan", "bit_lshift",
    "bit_not", "bit_or", "bit_remove", "bit_resize", "bit_rscan", "bit_rshift", "bit_set", "bit_set_int",
    "bit_subtract", "bit_xor", "Operation",
]


def _op(code: int, bin: str, policy: int | None = None, **fields: Any) -> dict[str, Any]:
    d: dict[str, Any] = {"op": code, "bin": bin, **fields}
    if policy is not None:
        d["bit_policy"] = policy
    return d


def bit_resize(bin: str, byte_size: int, resize_flags: int = 0, policy: int | None = None) -> dict[str, Any]:
    """Resize the blob to ``byte_size`` bytes (``BIT_RESIZE_*`` flags)."""
    d = _op(_RESIZE, bin, policy, byte_size=byte_size)
    if resize_flags:
        d["resize_flags"] = resize_flags
    return d


def bit_insert(bin: str, byte_offset: int, value: Union[bytes, bytearray], policy: int | None = None) -> dict[str, Any]:
    """Insert ``value`` at ``byte_offset``."""
    return _op(_INSERT, bin, policy, byte_offset=byte_offset, val=value)


def bit_remove(bin: str, byte_offset: int, byte_size: int, policy: int | None = None) -> dict[str, Any]:
    """Remove ``byte_size`` bytes at ``byte_offset``."""
    return _op(_REMOVE, bin, policy, byte_offset=byte_offset, byte_size=byte_size)


def bit_set(bin: str, bit_offset: int, bit_size: int, value: Union[bytes, bytearray], policy: int | None = None) -> dict[str, Any]:
    """Overwrite ``bit_size`` bits at ``bit_offset`` with the leading bits of ``value``."""
    return _op(_SET, bin, policy, bit_offset=bit_offset, bit_size=bit_size, val=value)


def bit_or(bin: str, bit_offset: int, bit_size: int, value: Union[bytes, bytearray], policy: int | None = None) -> dict[str, Any]:
    """Bitwise OR of the bits with ``value``."""
    return _op(_OR, bin, policy, bit_offset=bit_offset, bit_size=bit_size, val=value)


def bit_xor(bin: str, bit_offset: int, bit_size: int, value: Union[bytes, bytearray], policy: int | None = None) -> dict[str, Any]:
    """Bitwise XOR of the bits with ``value``."""
    return _op(_XOR, bin, policy, bit_offset=bit_offset, bit_size=bit_size, val=value)


def bit_and(bin: str, bit_offset: int, bit_size: int, value: Union[bytes, bytearray], policy: int | None = None) -> dict[str, Any]:
    """Bitwise AND of the bits with ``value``."""
    return _op(_AND, bin, policy, bit_offset=bit_offset, bit_size=bit_size, val=value)


def bit_not(bin: str, bit_offset: int, bit_size: int, policy: int | None = None) -> dict[str, Any]:
    """Invert the bits."""
    return _op(_NOT, bin, policy, bit_offset=bit_offset, bit_size=bit_size)


def bit_lshift(bin: str, bit_offset: int, bit_size: int, shift: int, policy: int | None = None) -> dict[str, Any]:
    """Shift the bits left by ``shift`` (zeros shifted in)."""
    return _op(_LSHIFT, bin, policy, bit_offset=bit_offset, bit_size=bit_size, shift=shift)


def bit_rshift(bin: str, bit_offset: int, bit_size: int, shift: int, policy: int | None = None) -> dict[str, Any]:
    """Shift the bits right by ``shift`` (zeros shifted in)."""
    return _op(_RSHIFT, bin, policy, bit_offset=bit_offset, bit_size=bit_size, shift=shift)


def bit_add(bin: str, bit_offset: int, bit_size: int, value: int, signed: bool = False, action: int = 0,
            policy: int | None = None) -> dict[str, Any]:
    """Add ``value`` to the ``bit_size``-bit integer (<= 64) at ``bit_offset`` (``BIT_OVERFLOW_*`` action)."""
    return _op(_ADD, bin, policy, bit_offset=bit_offset, bit_size=bit_size, val=value, signed=signed, action=action)


def bit_subtract(bin: str, bit_offset: int, bit_size: int, value: int, signed: bool = False, action: int = 0,
                 policy: int | None = None) -> dict[str, Any]:
    """Subtract ``value`` from the ``bit_size``-bit integer at ``bit_offset``."""
    return _op(_SUBTRACT, bin, policy, bit_offset=bit_offset, bit_size=bit_size, val=value, signed=signed,
               action=action)


def bit_set_int(bin: str, bit_offset: int, bit_size: int, value: int, policy: int | None = None) -> dict[str, Any]:
    """Store ``value`` as a ``bit_size``-bit integer at ``bit_offset``."""
    return _op(_SET_INT, bin, policy, bit_offset=bit_offset, bit_size=bit_size, val=value)


def bit_get(bin: str, bit_offset: int, bit_size: int) -> dict[str, Any]:
    """Read the bits as bytes (left-aligned, zero-padded)."""
    return _op(_GET, bin, bit_offset=bit_offset, bit_size=bit_size)


def bit_count(bin: str, bit_offset: int, bit_size: int) -> dict[str, Any]:
    """Count the set bits."""
    return _op(_COUNT, bin, bit_offset=bit_offset, bit_size=bit_size)


def bit_lscan(bin: str, bit_offset: int, bit_size: int, value: bool) -> dict[str, Any]:
    """Position of the first bit equal to ``value`` from the left (-1 if none)."""
    return _op(_LSCAN, bin, bit_offset=bit_offset, bit_size=bit_size, val=value)


def bit_rscan(bin: str, bit_offset: int, bit_size: int, value: bool) -> dict[str, Any]:
    """Position of the last bit equal to ``value`` (-1 if none)."""
    return _op(_RSCAN, bin, bit_offset=bit_offset, bit_size=bit_size, val=value)


def bit_get_int(bin: str, bit_offset: int, bit_size: int, signed: bool = False) -> dict[str, Any]:
    """Read the ``bit_size``-bit integer at ``bit_offset``."""
    return _op(_GET_INT, bin, bit_offset=bit_offset, bit_size=bit_size, signed=signed)


def __dir__() -> list[str]:
    return sorted(__all__)
