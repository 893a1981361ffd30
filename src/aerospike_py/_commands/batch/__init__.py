"""Batch commands: the batch-index protocol (one message, field 41), written once for sync and async.

Four jobs, one module each: :mod:`.request` (keys, per-record heads, the batch message),
:mod:`.reply` (reply frames -> the call's result slots), :mod:`.steps` (commands per node, node and
write retries, as steps the facades drive) and :mod:`.results` (slots -> public result types).
"""

from .reply import layout_key, parse_batch
from .request import NO_RESPONSE, BatchCommand, BatchState, Slot, parse_keys, read_head, write_head
from .results import (
    BatchReadHandle,
    BatchWriteRecords,
    handle_result,
    records_result,
    to_batch_records,
    write_result,
)
from .steps import Step, batch_steps, mark_doubt

__all__ = [
    "NO_RESPONSE", "BatchCommand", "BatchReadHandle", "BatchState", "BatchWriteRecords", "Step", "batch_steps",
    "handle_result", "layout_key", "mark_doubt", "parse_batch", "parse_keys", "read_head", "records_result", "Slot",
    "to_batch_records", "write_head", "write_result",
]
