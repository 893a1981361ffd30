"""Queries and scans: predicates, partition filters and their state, node commands, the answer
parser, and a whole call as steps (driven by the sync or async facade, like a batch).

A call runs in rounds. Each round splits the partitions still to read by the node that holds
them in the current map (``replica`` / retry sequence) and sends one request per node, up to
``max_concurrent_nodes`` at a time. Every record moves its partition's cursor (last digest, and
for index queries the last index value); a node that reports a partition unavailable, or fails in
transport, leaves its partitions to the next round (after ``sleep_between_retries``, or one tend
interval so the map can change), which resumes each after its cursor: no record twice, none
missed. ``max_records`` is shared out between the nodes of a round; partitions whose node hit its
share stay open in the :class:`PartitionFilter`, which a later call resumes.
"""

from __future__ import annotations

import base64
import itertools
import random
import struct
import sys
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .._wire import constants as W
from .._wire import query as Q
from .._wire.digest import partition_id
from .._wire.expiry import ttl_of
from .._wire.message import MSG_HEADER, skip_fields
from .._wire.runs import run_length as _run_length
from .._wire.values import decode_particle, pack_cdt
from ..exception import (
    AerospikeError,
    AerospikeTimeoutError,
    ClusterError,
    InvalidArgError,
    _error_from_result_code,
    _InvalidArgType,
    _InvalidArgValue,
)
from ..types import AerospikeKey, Record, RecordMetadata
from .base import MORE, Command, parse_frame_sparing_gc
from .cdt import _ctx_list

if TYPE_CHECKING:
    from .._net.cluster import Node

N_PARTITIONS = W.N_PARTITIONS
_unpack_msg = MSG_HEADER.unpack_from
_unpack_op = struct.Struct(">IBBBB").unpack_from
_unpack_u32 = struct.Struct(">I").unpack_from
_unpack_gen_vt = struct.Struct(">II").unpack_from
_LOW_NIBBLE = bytes(b & 0x0F for b in range(256))
_LITTLE = sys.byteorder == "little"
_tuple_new = tuple.__new__
_time = time.time


class PredicateError(InvalidArgError, TypeError):
    """A predicate that is not a tuple of the right shape (also a TypeError, as the original's)."""


# --------------------------------------------------------------------------- predicates


class QueryFilter:
    """A checked predicate: what goes into the index fields of the request."""

    __slots__ = ("bin_name", "index_type", "range", "context")

    def __init__(self, bin_name: str, index_type: int, range_data: bytes, context: bytes | None) -> None:
        self.bin_name = bin_name
        self.index_type = index_type
        self.range = range_data
        self.context = context


def _eq_value(kind: str, v: Any) -> tuple[int, bytes]:
    if type(v) is int:
        if not -(1 << 63) <= v < (1 << 63):
            raise _InvalidArgValue(f"predicate {kind!r} value {v} is outside int64")
        return W.PT_INTEGER, Q.index_value(W.PT_INTEGER, v)
    if isinstance(v, str):
        return W.PT_STRING, v.encode()
    if isinstance(v, (bytes, bytearray)):
        return W.PT_BLOB, bytes(v)
    raise _InvalidArgValue(
        f"Predicate {kind!r} value {v!r} has an unsupported type. Aerospike secondary-index equality "
        "filters accept only integers, strings, or bytes."
    )


def _int_bound(kind: str, which: str, v: Any) -> bytes:
    if type(v) is not int:
        raise _InvalidArgValue(
            f"Predicate {kind!r} requires integer bounds; the {which!r} value {v!r} is not an integer. "
            "Aerospike secondary-index range queries support integers only."
        )
    if not -(1 << 63) <= v < (1 << 63):
        raise _InvalidArgValue(f"predicate {kind!r} bound {v} is outside int64")
    return Q.index_value(W.PT_INTEGER, v)


def _collection(kind: str, t: Any) -> int:
    if isinstance(t, bool) or not isinstance(t, int) or t not in (0, 1, 2, 3):
        raise _InvalidArgValue(
            f"Predicate {kind!r} index_type {t!r} is invalid; expected one of INDEX_TYPE_DEFAULT (0), "
            "INDEX_TYPE_LIST (1), INDEX_TYPE_MAPKEYS (2), or INDEX_TYPE_MAPVALUES (3)."
        )
    return t


