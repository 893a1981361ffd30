"""Single-record commands: get, select, exists, put, remove, touch, append, prepend, increment,
remove_bin, operate, operate_ordered."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from .. import _constants as C
from .._policy import WriteAttrs, write_attrs
from .._wire import constants as W
from .._wire.expiry import ttl_of
from .._wire.message import (
    FIELD_HEADER,
    MSG_HEADER,
    REQUEST_HEADER,
    pack_field,
    pack_key_field,
    pack_message_raw,
    pack_op,
    parse_bins,
    parse_ops,
    skip_fields,
)
from .._wire.shapes import GATE, SHAPES, decode_record
from .._wire.values import encode_particle
from ..exception import _InvalidArgType, _InvalidArgValue
from ..exp import _pack_filter
from ..types import BinTuple, ExistsResult, OperateOrderedResult, Record, RecordMetadata
from .base import Command, meta_of, raise_for
from .bins import encode_bins
from .keys import RequestKey, check_bin_name, parse_key
from .ops import ResultPlan, encode_ops, reply_keep, summarize_ops

_unpack_header = MSG_HEADER.unpack_from
_known_shape = SHAPES.get
_tuple_new = tuple.__new__
_time = time.time
_pack_request_header = REQUEST_HEADER.pack
_PROTO_MSG = (W.PROTO_VERSION << 56) | (W.PROTO_TYPE_MESSAGE << 48)
_pack_field_header = FIELD_HEADER.pack
_READ_OP_CACHE: dict[str, bytes] = {}
_SINGLE_BIN_OPS = {W.OP_APPEND: "append", W.OP_PREPEND: "prepend", W.OP_INCR: "increment"}


def filter_field(policy: Any) -> bytes | None:
    """The filter-expression field of a policy, if it has one."""
    exp = policy["filter_expression"]
    return None if exp is None else _exp_field(exp)


def _exp_field(exp: Any) -> bytes:
    return pack_field(W.FIELD_FILTER_EXP, _pack_filter(exp))


def _fields(key: RequestKey, policy: Any, send_key: bool) -> tuple[int, bytes]:
    """``(n_fields, bytes)``: namespace, set, digest, then the user key and filter when present."""
    space = key.space
    data = space.prefix + key.digest
    n = space.n_fields
    if send_key and key.kbytes is not None:
        data += pack_key_field(key.ptype, key.kbytes)
        n += 1
    exp = policy["filter_expression"]
    if exp is not None:
        data += _exp_field(exp)
        n += 1
    return n, data


def _read_info1(policy: Any, base: int) -> int:
    if policy["read_mode_ap"]:
        base |= W.INFO1_READ_MODE_AP_ALL
    return base


def _read_ttl(policy: Any) -> int:
    percent: int = policy["read_touch_ttl_percent"]
    return percent & 0xFFFFFFFF


# --------------------------------------------------------------------------- reply parsers


def _parse_record(cmd: Command, body: Any, node: str) -> Record:
    decode = _known_shape(len(body))
    if decode is not None:
        r = decode(body)
    elif GATE[0] > 0:  # replies not repeating lately: this miss is not noted (shapes.GATE)
        GATE[0] -= 1
        r = None
    else:
        r = decode_record(body)
    if r is None:
        _, _, _, _, _, rc, gen, void_time, _, nfields, nops = _unpack_header(body, 0)
        if rc:
            raise_for(cmd, rc, node)
        bins, _ = parse_bins(body, skip_fields(body, 22, nfields) if nfields else 22, nops)
    else:
        gen, void_time, bins = r
    meta = _tuple_new(RecordMetadata, (gen, ttl_of(void_time, _time())))
    return _tuple_new(Record, (cmd.key.public, meta, bins))


def _parse_exists(cmd: Command, body: Any, node: str) -> ExistsResult:
    _, _, _, _, _, rc, gen, void_time, _, _, _ = _unpack_header(body, 0)
    if rc:
        if rc == 2:
            return ExistsResult(cmd.key.to_public(), None)
        raise_for(cmd, rc, node)
    return ExistsResult(cmd.key.to_public(), meta_of(gen, void_time))


def _parse_write(cmd: Command, body: Any, node: str) -> None:
    rc = body[5]
    if rc:
        raise_for(cmd, rc, node)
    return None


def _parse_operate(cmd: Command, body: Any, node: str) -> Record:
    """An operate's reply through its result plan (an operate without one is read as a get:
    :func:`_parse_record`, with the reply-shape cache)."""
    _, _, _, _, _, rc, gen, void_time, _, nfields, nops = _unpack_header(body, 0)
    if rc:
        raise_for(cmd, rc, node)
    offset = skip_fields(body, 22, nfields) if nfields else 22
    plan: ResultPlan = cmd.extra
    bins = plan.bins(parse_ops(body, offset, nops)[0])
    return _tuple_new(Record, (cmd.key[5], meta_of(gen, void_time), bins))


def _parse_operate_ordered(cmd: Command, body: Any, node: str) -> OperateOrderedResult:
    _, _, _, _, _, rc, gen, void_time, _, nfields, nops = _unpack_header(body, 0)
    if rc:
        raise_for(cmd, rc, node)
    offset = skip_fields(body, 22, nfields) if nfields else 22
    pairs, _ = parse_ops(body, offset, nops)
    plan: ResultPlan | None = cmd.extra
    if plan is not None:
        pairs = plan.pairs(pairs)
    ordered = [BinTuple(n, v) for n, v in pairs]
    return OperateOrderedResult(cmd.key.to_public(), meta_of(gen, void_time), ordered)


# --------------------------------------------------------------------------- reads


def _read_request(k: RequestKey, policy: Any, info1: int, n_ops: int, ops: bytes) -> bytes:
    """A read request: header from the policy, the key's fields, the ops (hot path: no helpers)."""
    if policy["filter_expression"] is None:
        space = k.space
        fields = space.prefix + k.digest
        nf = space.n_fields
    else:
        nf, fields = _fields(k, policy, False)
    if policy["read_mode_ap"]:
        info1 |= W.INFO1_READ_MODE_AP_ALL
    return _pack_request_header(
        _PROTO_MSG | (22 + len(fields) + len(ops)), 22, info1, 0, 0, 0, 0, 0,
        policy["read_touch_ttl_percent"] & 0xFFFFFFFF, policy["total_timeout"], nf, n_ops,
    ) + fields + ops


