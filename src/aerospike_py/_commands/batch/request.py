"""Batch requests: the keys of a call, the per-record heads and the batch-index message (field 41).

Request: a header with ``info1 = BATCH``, an optional filter-expression field, then field 41:
``count (u32) | flags (u8) | entries``. Each entry is ``index (u32) | digest (20) | type (u8) | ...``;
type ``REPEAT`` (1) reuses everything of the previous entry, otherwise the type bits say which of
``info1-3`` (INFO), ``generation (u16)`` (GEN) and ``ttl (u32)`` (TTL) follow, then
``n_fields (u16) | n_ops (u16) | fields | ops`` as in a single-record message.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Final, NamedTuple, cast

from ..._policy import WriteAttrs
from ..._wire import constants as W
from ..._wire.message import FIELD_HEADER, pack_message
from ...exception import (
    InvalidArgError,
    _InvalidArgType,
)
from ..base import Command
from ..keys import _RECENT, RequestKey, parse_key

if TYPE_CHECKING:
    from ..._net.cluster import Node
    from .reply import Layout

# Entry type bits.
BATCH_MSG_REPEAT = 0x01
BATCH_MSG_INFO = 0x02
BATCH_MSG_GEN = 0x04
BATCH_MSG_TTL = 0x08

# Field-41 flags.
FLAG_ALLOW_INLINE = 0x01
FLAG_ALLOW_INLINE_SSD = 0x02
FLAG_RESPOND_ALL_KEYS = 0x04
FLAG_BATCH_V2 = 0x08  # set by the official and Rust clients on every batch request

#: Result code of a record the server never answered (protocol violation).
NO_RESPONSE = -1

_U32 = struct.Struct(">I")
_ENTRY = struct.Struct(">I20sB")  # index, digest, REPEAT
_READ_HEAD = struct.Struct(">BBBBIHH")  # type, info1, info2, info3, ttl, n_fields, n_ops
_WRITE_HEAD = struct.Struct(">BBBBHIHH")  # type, info1, info2, info3, gen, ttl, n_fields, n_ops
_pack_u32 = _U32.pack
_pack_entry = _ENTRY.pack
_pack_field_header = FIELD_HEADER.pack
_REPEAT = b"\x01"
_tuple_new = tuple.__new__
_digest_of = itemgetter(RequestKey._fields.index("digest"))  # (C-level: an attrgetter costs more a key)

class Slot(NamedTuple):
    """The result of one record of a batch call, as parsed: the names of its five fields.

    The library stores slots as plain tuples of these fields (:data:`SlotFields`, made per record
    on the hot path, where making a NamedTuple costs a call: about 1,800 more instructions a
    record of a batch_read, callgrind) and reads them by unpacking or by the ``SLOT_*`` indexes;
    ``Slot(...)`` makes one by name (tests).
    """

    rc: int
    generation: int
    void_time: int
    #: The record's bins (a failed UDF call: its ``FAILURE`` bin), or None.
    bins: dict[str, Any] | None
    #: A failed write's command may have been applied (its node failed mid-command).
    in_doubt: bool


#: A slot as the library stores it: ``(rc, generation, void_time, bins, in_doubt)`` (see :class:`Slot`).
SlotFields = tuple[int, int, int, "dict[str, Any] | None", bool]
#: Indexes of the fields read alone.
SLOT_RC: Final = 0
SLOT_BINS: Final = 3
SLOT_IN_DOUBT: Final = 4


# --------------------------------------------------------------------------- input


def parse_keys(keys: Any, what: str = "keys") -> list[RequestKey]:
    """Validate a list of keys; a malformed key names its index.

    When every key is in the memo of recently parsed keys, the list is made by C-level maps (no
    Python loop): a batch of hot keys costs little more than a copy. The memo's entries are only
    taken when each user key has the type its entry was made with (1, True and 1.0 are equal).
    """
    if not isinstance(keys, (list, tuple)):
        raise _InvalidArgType(f"{what} must be a list of keys, not {type(keys).__name__}")
    try:
        memo: list[RequestKey | None] = list(map(_RECENT.get, keys))
    except TypeError:  # an unhashable key (a list, a list user key): the loop below
        memo = [None]
    if None not in memo:
        # The memo holds only str and int user keys, so when every user key given is exactly a str
        # or an int, each entry found was made for that very key (an int never equals a str).
        if set(map(type, map(_tuple_user_key, keys))) <= _MEMO_TYPES:
            return cast("list[RequestKey]", memo)  # no None in it
    out: list[RequestKey] = []
    append = out.append
    recent = _RECENT
    try:
        for k in keys:
            if type(k) is tuple:
                rk = recent.get(k)
                if rk is not None and type(rk.user_key) is type(k[2]):
                    append(rk)
                    continue
            append(parse_key(k))
    except InvalidArgError as e:
        raise type(e)(f"{what}[{len(out)}]: {e.msg}") from None
    except TypeError:  # e.g. an unhashable user key: let parse_key name the problem
        for k in keys[len(out):]:
            try:
                append(parse_key(k))
            except InvalidArgError as e:
                raise type(e)(f"{what}[{len(out)}]: {e.msg}") from None
    return out


_tuple_user_key = itemgetter(2)  # (namespace, set, user key) -> user key
_MEMO_TYPES = frozenset((str, int))


def _ns_set_fields(k: RequestKey) -> bytes:
    ns, s = k.ns_b, k.set_b
    out = _pack_field_header(len(ns) + 1, W.FIELD_NAMESPACE) + ns
    if s:
        out += _pack_field_header(len(s) + 1, W.FIELD_SET) + s
    return out


def read_head(k: RequestKey, info1: int, info2: int, ttl: int, ops: Sequence[bytes]) -> bytes:
    """The entry body (after the digest) of a read."""
    n_fields = 2 if k.set_b else 1
    return b"".join((_READ_HEAD.pack(BATCH_MSG_INFO | BATCH_MSG_TTL, info1, info2, 0, ttl, n_fields, len(ops)),
                     _ns_set_fields(k), *ops))


def write_head(k: RequestKey, info1: int, attrs: WriteAttrs, ops: Sequence[bytes], extra_fields: Sequence[bytes] = (),
               extra_info2: int = W.INFO2_RESPOND_ALL_OPS, n_ops: int = -1) -> bytes:
    """The entry body (after the digest) of a write, delete or UDF call (``attrs`` from write_attrs);
    ``ops`` holds one op per item, or ``n_ops`` ops in its parts."""
    info2, info3, generation, ttl, key_policy, _ = attrs
    fields = [_ns_set_fields(k)]
    n_fields = 2 if k.set_b else 1
    if key_policy == 1 and k.key_field is not None:
        fields.append(k.key_field)
        n_fields += 1
    fields.extend(extra_fields)
    n_fields += len(extra_fields)
    head = _WRITE_HEAD.pack(BATCH_MSG_INFO | BATCH_MSG_GEN | BATCH_MSG_TTL, info1, info2 | extra_info2, info3,
                            generation & 0xFFFF, ttl, n_fields, len(ops) if n_ops < 0 else n_ops)
    return b"".join((head, *fields, *ops))


def flags_of(policy: Any) -> int:
    flags = FLAG_BATCH_V2
    if policy["allow_inline"]:
        flags |= FLAG_ALLOW_INLINE
    if policy["allow_inline_ssd"]:
        flags |= FLAG_ALLOW_INLINE_SSD
    if policy["respond_all_keys"]:
        flags |= FLAG_RESPOND_ALL_KEYS
    return flags


_INDEX_BYTES: list[bytes] = []
_MAX_INDEX_BYTES = 1 << 16


def _index_bytes(n: int) -> list[bytes]:
    """Big-endian u32 of 0 .. n-1 (at least), kept between calls (``n`` <= ``_MAX_INDEX_BYTES``).

    A longer list replaces the kept one whole (one rebinding: a thread never sees it half
    extended, nor extends it twice)."""
    global _INDEX_BYTES
    b = _INDEX_BYTES
    if len(b) < n:
        b = _INDEX_BYTES = list(map(_pack_u32, range(max(n, 1024))))
    return b


def pack_batch(indices: Sequence[int], keys: Sequence[RequestKey], heads: Sequence[bytes], policy: Any,
               filter_field: bytes | None) -> bytes:
    """The whole request frame for the records at ``indices`` (original positions are kept)."""
    parts = [_pack_u32(len(indices)), bytes((flags_of(policy),))]
    append = parts.append
    if type(indices) is range and indices.step == 1 and len(indices) > 1 and indices.stop <= _MAX_INDEX_BYTES:
        lo, hi = indices.start, indices.stop
        hs = heads[lo:hi]
        if hs.count(hs[0]) == len(hs):  # one entry body for all, the rest REPEATs: slices, no loop
            n = hi - lo - 1
            rep = [_REPEAT] * (3 * n)
            rep[0::3] = _index_bytes(hi)[lo + 1 : hi]
            rep[1::3] = map(_digest_of, keys[lo + 1 : hi])
            parts += (_pack_u32(lo), keys[lo][2], hs[0], *rep)
            indices = ()
    prev = None
    for i in indices:
        head = heads[i]
        if head is prev or head == prev:
            append(_pack_entry(i, keys[i][2], 1))
        else:
            append(_pack_u32(i))
            append(keys[i][2])
            append(head)
            prev = head
    data = b"".join(parts)
    fields = [_pack_field_header(len(data) + 1, W.FIELD_BATCH_INDEX) + data]
    if filter_field is not None:
        fields.insert(0, filter_field)
    return pack_message(W.INFO1_BATCH, 0, 0, 0, 0, 0, policy["total_timeout"], fields, [])

# --------------------------------------------------------------------------- commands


class BatchState:
    """What the node commands of one call share: keys, result slots, per-record op filter."""

    __slots__ = ("keys", "slots", "keep", "sink", "layout", "learned", "plan", "keep_failed", "doubt")

    def __init__(self, keys: list[RequestKey], keep: list[bool] | None = None, sink: Any = None,
                 plan: Any = None, keep_failed: bool = False) -> None:
        #: A ResultPlan when the ops' results need more than "one value per bin" (batch_operate).
        self.plan = plan
        self.keys = keys
        #: Keep the bins of failed records (batch_apply: the ``FAILURE`` bin of a UDF error).
        self.keep_failed = keep_failed
        #: One slot (:data:`SlotFields`) per key once answered (None: not yet).
        self.slots: list[SlotFields | None] = [None] * len(keys)
        #: For batch_operate with RESPOND_ALL_OPS: which reply ops carry a result for the caller.
        self.keep = keep
        #: Numpy path: an object whose ``feed(cmd, body, node)`` takes the reply frames instead.
        self.sink = sink
        #: The record layout last seen (see :class:`Layout`), and how many were learned.
        self.layout: Layout | None = None
        self.learned = 0
        #: Indices of write records that may have been applied by an attempt whose answer was not
        #: a success: a failure of theirs is in doubt (see :func:`.steps.mark_doubt`).
        self.doubt: set[int] = set()


class BatchCommand(Command):
    """A batch request to one node; ``extra`` is ``(BatchState, indices)``."""

    __slots__ = ("node",)

    node: Node