def _geojson(kind: str, v: Any) -> str:
    if not isinstance(v, str):
        raise _InvalidArgType(f"predicate {kind!r} needs GeoJSON text (str), not {type(v).__name__}")
    import json

    try:
        doc = json.loads(v)
    except ValueError as e:
        raise _InvalidArgValue(f"predicate {kind!r}: invalid GeoJSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("type"), str) or "coordinates" not in doc:
        raise _InvalidArgValue(f"predicate {kind!r}: invalid GeoJSON (needs 'type' and 'coordinates'): {v[:80]!r}")
    return v


def _number(kind: str, name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _InvalidArgType(f"predicate {kind!r} {name} must be a number, not {v!r}")
    return float(v)


_ARITY = {"equals": 3, "between": 4, "contains": 4, "range": 5, "geo_within_geojson_region": 3,
          "geo_within_radius": 5, "geo_contains_geojson_point": 3}


def parse_predicate(pred: Any) -> QueryFilter:
    """Check a predicate tuple from ``aerospike_py.predicates`` and encode it."""
    if not isinstance(pred, tuple):
        raise PredicateError(f"'{type(pred).__name__}' object is not an instance of 'tuple'")
    if len(pred) < 3:
        raise _InvalidArgValue(
            f"Predicate tuple must have at least 3 elements (kind, bin, value, ...), got {len(pred)}")
    kind = pred[0]
    n = _ARITY.get(kind) if isinstance(kind, str) else None
    if n is None:
        raise _InvalidArgValue(f"Unknown predicate type: {kind}")
    ctx_bytes = None
    args = pred[1:]
    if len(pred) == n + 1 and isinstance(pred[-1], dict) and set(pred[-1]) <= {"ctx"}:
        ctx = _ctx_list({"ctx": pred[-1].get("ctx")})
        ctx_bytes = pack_cdt(ctx) if ctx else None
        args = pred[1:-1]
    elif len(pred) != n:
        raise _InvalidArgValue(f"Predicate {kind!r} takes {n - 1} arguments, got {len(pred) - 1}")
    bin_name = args[0]
    if not isinstance(bin_name, str):
        raise PredicateError(f"'{type(bin_name).__name__}' object is not an instance of 'str'")
    if not bin_name or len(bin_name.encode()) > 15:
        raise _InvalidArgValue(f"predicate bin name {bin_name!r} must be 1..15 bytes")
    itype = 0
    if kind == "equals":
        pt, v = _eq_value(kind, args[1])
        begin = end = v
    elif kind == "between":
        pt = W.PT_INTEGER
        begin, end = _int_bound(kind, "begin", args[1]), _int_bound(kind, "end", args[2])
    elif kind == "range":
        itype = _collection(kind, args[1])
        pt = W.PT_INTEGER
        begin, end = _int_bound(kind, "begin", args[2]), _int_bound(kind, "end", args[3])
    elif kind == "contains":
        itype = _collection(kind, args[1])
        pt, v = _eq_value(kind, args[2])
        begin = end = v
    elif kind == "geo_within_radius":
        lat = _number(kind, "lat", args[1])
        lng = _number(kind, "lng", args[2])
        radius = _number(kind, "radius", args[3])
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0) or radius < 0:
            raise _InvalidArgValue(f"predicate {kind!r}: lat/lng out of range or negative radius")
        pt = W.PT_GEOJSON
        begin = end = (f'{{ "type": "AeroCircle", "coordinates": [[{lng:.8f}, {lat:.8f}], {radius:f}] }}').encode()
    else:  # geo region / point
        pt = W.PT_GEOJSON
        begin = end = _geojson(kind, args[1]).encode()
    return QueryFilter(bin_name, itype, Q.pack_index_range(bin_name, pt, begin, end), ctx_bytes)


# --------------------------------------------------------------------------- partition filters


class PartitionStatus:
    """The cursor of one partition in a query: done, last digest and index value, retry sequence."""

    __slots__ = ("id", "done", "digest", "bval", "sequence")

    def __init__(self, pid: int, digest: bytes | None = None) -> None:
        self.id = pid
        self.done = False
        self.digest = digest
        self.bval = 0
        self.sequence = 0

    def __repr__(self) -> str:
        d = self.digest.hex() if self.digest else None
        return f"PartitionStatus(id={self.id}, done={self.done}, digest={d}, bval={self.bval})"


class PartitionFilter:
    """Which partitions a query or scan reads, and (after a call) how far it got in each.

    Made by ``partition_filter_all()``, ``partition_filter_by_id(id)``,
    ``partition_filter_by_range(begin, count)`` or ``partition_filter_by_digest(digest)``. A call
    that stopped early (``max_records``, or an error) leaves the open partitions' cursors here:
    passing the same filter again resumes after the last record returned. A filter whose call
    completed (:meth:`is_done`) starts over when used again. The state survives
    :meth:`to_dict` / :meth:`from_dict` (JSON-safe) and pickling, so a later process can resume.
    """

    __slots__ = ("begin", "count", "digest", "partitions", "done")

    def __init__(self, begin: int = 0, count: int = N_PARTITIONS, digest: bytes | None = None) -> None:
        for name, v in (("begin", begin), ("count", count)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise _InvalidArgType(f"partition filter {name} must be an int, not {type(v).__name__}")
        if not 0 <= begin < N_PARTITIONS:
            raise _InvalidArgValue(f"Invalid partition begin {begin}. Valid range: 0-{N_PARTITIONS - 1}")
        if count <= 0 or begin + count > N_PARTITIONS:
            raise _InvalidArgValue(f"Invalid partition range ({begin}, {count})")
        if digest is not None and (not isinstance(digest, (bytes, bytearray)) or len(digest) != 20):
            raise _InvalidArgValue("partition filter digest must be 20 bytes")
        self.begin: int = begin
        self.count: int = count
        self.digest: bytes | None = bytes(digest) if digest is not None else None
        self.partitions: list[PartitionStatus] | None = None
        self.done: bool = False

    def __repr__(self) -> str:
        return f"PartitionFilter(begin={self.begin}, count={self.count})"

    def is_done(self) -> bool:
        """Whether the last call with this filter read every partition to the end."""
        return self.done

    def __getstate__(self) -> dict[str, Any]:
        return self.to_dict()

    def __setstate__(self, state: dict[str, Any]) -> None:
        other = PartitionFilter.from_dict(state)
        for name in PartitionFilter.__slots__:
            setattr(self, name, getattr(other, name))

    def to_dict(self) -> dict[str, Any]:
        """The filter and its partition cursors as plain JSON-safe data."""
        parts = None
        if self.partitions is not None:
            parts = [[p.id, p.done, p.digest.hex() if p.digest else None, p.bval] for p in self.partitions]
        return {"begin": self.begin, "count": self.count, "digest": self.digest.hex() if self.digest else None,
                "done": self.done, "partitions": parts}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> PartitionFilter:
        """Inverse of :meth:`to_dict`."""
        try:
            d = state.get("digest")
            pf = cls(state["begin"], state["count"], bytes.fromhex(d) if d else None)
            pf.done = bool(state.get("done", False))
            parts = state.get("partitions")
            if parts is not None:
                out = []
                for pid, done, dig, bval in parts:
                    ps = PartitionStatus(int(pid), bytes.fromhex(dig) if dig else None)
                    ps.done = bool(done)
                    ps.bval = int(bval)
                    out.append(ps)
                if [p.id for p in out] != list(range(pf.begin, pf.begin + pf.count)):
                    raise ValueError("partition ids do not match begin/count")
                pf.partitions = out
        except (KeyError, TypeError, ValueError) as e:
            raise _InvalidArgValue(f"invalid partition filter state: {e}") from None
        return pf


def partition_filter_all() -> PartitionFilter:
    """All 4096 partitions."""
    return PartitionFilter(0, N_PARTITIONS)


def partition_filter_by_id(partition_id: int) -> PartitionFilter:
    """One partition (0..4095)."""
    return PartitionFilter(partition_id, 1)


def partition_filter_by_range(begin: int, count: int) -> PartitionFilter:
    """``count`` partitions from ``begin``."""
    return PartitionFilter(begin, count)


def partition_filter_by_digest(digest: bytes) -> PartitionFilter:
    """The partition of a record digest, starting after that record."""
    if not isinstance(digest, (bytes, bytearray)) or len(digest) != 20:
        raise _InvalidArgValue("partition_filter_by_digest needs a 20-byte digest")
    return PartitionFilter(partition_id(digest), 1, bytes(digest))


# --------------------------------------------------------------------------- statement


class Statement:
    """What a Query object holds: namespace, set, selected bins, predicate."""

    __slots__ = ("namespace", "set_name", "bins", "filter")

    def __init__(self, namespace: str, set_name: str | None) -> None:
        if not isinstance(namespace, str) or not namespace:
            raise _InvalidArgValue("query namespace must be a non-empty str")
        if set_name is not None and not isinstance(set_name, str):
            raise _InvalidArgType("query set name must be a str or None")
        self.namespace = namespace
        self.set_name = set_name or None
        self.bins: tuple[str, ...] | None = None
        self.filter: QueryFilter | None = None

    def select(self, bins: Sequence[Any]) -> None:
        for b in bins:
            if not isinstance(b, str):
                raise PredicateError(f"'{type(b).__name__}' object is not an instance of 'str'")
            if not b or len(b.encode()) > 15:
                raise _InvalidArgValue(f"bin name {b!r} must be 1..15 bytes")
        self.bins = tuple(bins)


# --------------------------------------------------------------------------- one call


class NodeCommand(Command):
    """The request of one round to one node; ``extra`` is the :class:`NodeRun`."""

    __slots__ = ("node",)

    node: Node


class NodeRun:
    """What one node's request of a round covers, and what came back."""

    __slots__ = ("run", "node", "parts", "record_max", "count", "unavailable", "capped")

    def __init__(self, run: QueryRun, node: Any) -> None:
        self.run = run
        self.node = node
        self.parts: list[PartitionStatus] = []
        self.record_max = 0
        self.count = 0
        self.unavailable: list[int] = []
        self.capped = False  # a record over a shared max_records was dropped


#: Takes the records of one answer frame (a list) and the node command that read them.
Sink = Callable[[list[Any], Any], Any]


class QueryRun:
    """The state of one query/scan call across its rounds (no I/O; see :func:`query_steps`)."""

    def __init__(self, stmt: Statement, policy: Any, pf: PartitionFilter | None, sink: Sink,
                 background_ops: list[bytes] | None = None,
                 write_attrs: tuple[int, int, int, int, int] | None = None) -> None:
        self.stmt = stmt
        self.policy = policy
        if pf is None:
            pf = PartitionFilter()
        if pf.partitions is None or pf.done:
            parts = [PartitionStatus(pf.begin + i) for i in range(pf.count)]
            if pf.digest is not None:
                parts[0].digest = pf.digest
            pf.partitions = parts
        else:
            for p in pf.partitions:
                p.sequence = 0
        pf.done = False
        self.pf = pf
        self.parts = pf.partitions
        self.begin = pf.begin
        self.sink = sink
        self.max_records = policy.get("max_records", 0)
        self.returned = 0
        self.shared_count: Any = None
        self.background_ops = background_ops
        self.write_attrs = write_attrs
        #: ``(udf_op, module, function, arglist)`` of a background UDF job.
        self.udf: tuple[int, bytes, bytes, bytes] | None = None
        self.task_id = 0
        #: The record layout last learned from an answer (see :class:`Layout`), and how many were.
        self.layout: Layout | None = None
        self.learned = 0
        bins = stmt.bins
        self.ops = Q.read_ops(bins) if bins else []
        include = policy.get("include_bin_data", True)
        self.info1, self.info2 = Q.query_read_attrs(include, policy.get("expected_duration", 0))
        rt = policy.get("read_touch_ttl_percent", 0)
        self.record_ttl = rt & 0xFFFFFFFF if rt else Q.QUERY_RECORD_TTL
        exp = policy.get("filter_expression")
        if exp is not None:
            from ..exp import _pack_filter

            self.filter_exp: bytes | None = _pack_filter(exp)
        else:
            self.filter_exp = None

    # -- rounds -----------------------------------------------------------------------------

    def node_runs(self, cluster: Any) -> list[NodeRun]:
        """The open partitions, split by the node that holds each now."""
        ns = self.stmt.namespace
        if ns not in cluster.tables:
            raise _error_from_result_code(20, f"namespace {ns!r} is not in the cluster's partition map")
        replica = self.policy["replica"]
        node_for = cluster.node_for
        runs: dict[Any, NodeRun] = {}
        for p in self.parts:
            if p.done:
                continue
            node = node_for(ns, p.id, False, replica, p.sequence)
            nr = runs.get(node)
            if nr is None:
                nr = runs[node] = NodeRun(self, node)
            nr.parts.append(p)
        out = list(runs.values())
        left = self.max_records - self.returned if self.max_records else 0
        self.shared_count = None
        if left and out:
            n = len(out)
            if left >= n:
                share, rem = divmod(left, n)
                for i, nr in enumerate(out):
                    nr.record_max = share + (1 if i < rem else 0)
            else:
                for nr in out:
                    nr.record_max = 1
                self.shared_count = itertools.count(1)
        return out

    def command(self, nr: NodeRun, policy: Any) -> NodeCommand:
        stmt = self.stmt
        flt = stmt.filter
        full = [p.id for p in nr.parts if p.digest is None]
        partial = [p for p in nr.parts if p.digest is not None]
        if self.background_ops is not None:
            assert self.write_attrs is not None  # set with background_ops
            info1, info2, info3, gen, ttl = self.write_attrs
            ops = self.background_ops
        else:
            info1, info2, info3, gen, ttl = self.info1, self.info2, W.INFO3_PARTITION_DONE, 0, self.record_ttl
            ops = self.ops
        request = Q.pack_query(
            stmt.namespace, stmt.set_name, task_id=self.task_id, socket_timeout=policy["socket_timeout"],
            total_timeout=policy["total_timeout"], info1=info1, info2=info2, info3=info3, generation=gen,
            record_ttl=ttl, records_per_second=self.policy.get("records_per_second", 0),
            index_type=flt.index_type if flt else 0, index_range=flt.range if flt else None,
            index_context=flt.context if flt else None, filter_exp=self.filter_exp, pids=full,
            digests=[p.digest for p in partial],  # type: ignore[misc]
            bvals=[p.bval for p in partial] if flt is not None else None, max_records=nr.record_max, ops=ops,
            udf=self.udf,
        )
        cmd = NodeCommand(None, request, self.background_ops is not None, parse_answer, policy, nr)
        cmd.stream = True
        cmd.node = nr.node
        return cmd

    def settle(self, runs: list[NodeRun], results: list[Any]) -> list[BaseException]:
        """Fold a round's outcomes into the partitions; the transport failures to retry."""
        retry: list[BaseException] = []
        fatal: AerospikeError | None = None
        for nr, res in zip(runs, results, strict=True):
            self.returned += nr.count
            if isinstance(res, AerospikeError):
                if isinstance(res, (AerospikeTimeoutError, ClusterError)) or res.code == 11:
                    retry.append(res)
                    for p in nr.parts:
                        p.sequence += 1
                elif fatal is None:
                    fatal = res
                continue
            open_all = nr.capped or (nr.record_max and nr.count >= nr.record_max)
            unavailable = set(nr.unavailable)
            for p in nr.parts:
                if p.id in unavailable:
                    p.sequence += 1
                elif not open_all:
                    p.done = True
            if unavailable:
                retry.append(_error_from_result_code(
                    11, f"{len(unavailable)} partition(s) unavailable on node {nr.node.name}, e.g. "
                        f"{sorted(unavailable)[:5]}", node=nr.node.name))
        if fatal is not None:
            raise fatal
        self.pf.done = all(p.done for p in self.parts)
        return retry

    def finished(self) -> bool:
        return self.pf.done or bool(self.max_records and self.returned >= self.max_records)


def _as_is(results: list[Any]) -> list[Any]:
    return results


Step = tuple[list[Any], bool, Callable[[list[Any]], Any], float]


def query_steps(cluster_view: Callable[[], Any], run: QueryRun,
                clock: Callable[[], float] = time.monotonic) -> Generator[Step, Any, Any]:
    """A query/scan call as steps of node commands (see ``BatchMixin._drive``); returns None.

    Rounds go on while partitions are open and not past ``max_records``: after a round with
    transport failures or unavailable partitions, up to ``max_retries`` more rounds.
    """
    policy = run.policy
    total = policy["total_timeout"]
    deadline = clock() + total / 1000 if total else None
    run_pol = type(policy)(policy, max_retries=0)
    limit = policy.get("max_concurrent_nodes", 0)
    iteration = 0
    delay = 0.0
    while True:
        cluster = cluster_view()
        runs = run.node_runs(cluster)
        run.task_id = random.getrandbits(64) or 1
        if deadline is not None:
            left = deadline - clock() - delay
            if left <= 0:
                raise AerospikeTimeoutError(f"query timed out after {iteration + 1} round(s) "
                                            f"(total_timeout={total} ms)")
            run_pol = type(policy)(run_pol, total_timeout=max(1, int(left * 1000)))
        cmds = [run.command(nr, run_pol) for nr in runs]
        results: list[Any] = []
        step = len(cmds) if not limit else limit
        for i in range(0, len(cmds), max(step, 1)):
            chunk = cmds[i:i + step]
            results.extend((yield chunk, len(chunk) > 1, _as_is, delay))
            delay = 0.0
        retry = run.settle(runs, results)
        if run.finished() or not retry:
            return None
        iteration += 1
        if iteration > policy["max_retries"]:
            err = retry[-1]
            if len(retry) > 1:
                err.args = (f"{err.args[0] if err.args else err}; {len(retry) - 1} more node failure(s) "
                            f"in the last round",)
            raise err
        delay = policy["sleep_between_retries"] / 1000 or getattr(cluster, "tend_interval_s", 1.0)


def background_steps(cluster_view: Callable[[], Any], run: QueryRun, task_id: int) -> Generator[Step, Any, Any]:
    """A background query: one request per node (all its partitions); returns the task id."""
    run.task_id = task_id
    cluster = cluster_view()
    runs = run.node_runs(cluster)
    cmds = [run.command(nr, run.policy) for nr in runs]
    results = yield cmds, True, _as_is, 0.0
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return task_id


# --------------------------------------------------------------------------- the answer


_NAMES: dict[bytes, str] = {}


class QueryTerminated(Exception):
    """Raised into a running query when its consumer stops (closes the connection)."""


class Layout:
    """The exact shape of a record message in an answer: field and op headers, namespace, set,
    key type, bin names and value sizes (everything but generation, void time, digest, key and
    values). A run of records of that shape is checked at once: each byte the shape fixes is one
    strided slice of the frame, which must be that byte repeated; the first record where any
    differs ends the run, so the fast path is exact. The run is then read by one ``iter_unpack``
    and turned into records by a function generated for the shape.
    """

    __slots__ = ("iter_unpack", "iter_unpack_same", "size", "checks", "build", "build_same", "digest_at",
                 "bval_at")

    def __init__(self, buf: bytes, off: int, n_fields: int, n_ops: int) -> None:
        fmt = [">6xII8x"]
        checks = list(range(0, 6)) + list(range(14, 22))
        p = off + 22
        digest_at = bval_at = -1
        set_name: str | None = None
        key_expr = "None"
        targets = ["gen", "vt"]
        for _ in range(n_fields):
            size = _unpack_u32(buf, p)[0]
            if not 0 < size <= len(buf) - p - 4:  # (never a range the size merely announces)
                raise ValueError(f"field of {size} bytes past the frame's end")
            ft = buf[p + 4]
            rel = p - off
            checks.extend(range(rel, rel + 5))
            if ft == 4 and size == 21:
                digest_at = rel + 5
                fmt.append("5x20s")
                targets.append("digest")
            elif ft in (0, 1):
                checks.extend(range(rel + 5, rel + 4 + size))
                fmt.append(f"{4 + size}x")
                if ft == 1:
                    set_name = buf[p + 5: p + 4 + size].decode()
            elif ft == 2 and size >= 2:
                checks.append(rel + 5)
                kt = buf[p + 5]
                if kt == 1 and size == 10:
                    fmt.append("6xq")
                    key_expr = "key"
                else:
                    fmt.append(f"6x{size - 2}s")
                    key_expr = "key.decode()" if kt == 3 else ("key" if kt == 4 else f"_dp({kt}, key)")
                targets.append("key")
            elif ft == 15 and size == 9:
                bval_at = rel + 5
                fmt.append("13x")
            else:
                raise ValueError(f"no layout for field type {ft}")
            p += 4 + size
        if digest_at < 0:
            raise ValueError("no layout for a record without digest")
        items = []
        for j in range(n_ops):
            size, _op, pt, _, nlen = _unpack_op(buf, p)
            rel = p - off
            checks.extend(range(rel, rel + 8 + nlen))
            name = buf[p + 8: p + 8 + nlen].decode()
            vlen = size - 4 - nlen
            v = f"v{j}"
            targets.append(v)
            if pt == 1 and vlen == 8:
                fmt.append(f"{8 + nlen}xq")
            elif pt == 2 and vlen == 8:
                fmt.append(f"{8 + nlen}xd")
            else:
                fmt.append(f"{8 + nlen}x{vlen}s")
                if pt == 3:
                    v = f"{v}.decode()"
                elif pt != 4:
                    v = f"_dp({pt}, {v})"
            items.append(f"{name!r}: {v}")
            p += 4 + size
        st = struct.Struct("".join(fmt))
        self.iter_unpack = st.iter_unpack
        #: The same without generation and void time (for runs where they do not change).
        self.iter_unpack_same = struct.Struct(">22x" + "".join(fmt[1:])).iter_unpack
        self.size = st.size
        if self.size != p - off:
            raise ValueError("layout size mismatch")
        self.checks = tuple((c, buf[off + c: off + c + 1]) for c in checks)
        self.digest_at = digest_at
        self.bval_at = bval_at
        record = f"_tn(_R, (_tn(_K, (ns, {set_name!r}, {key_expr}, digest)), m, {{{', '.join(items)}}}))"
        src = (
            "def build(rows, append, ns, metas, meta):\n"
            f"    for {', '.join(targets)}, in rows:\n"
            "        m = metas.get((gen << 32) | vt)\n"
            "        if m is None:\n"
            "            m = meta(gen, vt)\n"
            f"        append({record})\n"
            "def build_same(rows, m, ns):\n"
            f"    return [{record} for {', '.join(targets[2:])}, in rows]\n"
        )
        env: dict[str, Any] = {"_tn": _tuple_new, "_R": Record, "_K": AerospikeKey, "_dp": decode_particle}
        exec(src, env)  # noqa: S102 - generated from the layout's own names (repr) and formats
        self.build: Callable[[Iterator[tuple[Any, ...]], Callable[[Record], None], str, dict[int, RecordMetadata],
                              Callable[[int, int], RecordMetadata]], None] = env["build"]
        #: For a run whose records all have the same generation and void time (one metadata).
        self.build_same: Callable[[Iterator[tuple[Any, ...]], RecordMetadata, str], list[Record]] = env["build_same"]

    def run_length(self, buf: bytes, off: int, end: int) -> int:
        """How many records from ``off`` have this shape (:func:`~aerospike_py._wire.runs.run_length`)."""
        return _run_length(self.checks, self.size, buf, off, end)

    def same_meta(self, buf: bytes, off: int, m: int) -> bool:
        """Whether the ``m`` records from ``off`` all have the same generation and void time."""
        size = self.size
        stop = off + m * size
        for c in range(off + 6, off + 14):
            if buf[c: stop: size] != buf[c: c + 1] * m:
                return False
        return True

    def cursors(self, buf: bytes, off: int, m: int, parts: list[PartitionStatus], begin: int) -> None:
        """Move each partition's cursor to its last record of the run (found by C-level maps)."""
        size = self.size
        d = off + self.digest_at
        stop = off + m * size
        pids = bytearray(2 * m)  # the partition id of each record, as little-endian u16
        lo, hi = (0, 1) if _LITTLE else (1, 0)
        pids[lo::2] = buf[d: stop: size]
        pids[hi::2] = buf[d + 1: stop: size].translate(_LOW_NIBBLE)
        best = dict(zip(memoryview(pids).cast("H"), range(m), strict=True))  # the last index wins
        n = len(parts)
        bv = self.bval_at
        da = self.digest_at
        for pid, i in best.items():
            k = pid - begin
            if 0 <= k < n:
                at = off + i * size
                p = parts[k]
                p.digest = buf[at + da: at + da + 20]
                p.bval = int.from_bytes(buf[at + bv: at + bv + 8], "little", signed=True) if bv >= 0 else 0


_LAYOUTS: dict[bytes, Layout | None] = {}


def layout_at(buf: bytes, off: int, n_fields: int, n_ops: int) -> Layout | None:
    """The shared layout of the record message at ``off`` (None: no fast path for this shape)."""
    p = off + 22
    sig = [buf[off: off + 6]]
    for _ in range(n_fields):
        size = _unpack_u32(buf, p)[0]
        ft = buf[p + 4]
        sig.append(buf[p: p + 5] if ft in (4, 15) else (buf[p: p + 6] if ft == 2 else buf[p: p + 4 + size]))
        p += 4 + size
    for _ in range(n_ops):
        size, _op, _pt, _, nlen = _unpack_op(buf, p)
        sig.append(buf[p: p + 8 + nlen])
        p += 4 + size
    key = b"".join(sig)
    try:
        return _LAYOUTS[key]
    except KeyError:
        pass
    if len(_LAYOUTS) >= 256:
        _LAYOUTS.clear()
    try:
        lay: Layout | None = Layout(buf, off, n_fields, n_ops)
    except (ValueError, UnicodeDecodeError, struct.error):
        lay = None
    _LAYOUTS[key] = lay
    return lay


#: Records parsed one by one after a record no layout fits, before trying a layout again.
_STRETCH = 32


def _meta_maker(metas: dict[int, RecordMetadata], now: float) -> Callable[[int, int], RecordMetadata]:
    def meta(gen: int, vt: int) -> RecordMetadata:
        m = _tuple_new(RecordMetadata, (gen, ttl_of(vt, now)))
        if len(metas) < 1024:
            metas[(gen << 32) | vt] = m
        return m

    return meta


def parse_answer(cmd: Command, body: Any, node: str) -> Any:
    """Hand the records of one answer frame to the call's sink (one list per frame) and move their
    partitions' cursors; None after the last message, else MORE."""
    return parse_frame_sparing_gc(_parse_frame, cmd, body, node)


def _parse_frame(cmd: Command, body: Any, node: str) -> Any:
    nr: NodeRun = cmd.extra
    run = nr.run
    buf = body if type(body) is bytes else bytes(body)
    off = 0
    end = len(buf)
    parts = run.parts
    begin = run.begin
    n_parts = len(parts)
    ns = run.stmt.namespace
    names = _NAMES
    shared = run.shared_count
    max_records = run.max_records
    now = _time()
    out: list[Any] = []
    append = out.append
    result: Any = MORE
    layout = run.layout if shared is None else None
    metas: dict[int, RecordMetadata] = {}
    meta = _meta_maker(metas, now)
    skip = 0
    try:
        while off < end:
            if skip:
                skip -= 1
            elif layout is not None:
                m = layout.run_length(buf, off, end)
                if m >= 4:
                    stop = off + m * layout.size
                    if layout.same_meta(buf, off, m):
                        gen, vt = _unpack_gen_vt(buf, off + 6)
                        m_ = metas.get((gen << 32) | vt) or meta(gen, vt)
                        out += layout.build_same(layout.iter_unpack_same(buf[off:stop]), m_, ns)
                    else:
                        layout.build(layout.iter_unpack(buf[off:stop]), append, ns, metas, meta)
                    layout.cursors(buf, off, m, parts, begin)
                    off = stop
                    continue
                skip = _STRETCH
                layout = None
            start = off
            _, _, _, info3, _, rc, gen, vt, _, n_fields, n_ops = _unpack_msg(buf, off)
            off += 22
            if info3 & 1:  # the last message
                if rc and rc != 2:
                    raise _error_from_result_code(rc, f"query on node {node}", node=node)
                result = None
                break
            if info3 & 4:  # partition done
                if rc:
                    nr.unavailable.append(gen)
                if n_fields:
                    off = skip_fields(buf, off, n_fields)
                for _ in range(n_ops):
                    off += 4 + _unpack_u32(buf, off)[0]
                continue
            if rc:
                raise _error_from_result_code(rc, f"query on node {node}", node=node)
            digest = b""
            set_name = None
            user_key: Any = None
            bval = 0
            for _ in range(n_fields):
                size = _unpack_u32(buf, off)[0]
                ft = buf[off + 4]
                if ft == 4:
                    digest = buf[off + 5: off + 4 + size]
                elif ft == 1:
                    set_name = buf[off + 5: off + 4 + size].decode()
                elif ft == 2:
                    kt = buf[off + 5]
                    if kt == 3:
                        user_key = buf[off + 6: off + 4 + size].decode()
                    elif kt == 1:
                        user_key = int.from_bytes(buf[off + 6: off + 4 + size], "big", signed=True)
                    else:
                        user_key = decode_particle(kt, buf[off + 6: off + 4 + size])
                elif ft == 15:
                    bval = int.from_bytes(buf[off + 5: off + 4 + size], "little", signed=True)
                off += 4 + size
            bins: dict[str, Any] = {}
            for _ in range(n_ops):
                size, _op, pt, _, nlen = _unpack_op(buf, off)
                vs = off + 8 + nlen
                nb = buf[off + 8: vs]
                off += 4 + size
                name = names.get(nb)
                if name is None:
                    name = nb.decode()
                    if len(names) < 8192:
                        names[nb] = name
                if pt == 1:
                    if off - vs != 8:
                        raise ValueError(f"integer particle of {off - vs} bytes")
                    bins[name] = int.from_bytes(buf[vs:off], "big", signed=True)
                elif pt == 3:
                    bins[name] = buf[vs:off].decode()
                else:
                    bins[name] = decode_particle(pt, buf[vs:off])
            if len(digest) != 20:
                continue
            if layout is None and not skip and shared is None and run.learned < 8:
                run.learned += 1
                layout = run.layout = layout_at(buf, start, n_fields, n_ops)
            if shared is not None and next(shared) > max_records:
                nr.capped = True
                continue
            append(_tuple_new(Record, (_tuple_new(AerospikeKey, (ns, set_name, user_key, digest)),
                                       _tuple_new(RecordMetadata, (gen, ttl_of(vt, now))), bins)))
            i = partition_id(digest) - begin
            if 0 <= i < n_parts:
                p = parts[i]
                p.digest = digest
                p.bval = bval
    finally:
        # Records read before an error are delivered too: their cursors have moved past them.
        if out:
            nr.count += len(out)
            run.sink(out, cmd)
    return result


# --------------------------------------------------------------------------- index management


INDEX_DATATYPES = {0: "NUMERIC", 1: "STRING", 2: "BLOB", 3: "GEO2DSPHERE"}


def index_create_command(namespace: Any, set_name: Any, bin_name: Any, index_name: Any, datatype: str,
                         collection_type: Any = 0, ctx: Any = None) -> str:
    """The ``sindex-create`` info command (checked arguments)."""
    for what, v in (("namespace", namespace), ("bin_name", bin_name), ("index_name", index_name)):
        if not isinstance(v, str) or not v:
            raise _InvalidArgValue(f"index {what} must be a non-empty str, not {v!r}")
    if set_name is not None and not isinstance(set_name, str):
        raise _InvalidArgType("index set_name must be a str or None")
    ctype = _collection("index", collection_type)
    cmd = f"sindex-create:namespace={namespace}"
    if set_name:
        cmd += f";set={set_name}"
    cmd += f";indexname={index_name}"
    if ctype:
        cmd += f";indextype={Q.INDEX_COLLECTION_NAMES[ctype]}"
    if ctx:
        flat = _ctx_list({"ctx": ctx})
        if flat:
            cmd += ";context=" + base64.b64encode(pack_cdt(flat)).decode()
    return cmd + f";bin={bin_name};type={datatype}"


def index_remove_command(namespace: Any, index_name: Any) -> str:
    for what, v in (("namespace", namespace), ("index_name", index_name)):
        if not isinstance(v, str) or not v:
            raise _InvalidArgValue(f"index {what} must be a non-empty str, not {v!r}")
    return f"sindex-delete:namespace={namespace};indexname={index_name}"


def sindex_load_pct(answer: str) -> int | None:
    """``load_pct`` of a ``sindex-stat`` answer; None when the node does not have the index (yet)."""
    if answer.startswith("ERROR") or "load_pct=" not in answer:
        return None
    for item in answer.split(";"):
        k, _, v = item.partition("=")
        if k.strip() == "load_pct":
            try:
                return int(v)
            except ValueError:
                return None
    return None


def job_status(answer: str) -> str:
    """``"done"``, ``"in-progress"`` or ``"not-found"`` from a ``query-show:trid=`` answer."""
    if answer.startswith("ERROR"):
        return "not-found"
    for item in answer.replace(";", ":").split(":"):
        k, _, v = item.partition("=")
        if k.strip() in ("status", "job-status", "job_status"):
            return "done" if v.lower().startswith("done") else "in-progress"
    return "in-progress"


def background_write_attrs(policy: Any, ops: Sequence[Any]) -> tuple[list[bytes], tuple[int, int, int, int, int]]:
    """Packed write ops of a background query and its header values ``(info1, info2, info3, gen, ttl)``."""
    from .._policy import ttl_to_wire
    from .ops import encode_ops

    if not isinstance(ops, (list, tuple)) or not ops:
        raise _InvalidArgValue("execute_background needs a non-empty list of write operations")
    enc = encode_ops(list(ops))
    packed = []
    for e in enc:
        if not e.is_write:
            raise _InvalidArgValue(f"background queries take write operations only, not a read of {e.bin!r}")
        packed.append(e.data)
    info2 = W.INFO2_WRITE | (W.INFO2_DURABLE_DELETE if policy.get("durable_delete") else 0)
    return packed, (0, info2, 0, 0, ttl_to_wire(policy.get("ttl", 0)))


#: UDF_OP field values: a stream UDF aggregation, a background record UDF.
UDF_OP_AGGREGATE = 1
UDF_OP_BACKGROUND = 2


def background_udf(policy: Any, module: Any, function: Any,
                   args: Any) -> tuple[tuple[int, bytes, bytes, bytes], tuple[int, int, int, int, int]]:
    """``((udf_op, module, function, arglist), header values)`` of a background UDF query."""
    from .._policy import ttl_to_wire
    from .udf import check_name, pack_args

    udf = (UDF_OP_BACKGROUND, check_name("UDF module", module), check_name("UDF function", function),
           pack_args(args))
    info2 = W.INFO2_WRITE | (W.INFO2_DURABLE_DELETE if policy.get("durable_delete") else 0)
    return udf, (0, info2, 0, 0, ttl_to_wire(policy.get("ttl", 0)))


__all__ = [
    "NodeCommand", "PartitionFilter", "PartitionStatus", "PredicateError", "QueryFilter", "QueryRun",
    "QueryTerminated", "Statement", "background_steps", "index_create_command", "index_remove_command",
    "job_status", "parse_answer", "parse_predicate", "partition_filter_all", "partition_filter_by_digest",
    "partition_filter_by_id", "partition_filter_by_range", "query_steps", "sindex_load_pct",
]
