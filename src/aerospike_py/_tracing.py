"""OpenTelemetry spans of operations (optional: ``pip install 'aerospike-purepy[otel]'``).

:func:`init_tracing` sets the tracer that :mod:`._observe` uses; nothing of OpenTelemetry is
imported before it is called, and while no tracer is set no span work is done. Configuration is
the standard one: ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` turn it off,
``OTEL_SERVICE_NAME`` names the service (default ``aerospike-py``), and the OTLP exporter reads
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``..._PROTOCOL``
(``grpc``, the default, or ``http/protobuf``) and the other ``OTEL_EXPORTER_OTLP_*`` variables.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from ._logging import get_logger

log = get_logger(__name__)

#: The tracer in force (``None``: tracing is off).
TRACER: Any = None
_PROVIDER: Any = None  # a provider this module made (shut down by shutdown_tracing)
_LOCK = threading.Lock()
_API: Any = None  # (SpanKind.CLIENT, Status, StatusCode) once imported


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() == "true"


def _otlp_exporter() -> Any:
    """The OTLP span exporter chosen by ``OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL`` (None if absent)."""
    proto = (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
             or "grpc").strip().lower()
    try:
        if proto.startswith("http"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        else:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    except ImportError:
        return None
    return OTLPSpanExporter()


def init_tracing(tracer_provider: Any = None) -> None:
    """Start tracing operations (idempotent, thread-safe).

    With ``tracer_provider`` (an OpenTelemetry ``TracerProvider``) spans go to it. Otherwise an
    SDK provider is made with a batch processor and an OTLP exporter configured by the standard
    ``OTEL_*`` variables. ``OTEL_SDK_DISABLED=true`` / ``OTEL_TRACES_EXPORTER=none`` leave tracing
    off; a missing ``opentelemetry`` package or exporter logs a warning and leaves it off.
    """
    global TRACER, _PROVIDER, _API
    from . import __version__, _observe

    with _LOCK:
        if tracer_provider is None:
            if TRACER is not None:
                return
            if _env_true("OTEL_SDK_DISABLED"):
                log.info("tracing disabled by OTEL_SDK_DISABLED")
                return
            if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
                log.info("tracing disabled by OTEL_TRACES_EXPORTER=none")
                return
        try:
            from opentelemetry.trace import SpanKind, Status, StatusCode
        except ImportError:
            log.warning("tracing needs opentelemetry-api and -sdk: pip install 'aerospike-purepy[otel]'")
            return
        _API = (SpanKind.CLIENT, Status, StatusCode)
        provider = tracer_provider
        if provider is None:
            try:
                from opentelemetry.sdk.resources import SERVICE_NAME, Resource
                from opentelemetry.sdk.trace import TracerProvider
                from opentelemetry.sdk.trace.export import BatchSpanProcessor
            except ImportError:
                log.warning("tracing needs opentelemetry-sdk: pip install 'aerospike-purepy[otel]'")
                return
            exporter = _otlp_exporter()
            if exporter is None:
                log.warning("tracing needs an OTLP exporter: pip install opentelemetry-exporter-otlp")
                return
            provider = TracerProvider(resource=Resource.create(
                {SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or "aerospike-py"}))
            provider.add_span_processor(BatchSpanProcessor(exporter))
            _PROVIDER = provider
        TRACER = provider.get_tracer("aerospike-py", __version__)
        log.info("tracing initialised")
    _observe.refresh()


def shutdown_tracing() -> None:
    """Stop tracing; a provider made by :func:`init_tracing` is flushed and shut down. Idempotent."""
    global TRACER, _PROVIDER
    from . import _observe

    with _LOCK:
        provider, _PROVIDER = _PROVIDER, None
        TRACER = None
    _observe.refresh()
    if provider is not None:
        try:
            provider.shutdown()
        except Exception as e:  # noqa: BLE001 - a failing exporter must not break the caller
            log.warning("tracer provider shutdown failed: %s", e)


def start_span(tracer: Any, op: str, ns: str, set_name: str, cluster: Any, cmd: Any, target: Any) -> Any:
    """A client span ``"<OP> <ns>.<set>"`` with the database attributes, parent: the current span."""
    op_upper = op.upper()
    attrs: dict[str, Any] = {
        "db.system.name": "aerospike",
        "db.namespace": ns,
        "db.collection.name": set_name,
        "db.operation.name": op_upper,
    }
    node = None
    if cmd is not None:
        try:
            from ._net.common import choose_node

            node = choose_node(cluster, cmd, target, 0)
        except Exception:  # noqa: BLE001 - no node yet: the operation will say why
            node = None
    if node is not None:
        attrs["server.address"] = node.host
        attrs["server.port"] = node.port
        attrs["db.aerospike.node"] = node.name
    elif cluster is not None and cluster.seeds:
        attrs["server.address"], attrs["server.port"] = cluster.seeds[0]
    if cluster is not None and cluster.cluster_name:
        attrs["db.aerospike.cluster_name"] = cluster.cluster_name
    return tracer.start_span(f"{op_upper} {ns}.{set_name}", kind=_API[0], attributes=attrs)


def end_span(span: Any, error: BaseException | None) -> None:
    """Mark a failed operation's span (``error.type``, status code, ERROR status) and end it."""
    if error is not None:
        from ._observe import error_type, status_name

        span.set_attribute("error.type", error_type(error))
        status = status_name(error)
        if status is not None:
            span.set_attribute("db.response.status_code", status)
        node = getattr(error, "node", None)
        if node:
            span.set_attribute("db.aerospike.node", node)
        span.set_status(_API[1](_API[2].ERROR, str(error)))
    span.end()


__all__ = ["init_tracing", "shutdown_tracing", "TRACER"]
