"""Single-record commands of the embedded server: reads, writes, deletes, operate.

Batch, scan/query and UDF requests are recognised here and handed to their handlers in
:data:`MESSAGE_HANDLERS` (registered by their modules).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any

from .._wire import constants as W
from .._wire.digest import compute_digest, partition_id
from .._wire.expiry import void_time_of
from .._wire.message import (
    FIELD_HEADER,
    MSG_HEADER,
    OP_HEADER,
    REQUEST_HEADER,
    MessageHeader,
    WireOp,
    pack_message,
    pack_op,
    parse_wire_ops,
)
from . import errors as E
from .context import NO_RESULT, OpContext
from .errors import ResultError
from .geo import check_particle as check_geo
from .ops import FILTER_EVALUATOR, OP_HANDLERS, READ_OPS, op_write
from .storage import Clock, StoredRecord, delete_bin

#: A request's reply frames: a list, or made as the connection writes them (a scan or query).
Frames = list[bytes] | Iterator[bytes]
#: Handlers for whole messages that are not single-record commands: key -> handler(server, header,
#: fields, ops_bytes_offset, body) -> frames. Filled from :data:`.registry.MESSAGES`.
MESSAGE_HANDLERS: dict[str, Callable[..., Frames]] = {}

_pack_field_header = FIELD_HEADER.pack
_NO_FIELDS: list[bytes] = []
_unpack_msg_header = MSG_HEADER.unpack_from
_unpack_op_header = OP_HEADER.unpack_from
_unpack_u32 = struct.Struct(">I").unpack_from
_pack_frame_header = REQUEST_HEADER.pack
_PROTO_MSG = (W.PROTO_VERSION << 56) | (W.PROTO_TYPE_MESSAGE << 48)
_WRITE_OR_DELETE = W.INFO2_WRITE | W.INFO2_DELETE
_new_tuple = tuple.__new__


def reply(result_code: int, generation: int = 0, void_time: int = 0, ops: list[bytes] | None = None,
          fields: list[bytes] | None = None, info3: int = 0, transaction_ttl: int = 0) -> bytes:
    """A reply frame."""
    return pack_message(0, 0, info3, 0, generation, void_time, transaction_ttl, fields or _NO_FIELDS,
                        ops or _NO_FIELDS, result_code=result_code)


def ok_reply(generation: int, void_time: int, ops: list[bytes] | None) -> bytes:
    """A successful single-record reply (the same bytes as ``reply(OK, ...)``)."""
    if not ops:
        return _pack_frame_header(_PROTO_MSG | 22, 22, 0, 0, 0, 0, 0, generation, void_time, 0, 0, 0)
    data = b"".join(ops)
    return _pack_frame_header(_PROTO_MSG | (22 + len(data)), 22, 0, 0, 0, 0, 0, generation, void_time, 0, 0,
                              len(ops)) + data


def void_time_for(wire_ttl: int, ns: Any, clock: Clock, current: int, exists: bool) -> int:
    """The void time a write gives a record (``wire_ttl`` as the client sent it)."""
    return void_time_of(wire_ttl, clock.citrus_now(), ns.default_ttl, current, exists)


def check_filter(server: Any, fields: dict[int, bytes], rec: StoredRecord, ns: Any) -> None:
    """Raise FILTERED_OUT when a filter expression rejects the record."""
    exp = fields.get(W.FIELD_FILTER_EXP)
    if exp is None:
        return
    if not FILTER_EVALUATOR:
        raise ResultError(E.UNSUPPORTED_FEATURE, "filter expressions are not supported")
    if not FILTER_EVALUATOR[0](exp, rec, ns, server.clock):
        raise ResultError(E.FILTERED_OUT)


def record_digest(fields: dict[int, bytes]) -> bytes:
    digest = fields.get(W.FIELD_DIGEST)
    if digest is not None:
        if len(digest) != 20:
            raise ResultError(E.PARAMETER, "bad digest")
        return digest
    key = fields.get(W.FIELD_KEY)
    if not key:
        raise ResultError(E.PARAMETER, "no digest and no key")
    return compute_digest(fields.get(W.FIELD_SET, b""), key[0], key[1:])


def handle_message(server: Any, body: bytes) -> Frames:
    """Answer one type-3 request (``body``: the bytes after the proto header); returns the reply frames."""
    if type(body) is not bytes:
        body = bytes(body)
    head = _unpack_msg_header(body, 0)
    if head[0] != W.MSG_HEADER_SIZE:
        raise ValueError(f"bad message header size {head[0]}")
    fields: dict[int, bytes] = {}
    offset = 22
    for _ in range(head[9]):
        (size,) = _unpack_u32(body, offset)
        fields[body[offset + 4]] = body[offset + 5 : offset + 4 + size]
        offset += 4 + size
    h = _new_tuple(MessageHeader, head[1:])
    if W.FIELD_BATCH_INDEX in fields or W.FIELD_BATCH_INDEX_WITH_SET in fields:
        return _dispatch("batch", server, h, fields, offset, memoryview(body))
    if W.FIELD_DIGEST not in fields and W.FIELD_KEY not in fields:
        return _dispatch("scan", server, h, fields, offset, memoryview(body))
    n_ops = head[10]
    plain = None
    ops: list[WireOp] | list[tuple[str, int, bytes]]
    if (head[2] & _WRITE_OR_DELETE) == W.INFO2_WRITE and n_ops and W.FIELD_UDF_PACKAGE_NAME not in fields \
            and OP_HANDLERS.get(W.OP_WRITE) is op_write:
        plain = _parse_plain_writes(body, offset, n_ops)
    if plain is None:
        ops, _ = parse_wire_ops(body, offset, n_ops)
        if W.FIELD_UDF_PACKAGE_NAME in fields:
            return _dispatch("udf", server, h, fields, offset, memoryview(body))
    else:
        ops = plain
    try:
        return [execute_record(server, h, fields, ops, plain=plain is not None)]
    except ResultError as e:
        return [reply(e.code, e.generation, e.void_time)]


def _parse_plain_writes(body: bytes, offset: int, n_ops: int) -> list[tuple[str, int, bytes]] | None:
    """``[(bin name, particle type, value)]`` when every op is a plain write, else None."""
    out: list[tuple[str, int, bytes]] = []
    append = out.append
    for _ in range(n_ops):
        size, op, ptype, _v, nlen = _unpack_op_header(body, offset)
        if op != 2:  # W.OP_WRITE
            return None
        vstart = offset + 8 + nlen
        end = offset + 4 + size
        append((body[offset + 8 : vstart].decode(), ptype, body[vstart:end]))
        offset = end
    return out


def _dispatch(kind: str, server: Any, h: Any, fields: dict[int, bytes], offset: int, body: memoryview) -> Frames:
    handler = MESSAGE_HANDLERS.get(kind)
    if handler is None:
        return [reply(E.UNSUPPORTED_FEATURE, info3=W.INFO3_LAST)]
    return handler(server, h, fields, offset, body)


def _indexed(ns: Any, digest: bytes) -> bool:
    """Whether a secondary index of the namespace holds an entry of the record."""
    return any(digest in ix.by_digest for ix in getattr(ns, "indexes", {}).values())


def execute_record(server: Any, h: Any, fields: dict[int, bytes], ops: list[Any], *, in_batch: bool = False,
                   plain: bool = False) -> bytes:
    """Run a single-record command; return its reply frame (raises ResultError on failure).

    ``plain``: ``ops`` are ``(bin name, particle type, value)`` plain writes (see ``handle_message``).
    """
    ns_name = fields.get(W.FIELD_NAMESPACE)
    ns = server.namespaces.get(ns_name.decode() if ns_name is not None else "")
    if ns is None:
        raise ResultError(E.NAMESPACE_NOT_FOUND)
    digest = fields.get(W.FIELD_DIGEST)
    if digest is None or len(digest) != 20:
        digest = record_digest(fields)
    pid = partition_id(digest)
    server.count_request(pid)
    info2 = h.info2
    if server.cluster is not None:  # a node that does not hold the partition proxies to its master
        owner = server.cluster.serving_node(server, pid, bool(info2 & _WRITE_OR_DELETE))
        if owner is not server:
            server, ns = owner, owner.namespaces[ns.name]
    try:
        if info2 & _WRITE_OR_DELETE:
            return write_record(server, ns, digest, h, fields, ops, plain)
        return read_record(server, ns, digest, h, fields, ops)
    except ResultError as e:
        # As observed on real servers: a failed read or write of an existing record answers with its
        # generation and void time; a failed delete answers with 0 (failed writes leave it unchanged).
        if not (info2 & W.INFO2_DELETE and not ops):
            rec = ns.get(digest, server.clock)
            if rec is not None:
                e.generation, e.void_time = rec.generation, rec.void_time
        raise


def read_record(server: Any, ns: Any, digest: bytes, h: Any, fields: dict[int, bytes], ops: list[Any]) -> bytes:
    """A read command's reply frame."""
    clock = server.clock
    rec: StoredRecord | None = ns.get(digest, clock)
    if rec is None:
        raise ResultError(E.KEY_NOT_FOUND)
    if W.FIELD_FILTER_EXP in fields:
        check_filter(server, fields, rec, ns)
    info1 = h.info1
    if info1 & W.INFO1_NOBINDATA:
        return ok_reply(rec.generation, rec.void_time, None)
    if info1 & W.INFO1_GET_ALL and not ops:
        packed = rec.packed
        if packed is None:
            packed = rec.packed = b"".join([pack_op(W.OP_READ, n.encode(), pt, v) for n, (pt, v) in rec.bins.items()])
        return _pack_frame_header(_PROTO_MSG | (22 + len(packed)), 22, 0, 0, 0, 0, 0, rec.generation,
                                  rec.void_time, 0, 0, len(rec.bins)) + packed
    respond_all = bool(h.info2 & W.INFO2_RESPOND_ALL_OPS)
    ctx = OpContext(rec, True, ns, clock, server)
    results: list[bytes] = []
    for op in ops:
        if op.op not in READ_OPS:
            rec.packed = None  # a modify op in a read command changes the stored record in place
        _run_op(ctx, op, results, respond_all)
    _touch_on_read(server, ns, rec, h)
    return ok_reply(rec.generation, rec.void_time, results)


