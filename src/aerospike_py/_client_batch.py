"""Batch operations of Client and AsyncClient (written once, like the single-record ones)."""

from __future__ import annotations


class BatchMixin:
    """batch_read / batch_write / batch_operate / batch_remove (see the batch issue)."""
