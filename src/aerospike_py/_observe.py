"""The one hook between operations and the executors: a duration sample and a span per operation.

:data:`ACTIVE` is ``None`` while metrics and tracing are both off; then the executors' entry
points cost one attribute load and a test. Otherwise it is an :class:`Observer`, and

* a single-record command (``cmd.op`` set) entering :meth:`AsyncExecutor.submit` is run through
  :meth:`Observer.run_async`; one entering :meth:`SyncExecutor.run` through :meth:`Observer.run_sync`
  when tracing, else (metrics alone, ``Observer.sample_only``) the executor times it itself and
  records it with :func:`sample_success` / :func:`sample_failure` (one frame less per command);
* a batch call is run through :meth:`Observer.run_batch` by the shared batch driver
  (``BatchMixin._submit``); the per-node commands of a batch carry no ``op`` and are not counted;
* a query or scan execution is run through :meth:`Observer.run_call` by ``_query.drive``.

So every operation, sync or async, is recorded exactly once, with the labels of the original
client (namespace, set, operation name, error type) and, when tracing is on, one client span
named like the original's (``PUT test.users``) whose parent is the caller's current span.
"""

from __future__ import annotations

import sys
import time
from bisect import bisect_left
from collections.abc import Awaitable, Callable
from typing import Any

from . import _metrics as M
from .exception import AerospikeError, AerospikeTimeoutError, BackpressureError, ClusterError, InvalidArgError

_perf = time.monotonic  # the executors' clock: the sync one takes our start as its own
_LOCK = M.LOCK
_BOUNDS = M.OP_BUCKETS
_STAGES = M.STAGES

#: ``None`` while nothing observes operations; else the :class:`Observer` in force.
ACTIVE: Observer | None = None

#: The original client's names of server result codes (its core library's ``ResultCode`` names).
RESULT_CODE_TYPES: dict[int, str] = {
    0: "Ok", 1: "ServerError", 2: "KeyNotFoundError", 3: "GenerationError", 4: "ParameterError",
    5: "KeyExistsError", 6: "BinExistsError", 7: "ClusterKeyMismatch", 8: "ServerMemError", 9: "Timeout",
    10: "AlwaysForbidden", 11: "PartitionUnavailable", 12: "BinTypeError", 13: "RecordTooBig",
    14: "KeyBusy", 15: "ScanAbort", 16: "UnsupportedFeature", 17: "BinNotFound", 18: "DeviceOverload",
    19: "KeyMismatch", 20: "InvalidNamespace", 21: "BinNameTooLong", 22: "FailForbidden",
    23: "ElementNotFound", 24: "ElementExists", 25: "EnterpriseOnly", 26: "OpNotApplicable",
    27: "FilteredOut", 28: "LostConflict", 32: "XDRKeyBusy", 50: "QueryEnd", 51: "SecurityNotSupported",
    52: "SecurityNotEnabled", 53: "SecuritySchemeNotSupported", 54: "InvalidCommand", 55: "InvalidField",
    56: "IllegalState", 60: "InvalidUser", 61: "UserAlreadyExists", 62: "InvalidPassword",
    63: "ExpiredPassword", 64: "ForbiddenPassword", 65: "InvalidCredential", 66: "ExpiredSession",
    70: "InvalidRole", 71: "RoleAlreadyExists", 72: "InvalidPrivilege", 73: "InvalidAllowlist",
    74: "QuotasNotEnabled", 75: "InvalidQuota", 80: "NotAuthenticated", 81: "RoleViolation",
    82: "NotAllowlisted", 83: "QuotaExceeded", 100: "UdfBadResponse", 150: "BatchDisabled",
    151: "BatchMaxRequestsExceeded", 152: "BatchQueuesFull", 160: "InvalidGeojson", 200: "IndexFound",
    201: "IndexNotFound", 202: "IndexOom", 203: "IndexNotReadable", 204: "IndexGeneric",
    205: "IndexNameMaxLen", 206: "IndexMaxCount", 210: "QueryAborted", 211: "QueryQueueFull",
    212: "QueryTimeout", 213: "QueryGeneric", 214: "QueryNetioErr", 215: "QueryDuplicate",
}


