"""User key tuples -> validated request keys with digests."""

from __future__ import annotations

from typing import Any

from .._wire.digest import compute_digest, key_particle, partition_id
from .._wire.message import pack_key_field
from ..exception import BinNameError, InvalidArgError
from ..types import AerospikeKey


class RequestKey:
    """A validated key: namespace, set, user key, digest and their wire forms."""

    __slots__ = ("namespace", "set_name", "user_key", "digest", "ns_b", "set_b", "key_field", "_pid")

    def __init__(self, namespace: str, set_name: str, user_key: Any, digest: bytes, key_field: bytes | None):
        self.namespace = namespace
        self.set_name = set_name
        self.user_key = user_key
        self.digest = digest
        self.ns_b = namespace.encode()
        self.set_b = set_name.encode()
        self.key_field = key_field
        self._pid = -1

    @property
    def partition_id(self) -> int:
        pid = self._pid
        if pid < 0:
            pid = self._pid = partition_id(self.digest)
        return pid

    def to_public(self) -> AerospikeKey:
        return AerospikeKey(self.namespace, self.set_name, self.user_key, self.digest)

    def __repr__(self) -> str:
        return f"({self.namespace!r}, {self.set_name!r}, {self.user_key!r})"


def parse_key(key: Any) -> RequestKey:
    """Validate ``(namespace, set, user_key[, digest])`` and compute its digest."""
    if type(key) is not tuple:
        if not isinstance(key, (tuple, list)):
            raise InvalidArgError(f"key must be a tuple (namespace, set, key), not {type(key).__name__}")
        key = tuple(key)
    n = len(key)
    if n == 3:
        namespace, set_name, user_key = key
        digest = None
    elif n == 4:
        namespace, set_name, user_key, digest = key
    else:
        raise InvalidArgError(f"key must be a tuple (namespace, set, key[, digest]), got {n} elements")
    if type(namespace) is not str or not namespace:
        raise InvalidArgError(f"key namespace must be a non-empty str, got {namespace!r}")
    if set_name is None:
        set_name = ""
    elif type(set_name) is not str:
        raise InvalidArgError(f"key set must be a str or None, got {type(set_name).__name__}")
    if len(namespace) > 31:
        raise InvalidArgError(f"namespace name too long: {namespace!r}")
    if len(set_name) > 63:
        raise InvalidArgError(f"set name too long: {set_name!r}")
    if digest is not None:
        if not isinstance(digest, (bytes, bytearray)) or len(digest) != 20:
            raise InvalidArgError("key digest must be 20 bytes")
        digest = bytes(digest)
        if user_key is None:
            return RequestKey(namespace, set_name, None, digest, None)
    elif user_key is None:
        raise InvalidArgError("key needs a user key or a digest")
    try:
        ptype, kb = key_particle(user_key)
    except TypeError as e:
        raise InvalidArgError(str(e)) from None
    if type(user_key) is int and not -(1 << 63) <= user_key < (1 << 63):
        raise InvalidArgError(f"integer key out of the 64-bit range: {user_key}")
    if type(user_key) is bytearray:
        user_key = bytes(user_key)
    if digest is None:
        digest = compute_digest(set_name.encode(), ptype, kb)
    return RequestKey(namespace, set_name, user_key, digest, pack_key_field(ptype, kb))


def check_bin_name(name: Any) -> bytes:
    """A bin name as bytes (at most 15 bytes)."""
    if type(name) is not str:
        raise InvalidArgError(f"bin name must be a str, not {type(name).__name__}")
    b = name.encode()
    if len(b) > 15:
        raise BinNameTooLong(f"bin name {name!r} is {len(b)} bytes; the limit is 15")
    return b


class BinNameTooLong(BinNameError, ValueError):
    """A bin name over 15 bytes: a BinNameError, and a ValueError as in the original API."""

    code = 21