def _cache_read_templates(k: RequestKey, policy: Any) -> None:
    """Remember ``(policy, get, exists)`` request bytes up to the digest in the key's space, for a
    long-lived policy (defaults) without a filter: the next get/exists only appends the digest."""
    if policy.cacheable and policy["filter_expression"] is None:
        templates = k.space.templates
        if len(templates) > 64:
            templates.clear()
        templates[id(policy)] = (
            policy, _read_request(k, policy, W.INFO1_READ | W.INFO1_GET_ALL, 0, b"")[:-20],
            _read_request(k, policy, W.INFO1_READ | W.INFO1_NOBINDATA, 0, b"")[:-20],
        )


def get(key: Any, policy: Any) -> Command:
    k = parse_key(key)
    t = k.space.templates.get(id(policy))
    if t is not None and t[0] is policy:
        return Command(k, t[1] + k.digest, False, _parse_record, policy, None, "get")
    _cache_read_templates(k, policy)
    return Command(k, _read_request(k, policy, W.INFO1_READ | W.INFO1_GET_ALL, 0, b""), False,
                   _parse_record, policy, None, "get")


def select(key: Any, bins: Any, policy: Any) -> Command:
    k = parse_key(key)
    if isinstance(bins, str) or not isinstance(bins, (list, tuple)):
        raise _InvalidArgType(f"bins must be a list of bin names, not {type(bins).__name__}")
    ops = []
    for b in bins:
        op = _READ_OP_CACHE.get(b) if type(b) is str else None
        if op is None:
            op = pack_op(W.OP_READ, check_bin_name(b))
            if len(_READ_OP_CACHE) < 4096:
                _READ_OP_CACHE[b] = op
        ops.append(op)
    info1 = W.INFO1_READ if ops else W.INFO1_READ | W.INFO1_NOBINDATA
    req = _read_request(k, policy, info1, len(ops), b"".join(ops))
    return Command(k, req, False, _parse_record, policy, None, "select")