def _touch_on_read(server: Any, ns: Any, rec: StoredRecord, h: Any) -> None:
    """read_touch_ttl_percent (carried in the record-ttl slot of reads): documented, not applied."""
    return None


def _run_op(ctx: OpContext, op: Any, results: list[bytes], respond_all: bool) -> None:
    handler = OP_HANDLERS.get(op.op)
    if handler is None:
        raise ResultError(E.PARAMETER, f"unknown op {op.op}")
    if op.op == W.OP_READ and not op.name:
        for n, (pt, v) in ctx.record.bins.items():
            results.append(pack_op(W.OP_READ, n.encode(), pt, v))
        return
    res = handler(ctx, op)
    if res is NO_RESULT:
        if respond_all:
            results.append(pack_op(op.op, op.name.encode(), W.PT_NULL, b""))
        return
    if res is not None:
        results.append(pack_op(op.op, op.name.encode(), res[0], res[1]))  # real servers echo the op type
    elif (respond_all and op.op != W.OP_TOUCH) or (op.op in READ_OPS and op.op != W.OP_READ):
        results.append(pack_op(op.op, op.name.encode(), W.PT_NULL, b""))


_REPLACE = W.INFO3_CREATE_OR_REPLACE | W.INFO3_REPLACE_ONLY
#: Ops that change a bin from its current value: a record-level replace cannot carry them.
_MODIFY_OPS = frozenset({W.OP_INCR, W.OP_APPEND, W.OP_PREPEND, W.OP_DELETE, W.OP_CDT_MODIFY, W.OP_BIT_MODIFY,
                         W.OP_HLL_MODIFY})


