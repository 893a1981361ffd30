"""Batch operations of Client and AsyncClient (written once, like the single-record ones).

Each method validates its input and hands the call to ``_drive`` as a generator of steps
(``_commands.batch.batch_steps``: one streaming command per node, then node and write retries).
``_drive`` runs each step through the facade's ``_run_many`` (sync: now; async: awaited, with
``asyncio.sleep`` for backoffs), so the retry logic and post-processing are written once.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from operator import attrgetter
from typing import Any

from . import _constants as C
from . import _observe
from . import _policy as P
from ._commands import batch as B
from ._commands import udf as U
from ._commands.bins import encode_bins
from ._commands.keys import check_bin_name, parse_key
from ._commands.ops import ResultPlan, encode_ops, reply_keep, summarize_ops
from ._commands.record import filter_field
from ._wire import constants as W
from ._wire.message import pack_op
from .exception import InvalidArgError, _invalid_arg, _InvalidArgType, _InvalidArgValue, _warn_unknown_field

_DELETE_META_KEYS = frozenset(("gen", "key", "commit_level", "durable_delete"))
_UDF_META_KEYS = frozenset(("module", "function", "args", "ttl", "commit_level", "key", "durable_delete"))


class BatchMixin:
    """batch_read / batch_write / batch_operate / batch_remove / batch_write_numpy."""

    #: Async facades set this: ``batch_read`` then returns a lazy :class:`BatchReadHandle`.
    _BATCH_READ_HANDLE = False
    #: Whether ``_run_many`` returns awaitables (the async facade).
    _ASYNC = False

    # Provided by ClientBase / the facades: _defaults, _cluster_view(), _run_many().
    _defaults: dict[str, Any]
    _cluster_view: Any
    _run_many: Any

    # ------------------------------------------------------------------ helpers

    def _batch_policy(self, policy: dict[str, Any] | None) -> P.Policy:
        return P.BATCH.resolve(policy, self._defaults.get("batch"))

    @staticmethod
    def _write_view(p: P.Policy, policy: dict[str, Any] | None) -> P.Policy:
        """The batch policy as write defaults: an unset ``exists`` means plain update (the
        constants make POLICY_EXISTS_UPDATE == UPDATE_ONLY; the official client sends no flag)."""
        if policy and "exists" in policy:
            return p
        return P.Policy(p, exists=C.POLICY_EXISTS_IGNORE)

    def _submit(self, op: str, state: B.BatchState, heads: list[bytes], p: P.Policy, is_write: bool, finish: Any,
                retry: int = 0) -> Any:
        """Run a batch call (``op``: its operation name for metrics and spans, see ``_observe``)."""
        parallel = p["concurrency"] == C.BATCH_CONCURRENCY_PARALLEL
        observer = _observe.ACTIVE
        if observer is None:
            return self._drive(B.batch_steps(self._cluster_view, state, heads, p, is_write, filter_field(p),
                                             parallel, finish, retry))
        return observer.run_batch(
            self._ASYNC, op, state.keys[0] if state.keys else None, self._cluster_view(),
            lambda: self._drive(B.batch_steps(self._cluster_view, state, heads, p, is_write, filter_field(p),
                                              parallel, finish, retry)),
        )

    def _drive(self, steps: Generator[B.Step, Any, Any]) -> Any:
        """Run a call made of steps (see :func:`B.batch_steps`): each step's commands go through
        ``_run_many``, its combined result is sent back into the generator, whose return value is
        the call's result. Sync facades finish here; async ones get a coroutine (one loop for both)."""
        try:
            cmds, parallel, combine, _ = next(steps)
        except StopIteration as e:
            return e.value
        out = self._run_many(cmds, parallel, combine)
        if self._ASYNC:
            return _drive_async(self, steps, out)
        while True:
            try:
                cmds, parallel, combine, delay = steps.send(out)
            except StopIteration as e:
                return e.value
            if delay > 0:
                time.sleep(delay)
            out = self._run_many(cmds, parallel, combine)

    # ------------------------------------------------------------------ reads

    def batch_read(self, keys: list[Any], bins: list[str] | None = None, policy: dict[str, Any] | None = None,
                   _dtype: Any = None) -> Any:
        """Read many records: all bins (``bins=None``), some bins, or metadata only (``bins=[]``).

        Missing records come back with their result code. Sync: :class:`BatchRecords` (or
        ``NumpyBatchRecords`` with ``_dtype``); async: a :class:`BatchReadHandle`.
        """
        clock = _observe.stage_timer()
        t0 = clock() if clock is not None else 0.0
        rkeys = B.parse_keys(keys)
        if bins is None:
            info1, ops = W.INFO1_READ | W.INFO1_GET_ALL, []
        elif isinstance(bins, (list, tuple)):
            ops = [pack_op(W.OP_READ, check_bin_name(b)) for b in bins]
            info1 = W.INFO1_READ if ops else W.INFO1_READ | W.INFO1_NOBINDATA
        else:
            raise _InvalidArgType(f"bins must be a list of bin names or None, not {type(bins).__name__}")
        p = self._batch_policy(policy)
        if p["read_mode_ap"]:
            info1 |= W.INFO1_READ_MODE_AP_ALL
        numpy_dtype = None
        if _dtype is not None:
            numpy_dtype = _numpy_batch()._check_dtype(_dtype)
        ttl = p["read_touch_ttl_percent"] & 0xFFFFFFFF
        heads = _shared_heads(rkeys, lambda k: B.read_head(k, info1, 0, ttl, ops))
        if clock is not None:
            _observe.record_stage("key_parse", "batch_read", clock() - t0)
        if numpy_dtype is not None:
            nb = _numpy_batch()
            return self._submit("batch_read", B.BatchState(rkeys, sink=nb._NumpySink(len(rkeys))), heads, p, False,
                                nb._numpy_result(numpy_dtype))
        state = B.BatchState(rkeys)
        if self._BATCH_READ_HANDLE:
            return self._submit("batch_read", state, heads, p, False, B.handle_result)
        return self._submit("batch_read", state, heads, p, False, B.records_result)

    # ------------------------------------------------------------------ writes

    def batch_write(self, records: list[Any], policy: dict[str, Any] | None = None, retry: int = 0) -> Any:
        """Write many records: ``(key, bins)`` or ``(key, bins, WriteMeta)``; per-record meta wins
        over the batch policy's write fields. Returns :class:`BatchRecords` (its ``retry`` attribute
        is a :class:`BatchRetryInfo`).

        ``retry=N`` resends, up to N times, the records that failed with a transient code (timeout,
        key busy, device overload), after a full-jitter exponential backoff capped at 500 ms; it
        stops early rather than overrun ``total_timeout``. Records still failing keep their code.
        """
        return self._batch_write(records, policy, retry, "batch_write")

    def _batch_write(self, records: list[Any], policy: dict[str, Any] | None, retry: int, op: str) -> Any:
        if not isinstance(records, (list, tuple)):
            raise _InvalidArgType(f"records must be a list of (key, bins[, meta]) tuples, not {type(records).__name__}")
        _check_retry(retry)
        p = self._batch_policy(policy)
        wp = self._write_view(p, policy)
        base_attrs = P.write_attrs(wp, None)
        rkeys = []
        heads = []
        for i, rec in enumerate(records):
            try:
                if not isinstance(rec, (tuple, list)) or len(rec) not in (2, 3):
                    n = len(rec) if isinstance(rec, (tuple, list)) else type(rec).__name__
                    raise _InvalidArgValue(f"must be a (key, bins) or (key, bins, meta) tuple, got {n!r}")
                k = parse_key(rec[0])
                ops = encode_bins(rec[1])
                meta = rec[2] if len(rec) == 3 else None
                attrs = P.write_attrs(wp, meta) if meta else base_attrs
            except (InvalidArgError, TypeError) as e:
                raise type(e)(f"records[{i}]: {getattr(e, 'msg', e)}") from None
            rkeys.append(k)
            heads.append(B.write_head(k, 0, attrs, (ops,), n_ops=len(rec[1])))
        return self._submit(op, B.BatchState(rkeys), heads, p, True, B.write_result, retry)

    def batch_operate(self, keys: list[Any], ops: list[dict[str, Any]], policy: dict[str, Any] | None = None) -> Any:
        """Apply the same operations to many records; each record's bins are as in :meth:`operate`
        (a bin several operations answer holds the list of their results). Returns :class:`BatchRecords`."""
        rkeys = B.parse_keys(keys)
        encoded = encode_ops(ops)
        p = self._batch_policy(policy)
        info1, any_write, respond_all = summarize_ops(encoded)
        data = [e.data for e in encoded]
        keep = None
        if any_write:
            attrs = P.write_attrs(self._write_view(p, policy), None)
            if info1 and p["read_mode_ap"]:
                info1 |= W.INFO1_READ_MODE_AP_ALL
            keep = reply_keep(encoded)
            heads = _shared_heads(rkeys, lambda k: B.write_head(k, info1, attrs, data), attrs.key_policy == C.POLICY_KEY_SEND)
        else:
            if p["read_mode_ap"]:
                info1 |= W.INFO1_READ_MODE_AP_ALL
            info2 = W.INFO2_RESPOND_ALL_OPS if respond_all else 0
            if respond_all:
                keep = [True] * len(encoded)
            ttl = p["read_touch_ttl_percent"] & 0xFFFFFFFF
            heads = _shared_heads(rkeys, lambda k: B.read_head(k, info1, info2, ttl, data))
        plan = ResultPlan(encoded, keep, drop_none=False)
        state = B.BatchState(rkeys, keep=keep, plan=None if plan.trivial else plan)
        return self._submit("batch_operate", state, heads, p, any_write, B.records_result)

    def batch_remove(self, keys: list[Any], policy: dict[str, Any] | None = None) -> Any:
        """Delete many records: bare keys or ``(key, BatchDeleteMeta)``; ``gen`` in a meta makes
        that delete conditional on the generation. Returns :class:`BatchRecords`."""
        if not isinstance(keys, (list, tuple)):
            raise _InvalidArgType(f"keys must be a list of keys, not {type(keys).__name__}")
        p = self._batch_policy(policy)
        wp = P.Policy(p, exists=C.POLICY_EXISTS_IGNORE, ttl=0)
        base_attrs = P.write_attrs(wp, None)
        send_key = base_attrs.key_policy == C.POLICY_KEY_SEND
        rkeys = []
        heads: list[bytes] = []
        shared: dict[tuple[bytes, bytes], bytes] = {}
        for i, item in enumerate(keys):
            try:
                meta = None
                if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], (tuple, list)):
                    item, meta = item
                    if meta is not None and not isinstance(meta, dict):
                        raise _InvalidArgType(f"delete meta must be a dict, not {type(meta).__name__}")
                    if meta and not _DELETE_META_KEYS.issuperset(meta):
                        for mk in meta:
                            if mk not in _DELETE_META_KEYS:
                                _warn_unknown_field("BatchDeleteMeta", mk)
                        meta = {mk: v for mk, v in meta.items() if mk in _DELETE_META_KEYS}
                k = parse_key(item)
                attrs = P.write_attrs(wp, meta) if meta else base_attrs
            except InvalidArgError as e:
                raise type(e)(f"keys[{i}]: {e.msg}") from None
            rkeys.append(k)
            if meta or send_key:
                heads.append(B.write_head(k, 0, attrs, (), extra_info2=W.INFO2_DELETE | W.INFO2_RESPOND_ALL_OPS))
            else:
                sk = (k.ns_b, k.set_b)
                h = shared.get(sk)
                if h is None:
                    h = shared[sk] = B.write_head(k, 0, attrs, (),
                                                  extra_info2=W.INFO2_DELETE | W.INFO2_RESPOND_ALL_OPS)
                heads.append(h)
        return self._submit("batch_remove", B.BatchState(rkeys), heads, p, True, B.records_result)

    def batch_apply(self, keys: list[Any], module: str, function: str, args: list[Any] | None = None,
                    policy: dict[str, Any] | None = None) -> Any:
        """Call the record UDF ``module.function`` on many records: bare keys or ``(key,
        BatchUDFMeta)`` (a meta may change the module, function, args, ttl, key policy...). Returns
        :class:`BatchRecords` (with ``retry``): each record's bins are ``{"SUCCESS": value}``, or
        ``{"FAILURE": message}`` with result 100 when its call failed."""
        if not isinstance(keys, (list, tuple)):
            raise InvalidArgError(f"keys must be a list of keys, not {type(keys).__name__}")
        base_fields = U.udf_fields(U.check_name("UDF module", module), U.check_name("UDF function", function),
                                   U.pack_args(args))
        p = self._batch_policy(policy)
        wp = P.Policy(self._write_view(p, policy), gen=C.POLICY_GEN_IGNORE)
        base_attrs = P.write_attrs(wp, None)
        send_key = base_attrs.key_policy == C.POLICY_KEY_SEND
        rkeys = []
        heads: list[bytes] = []
        shared: dict[tuple[bytes, bytes], bytes] = {}
        for i, item in enumerate(keys):
            try:
                meta = None
                if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], (tuple, list)):
                    item, meta = item
                    if meta is not None and not isinstance(meta, dict):
                        raise InvalidArgError(f"UDF meta must be a dict, not {type(meta).__name__}")
                    for mk in meta or ():
                        if mk not in _UDF_META_KEYS:
                            raise InvalidArgError(f"unknown BatchUDFMeta field {mk!r}")
                k = parse_key(item)
                if meta:
                    wmeta = {mk: v for mk, v in meta.items() if mk in _DELETE_META_KEYS or mk == "ttl"}
                    attrs = P.write_attrs(wp, wmeta) if wmeta else base_attrs
                    fields = U.udf_fields(U.check_name("UDF module", meta.get("module", module)),
                                          U.check_name("UDF function", meta.get("function", function)),
                                          U.pack_args(meta.get("args", args)))
                else:
                    attrs, fields = base_attrs, base_fields
            except InvalidArgError as e:
                raise InvalidArgError(f"keys[{i}]: {e.msg}") from None
            rkeys.append(k)
            if meta or send_key:
                heads.append(B.write_head(k, 0, attrs, (), extra_fields=fields, extra_info2=0))
            else:
                sk = (k.ns_b, k.set_b)
                h = shared.get(sk)
                if h is None:
                    h = shared[sk] = B.write_head(k, 0, attrs, (), extra_fields=fields, extra_info2=0)
                heads.append(h)
        return self._submit("batch_apply", B.BatchState(rkeys, keep_failed=True), heads, p, True, B.write_result)

    def batch_write_numpy(self, data: Any, namespace: str, set_name: str, _dtype: Any, key_field: str = "_key",
                          policy: dict[str, Any] | None = None, retry: int = 0) -> Any:
        """Write one record per row of a structured array (fields not starting with ``_`` are bins)."""
        from .numpy_batch import _records_from_array

        return self._batch_write(_records_from_array(data, namespace, set_name, _dtype, key_field), policy, retry,
                                 "batch_write_numpy")