def exists(key: Any, policy: Any) -> Command:
    k = parse_key(key)
    t = k.space.templates.get(id(policy))
    if t is not None and t[0] is policy:
        return Command(k, t[2] + k.digest, False, _parse_exists, policy, None, "exists")
    _cache_read_templates(k, policy)
    req = _read_request(k, policy, W.INFO1_READ | W.INFO1_NOBINDATA, 0, b"")
    return Command(k, req, False, _parse_exists, policy, None, "exists")


# --------------------------------------------------------------------------- writes


def _write_command(key: RequestKey, policy: Any, attrs: WriteAttrs, ops: list[bytes], info1: int = 0,
                   extra_info2: int = 0, parse: Callable[[Command, Any, str], Any] = _parse_write, extra: Any = None, op: str | None = None) -> Command:
    info2, info3, generation, ttl, key_policy, _ = attrs
    nf, fields = _fields(key, policy, key_policy == 1)
    req = pack_message_raw(
        info1, info2 | extra_info2, info3, generation, ttl, policy["total_timeout"],
        nf, fields, len(ops), b"".join(ops),
    )
    return Command(key, req, True, parse, policy, extra, op)


def put(key: Any, bins: Any, meta: Any, policy: Any) -> Command:
    """Write bins (the hottest write path: the request is assembled here, without helper layers)."""
    k = parse_key(key)
    ops = encode_bins(bins)
    attrs = None if meta else policy.attrs
    info2, info3, generation, ttl, key_policy, _ = write_attrs(policy, meta) if attrs is None else attrs
    space = k.space
    if key_policy != 1 and policy["filter_expression"] is None:
        return Command(k, _pack_request_header(
            _PROTO_MSG | (42 + len(space.prefix) + len(ops)), 22, 0, info2, info3, 0, 0, generation, ttl,
            policy["total_timeout"], space.n_fields, len(bins),
        ) + space.prefix + k.digest + ops, True, _parse_write, policy, None, "put")
    nf, fields = _fields(k, policy, key_policy == 1)
    req = _pack_request_header(
        _PROTO_MSG | (22 + len(fields) + len(ops)), 22, 0, info2, info3, 0, 0, generation, ttl,
        policy["total_timeout"], nf, len(bins),
    ) + fields + ops
    return Command(k, req, True, _parse_write, policy, None, "put")


def remove(key: Any, meta: Any, policy: Any) -> Command:
    k = parse_key(key)
    return _write_command(k, policy, write_attrs(policy, meta), [], extra_info2=W.INFO2_DELETE, op="delete")


def touch(key: Any, val: Any, meta: Any, policy: Any) -> Command:
    k = parse_key(key)
    if isinstance(val, bool) or not isinstance(val, int):
        raise _InvalidArgType(f"touch ttl must be an int, not {type(val).__name__}")
    if val:
        meta = dict(meta or {}, ttl=val)
    return _write_command(k, policy, write_attrs(policy, meta), [pack_op(W.OP_TOUCH, b"")], op="touch")


def single_bin_op(key: Any, wire_op: int, bin_name: Any, val: Any, meta: Any, policy: Any) -> Command:
    """append / prepend / increment."""
    k = parse_key(key)
    nb = check_bin_name(bin_name)
    if wire_op == W.OP_INCR:
        if isinstance(val, bool) or not isinstance(val, (int, float)):
            raise _InvalidArgType(f"increment of bin {bin_name!r} needs an int or float, not {type(val).__name__}")
    elif not isinstance(val, (str, bytes, bytearray)):
        raise _InvalidArgType(f"append/prepend to bin {bin_name!r} needs str or bytes, not {type(val).__name__}")
    try:
        pt, v = encode_particle(val)
    except OverflowError as e:
        raise _InvalidArgValue(str(e)) from None
    return _write_command(k, policy, write_attrs(policy, meta), [pack_op(wire_op, nb, pt, v)],
                          op=_SINGLE_BIN_OPS[wire_op])


def remove_bin(key: Any, bin_names: Any, meta: Any, policy: Any) -> Command:
    k = parse_key(key)
    if isinstance(bin_names, str) or not isinstance(bin_names, (list, tuple)) or not bin_names:
        raise _InvalidArgType("bin_names must be a non-empty list of bin names")
    ops = [pack_op(W.OP_WRITE, check_bin_name(b)) for b in bin_names]
    return _write_command(k, policy, write_attrs(policy, meta), ops, op="remove_bin")


# --------------------------------------------------------------------------- operate


