"""The command object shared by every operation, and reply helpers."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from typing import Any

from .._wire.expiry import ttl_of
from .._wire.message import MSG_HEADER
from ..exception import _error_from_result_code
from ..types import RecordMetadata

_unpack_header = MSG_HEADER.unpack_from
_time = time.time
_tuple_new = tuple.__new__


#: Returned by the parser of a streaming command while more frames are expected.
MORE = object()


class Command:
    """What to send, where to send it, and how to read the answer.

    ``key`` routes the command (``None``: any node). ``parse(cmd, body, node_name)`` turns the
    reply body into the result. Multi-frame commands (batch, scan/query) set ``stream = True``:
    their parser is called with each frame body in turn and returns :data:`MORE` until the last;
    the async connection carrying a stream sets ``conn`` to itself (for flow control).
    ``op`` names a public single-record operation (``"get"``, ``"delete"``...): the executors
    record metrics and spans of commands that have one (see :mod:`aerospike_py._observe`).
    """

    __slots__ = ("key", "request", "is_write", "parse", "policy", "extra", "stream", "op", "conn")

    def __init__(
        self,
        key: Any,
        request: bytes,
        is_write: bool,
        parse: Callable[[Command, Any, str], Any],
        policy: Any,
        extra: Any = None,
        op: str | None = None,
    ) -> None:
        self.key = key
        self.request = request
        self.is_write = is_write
        self.parse = parse
        self.policy = policy
        self.extra = extra
        self.stream = False
        self.op = op


class OffLoop:
    """A step's ``combine`` that may run long (an aggregation's client-side Lua stages): the sync
    client calls it in place, the async one in the event loop's default executor (a thread), so
    the loop keeps serving other work meanwhile (see ``_async_client._run_many``)."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[list[Any]], Any]) -> None:
        self.fn = fn

    def __call__(self, results: list[Any]) -> Any:
        return self.fn(results)


class EncodedOp:
    """A wire operation plus what the reply will carry for it."""

    __slots__ = ("data", "wire_op", "bin", "is_write", "has_result", "respond_all", "post")

    def __init__(self, data: bytes, wire_op: int, bin_name: str, is_write: bool, has_result: bool,
                 respond_all: bool = False) -> None:
        self.data = data
        self.wire_op = wire_op
        self.bin = bin_name
        self.is_write = is_write
        #: The server answers with a value for this op even without RESPOND_ALL_OPS.
        self.has_result = has_result
        #: The op needs RESPOND_ALL_OPS (map, bit, HLL, expression ops as real clients send them).
        self.respond_all = respond_all
        #: Turns this op's reply value into its public form (e.g. map key/value pairs), or None.
        self.post: Callable[[Any], Any] | None = None


#: Encodes one operation dict (``{"op": code, ...}``) into an :class:`EncodedOp`.
OpEncoder = Callable[[dict[str, Any]], EncodedOp]


def meta_of(generation: int, void_time: int) -> RecordMetadata:
    """The public metadata of a record with ``generation`` and ``void_time``, now."""
    return _tuple_new(RecordMetadata, (generation, ttl_of(void_time, _time())))


def raise_for(cmd: Command, code: int, node: str) -> None:
    """Raise the exception mapped to a server result code for this command."""
    key = cmd.key
    what = f"key {key!r}" if key is not None else "command"
    raise _error_from_result_code(
        code, f"{what} on node {node}", node=node, key=None if key is None else key.to_public()
    )


class _GcPause:
    """Pauses of the cyclic GC while many records (dicts and tuples, none in cycles) are built, so
    that its passes do not run over them again and again.

    Pauses nest and overlap across threads: the GC is disabled by the first pause only if it was
    enabled then, and enabled again when the last one ends, so the user's setting is restored
    exactly (a GC the user turned off stays off). Only the library's own parsing runs inside a
    pause (no user callbacks).
    """

    __slots__ = ("_lock", "_depth", "_resume")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._resume = gc.isenabled()
                if self._resume:
                    gc.disable()
            self._depth += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._resume:
                self._resume = False
                gc.enable()


#: The one GC pause of the library (see :class:`_GcPause`).
gc_paused = _GcPause()


def parse_frame_sparing_gc(parse: Callable[[Any, Any, str], Any], cmd: Any, body: Any, node: str) -> Any:
    """``parse(cmd, body, node)``; a big frame is parsed inside :data:`gc_paused`."""
    if len(body) < 32768 or not gc.isenabled():
        return parse(cmd, body, node)
    with gc_paused:
        return parse(cmd, body, node)