def _check_write_ops(ops: list[Any], info3: int, plain: bool) -> bool:
    """Reject op/policy combinations the real server rejects (PARAMETER, BIN_NAME) before it
    looks the record up; return whether the command must not create the record."""
    replace = bool(info3 & _REPLACE)
    must_not_create = bool(info3 & (W.INFO3_UPDATE_ONLY | W.INFO3_REPLACE_ONLY))
    if plain:
        for name, ptype, _ in ops:
            if len(name) > 15:
                raise ResultError(E.BIN_NAME)
            if replace and ptype == W.PT_NULL:
                raise ResultError(E.PARAMETER, "bin delete with a record-level replace")
        return must_not_create
    for op in ops:
        code = op.op
        if code == W.OP_TOUCH:
            if replace:
                raise ResultError(E.PARAMETER, "touch with a record-level replace")
            must_not_create = True
            continue
        if len(op.name) > 15:
            raise ResultError(E.BIN_NAME)
        if replace and (code in _MODIFY_OPS or (code == W.OP_WRITE and op.ptype == W.PT_NULL)):
            raise ResultError(E.PARAMETER, "op cannot go with a record-level replace")
    return must_not_create


def delete_record(server: Any, ns: Any, digest: bytes, h: Any, fields: dict[int, bytes],
                  rec: StoredRecord | None) -> bytes:
    """A delete command's reply frame: not found, then generation, then filter (the real order)."""
    if rec is None:
        raise ResultError(E.KEY_NOT_FOUND)
    if h.info2 & W.INFO2_GENERATION and h.generation != rec.generation:
        raise ResultError(E.GENERATION)
    if h.info2 & W.INFO2_GENERATION_GT and h.generation <= rec.generation:
        raise ResultError(E.GENERATION)
    if W.FIELD_FILTER_EXP in fields:
        check_filter(server, fields, rec, ns)
    ns.delete(digest)
    server.on_write(ns, digest, None)
    return ok_reply(0, 0, None)