#: An operate's ops: ``(info1 read bits, any write, respond-all, op count, encoded ops, result plan)``.
OpsPlan = tuple[int, bool, bool, int, bytes, "ResultPlan | None"]
_MISSING = object()
#: Basic operators: their encoding depends on nothing but ``op``, ``bin`` and ``val`` (memoizable).
_BASIC_OPS = frozenset((C.OPERATOR_READ, C.OPERATOR_WRITE, C.OPERATOR_INCR, C.OPERATOR_APPEND,
                        C.OPERATOR_PREPEND, C.OPERATOR_TOUCH, C.OPERATOR_DELETE))
#: Value types whose equal values encode alike (not float: ``0.0 == -0.0``; containers may hold one).
_MEMO_VALUES = frozenset((int, str, bytes, bool, type(None), type(_MISSING)))
#: Ops lists of basic operators seen lately -> their plan (bounded: cleared when full).
_PLANS: dict[tuple[Any, ...], OpsPlan] = {}
_MAX_PLANS = 1024
_MAX_MEMO_OPS = 16


def plan_ops(ops: Any) -> OpsPlan:
    """Encode an operate's ops (the general path: every operator, every check)."""
    encoded = encode_ops(ops)
    info1, any_write, respond_all = summarize_ops(encoded)
    # With RESPOND_ALL_OPS the server answers one entry per op: keep those with a result.
    keep = reply_keep(encoded) if respond_all else None
    plan: ResultPlan | None = ResultPlan(encoded, keep)
    if plan.trivial and keep is None:  # type: ignore[union-attr]
        plan = None
    return info1, any_write, respond_all, len(encoded), b"".join([e.data for e in encoded]), plan


def _plan_key(ops: Any) -> tuple[Any, ...] | None:
    """A key under which :func:`plan_ops`'s answer for ``ops`` can be remembered: the
    ``(op, bin, val, type(val))`` of each op, for short lists of basic operators with plain values;
    ``None`` for anything else (always encoded afresh)."""
    if type(ops) is not list or not 0 < len(ops) <= _MAX_MEMO_OPS:
        return None
    key = []
    for op in ops:
        if type(op) is not dict:
            return None
        code = op.get("op")
        v = op.get("val", _MISSING)
        t = type(v)
        if type(code) is not int or code not in _BASIC_OPS or t not in _MEMO_VALUES:
            return None
        key.append((code, op.get("bin"), v, t))
    return tuple(key)


def _ops_plan(ops: Any) -> OpsPlan:
    """:func:`plan_ops`, remembered for ops lists that repeat (see :func:`_plan_key`)."""
    key = _plan_key(ops)
    if key is None:
        return plan_ops(ops)
    try:
        got = _PLANS.get(key)
    except TypeError:  # an unhashable bin name: the general path names the problem
        return plan_ops(ops)
    if got is None:
        got = plan_ops(ops)
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        _PLANS[key] = got
    return got


def operate(key: Any, ops: Any, meta: Any, policy: Any, ordered: bool = False) -> Command:
    k = parse_key(key)
    info1, any_write, respond_all, n_ops, data, plan = _ops_plan(ops)
    parse = _parse_operate_ordered if ordered else _parse_record if plan is None else _parse_operate
    op = "operate_ordered" if ordered else "operate"
    if any_write:
        info2, info3, generation, ttl, key_policy, _ = write_attrs(policy, meta)
        if info1:
            info1 = _read_info1(policy, info1)
        nf, fields = _fields(k, policy, key_policy == 1)
        req = _pack_request_header(
            _PROTO_MSG | (22 + len(fields) + len(data)), 22, info1,
            info2 | W.INFO2_RESPOND_ALL_OPS if respond_all else info2, info3, 0, 0, generation, ttl,
            policy["total_timeout"], nf, n_ops,
        ) + fields + data
        return Command(k, req, True, parse, policy, plan, op)
    nf, fields = _fields(k, policy, False)
    req = _pack_request_header(
        _PROTO_MSG | (22 + len(fields) + len(data)), 22, _read_info1(policy, info1),
        W.INFO2_RESPOND_ALL_OPS if respond_all else 0, 0, 0, 0, 0, _read_ttl(policy), policy["total_timeout"],
        nf, n_ops,
    ) + fields + data
    return Command(k, req, False, parse, policy, plan, op)
