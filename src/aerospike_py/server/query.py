"""Queries and scans on the embedded server: the partition-based protocol as CE 8.1.2 speaks it.

A request (a message without key or digest) lists the partitions it wants (field 11, ids as
little-endian u16) and partitions to resume (field 12, digests of the last record returned, with
field 15 the bvals of a secondary-index query). The node answers for the partitions it holds
(master or replica, as real nodes do; clients ask each node for its master partitions), in order: records in digest order (a scan) or in index order ``(bval, digest)`` (a
query), each a message with namespace, digest, set, user key (when stored) and, for index
queries, field 15 with the record's bval; the ops are its bins (none with ``no bin data``).
Partitions it does not hold get a "partition done" message (info3 0x04, result 11, partition id
in the generation slot). ``max_records`` (field 13) counts matching records across partitions;
``records_per_second`` (field 10) paces the frames. Frames close at 1 MiB, then the last message
(info3 0x01) comes in a frame of its own. An error before any record is one message with its code.

With the write bit (info2 0x01) the request is a background job: its write ops (and expression
writes) are applied to every matching record (update-only, the request's TTL and filter) and the
answer is the last message at once; ``query-show`` reports the job. Facts from the real server's
source (``as/src/query/query.c``) and traffic (``official-query.jsonl``).
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from .._wire import constants as W
from .._wire.digest import partition_id
from .._wire.message import MessageHeader, pack_op, parse_wire_ops
from .._wire.proto import PROTO_HEADER
from .._wire.query import pack_last, pack_partition_done, pack_record, parse_index_range, parse_query
from . import errors as E
from . import geo
from .context import OpContext
from .errors import ResultError
from .handler import MESSAGE_HANDLERS, Frames, _run_op, check_filter, reply, write_record
from .sindex import ITYPE_DEFAULT, find_index
from .storage import StoredRecord

log: logging.Logger = logging.getLogger("aerospike_py.server")

CHUNK_LIMIT = 1024 * 1024
MAX_DONE_JOBS = 100  # query-max-done
BACKGROUND_MAX_RPS = 10000  # background-query-max-rps (also the rps of a background job that sets none)
_PROTO_MSG = (W.PROTO_VERSION << 56) | (W.PROTO_TYPE_MESSAGE << 48)
_FIN = PROTO_HEADER.pack(_PROTO_MSG | 22) + pack_last(0)
_U64 = struct.Struct(">Q")
_NO_OPS: list[bytes] = []


class Paced(list[Any]):
    """Reply frames to be written ``interval`` seconds apart (``records_per_second``); the node
    calls ``on_sent`` (security: release the scan's quota reservation) once the last one is
    written or the connection is lost."""

    interval: float = 0.0
    on_sent: Callable[[], None] | None = None


# --------------------------------------------------------------------------- request


@dataclass
class Range:
    """The where clause: one bin (or index name), a key type and its value(s)."""

    bin: str
    ktype: int
    start: int = 0
    end: int = 0
    value: bytes = b""
    shape: Any = None


@dataclass
class QueryRequest:
    namespace: str
    set_name: str
    pids: dict[int, tuple[int, bytes] | None] | None  # pid -> resume (bval, digest); None: no pid fields
    n_keyds: int = 0
    where: Range | None = None
    index_name: str | None = None
    itype: int = ITYPE_DEFAULT
    ctx: bytes | None = None
    max_records: int = 0
    rps: int = 0
    trid: int = 0
    socket_timeout: int = 0
    filter_exp: bytes | None = None
    no_bins: bool = False
    bin_names: list[str] | None = None
    read_ops: list[Any] = field(default_factory=list[Any])


def _bad(msg: str) -> ResultError:
    return ResultError(E.PARAMETER, msg)


def parse_range(data: bytes, named: bool) -> Range:
    """Field 22 as the real server takes it: exactly one filter; a bin name unless the index is named;
    8-byte integers (begin <= end), or a string, blob or GeoJSON value."""
    if len(data) < 2 or data[0] != 1:
        raise _bad("only one range supported")
    n = data[1]
    if n == 0 and not named:
        raise _bad("missing expression and index name and bin name")
    if n and named:
        raise _bad("specified expression or index name with bin name")
    if n >= 16:
        raise _bad("bad bin name")
    try:
        r = parse_index_range(data)
    except (ValueError, IndexError, struct.error):
        raise _bad("cannot parse index range") from None
    if r.ptype == W.PT_INTEGER:
        if len(r.begin) != 8 or len(r.end) != 8:
            raise _bad("can only handle 8 byte integers")
        start, end = int.from_bytes(r.begin, "big", signed=True), int.from_bytes(r.end, "big", signed=True)
        if start > end:
            raise _bad("invalid range")
        return Range(r.bin_name, r.ptype, start=start, end=end)
    if r.ptype in (W.PT_STRING, W.PT_BLOB):
        return Range(r.bin_name, r.ptype, value=bytes(r.begin))
    if r.ptype == W.PT_GEOJSON:
        if not r.begin:
            raise _bad("invalid query key size")
        try:
            shape = geo.parse(r.begin)
        except geo.GeoError as e:
            log.warning("geo query: invalid GeoJSON: %s", e)
            raise _bad(str(e)) from None
        return Range(r.bin_name, r.ptype, value=bytes(r.begin), shape=shape)
    raise _bad(f"invalid particle type {r.ptype}")


def _pids(q: Any, fields: dict[int, bytes], has_where: bool) -> tuple[dict[int, tuple[int, bytes] | None] | None, int]:
    """Partitions asked for, with their resume points, checked as the real server checks them."""
    has_pids, has_digests = W.FIELD_PID_ARRAY in fields, W.FIELD_DIGEST_ARRAY in fields
    if not has_pids and not has_digests:
        if W.FIELD_BVAL_ARRAY in fields:
            raise _bad("got bval array but no digests")
        return None, 0
    out: dict[int, tuple[int, bytes] | None] = {}
    if has_pids:
        if not q.pids or len(q.pids) > W.N_PARTITIONS:
            raise _bad("pid array empty or too big")
        for pid in q.pids:
            if pid >= W.N_PARTITIONS or pid in out:
                raise _bad("bad or duplicate pid")
            out[pid] = None
    if not has_digests:
        if q.bvals is not None:
            raise _bad("got bval array but no digests")
        return out, 0
    if not q.digests or len(q.digests) > W.N_PARTITIONS:
        raise _bad("digest array empty or too big")
    if has_where and (q.bvals is None or len(q.bvals) != len(q.digests)):
        raise _bad("bval array missing or of another size than the digests")
    for i, d in enumerate(q.digests):
        d = bytes(d)
        pid = partition_id(d)
        if pid in out:
            raise _bad("bad or duplicate digest pid")
        out[pid] = (q.bvals[i] if has_where and q.bvals is not None else 0, d)
    return out, len(q.digests)


def parse_request(h: MessageHeader, fields: dict[int, bytes], body: memoryview, ops: list[Any]) -> QueryRequest:
    """The facts of a query/scan request, decoded by the shared codec (``_wire.query``) and checked
    as the real server checks them (raises ``ResultError(PARAMETER)``)."""
    try:
        q = parse_query(body)
    except (ValueError, KeyError, IndexError, TypeError, struct.error, UnicodeDecodeError):
        raise _bad("cannot parse query request") from None
    set_name = q.set_name or ""
    if len(set_name) >= 64:
        raise _bad("set name too long")
    index_name = fields.get(W.FIELD_INDEX_NAME)
    raw_range = fields.get(W.FIELD_INDEX_RANGE)
    req = QueryRequest(q.namespace, set_name, None)
    if raw_range is not None:
        req.where = parse_range(raw_range, index_name is not None)
        if W.FIELD_INDEX_TYPE in fields and not fields[W.FIELD_INDEX_TYPE]:
            raise _bad("cannot parse itype")
        req.itype = q.index_type
        if q.index_context is not None:
            if index_name is not None or not q.index_context:
                raise _bad("bad index context")
            req.ctx = bytes(q.index_context)
    if index_name is not None:
        if not index_name or len(index_name) >= 64:
            raise _bad("bad index name size")
        req.index_name = index_name.decode()
    req.pids, req.n_keyds = _pids(q, fields, raw_range is not None)
    for ftype, size in ((W.FIELD_RECORDS_PER_SECOND, 4), (W.FIELD_MAX_RECORDS, 8), (W.FIELD_SOCKET_TIMEOUT, 4)):
        if ftype in fields and len(fields[ftype]) != size:
            raise _bad(f"field {ftype} of size {len(fields[ftype])}")
    req.rps, req.max_records, req.trid = q.records_per_second, q.max_records, q.task_id
    req.socket_timeout = q.socket_timeout
    req.filter_exp = q.filter_exp
    req.no_bins = bool(h.info1 & W.INFO1_NOBINDATA)
    binlist = fields.get(W.FIELD_QUERY_BINLIST)
    if binlist is not None and ops:
        raise _bad("both binlist and ops cannot be specified")
    if binlist is not None and binlist:  # deprecated: count, then (length, name) per bin
        names, p = [], 1
        for _ in range(binlist[0]):
            n = binlist[p]
            names.append(bytes(binlist[p + 1:p + 1 + n]).decode())
            p += 1 + n
        req.bin_names = names
    elif ops and not req.no_bins:
        if all(op.op == W.OP_READ and op.name for op in ops):
            req.bin_names = [op.name for op in ops]
        else:
            req.read_ops = ops
    return req


# --------------------------------------------------------------------------- jobs


class Job:
    """What ``query-show`` reports about one query or background job."""

    def __init__(self, req: QueryRequest, kind: str, si_name: str, client: str, trid: int) -> None:
        self.req = req
        self.kind = kind
        self.si_name = si_name
        self.client = client
        self.trid = trid
        self.start: float = time.monotonic()
        self.finish: float | None = None
        self.filtered_meta = self.filtered_bins = self.succeeded = self.failed = 0
        self.throttled = 0  # records that went through the rps throttle
        self.net_io_bytes = 0

    def info(self) -> str:
        now = time.monotonic()
        end = self.finish if self.finish is not None else now
        req = self.req
        out = [f"trid={self.trid}:ns={req.namespace}"]
        if req.set_name:
            out.append(f":set={req.set_name}")
        if self.si_name:
            out.append(f":sindex-name={self.si_name}")
        if req.pids is not None and self.kind == "basic":
            out.append(f":n-pids-requested={len(req.pids)}:n-keyds-requested={req.n_keyds}")
        status = "done(ok)" if self.finish is not None else "active(ok)"
        out.append(f":rps={req.rps}:active-threads=0:status={status}:job-progress=100.00"
                   f":run-time={int((end - self.start) * 1000)}"
                   f":time-since-done={int((now - end) * 1000) if self.finish is not None else 0}"
                   f":recs-throttled={self.throttled if req.rps else 0}:recs-filtered-meta={self.filtered_meta}"
                   f":recs-filtered-bins={self.filtered_bins}:recs-succeeded={self.succeeded}"
                   f":recs-failed={self.failed}:from={self.client}:job-type={self.kind}")
        if self.kind in ("basic", "aggregation"):  # the jobs that answer on the connection
            out.append(f":net-io-bytes={self.net_io_bytes}:net-io-time=0"
                       f":socket-timeout={req.socket_timeout or 10000}")
        else:
            out.append(":net-io-bytes=30:socket-timeout=10000:ops-active=0")
        return "".join(out)


def _jobs(server: Any) -> list[Job]:
    jobs: list[Job] = server.extensions.setdefault("query_jobs", [])
    return jobs


def _register(server: Any, job: Job) -> None:
    jobs = _jobs(server)
    jobs.append(job)
    if len(jobs) > MAX_DONE_JOBS:
        del jobs[: len(jobs) - MAX_DONE_JOBS]


_trid_counter = [0]


def _client_name(server: Any) -> str:
    conn = getattr(server, "current_conn", None)
    t = getattr(conn, "transport", None)
    peer = t.get_extra_info("peername") if t is not None else None
    return f"{peer[0]}+{peer[1]}" if peer else "127.0.0.1+0"


def info_query_show(server: Any, params: dict[str, str]) -> str:
    raw = params.get("id", params.get("trid"))
    jobs = _jobs(server)
    if raw is None:
        return ";".join(j.info() for j in reversed(jobs))
    try:
        trid = int(raw, 0)
    except ValueError:
        trid = 0
    if trid <= 0:
        return "ERROR:4:bad id"
    for j in reversed(jobs):
        if j.trid == trid:
            return j.info()
    return "ERROR:2:job not found"


def info_query_abort(server: Any, params: dict[str, str]) -> str:
    raw = params.get("id", params.get("trid"))
    try:
        trid = int(raw or "", 0)
    except ValueError:
        return "ERROR:4:bad id"
    if any(j.trid == trid and j.finish is None for j in _jobs(server)):
        return "ok"
    return "ERROR:2:job not active"


def info_query_abort_all(server: Any, params: dict[str, str]) -> str:
    return "OK - number of queries killed: 0"


# --------------------------------------------------------------------------- answering


def _owned(server: Any, master_only: bool = False) -> set[int] | None:
    """Partitions this node answers for (None: all): a query, every partition it holds (master or
    replica, as real nodes do); a background job, those it is master of (it writes)."""
    cluster = server.cluster
    if cluster is None:
        return None
    if master_only:
        return set(cluster.master_partitions(server))
    return {pid for pid, owners in enumerate(cluster.owners) if server in owners}


def _set_known(ns: Any, set_name: str) -> bool:
    for part in ns.partitions:
        for rec in part.values():
            if rec.set_name == set_name:
                return True
    return any(ix.d.set_name == set_name for ix in ns.indexes.values())


def handle_query(server: Any, h: MessageHeader, fields: dict[int, bytes], offset: int, body: memoryview) -> Frames:
    """Answer a query/scan request (see the module docstring)."""
    ns = server.namespaces.get(fields.get(W.FIELD_NAMESPACE, b"").decode())
    if ns is None:
        return [reply(E.NAMESPACE_NOT_FOUND)]
    if W.FIELD_UDF_OP in fields or W.FIELD_UDF_PACKAGE_NAME in fields:
        handler = MESSAGE_HANDLERS.get("query_udf")
        if handler is None:
            return [reply(E.UNSUPPORTED_FEATURE)]
        return handler(server, h, fields, offset, body)
    try:
        ops, _ = parse_wire_ops(bytes(body), offset, h.n_ops)
        if h.info2 & W.INFO2_WRITE:
            return _background(server, ns, h, fields, body, ops)
        return _basic(server, ns, h, fields, body, ops)
    except ResultError as e:
        return [reply(e.code)]
    except geo.GeoUnavailable as e:
        log.warning("%s", e)
        return [reply(E.UNSUPPORTED_FEATURE)]


def _index_for(server: Any, ns: Any, req: QueryRequest) -> Any:
    where = req.where
    if where is None:
        return None
    ix = find_index(server, ns, req.index_name, req.set_name or None, where.bin, where.ktype, req.itype, req.ctx)
    if ix is None:
        raise ResultError(E.INDEX_NOT_FOUND)
    return ix


def _basic(server: Any, ns: Any, h: MessageHeader, fields: dict[int, bytes], body: memoryview,
           ops: list[Any]) -> Frames:
    """A basic scan/query's answer: its frames, streamed as they are made unless it is paced."""
    if not h.info3 & W.INFO3_PARTITION_DONE:
        return [reply(E.UNSUPPORTED_FEATURE)]
    for op in ops:
        if op.op not in (W.OP_READ, W.OP_CDT_READ, W.OP_BIT_READ, W.OP_HLL_READ, W.OP_EXP_READ):
            raise _bad("queries should only provide read ops")
    req = parse_request(h, fields, body, ops)
    if req.pids is None:
        return [reply(E.UNSUPPORTED_FEATURE)]
    ix = _index_for(server, ns, req)
    job = Job(req, "basic", ix.d.name if ix is not None and not h.info1 & W.INFO1_SHORT_QUERY else "",
              _client_name(server), req.trid or _next_trid())
    register = not h.info1 & W.INFO1_SHORT_QUERY
    if not req.rps:  # made as the connection writes it: a big scan does not hold the loop
        made = _run_basic(server, ns, req, ix, job)
        first = next(made)  # (a request that fails before its first frame is answered as ever)
        return _streamed(server, job, chain((first,), made), register)
    frames = [f for f in _run_basic(server, ns, req, ix, job) if f]
    _finish(server, job, sum(map(len, frames)), register)
    if len(frames) > 2:
        paced = Paced(frames)
        paced.interval = max(1, req.rps // 10) / req.rps
        return paced
    return frames


def _finish(server: Any, job: Job, sent: int, register: bool) -> None:
    job.finish = time.monotonic()
    job.net_io_bytes = sent
    if register:
        _register(server, job)


def _streamed(server: Any, job: Job, frames: Iterator[bytes], register: bool) -> Iterator[bytes]:
    """The frames of a scan/query as they are made (an empty one is a pause in the work); the job
    is done once the last is taken. A failure after the first frames ends the stream with its code."""
    sent = 0
    try:
        for frame in frames:
            sent += len(frame)
            yield frame
    except ResultError as e:
        yield reply(e.code)
    _finish(server, job, sent, register)


def _next_trid() -> int:
    _trid_counter[0] += 1
    return _trid_counter[0]


def _records(server: Any, ns: Any, req: QueryRequest, ix: Any,
             pids: list[int]) -> Iterator[tuple[int, int, StoredRecord]]:
    """``(pid, bval, record)`` of the candidates in the partitions ``pids``, in answer order."""
    clock = server.clock
    now = clock.citrus_now()
    set_name = req.set_name
    parts = ns.partitions
    if ix is None:
        for pid in pids:
            part = parts[pid]
            resume = req.pids[pid] if req.pids else None
            digests = sorted(part)
            if resume is not None:
                after = resume[1]
                digests = [d for d in digests if d > after]
            for d in digests:
                rec = part.get(d)
                if rec is None or set_name and rec.set_name != set_name:
                    continue
                if rec.void_time and rec.void_time <= now:
                    ns.get(d, clock)  # expires it
                    continue
                yield pid, 0, rec
        return
    cands = ix.candidates(req.where, req.pids)
    for pid in pids:
        lst = cands.get(pid)
        if not lst:
            continue
        resume = req.pids[pid] if req.pids else None
        part = parts[pid]
        for bval, d in lst:
            if resume is not None and (bval, d) <= resume:
                continue
            rec = part.get(d)
            if rec is None or set_name and rec.set_name != set_name:
                continue
            if rec.void_time and rec.void_time <= now:
                ns.get(d, clock)
                continue
            yield pid, bval, rec


def _run_basic(server: Any, ns: Any, req: QueryRequest, ix: Any, job: Job) -> Iterator[bytes]:
    owned = _owned(server)
    assert req.pids is not None
    wanted = sorted(req.pids)
    chunk: list[bytes] = []
    size = 0
    if owned is not None:
        for pid in wanted:
            if pid not in owned:
                chunk.append(pack_partition_done(pid, E.PARTITION_UNAVAILABLE))
                size += 22
        wanted = [p for p in wanted if p in owned]
    ns_name = ns.name.encode()
    send_bval = ix is not None
    no_bins = req.no_bins
    info1 = W.INFO1_NOBINDATA if no_bins else 0
    filter_exp = req.filter_exp
    count = 0
    limit = req.max_records
    per_frame = max(1, req.rps // 10) if req.rps else 0  # paced answers: about ten frames a second
    all_bins = req.bin_names is None and not req.read_ops
    seen = 0
    for _pid, bval, rec in _records(server, ns, req, ix, wanted):
        seen += 1
        if not seen & 255:
            yield b""  # a pause: the loop may serve others (see _streamed)
        if filter_exp is not None:
            try:
                check_filter(server, {W.FIELD_FILTER_EXP: filter_exp}, rec, ns)
            except ResultError as e:
                if e.code == E.FILTERED_OUT:
                    job.filtered_bins += 1
                    continue
                raise
        if no_bins:
            ops, n_ops = _NO_OPS, 0
        elif all_bins:  # every bin, packed once per stored record (the cache single-record reads use)
            packed = rec.packed
            if packed is None:
                packed = rec.packed = b"".join([pack_op(W.OP_READ, n.encode(), pt, v)
                                                for n, (pt, v) in rec.bins.items()])
            ops, n_ops = [packed], len(rec.bins)
        else:
            try:
                ops = _record_ops(server, ns, rec, req)
            except ResultError:
                job.failed += 1
                continue
            if not ops and req.bin_names is not None:
                # None of the selected bins: the real server sends no message for the record,
                # yet counts it against max_records.
                count += 1
                if limit and count >= limit:
                    break
                continue
            n_ops = len(ops)
        count += 1
        msg = pack_record(ns_name, rec.digest, rec.set_name.encode(), rec.key, bval if send_bval else None,
                          rec.generation, rec.void_time, ops, info1, n_ops)
        chunk.append(msg)
        size += len(msg)
        if size > CHUNK_LIMIT or per_frame and count % per_frame == 0:
            job.succeeded = job.throttled = count
            yield _frame(chunk, size)
            chunk, size = [], 0
        if limit and count >= limit:
            break
    job.succeeded = job.throttled = count
    if chunk:
        yield _frame(chunk, size)
    yield _FIN


def _frame(chunk: list[bytes], size: int) -> bytes:
    return PROTO_HEADER.pack(_PROTO_MSG | size) + b"".join(chunk)


def _record_ops(server: Any, ns: Any, rec: Any, req: QueryRequest) -> list[bytes]:
    """The bins a record message carries (packed ops): the selected ones, or read-op results."""
    bins = rec.bins
    if req.bin_names is not None:
        return [pack_op(W.OP_READ, name.encode(), *bins[name]) for name in req.bin_names if name in bins]
    ctx = OpContext(rec.copy(), True, ns, server.clock, server)
    results: list[bytes] = []
    for op in req.read_ops:
        _run_op(ctx, op, results, False)
    return results


# --------------------------------------------------------------------------- background ops


def _background(server: Any, ns: Any, h: MessageHeader, fields: dict[int, bytes], body: memoryview,
                ops: list[Any]) -> list[bytes]:
    if h.info1 & W.INFO1_SHORT_QUERY:
        raise _bad("ops-bg queries can't be 'short' queries")
    req = parse_request(h, fields, body, [])
    if req.set_name and not _set_known(ns, req.set_name):
        return [reply(E.KEY_NOT_FOUND)]
    ix = _index_for(server, ns, req)
    if h.info1 & W.INFO1_READ or not ops:
        raise _bad("ops not write only")
    if any(op.op in (W.OP_READ, W.OP_CDT_READ, W.OP_BIT_READ, W.OP_HLL_READ, W.OP_EXP_READ) for op in ops):
        raise _bad("ops query has read op")
    if req.rps > BACKGROUND_MAX_RPS:
        raise _bad("query rps exceeds 'background-query-max-rps'")
    req.rps = req.rps or BACKGROUND_MAX_RPS
    job = Job(req, "background-ops", ix.d.name if ix is not None else "", _client_name(server),
              req.trid or _next_trid())
    req.pids = None  # background jobs cover every partition the node holds
    owned = _owned(server, master_only=True)
    pids = sorted(owned) if owned is not None else list(range(W.N_PARTITIONS))
    wh = MessageHeader(0, W.INFO2_WRITE | (h.info2 & W.INFO2_DURABLE_DELETE),
                       W.INFO3_UPDATE_ONLY | (h.info3 & W.INFO3_REPLACE_ONLY), 0, 0, 0, h.record_ttl, 0, 0,
                       len(ops))
    wfields: dict[int, bytes] = {W.FIELD_NAMESPACE: ns.name.encode()}
    if req.filter_exp is not None:
        wfields[W.FIELD_FILTER_EXP] = req.filter_exp
    targets = [rec.digest for _pid, _bval, rec in _records(server, ns, req, ix, pids)]
    job.throttled = len(targets)
    for digest in targets:
        try:
            write_record(server, ns, digest, wh, wfields, ops)
            job.succeeded += 1
        except ResultError as e:
            if e.code == E.FILTERED_OUT:
                job.filtered_bins += 1
            elif e.code != E.KEY_NOT_FOUND:
                job.failed += 1
    job.finish = time.monotonic()
    _register(server, job)
    return [_FIN]

