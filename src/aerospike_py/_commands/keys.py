"""User key tuples -> validated request keys with digests."""

from __future__ import annotations

import struct
from itertools import islice
from typing import Any, NamedTuple

from .._wire import constants as W
from .._wire.digest import SetHasher, compute_digest, key_particle, partition_id
from .._wire.message import FIELD_HEADER, pack_key_field
from ..exception import BinNameError, _InvalidArgType, _InvalidArgValue
from ..types import AerospikeKey

_INT64 = struct.Struct(">q")
_pack_int64 = _INT64.pack
_pack_field_header = FIELD_HEADER.pack
_tuple_new = tuple.__new__
_DIGEST_FIELD_HEAD = _pack_field_header(21, W.FIELD_DIGEST)


class KeySpace:
    """What all keys of one (namespace, set) share: encoded names, field prefix, set hasher."""

    __slots__ = ("namespace", "set_name", "ns_b", "set_b", "prefix", "hasher", "n_fields", "templates", "series")

    def __init__(self, namespace: str, set_name: str) -> None:
        self.namespace = namespace
        self.set_name = set_name
        self.ns_b = namespace.encode()
        self.set_b = set_name.encode()
        prefix = _pack_field_header(len(self.ns_b) + 1, W.FIELD_NAMESPACE) + self.ns_b
        # The set field is always sent (empty for no set), as the official client sends it.
        prefix += _pack_field_header(len(self.set_b) + 1, W.FIELD_SET) + self.set_b
        #: Namespace and set fields followed by the digest field's header.
        self.prefix = prefix + _DIGEST_FIELD_HEAD
        self.hasher = SetHasher(self.set_b)
        #: Fields in ``prefix`` + digest: namespace, set, digest.
        self.n_fields = 3
        #: ``id(policy) -> (policy, get, exists)`` request bytes up to the digest, for reads with
        #: long-lived policies (see ``record._read_templates``).
        self.templates: dict[int, tuple[Any, bytes, bytes]] = {}
        #: ``op -> series`` of successful operations on this space (see ``aerospike_py._observe``).
        self.series: dict[str, list[Any]] = {}


_SPACES: dict[tuple[str, str], KeySpace] = {}
#: Recently parsed ``(namespace, set, str/int key)`` tuples -> RequestKey: hot keys skip hashing.
_RECENT: dict[tuple[Any, ...], RequestKey] = {}
#: Keys remembered before the memo is emptied.
_RECENT_KEYS = 8192


def key_space(namespace: str, set_name: str) -> KeySpace:
    ks = _SPACES.get((namespace, set_name))
    if ks is None:
        if len(_SPACES) > 10000:
            _SPACES.clear()
        ks = _SPACES[(namespace, set_name)] = KeySpace(namespace, set_name)
    return ks


class RequestKey(NamedTuple):
    """A validated key; ``public`` is the :class:`AerospikeKey` that results carry (made once per
    key). Made with ``tuple.__new__`` on the hot path (no Python-level ``__new__``)."""

    space: KeySpace
    user_key: Any
    digest: bytes
    #: Particle type and bytes of the user key (``kbytes`` None: a digest-only key).
    ptype: int
    kbytes: bytes | None
    public: AerospikeKey
    #: :func:`~aerospike_py._wire.digest.partition_id` of the digest, computed once per key (a
    #: remembered key routes a command without a call).
    partition_id: int

    @property
    def namespace(self) -> str:
        return self.space.namespace

    @property
    def set_name(self) -> str:
        return self.space.set_name

    @property
    def ns_b(self) -> bytes:
        return self.space.ns_b

    @property
    def set_b(self) -> bytes:
        return self.space.set_b

    @property
    def key_field(self) -> bytes | None:
        """The user-key field (``None`` for digest-only keys)."""
        if self.kbytes is None:
            return None
        return pack_key_field(self.ptype, self.kbytes)

    def fields(self) -> bytes:
        """Namespace, set and digest fields, concatenated."""
        return self.space.prefix + self.digest

    def to_public(self) -> AerospikeKey:
        return self.public

    def __repr__(self) -> str:
        return f"({self.space.namespace!r}, {self.space.set_name!r}, {self.user_key!r})"


def _rk(space: KeySpace, user_key: Any, digest: bytes, ptype: int, kbytes: bytes | None) -> RequestKey:
    public = _tuple_new(AerospikeKey, (space.namespace, space.set_name, user_key, digest))
    return _tuple_new(RequestKey, (space, user_key, digest, ptype, kbytes, public, partition_id(digest)))


