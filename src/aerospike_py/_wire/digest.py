"""Key digests: RIPEMD-160 over set name, key particle type and key bytes, as the server computes them."""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING, Any

from .constants import N_PARTITIONS, PT_BLOB, PT_INTEGER, PT_STRING

if TYPE_CHECKING:
    from _hashlib import HASH

_INT64 = struct.Struct(">q")

try:
    _BASE = hashlib.new("ripemd160", b"")
    HAVE_OPENSSL_RIPEMD160 = True

    def ripemd160(data: bytes) -> bytes:
        """RIPEMD-160 from OpenSSL."""
        h = _BASE.copy()
        h.update(data)
        return h.digest()

except (ValueError, TypeError):  # OpenSSL 3 without the legacy provider
    from ._ripemd160 import ripemd160

    HAVE_OPENSSL_RIPEMD160 = False


class SetHasher:
    """Digests of keys in one set, with the set-name prefix hashed once (per key particle type)."""

    __slots__ = ("bases", "_set")

    def __init__(self, set_name: bytes) -> None:
        self._set = set_name
        self.bases: dict[int, HASH] | None
        if HAVE_OPENSSL_RIPEMD160:
            self.bases = {}
            for pt in (PT_INTEGER, PT_STRING, PT_BLOB):
                h = _BASE.copy()
                h.update(set_name + bytes((pt,)))
                self.bases[pt] = h
        else:
            self.bases = None

    def digest(self, ptype: int, key_bytes: bytes) -> bytes:
        bases = self.bases
        if bases is None:
            return ripemd160(self._set + bytes((ptype,)) + key_bytes)
        h = bases[ptype].copy()
        h.update(key_bytes)
        return h.digest()


def key_particle(user_key: Any) -> tuple[int, bytes]:
    """Particle type and bytes of a user key (str, int or bytes)."""
    t = type(user_key)
    if t is str:
        return PT_STRING, user_key.encode()
    if t is int:
        return PT_INTEGER, _INT64.pack(user_key)
    if t is bytes:
        # As the official clients do: bytes keys carry the string type (bytearray ones the blob type).
        return PT_STRING, user_key
    if t is bytearray:
        return PT_BLOB, bytes(user_key)
    if isinstance(user_key, bool) or not isinstance(user_key, (str, int, bytes)):
        raise TypeError(f"user key must be str, int or bytes, not {t.__name__}")
    return key_particle(t.__mro__[1](user_key) if t is not bool else int(user_key))


def compute_digest(set_name: str | bytes, ptype: int, key_bytes: bytes) -> bytes:
    """The 20-byte digest of a key: RIPEMD-160(set + particle type + key bytes)."""
    s = set_name.encode() if isinstance(set_name, str) else set_name
    return ripemd160(s + bytes((ptype,)) + key_bytes)


def partition_id(digest: bytes) -> int:
    """Partition (0..4095) owning a digest: the low 12 bits of its first two bytes, little-endian."""
    return (digest[0] | (digest[1] << 8)) & (N_PARTITIONS - 1)
