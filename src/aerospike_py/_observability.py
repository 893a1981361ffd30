"""The module-level observability functions: log level, metrics, the metrics HTTP server, tracing.

Names, signatures and defaults are the original client's (``aerospike_py.set_log_level``,
``get_metrics``, ``start_metrics_server`` ...). Recording itself lives in :mod:`._observe`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import _metrics as M
from . import _observe
from ._logging import get_logger
from ._tracing import init_tracing, shutdown_tracing

log = get_logger("aerospike_py")

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

#: ``LOG_LEVEL_*`` -> Python logging level (OFF is above CRITICAL).
LEVELS: dict[int, int] = {
    -1: logging.CRITICAL + 1,
    0: logging.ERROR,
    1: logging.WARNING,
    2: logging.INFO,
    3: logging.DEBUG,
    4: TRACE,
}
#: The loggers the original sets (its native targets included, so user configuration carries over).
_LOGGER_NAMES = ("aerospike_py", "_aerospike", "aerospike_core", "aerospike")


def set_log_level(level: int) -> None:
    """Set the level of the ``aerospike_py`` loggers from a ``LOG_LEVEL_*`` constant (-1 .. 4).

    ``ValueError`` for anything else. The loggers are ``aerospike_py`` and its children, one per
    module (``aerospike_py._net.cluster``: connections and tending, ``aerospike_py._net.sync_executor``
    and ``..async_executor``: retries ...).
    """
    if isinstance(level, bool) or level not in LEVELS:
        raise ValueError(
            f"Invalid log level: {level!r}; expected a LOG_LEVEL_* constant: LOG_LEVEL_OFF (-1), "
            "LOG_LEVEL_ERROR (0), LOG_LEVEL_WARN (1), LOG_LEVEL_INFO (2), LOG_LEVEL_DEBUG (3), LOG_LEVEL_TRACE (4)"
        )
    py_level = LEVELS[level]
    for name in _LOGGER_NAMES:
        logging.getLogger(name).setLevel(py_level)


def dropped_log_count() -> int:
    """Log records that could not be handed to ``logging`` (the original counts native log lines
    dropped when the GIL was unavailable). Every record of this client is logged from Python, so
    this counts only records lost while the interpreter shuts down."""
    return _dropped[0]


_dropped = [0]


# --------------------------------------------------------------------------- metrics


def get_metrics() -> str:
    """Collected metrics in the Prometheus text format (HELP/TYPE lines always, ``# EOF`` last)."""
    return M.exposition()


def set_metrics_enabled(enabled: bool) -> None:
    """Record operation durations or not (default: on). Off, an operation pays one test."""
    M.enabled = bool(enabled)
    _observe.refresh()


def is_metrics_enabled() -> bool:
    """Whether operation durations are recorded."""
    return M.enabled


def set_internal_stage_metrics_enabled(enabled: bool) -> None:
    """Record ``db_client_internal_stage_seconds`` (batch stages) or not (default: off, or the
    env ``AEROSPIKE_PY_INTERNAL_METRICS`` = 1/true/yes/on at import)."""
    M.stages_enabled = bool(enabled)


def is_internal_stage_metrics_enabled() -> bool:
    """Whether internal stage durations are recorded."""
    return M.stages_enabled


@contextmanager
def internal_stage_profiling() -> Iterator[None]:
    """Record internal stages inside the block; the previous setting comes back on exit."""
    prev = M.stages_enabled
    M.stages_enabled = True
    try:
        yield
    finally:
        M.stages_enabled = prev


def register_prometheus_collector(registry: Any = None) -> Any:
    """Report these metrics through ``prometheus_client`` too (beyond the original's API).

    Registers a collector in ``registry`` (default: ``prometheus_client.REGISTRY``) and returns it,
    so ``generate_latest(registry)`` includes them; do not also concatenate :func:`get_metrics`
    then (the families would appear twice).
    """
    if registry is None:
        from prometheus_client import REGISTRY as registry  # noqa: N811
    c = M.collector()
    registry.register(c)
    return c


# --------------------------------------------------------------------------- metrics server

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_server: ThreadingHTTPServer | None = None
_thread: threading.Thread | None = None
_server_lock = threading.Lock()


class _MetricsHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.split("?", 1)[0] != "/metrics":
            self.send_error(404)
            return
        body = M.exposition().encode()
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("metrics server: " + format, *args)


def _stop(server: ThreadingHTTPServer, thread: threading.Thread | None) -> None:
    server.shutdown()
    server.server_close()
    if thread is not None:
        thread.join(timeout=5)


def start_metrics_server(port: int = 9464) -> None:
    """Serve ``GET /metrics`` (404 for anything else) on ``port`` from a daemon thread.

    Calling it again moves the server: same port, the old one is closed first; another port, the
    new one is bound first and a failed bind (``OSError``) keeps the old one running.
    """
    global _server, _thread
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an int in 0..65535, got {port!r}")
    with _server_lock:
        old, old_thread = _server, _thread
        if old is not None and old.server_address[1] == port:
            _server = _thread = None
            _stop(old, old_thread)
            old = old_thread = None
        server = ThreadingHTTPServer(("", port), _MetricsHandler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="aerospike_py-metrics",
                                  daemon=True)
        thread.start()
        if old is not None:
            _stop(old, old_thread)
        _server, _thread = server, thread
    log.info("metrics server listening on port %d", server.server_address[1])


def stop_metrics_server() -> None:
    """Stop the metrics server (idempotent)."""
    global _server, _thread
    with _server_lock:
        server, thread, _server, _thread = _server, _thread, None, None
        if server is not None:
            _stop(server, thread)


def metrics_server_port() -> int | None:
    """The port the metrics server listens on (``None``: not running); useful after port 0."""
    server = _server
    return None if server is None else server.server_address[1]


__all__ = [
    "set_log_level", "dropped_log_count", "get_metrics", "set_metrics_enabled", "is_metrics_enabled",
    "set_internal_stage_metrics_enabled", "is_internal_stage_metrics_enabled", "internal_stage_profiling",
    "start_metrics_server", "stop_metrics_server", "init_tracing", "shutdown_tracing",
    "register_prometheus_collector", "metrics_server_port",
]