def parse_key(key: Any) -> RequestKey:
    """Validate ``(namespace, set, user_key[, digest])`` and compute its digest.

    Keys parsed recently come from a memo keyed by the caller's tuple (no hashing, no checks); the
    memo entry is only used when the user key has the very type it was stored with (``1``,
    ``True`` and ``1.0`` are equal as dict keys but are different record keys).
    """
    if type(key) is tuple:
        try:
            rk = _RECENT.get(key)
        except TypeError:  # an unhashable user key: the slow path names the problem
            return _parse_key_slow(key)
        if rk is not None and type(rk.user_key) is type(key[2]):
            return rk
        if len(key) == 3:
            namespace, set_name, user_key = key
            if (type(namespace) is str and type(set_name) is str and 0 < len(namespace) < 32
                    and len(set_name) < 64):
                t = type(user_key)
                if t is str:
                    ptype, kb = 3, user_key.encode()
                elif t is int and -0x8000000000000000 <= user_key <= 0x7FFFFFFFFFFFFFFF:
                    ptype, kb = 1, _pack_int64(user_key)
                else:
                    return _parse_key_slow(key)
                ks = _SPACES.get((namespace, set_name)) or key_space(namespace, set_name)
                bases = ks.hasher.bases
                if bases is not None:  # SetHasher.digest, inlined
                    h = bases[ptype].copy()
                    h.update(kb)
                    d = h.digest()
                else:
                    d = ks.hasher.digest(ptype, kb)
                rk = _tuple_new(RequestKey, (ks, user_key, d, ptype, kb,
                                             _tuple_new(AerospikeKey, (namespace, ks.set_name, user_key, d)),
                                             (d[0] | (d[1] << 8)) & 4095))  # partition_id(d), inlined
                if len(_RECENT) >= _RECENT_KEYS:
                    _forget_older_keys()
                _RECENT[key] = rk
                return rk
    return _parse_key_slow(key)


def _forget_older_keys() -> None:
    """Drop the older half of the full memo (emptying it would make every key miss until it fills
    again: a working set a little larger than the memo would then mostly miss)."""
    pop = _RECENT.pop
    for k in list(islice(_RECENT, _RECENT_KEYS // 2)):  # (C iteration: no other thread runs meanwhile)
        pop(k, None)


def _parse_key_slow(key: Any) -> RequestKey:
    if type(key) is not tuple:
        if not isinstance(key, (tuple, list)):
            raise _InvalidArgType(f"key must be a tuple (namespace, set, key), not {type(key).__name__}")
        key = tuple(key)
    n = len(key)
    if n == 3:
        namespace, set_name, user_key = key
        digest = None
    elif n == 4:
        namespace, set_name, user_key, digest = key
    else:
        raise _InvalidArgType(f"key must be a tuple (namespace, set, key[, digest]), got {n} elements")
    if type(namespace) is not str or not namespace:
        raise _InvalidArgValue(f"key namespace must be a non-empty str, got {namespace!r}")
    if set_name is None:
        set_name = ""
    elif type(set_name) is not str:
        raise _InvalidArgType(f"key set must be a str or None, got {type(set_name).__name__}")
    if len(namespace) > 31:
        raise _InvalidArgValue(f"namespace name too long: {namespace!r}")
    if len(set_name) > 63:
        raise _InvalidArgValue(f"set name too long: {set_name!r}")
    ks = key_space(namespace, set_name)
    if digest is not None:
        if not isinstance(digest, (bytes, bytearray)) or len(digest) != 20:
            raise _InvalidArgValue("key digest must be 20 bytes")
        digest = bytes(digest)
        if user_key is None:
            return _rk(ks, None, digest, 0, None)
    elif user_key is None:
        raise _InvalidArgValue("key needs a user key or a digest")
    if type(user_key) is int and not -(1 << 63) <= user_key < (1 << 63):
        raise _InvalidArgValue(f"integer key out of the 64-bit range: {user_key}")
    try:
        ptype, kb = key_particle(user_key)
    except TypeError as e:
        raise _InvalidArgType(str(e)) from None
    if type(user_key) is bytearray:
        user_key = bytes(user_key)
    if digest is None:
        digest = ks.hasher.digest(ptype, kb)
    return _rk(ks, user_key, digest, ptype, kb)


def check_bin_name(name: Any) -> bytes:
    """A bin name as bytes (at most 15 bytes)."""
    if type(name) is not str:
        raise _InvalidArgType(f"bin name must be a str, not {type(name).__name__}")
    b = name.encode()
    if len(b) > 15:
        raise BinNameTooLong(f"bin name {name!r} is {len(b)} bytes; the limit is 15")
    return b


class BinNameTooLong(BinNameError, ValueError):
    """A bin name over 15 bytes: a BinNameError, and a ValueError as in the original API."""

    code = 21


__all__ = ["RequestKey", "KeySpace", "parse_key", "check_bin_name", "compute_digest", "partition_id"]
