"""What a server operation handler works on: the record being built, and the handler signature.

A handler gets the :class:`OpContext` and the wire op; it returns the result particle
``(particle_type, bytes)``, ``None`` (a nil result) or :data:`NO_RESULT`, or raises ``ResultError``.
The table of handlers by wire op type is :data:`aerospike_py.server.ops.OP_HANDLERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._wire.message import WireOp
from .storage import StoredRecord


class OpContext:
    """The record an operate command works on, with the facts handlers may need."""

    __slots__ = ("record", "exists", "namespace", "clock", "deleted", "touched", "server", "flags", "created")

    def __init__(self, record: StoredRecord, exists: bool, namespace: Any, clock: Any, server: Any = None,
                 flags: int = 0) -> None:
        self.record: StoredRecord = record
        self.exists: bool = exists
        self.namespace: Any = namespace
        self.clock: Any = clock
        self.server: Any = server
        self.deleted: bool = False
        self.touched: bool = False
        self.flags: int = flags
        self.created: bool = not exists

    @property
    def bins(self) -> dict[str, tuple[int, bytes]]:
        return self.record.bins


#: What a handler returns for an op that puts no bin at all in the reply (not even a nil one).
NO_RESULT: tuple[int, bytes] = (-1, b"no result")  # compared by identity

OpHandler = Callable[[OpContext, WireOp], "tuple[int, bytes] | None"]