def write_record(server: Any, ns: Any, digest: bytes, h: Any, fields: dict[int, bytes], ops: list[Any],
                 plain: bool = False) -> bytes:
    """A write/delete/operate command's reply frame (``plain``: see :func:`execute_record`)."""
    clock = server.clock
    rec = ns.get(digest, clock)
    exists = rec is not None
    info2, info3 = h.info2, h.info3
    if info2 & W.INFO2_DELETE and not ops:
        return delete_record(server, ns, digest, h, fields, rec)
    # The real server's order of checks: the ops against the policies, existence policies,
    # generation (a record about to be created has generation 0), set name, filter, stored key;
    # then the ops.
    must_not_create = _check_write_ops(ops, info3, plain)
    if not exists:
        if must_not_create:
            raise ResultError(E.KEY_NOT_FOUND)
    elif info2 & W.INFO2_CREATE_ONLY:
        raise ResultError(E.KEY_EXISTS)
    gen = rec.generation if exists else 0
    if info2 & W.INFO2_GENERATION and h.generation != gen:
        raise ResultError(E.GENERATION)
    if info2 & W.INFO2_GENERATION_GT and h.generation <= gen:
        raise ResultError(E.GENERATION)
    set_name = (fields.get(W.FIELD_SET) or b"").decode()
    if exists:
        if set_name and rec.set_name != set_name:
            raise ResultError(E.PARAMETER, "set name differs from the record's")
        if W.FIELD_FILTER_EXP in fields:
            check_filter(server, fields, rec, ns)
    key = fields.get(W.FIELD_KEY)
    if key is not None and exists and rec.key is not None and rec.key != key:
        raise ResultError(E.KEY_MISMATCH)
    work = rec.copy() if exists else StoredRecord(digest, set_name)
    # The new TTL applies before the ops run (expressions in ops see it, as on the real server).
    work.void_time = void_time_for(h.record_ttl, ns, clock, rec.void_time if exists else 0, exists)
    if info3 & (W.INFO3_CREATE_OR_REPLACE | W.INFO3_REPLACE_ONLY):
        work.bins = {}
    respond_all = bool(info2 & W.INFO2_RESPOND_ALL_OPS)
    results: list[bytes] = []
    if plain:  # the same effect as running op_write for each op, without building WireOps
        bins = work.bins
        for name, ptype, value in ops:
            if len(name) > 15:
                raise ResultError(E.BIN_NAME)
            if ptype == W.PT_NULL:
                delete_bin(bins, name)
            else:
                if ptype == W.PT_GEOJSON:
                    check_geo(value)
                bins[name] = (ptype, value)
            if respond_all:
                results.append(pack_op(W.OP_WRITE, name.encode(), W.PT_NULL, b""))
    else:
        ctx = OpContext(work, exists, ns, clock, server, info2)
        for op in ops:
            if len(op.name) > 15:
                raise ResultError(E.BIN_NAME)
            _run_op(ctx, op, results, respond_all)
    if not work.bins:  # every bin removed (or a delete op): the record goes
        if not exists or info3 & _REPLACE and not _indexed(ns, digest):
            # (a replace does not read the old bins: with none written it deletes nothing; unless
            # a secondary index holds one of them, which the real server reads to unindex it)
            raise ResultError(E.KEY_NOT_FOUND)
        ns.delete(digest)
        server.on_write(ns, digest, None)
        return ok_reply(0, 0, results)
    if key is not None:
        work.key = key
    if work.size() > ns.max_record_size:
        raise ResultError(E.RECORD_TOO_BIG)
    work.generation = (rec.generation if exists else 0) % 0xFFFF + 1
    work.last_update_ns = clock.nanos()
    ns.put(work)
    server.on_write(ns, digest, work)
    return ok_reply(work.generation, work.void_time, results)
