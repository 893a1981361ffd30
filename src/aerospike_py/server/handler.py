"""Single-record commands of the embedded server: reads, writes, deletes, operate.

Batch, scan/query and UDF requests are recognised here and handed to their handlers in
:data:`MESSAGE_HANDLERS` (registered by their modules).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._wire import constants as W
from .._wire.digest import compute_digest, partition_id
from .._wire.message import FIELD_HEADER, pack_message, pack_op, parse_fields, parse_header, parse_wire_ops
from . import errors as E
from .errors import ResultError
from .ops import FILTER_EVALUATOR, OP_HANDLERS, READ_OPS, OpContext
from .storage import StoredRecord

#: Handlers for whole messages that are not single-record commands: key -> handler(server, header,
#: fields, ops_bytes_offset, body) -> list of frames. Keys: "batch", "scan", "udf".
MESSAGE_HANDLERS: dict[str, Callable[..., list[bytes]]] = {}

_pack_field_header = FIELD_HEADER.pack
_NO_FIELDS: list[bytes] = []


def reply(result_code: int, generation: int = 0, void_time: int = 0, ops: list[bytes] | None = None,
          fields: list[bytes] | None = None, info3: int = 0, transaction_ttl: int = 0) -> bytes:
    """A reply frame."""
    return pack_message(0, 0, info3, 0, generation, void_time, transaction_ttl, fields or _NO_FIELDS,
                        ops or _NO_FIELDS, result_code=result_code)


def void_time_for(wire_ttl: int, ns: Any, clock: Any, current: int, exists: bool) -> int:
    """The void time a write gives a record (``wire_ttl`` as the client sent it)."""
    if wire_ttl == 0xFFFFFFFF:
        return 0
    if wire_ttl == 0xFFFFFFFE:
        if exists:
            return current
        wire_ttl = 0
    if wire_ttl == 0:
        return clock.citrus_now() + ns.default_ttl if ns.default_ttl else 0
    return clock.citrus_now() + wire_ttl


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


def handle_message(server: Any, body: memoryview) -> list[bytes]:
    """Answer one type-3 request; returns the reply frames."""
    h = parse_header(body)
    fields, offset = parse_fields(body, 22, h.n_fields)
    if W.FIELD_BATCH_INDEX in fields or W.FIELD_BATCH_INDEX_WITH_SET in fields:
        return _dispatch("batch", server, h, fields, offset, body)
    if W.FIELD_DIGEST not in fields and W.FIELD_KEY not in fields:
        return _dispatch("scan", server, h, fields, offset, body)
    ops, _ = parse_wire_ops(body, offset, h.n_ops)
    if W.FIELD_UDF_PACKAGE_NAME in fields:
        return _dispatch("udf", server, h, fields, offset, body)
    try:
        return [execute_record(server, h, fields, ops)]
    except ResultError as e:
        return [reply(e.code, e.generation, e.void_time)]


def _dispatch(kind: str, server: Any, h: Any, fields: dict[int, bytes], offset: int, body: memoryview) -> list[bytes]:
    handler = MESSAGE_HANDLERS.get(kind)
    if handler is None:
        return [reply(E.UNSUPPORTED_FEATURE, info3=W.INFO3_LAST)]
    return handler(server, h, fields, offset, body)


def execute_record(server: Any, h: Any, fields: dict[int, bytes], ops: list, *, in_batch: bool = False) -> bytes:
    """Run a single-record command; return its reply frame (raises ResultError on failure)."""
    ns_name = fields.get(W.FIELD_NAMESPACE)
    ns = server.namespaces.get(ns_name.decode() if ns_name is not None else "")
    if ns is None:
        raise ResultError(E.NAMESPACE_NOT_FOUND)
    digest = record_digest(fields)
    pid = partition_id(digest)
    server.count_request(pid)
    if server.cluster is not None:  # a node that does not hold the partition proxies to its master
        owner = server.cluster.serving_node(server, pid, bool(h.info2 & (W.INFO2_WRITE | W.INFO2_DELETE)))
        if owner is not server:
            server, ns = owner, owner.namespaces[ns.name]
    try:
        if h.info2 & (W.INFO2_WRITE | W.INFO2_DELETE):
            gen, void_time, results = write_record(server, ns, digest, h, fields, ops)
        else:
            gen, void_time, results = read_record(server, ns, digest, h, fields, ops)
    except ResultError as e:
        # As observed on real servers: a failed read or write of an existing record answers with its
        # generation and void time; a failed delete answers with 0 (failed writes leave it unchanged).
        if not (h.info2 & W.INFO2_DELETE and not ops):
            rec = ns.get(digest, server.clock)
            if rec is not None:
                e.generation, e.void_time = rec.generation, rec.void_time
        raise
    return reply(E.OK, gen, void_time, results)


def read_record(server: Any, ns: Any, digest: bytes, h: Any, fields: dict[int, bytes], ops: list) -> tuple:
    clock = server.clock
    rec = ns.get(digest, clock)
    if rec is None:
        raise ResultError(E.KEY_NOT_FOUND)
    check_filter(server, fields, rec, ns)
    info1 = h.info1
    if info1 & W.INFO1_NOBINDATA:
        return rec.generation, rec.void_time, None
    if info1 & W.INFO1_GET_ALL and not ops:
        return rec.generation, rec.void_time, [pack_op(W.OP_READ, n.encode(), pt, v) for n, (pt, v) in rec.bins.items()]
    respond_all = bool(h.info2 & W.INFO2_RESPOND_ALL_OPS)
    ctx = OpContext(rec, True, ns, clock, server)
    results: list[bytes] = []
    for op in ops:
        _run_op(ctx, op, results, respond_all)
    _touch_on_read(server, ns, rec, h)
    return rec.generation, rec.void_time, results


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
    if res is not None:
        results.append(pack_op(op.op, op.name.encode(), res[0], res[1]))  # real servers echo the op type
    elif respond_all or (op.op in READ_OPS and op.op != W.OP_READ):
        results.append(pack_op(op.op, op.name.encode(), W.PT_NULL, b""))


def write_record(server: Any, ns: Any, digest: bytes, h: Any, fields: dict[int, bytes], ops: list) -> tuple:
    clock = server.clock
    rec = ns.get(digest, clock)
    exists = rec is not None
    info2, info3 = h.info2, h.info3
    if exists:
        check_filter(server, fields, rec, ns)
        if info2 & W.INFO2_GENERATION and h.generation != rec.generation:
            raise ResultError(E.GENERATION)
        if info2 & W.INFO2_GENERATION_GT and h.generation <= rec.generation:
            raise ResultError(E.GENERATION)
    if info2 & W.INFO2_DELETE and not ops:
        if not exists:
            raise ResultError(E.KEY_NOT_FOUND)
        ns.delete(digest)
        server.on_write(ns, digest, None)
        return 0, 0, None
    if exists:
        if info2 & W.INFO2_CREATE_ONLY:
            raise ResultError(E.KEY_EXISTS)
    elif info3 & (W.INFO3_UPDATE_ONLY | W.INFO3_REPLACE_ONLY):
        raise ResultError(E.KEY_NOT_FOUND)
    set_name = (fields.get(W.FIELD_SET) or b"").decode()
    if exists:
        work = rec.copy()
        if set_name and work.set_name != set_name and not work.set_name:
            work.set_name = set_name
    else:
        work = StoredRecord(digest, set_name)
    if info3 & (W.INFO3_CREATE_OR_REPLACE | W.INFO3_REPLACE_ONLY):
        work.bins = {}
    respond_all = bool(info2 & W.INFO2_RESPOND_ALL_OPS)
    ctx = OpContext(work, exists, ns, clock, server, info2)
    results: list[bytes] = []
    for op in ops:
        if len(op.name) > 15:
            raise ResultError(E.BIN_NAME)
        _run_op(ctx, op, results, respond_all)
    if ctx.deleted and not work.bins:
        if exists:
            ns.delete(digest)
            server.on_write(ns, digest, None)
        return 0, 0, results
    if not work.bins:
        if exists:
            ns.delete(digest)
            server.on_write(ns, digest, None)
        return 0, 0, results
    key = fields.get(W.FIELD_KEY)
    if key is not None:
        if work.key is not None and exists and work.key != key:
            raise ResultError(E.KEY_MISMATCH)
        work.key = key
    if work.size() > ns.max_record_size:
        raise ResultError(E.RECORD_TOO_BIG)
    work.void_time = void_time_for(h.record_ttl, ns, clock, rec.void_time if exists else 0, exists)
    work.generation = (rec.generation if exists else 0) % 0xFFFF + 1
    work.last_update_ns = clock.nanos()
    ns.put(work)
    server.on_write(ns, digest, work)
    return work.generation, work.void_time, results
