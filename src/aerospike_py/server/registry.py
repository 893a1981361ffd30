"""Every handler of the embedded server in one place (besides the operation handlers, whose table
is the literal :data:`aerospike_py.server.ops.OP_HANDLERS`).

The message kinds (batch, scan/query, UDF) and the info commands that modules beyond the core
answer are listed here; :func:`install` puts them in the dispatch tables
(:data:`.handler.MESSAGE_HANDLERS`, :data:`.info.INFO_HANDLERS`). Every :class:`.node.ServerNode`
calls it when it is made, so what a server answers does not depend on which modules happen to
have been imported. A new message kind or info command: its handler in its module, one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import batch, cluster, query, sindex, udf
from .handler import MESSAGE_HANDLERS, Frames
from .info import INFO_HANDLERS

#: Handlers of the message kinds beyond single-record commands (see ``handler.handle_message``).
MESSAGES: dict[str, Callable[..., Frames]] = {
    "batch": batch.handle_batch,
    "scan": query.handle_query,  # scans and queries
    "udf": udf.handle_udf,
    "query_udf": udf.handle_query_udf,
}

#: Info commands answered beyond the core ones of ``info.answer``: ``(server, params) -> str``.
INFO: dict[str, Callable[[Any, dict[str, str]], str]] = {
    "rack-ids": cluster.info_rack_ids,
    "racks": cluster.info_racks,
    "rebalance-generation": cluster.info_rebalance_generation,
    "query-show": query.info_query_show,
    "query-abort": query.info_query_abort,
    "query-abort-all": query.info_query_abort_all,
    "sindex-create": sindex.sindex_create,
    "sindex-delete": sindex.sindex_delete,
    "sindex-stat": sindex.sindex_stat,
    "sindex-exists": sindex.sindex_exists,
    "sindex-list": sindex.sindex_list,
    "sindex": sindex.sindex_legacy,
    "udf-put": udf.info_udf_put,
    "udf-remove": udf.info_udf_remove,
    "udf-list": udf.info_udf_list,
    "udf-get": udf.info_udf_get,
}


def install() -> None:
    """Fill the server's dispatch tables (idempotent)."""
    MESSAGE_HANDLERS.update(MESSAGES)
    INFO_HANDLERS.update(INFO)