def error_type(e: BaseException) -> str:
    """The ``error_type`` label (and span ``error.type``) of a failed operation, as the original
    names it: ``Timeout``, ``Connection``, ``InvalidArgument``, ``NoMoreConnections``, the result
    code's name for server errors (``KeyNotFoundError``...), else ``Unknown``."""
    if isinstance(e, AerospikeError):
        code = e.code
        if isinstance(e, AerospikeTimeoutError):
            return "Timeout"
        if isinstance(e, ClusterError):
            return "Connection" if code == -10 else "InvalidNode"
        if isinstance(e, InvalidArgError):
            return "InvalidArgument"
        if isinstance(e, BackpressureError) or code == -7:
            return "NoMoreConnections"
        if code >= 0:
            return RESULT_CODE_TYPES.get(code, f"Unknown({code})")
        return "Unknown"
    if isinstance(e, (TypeError, ValueError)):
        return "InvalidArgument"
    return "Unknown"


def status_name(e: BaseException) -> str | None:
    """``db.response.status_code`` of a server error (its result code's name), else ``None``."""
    code = getattr(e, "code", -1)
    if isinstance(e, AerospikeError) and code > 0 and not isinstance(e, AerospikeTimeoutError):
        return RESULT_CODE_TYPES.get(code, f"Unknown({code})")
    return None


# --------------------------------------------------------------------------- series

#: Whether series updates take :data:`_metrics.LOCK`. CPython 3.11+ with the GIL never switches
#: threads inside ``s[i] += 1`` on a list of ints and floats (no eval-breaker check between those
#: instructions, no Python code in them), so there the hot path updates without the lock.
NEED_LOCK = sys.version_info < (3, 11) or not getattr(sys, "_is_gil_enabled", lambda: True)()
_FIRST = _BOUNDS[0]


def ok_series(op: str, space: Any) -> list[Any]:
    """The series of successful ``op`` on ``space`` (cached on the KeySpace)."""
    s = space.series[op] = M.OPERATIONS.series_for(("aerospike", space.namespace, space.set_name, op, ""))
    return s


def add_sample(s: list[Any], dt: float) -> None:
    """One sample of ``dt`` seconds in series ``s``."""
    i = 0 if dt <= _FIRST else bisect_left(_BOUNDS, dt)
    if NEED_LOCK:
        with _LOCK:
            s[i] += 1
            s[-1] += dt
    else:
        s[i] += 1
        s[-1] += dt


def record(op: str, namespace: str, set_name: str, seconds: float, error: BaseException | None) -> None:
    """One sample of ``db_client_operation_duration_seconds`` (the general path)."""
    M.OPERATIONS.observe(("aerospike", namespace, set_name, op, "" if error is None else error_type(error)),
                         seconds)


def sample_success(cmd: Any, seconds: float) -> None:
    """The sample of a single-record command that succeeded (its series cached on its KeySpace)."""
    space = cmd.key.space
    add_sample(space.series.get(cmd.op) or ok_series(cmd.op, space), seconds)


def sample_failure(cmd: Any, seconds: float, error: BaseException) -> None:
    """The sample of a single-record command that failed (labelled with the error's type)."""
    space = cmd.key.space
    record(cmd.op, space.namespace, space.set_name, seconds, error)


def record_stage(stage: str, op: str, seconds: float) -> None:
    """One sample of ``db_client_internal_stage_seconds`` (call only when stages are enabled)."""
    _STAGES.observe((stage, op), seconds)


def forget() -> None:
    """Zero every recorded sample (series stay, so cached references remain valid)."""
    M.reset()


# --------------------------------------------------------------------------- observer


