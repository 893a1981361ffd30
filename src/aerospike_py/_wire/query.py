"""Queries and scans on the wire (sans-IO): the request frame, and the messages of the answer.

Shared by the client (``_commands.query``) and the embedded server. What travels (Aerospike 6+,
partition queries; checked against ``official-query.jsonl`` / ``official-2node-stale-map.jsonl``):

Request: one type-3 message. Header: info1 READ (| NOBINDATA without bin data, | SHORT_QUERY for
``QUERY_DURATION_SHORT``), info2 0 (| RELAX_AP_LONG_QUERY), info3 PARTITION_DONE, record ttl
0xFFFFFFFF (foreground) and transaction ttl = total timeout (0 = none). Fields, in this order:
namespace, set (absent for a whole-namespace scan), records per second (u32), socket timeout
(u32 ms), query id (u64), index type (u8, only for a collection index), index range (count byte 1,
then bin-name length + name, particle type, u32 length + begin, u32 length + end), index context
(packed CDT context), filter expression, partition ids (u16 little-endian each), digests (20 bytes
each: resume after that record), bvals (i64 little-endian each, one per digest, index queries
only), max records (u64). Ops: one READ op per selected bin (no ops: all bins); background queries
send write ops instead and a write header.

Answer: frames of messages. A record message: result 0, generation, void time, fields namespace,
digest, set, user key (when stored), bval (field 15, index queries: i64 little-endian, the index
value the server resumes from), ops = bins. A partition-done message: info3 PARTITION_DONE,
generation = partition id, result code (11 when the node does not hold the partition), no fields.
The last message: info3 LAST, result code 0 or the query's error.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, NamedTuple

from .constants import (
    FIELD_BVAL_ARRAY,
    FIELD_DIGEST,
    FIELD_DIGEST_ARRAY,
    FIELD_FILTER_EXP,
    FIELD_INDEX_CONTEXT,
    FIELD_INDEX_RANGE,
    FIELD_INDEX_TYPE,
    FIELD_KEY,
    FIELD_MAX_RECORDS,
    FIELD_NAMESPACE,
    FIELD_PID_ARRAY,
    FIELD_RECORDS_PER_SECOND,
    FIELD_SET,
    FIELD_SOCKET_TIMEOUT,
    FIELD_TRAN_ID,
    FIELD_UDF_ARGLIST,
    FIELD_UDF_FUNCTION,
    FIELD_UDF_OP,
    FIELD_UDF_PACKAGE_NAME,
    INFO1_NOBINDATA,
    INFO1_READ,
    INFO1_SHORT_QUERY,
    INFO2_RELAX_AP_LONG_QUERY,
    INFO2_WRITE,
    INFO3_LAST,
    INFO3_PARTITION_DONE,
    MSG_HEADER_SIZE,
    OP_READ,
    PT_BLOB,
    PT_GEOJSON,
    PT_INTEGER,
    PT_STRING,
)
from .message import MSG_HEADER, field_key_value, pack_message, pack_op, parse_fields, parse_ops

#: The query id field (field 7, "transaction id" in older names).
FIELD_QUERY_ID = FIELD_TRAN_ID

#: Index collection types as sent in the index-type field (and ``indextype=`` of sindex-create).
INDEX_COLLECTION_DEFAULT = 0
INDEX_COLLECTION_LIST = 1
INDEX_COLLECTION_MAPKEYS = 2
INDEX_COLLECTION_MAPVALUES = 3
INDEX_COLLECTION_NAMES = ("DEFAULT", "LIST", "MAPKEYS", "MAPVALUES")

#: Index value types as named by sindex-create ``type=`` (and their particle types in a range).
INDEX_TYPE_NAMES = {"NUMERIC": PT_INTEGER, "STRING": PT_STRING, "BLOB": PT_BLOB, "GEO2DSPHERE": PT_GEOJSON}

#: Record ttl of a foreground query request (as the official clients send it).
QUERY_RECORD_TTL = 0xFFFFFFFF

_U16LE = struct.Struct("<H")
_I64LE = struct.Struct("<q")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_FIELD_HEADER = struct.Struct(">IB")
_pack_fh = _FIELD_HEADER.pack
_unpack_msg = MSG_HEADER.unpack_from


def _field(ftype: int, data: bytes) -> bytes:
    return _pack_fh(len(data) + 1, ftype) + data


def index_value(ptype: int, value: Any) -> bytes:
    """The bytes of one end of an index range: i64 big-endian, UTF-8 text, or raw bytes."""
    if ptype == PT_INTEGER:
        return int(value).to_bytes(8, "big", signed=True)
    if ptype in (PT_STRING, PT_GEOJSON):
        return str(value).encode()
    return bytes(value)


def pack_index_range(bin_name: str, ptype: int, begin: bytes, end: bytes) -> bytes:
    """Data of the index-range field: one filter on ``bin_name`` from ``begin`` to ``end``."""
    name = bin_name.encode()
    return b"".join((bytes((1, len(name))), name, bytes((ptype,)), _U32.pack(len(begin)), begin,
                     _U32.pack(len(end)), end))


class IndexRange(NamedTuple):
    """A parsed index-range field (one filter)."""

    bin_name: str
    ptype: int
    begin: bytes
    end: bytes


def parse_index_range(data: bytes) -> IndexRange:
    """Inverse of :func:`pack_index_range` (the first filter; servers take one)."""
    if not data or data[0] < 1:
        raise ValueError("index range field without a filter")
    n = data[1]
    name = data[2 : 2 + n].decode()
    p = 2 + n
    ptype = data[p]
    (blen,) = _U32.unpack_from(data, p + 1)
    begin = data[p + 5 : p + 5 + blen]
    p += 5 + blen
    (elen,) = _U32.unpack_from(data, p)
    return IndexRange(name, ptype, begin, data[p + 4 : p + 4 + elen])


def query_read_attrs(include_bin_data: bool, expected_duration: int) -> tuple[int, int]:
    """``(info1, info2)`` of a foreground query: bin data or not, short / relax-AP long query."""
    info1 = INFO1_READ if include_bin_data else INFO1_READ | INFO1_NOBINDATA
    info2 = 0
    if expected_duration == 1:
        info1 |= INFO1_SHORT_QUERY
    elif expected_duration == 2:
        info2 |= INFO2_RELAX_AP_LONG_QUERY
    return info1, info2


def pack_query(
    namespace: str,
    set_name: str | None,
    *,
    task_id: int,
    socket_timeout: int,
    total_timeout: int = 0,
    info1: int = INFO1_READ,
    info2: int = 0,
    info3: int = INFO3_PARTITION_DONE,
    generation: int = 0,
    record_ttl: int = QUERY_RECORD_TTL,
    records_per_second: int = 0,
    index_type: int = INDEX_COLLECTION_DEFAULT,
    index_range: bytes | None = None,
    index_context: bytes | None = None,
    filter_exp: bytes | None = None,
    pids: Sequence[int] = (),
    digests: Sequence[bytes] = (),
    bvals: Sequence[int] | None = None,
    max_records: int = 0,
    ops: Sequence[bytes] = (),
    udf: tuple[int, bytes, bytes, bytes] | None = None,
) -> bytes:
    """A whole query/scan request frame (fields in the order the official clients send them).

    ``index_range`` is the data of :func:`pack_index_range` (None: a scan); ``filter_exp`` the
    packed expression; ``pids`` the partitions to read whole, ``digests`` those to resume after a
    record (with ``bvals`` for an index query); ``ops`` packed ops (READ ops for selected bins, or
    the write ops of a background query); ``udf`` ``(udf_op, module, function, arglist)`` for a
    background UDF (udf_op 2) or an aggregation (1).
    """
    fields = [_field(FIELD_NAMESPACE, namespace.encode())]
    if set_name:
        fields.append(_field(FIELD_SET, set_name.encode()))
    if records_per_second:
        fields.append(_field(FIELD_RECORDS_PER_SECOND, _U32.pack(records_per_second)))
    fields.append(_field(FIELD_SOCKET_TIMEOUT, _U32.pack(socket_timeout)))
    fields.append(_field(FIELD_QUERY_ID, _U64.pack(task_id)))
    if index_range is not None:
        if index_type:
            fields.append(_field(FIELD_INDEX_TYPE, bytes((index_type,))))
        fields.append(_field(FIELD_INDEX_RANGE, index_range))
        if index_context:
            fields.append(_field(FIELD_INDEX_CONTEXT, index_context))
    if filter_exp is not None:
        fields.append(_field(FIELD_FILTER_EXP, filter_exp))
    if pids:
        fields.append(_field(FIELD_PID_ARRAY, b"".join([_U16LE.pack(p) for p in pids])))
    if digests:
        fields.append(_field(FIELD_DIGEST_ARRAY, b"".join(digests)))
        if bvals is not None and index_range is not None:
            fields.append(_field(FIELD_BVAL_ARRAY, b"".join([_I64LE.pack(b) for b in bvals])))
    if max_records:
        fields.append(_field(FIELD_MAX_RECORDS, _U64.pack(max_records)))
    if udf is not None:
        udf_op, module, function, arglist = udf
        fields.append(_field(FIELD_UDF_OP, bytes((udf_op,))))
        fields.append(_field(FIELD_UDF_PACKAGE_NAME, module))
        fields.append(_field(FIELD_UDF_FUNCTION, function))
        fields.append(_field(FIELD_UDF_ARGLIST, arglist))
    return pack_message(info1, info2, info3, 0, generation, record_ttl, total_timeout, fields, list(ops))


def read_ops(bins: Sequence[str]) -> list[bytes]:
    """One READ op per selected bin."""
    return [pack_op(OP_READ, b.encode()) for b in bins]


def background_write_attrs() -> tuple[int, int, int]:
    """``(info1, info2, info3)`` of a background (write) query."""
    return 0, INFO2_WRITE, 0


# --------------------------------------------------------------------------- request (server side)


class QueryRequest(NamedTuple):
    """A query/scan request as the server reads it (see :func:`parse_query`)."""

    info1: int
    info2: int
    info3: int
    record_ttl: int
    total_timeout: int
    namespace: str
    set_name: str | None
    task_id: int
    socket_timeout: int
    records_per_second: int
    index_type: int
    index_range: IndexRange | None
    index_context: bytes | None
    filter_exp: bytes | None
    pids: list[int]
    digests: list[bytes]
    bvals: list[int] | None
    max_records: int
    ops: list[Any]


def parse_query(body: bytes | memoryview) -> QueryRequest:
    """Decode a query/scan request body (the frame without its 8-byte proto header).

    ``ops`` are ``(bin_name, value)`` pairs decoded from the wire (READ ops carry no value).
    """
    h = _unpack_msg(body, 0)
    if h[0] != MSG_HEADER_SIZE:
        raise ValueError(f"bad message header size {h[0]}")
    _, info1, info2, info3, _info4, _rc, _gen, record_ttl, total_timeout, n_fields, n_ops = h
    fields, off = parse_fields(body, MSG_HEADER_SIZE, n_fields)
    ops, _ = parse_ops(body, off, n_ops)
    pid_data = fields.get(FIELD_PID_ARRAY, b"")
    dig_data = fields.get(FIELD_DIGEST_ARRAY, b"")
    bval_data = fields.get(FIELD_BVAL_ARRAY)
    rng = fields.get(FIELD_INDEX_RANGE)
    return QueryRequest(
        info1, info2, info3, record_ttl, total_timeout,
        fields[FIELD_NAMESPACE].decode(),
        fields[FIELD_SET].decode() if FIELD_SET in fields else None,
        _U64.unpack(fields[FIELD_QUERY_ID])[0] if FIELD_QUERY_ID in fields else 0,
        _U32.unpack(fields[FIELD_SOCKET_TIMEOUT])[0] if FIELD_SOCKET_TIMEOUT in fields else 0,
        _U32.unpack(fields[FIELD_RECORDS_PER_SECOND])[0] if FIELD_RECORDS_PER_SECOND in fields else 0,
        fields[FIELD_INDEX_TYPE][0] if FIELD_INDEX_TYPE in fields else 0,
        parse_index_range(rng) if rng is not None else None,
        fields.get(FIELD_INDEX_CONTEXT),
        fields.get(FIELD_FILTER_EXP),
        [p for (p,) in _U16LE.iter_unpack(pid_data)],
        [dig_data[i : i + 20] for i in range(0, len(dig_data), 20)],
        [b for (b,) in _I64LE.iter_unpack(bval_data)] if bval_data is not None else None,
        _U64.unpack(fields[FIELD_MAX_RECORDS])[0] if FIELD_MAX_RECORDS in fields else 0,
        ops,
    )


# --------------------------------------------------------------------------- answer


def pack_partition_done(pid: int, result_code: int) -> bytes:
    """A partition-done message (no proto header): generation holds the partition id."""
    return MSG_HEADER.pack(MSG_HEADER_SIZE, 0, 0, INFO3_PARTITION_DONE, 0, result_code, pid, 0, 0, 0, 0)


def pack_last(result_code: int = 0) -> bytes:
    """The message that ends an answer (no proto header)."""
    return MSG_HEADER.pack(MSG_HEADER_SIZE, 0, 0, INFO3_LAST, 0, result_code, 0, 0, 0, 0, 0)


def pack_record(namespace: bytes, digest: bytes, set_name: bytes, key_field: bytes | None, bval: int | None,
                generation: int, void_time: int, ops: Sequence[bytes], info1: int = 0, n_ops: int = -1) -> bytes:
    """A record message of an answer (no proto header), fields in the real server's order.

    ``key_field`` is the data of the key field (particle type byte + value) or None; ``ops`` packed
    ops (the bins), or with ``n_ops`` >= 0 byte strings holding ``n_ops`` packed ops between them.
    ``info1`` NOBINDATA for records sent without bins.
    """
    fields = [_field(FIELD_NAMESPACE, namespace), _field(FIELD_DIGEST, digest)]
    if set_name:
        fields.append(_field(FIELD_SET, set_name))
    if key_field is not None:
        fields.append(_field(FIELD_KEY, key_field))
    if bval is not None:
        fields.append(_field(FIELD_BVAL_ARRAY, _I64LE.pack(bval)))
    head = MSG_HEADER.pack(MSG_HEADER_SIZE, info1, 0, 0, 0, 0, generation, void_time, 0, len(fields),
                           len(ops) if n_ops < 0 else n_ops)
    return b"".join((head, *fields, *ops))


class QueryMessage(NamedTuple):
    """One decoded message of an answer (the general decoder, for tests and tools).

    ``kind``: ``"record"``, ``"partition_done"`` (``generation`` = partition id) or ``"last"``.
    """

    kind: str
    result_code: int
    generation: int
    void_time: int
    namespace: str | None
    set_name: str | None
    digest: bytes | None
    user_key: Any
    bval: int | None
    bins: list[tuple[str, Any]]


def decode_answer(body: bytes | memoryview) -> list[QueryMessage]:
    """Every message of one answer frame body, in order."""
    out = []
    off = 0
    end = len(body)
    while off < end:
        _, _i1, _i2, info3, _i4, rc, gen, vt, _tt, n_fields, n_ops = _unpack_msg(body, off)
        off += MSG_HEADER_SIZE
        fields, off = parse_fields(body, off, n_fields)
        bins, off = parse_ops(body, off, n_ops)
        if info3 & INFO3_LAST:
            out.append(QueryMessage("last", rc, gen, vt, None, None, None, None, None, []))
            continue
        if info3 & INFO3_PARTITION_DONE:
            out.append(QueryMessage("partition_done", rc, gen, vt, None, None, None, None, None, []))
            continue
        key = fields.get(FIELD_KEY)
        bv = fields.get(FIELD_BVAL_ARRAY)
        out.append(QueryMessage(
            "record", rc, gen, vt,
            fields[FIELD_NAMESPACE].decode() if FIELD_NAMESPACE in fields else None,
            fields[FIELD_SET].decode() if FIELD_SET in fields else None,
            fields.get(FIELD_DIGEST),
            field_key_value(key) if key is not None else None,
            _I64LE.unpack(bv)[0] if bv is not None else None,
            bins,
        ))
    return out


__all__ = [
    "FIELD_QUERY_ID", "INDEX_COLLECTION_DEFAULT", "INDEX_COLLECTION_LIST", "INDEX_COLLECTION_MAPKEYS",
    "INDEX_COLLECTION_MAPVALUES", "INDEX_COLLECTION_NAMES", "INDEX_TYPE_NAMES", "QUERY_RECORD_TTL",
    "IndexRange", "QueryMessage", "QueryRequest", "background_write_attrs", "decode_answer", "index_value",
    "pack_index_range", "pack_last", "pack_partition_done", "pack_query", "pack_record", "parse_index_range",
    "parse_query", "query_read_attrs", "read_ops",
]