async def _drive_async(client: Any, steps: Generator[B.Step, Any, Any], first: Any) -> Any:
    """The async side of ``BatchMixin._drive``."""
    out = await first
    while True:
        try:
            cmds, parallel, combine, delay = steps.send(out)
        except StopIteration as e:
            return e.value
        if delay > 0:
            import asyncio  # only the async client gets here (off the sync client's import path)

            await asyncio.sleep(delay)
        out = await client._run_many(cmds, parallel, combine)


_space_of = attrgetter("space")
_NUMPY_BATCH: Any = None


def _numpy_batch() -> Any:
    """The numpy_batch module, imported on first use (it imports numpy only when its calls run)."""
    global _NUMPY_BATCH
    if _NUMPY_BATCH is None:
        from . import numpy_batch

        _NUMPY_BATCH = numpy_batch
    return _NUMPY_BATCH


def _shared_heads(rkeys: list[Any], build: Any, per_key: bool = False) -> list[bytes]:
    """One entry body per (namespace, set), the same object for every key (so it repeats)."""
    if per_key:
        return [build(k) for k in rkeys]
    if rkeys:
        spaces = list(map(_space_of, rkeys))
        if spaces.count(spaces[0]) == len(spaces):  # one (namespace, set): no loop
            return [build(rkeys[0])] * len(rkeys)
    cache: dict[Any, bytes] = {}
    out: list[bytes] = []
    append = out.append
    last_space = None
    h = b""
    for k in rkeys:
        space = k.space  # one KeySpace per (namespace, set)
        if space is not last_space:
            got = cache.get(space)
            if got is None:
                got = cache[space] = build(k)
            h = got
            last_space = space
        append(h)
    return out


def _check_retry(retry: Any) -> None:
    if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
        raise _invalid_arg(f"retry must be an int >= 0, got {retry!r}", retry)