class Observer:
    """Records what :data:`ACTIVE` observes: metrics when ``metrics``, spans when ``tracer``."""

    __slots__ = ("metrics", "tracer", "sample_only")

    def __init__(self, metrics: bool, tracer: Any) -> None:
        self.metrics = metrics
        self.tracer = tracer
        #: Metrics without tracing: the sync executor times single-record commands itself.
        self.sample_only = metrics and tracer is None

    # ---- single-record commands

    def run_sync(self, executor: Any, cmd: Any, target: Any) -> Any:
        """``executor.run(cmd, target)``, timed and traced (with metrics alone, the sync executor
        takes the sample itself: :func:`sample_success`, :func:`sample_failure`)."""
        space = cmd.key.space
        span = self._span(cmd.op, space.namespace, space.set_name, executor.cluster, cmd, target)
        t0 = _perf()
        try:
            result = executor.run(cmd, target, t0)
        except BaseException as e:
            self._end(span, cmd.op, space, _perf() - t0, e)
            raise
        self._end(span, cmd.op, space, _perf() - t0, None)
        return result

    def run_async(self, executor: Any, cmd: Any) -> Awaitable[Any]:
        """``executor.submit(cmd)`` (sent now, as without observation), timed when awaited."""
        space = cmd.key.space
        span = self._span(cmd.op, space.namespace, space.set_name, executor.cluster, cmd, None) \
            if self.tracer is not None else None
        t0 = _perf()
        try:
            pending = executor.submit(cmd, True)
        except BaseException as e:
            self._end(span, cmd.op, space, _perf() - t0, e)
            raise
        return self._await(pending, span, cmd.op, space, t0)

    async def _await(self, pending: Awaitable[Any], span: Any, op: str, space: Any, t0: float) -> Any:
        try:
            result = await pending
        except BaseException as e:
            self._end(span, op, space, _perf() - t0, e)
            raise
        if span is None and self.metrics:  # the common case, without the call to _end
            add_sample(space.series.get(op) or ok_series(op, space), _perf() - t0)
        else:
            self._end(span, op, space, _perf() - t0, None)
        return result

    # ---- batches

    def run_batch(self, is_async: bool, op: str, first_key: Any, cluster: Any, start: Callable[[], Any]) -> Any:
        """``start()`` (a batch call: its result, or its coroutine when ``is_async``), timed."""
        space = first_key[0] if first_key is not None else None
        ns, set_name = (space.namespace, space.set_name) if space is not None else ("", "")
        return self.run_call(is_async, op, ns, set_name, cluster, start)

    def run_call(self, is_async: bool, op: str, ns: str, set_name: str, cluster: Any, start: Callable[[], Any],
                 stopped: Callable[[], bool] | None = None) -> Any:
        """``start()`` (a multi-command call: its result, or its awaitable when ``is_async``), timed
        and traced as one operation. An error raised once ``stopped()`` is true (the caller gave up
        on a query's records) counts as a success."""
        span = self._span(op, ns, set_name, cluster, None, None) if self.tracer is not None else None
        t0 = _perf()
        try:
            out = start()
        except BaseException as e:
            self._end_batch(span, op, ns, set_name, t0, None if stopped is not None and stopped() else e)
            raise
        if not is_async:
            self._end_batch(span, op, ns, set_name, t0, None)
            return out
        return self._await_batch(out, span, op, ns, set_name, t0, stopped)

    async def _await_batch(self, pending: Any, span: Any, op: str, ns: str, set_name: str, t0: float,
                           stopped: Callable[[], bool] | None = None) -> Any:
        try:
            result = await pending if hasattr(pending, "__await__") else pending
        except BaseException as e:
            self._end_batch(span, op, ns, set_name, t0, None if stopped is not None and stopped() else e)
            raise
        self._end_batch(span, op, ns, set_name, t0, None)
        return result

    def _end_batch(self, span: Any, op: str, ns: str, set_name: str, t0: float, error: BaseException | None) -> None:
        dt = _perf() - t0
        if self.metrics:
            record(op, ns, set_name, dt, error)
            if M.stages_enabled and op == "batch_read":  # as the original: stages of batch reads only
                record_stage("io", op, dt)
        if span is not None:
            _finish_span(span, error)

    # ---- shared

    def _end(self, span: Any, op: str, space: Any, seconds: float, error: BaseException | None) -> None:
        if self.metrics:
            if error is None:
                add_sample(space.series.get(op) or ok_series(op, space), seconds)
            else:
                record(op, space.namespace, space.set_name, seconds, error)
        if span is not None:
            _finish_span(span, error)

    def _span(self, op: str, ns: str, set_name: str, cluster: Any, cmd: Any, target: Any) -> Any:
        """A started client span for one operation, child of the current span (or ``None``)."""
        tracer = self.tracer
        if tracer is None:
            return None
        from . import _tracing

        return _tracing.start_span(tracer, op, ns, set_name, cluster, cmd, target)


def _finish_span(span: Any, error: BaseException | None) -> None:
    from . import _tracing

    _tracing.end_span(span, error)


def refresh() -> None:
    """Recompute :data:`ACTIVE` from the metrics flag and the tracer in force."""
    global ACTIVE
    from . import _tracing

    tracer = _tracing.TRACER
    ACTIVE = Observer(M.enabled, tracer) if (M.enabled or tracer is not None) else None


def stage_timer() -> Callable[[], float] | None:
    """A clock while internal stages are recorded, else ``None`` (callers skip timing)."""
    return _perf if M.stages_enabled and M.enabled else None


ACTIVE = Observer(True, None) if M.enabled else None

__all__ = ["ACTIVE", "Observer", "error_type", "record", "record_stage", "refresh", "stage_timer", "forget", "NEED_LOCK"]
