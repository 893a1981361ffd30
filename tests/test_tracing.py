"""OpenTelemetry spans: names and attributes like the original's, parents across asyncio tasks and
threads, error status, the kill switches, and nothing at all while tracing is off."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

import aerospike_py
from aerospike_py import _observe, _tracing

pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    aerospike_py.init_tracing(tracer_provider=provider)
    yield exporter, provider.get_tracer("test")
    aerospike_py.shutdown_tracing()


@pytest.fixture
def set_name() -> str:
    return "obs_" + uuid.uuid4().hex[:10]


def ours(exporter: InMemorySpanExporter) -> list:
    return [s for s in exporter.get_finished_spans() if s.instrumentation_scope.name == "aerospike-py"]


def test_one_client_span_per_operation(client, server, spans, set_name):
    exporter, _ = spans
    key = ("test", set_name, "k")
    client.put(key, {"a": 1})
    client.get(key)
    client.remove(key)
    client.batch_read([key])
    got = ours(exporter)
    assert [s.name for s in got] == [f"PUT test.{set_name}", f"GET test.{set_name}", f"DELETE test.{set_name}",
                                     f"BATCH_READ test.{set_name}"]
    put = got[0]
    assert put.kind == SpanKind.CLIENT
    node = client.get_node_names()[0]
    host, port = server.config["hosts"][0]
    assert dict(put.attributes) == {
        "db.system.name": "aerospike", "db.namespace": "test", "db.collection.name": set_name,
        "db.operation.name": "PUT", "server.address": host, "server.port": port, "db.aerospike.node": node,
    }
    assert all(s.status.status_code == StatusCode.UNSET for s in got)


def test_errors_mark_the_span(client, spans, set_name):
    exporter, _ = spans
    with pytest.raises(aerospike_py.RecordNotFound):
        client.get(("test", set_name, "nope"))
    (span,) = ours(exporter)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "KeyNotFoundError"
    assert span.attributes["db.response.status_code"] == "KeyNotFoundError"


def test_timeout_span(client, server, spans, set_name):
    exporter, _ = spans
    server.inject_fault("stall", count=1)
    with pytest.raises(aerospike_py.AerospikeTimeoutError):
        client.get(("test", set_name, "k"), policy={"total_timeout": 50, "socket_timeout": 50, "max_retries": 0})
    (span,) = ours(exporter)
    assert span.attributes["error.type"] == "Timeout"
    assert "db.response.status_code" not in span.attributes
    assert span.status.status_code == StatusCode.ERROR


def test_parent_is_the_callers_span_in_threads(client, spans, set_name):
    exporter, tracer = spans
    parents = {}

    def work(i: int) -> None:
        with tracer.start_as_current_span(f"job{i}") as parent:
            parents[i] = parent.get_span_context().span_id
            client.put(("test", set_name, i), {"a": i})

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = ours(exporter)
    assert len(got) == 4
    jobs = {s.span_id: s for s in (x.context for x in exporter.get_finished_spans())}
    assert {s.parent.span_id for s in got} == set(parents.values())
    assert all(s.parent.span_id in jobs for s in got)


def test_parent_is_the_callers_span_across_gather(server, spans, set_name):
    exporter, tracer = spans

    async def job(c, i: int) -> int:
        with tracer.start_as_current_span(f"job{i}") as parent:
            await c.put(("test", set_name, i), {"a": i})
            await c.get(("test", set_name, i))
            return parent.get_span_context().span_id

    async def main() -> list[int]:
        c = await aerospike_py.async_client(server.config).connect()
        try:
            with tracer.start_as_current_span("root"):
                ids = await asyncio.gather(*(job(c, i) for i in range(5)))
                await c.batch_read([("test", set_name, i) for i in range(5)])
            return ids
        finally:
            await c.close()

    ids = asyncio.run(main())
    got = ours(exporter)
    by_parent: dict[int, list[str]] = {}
    for s in got:
        by_parent.setdefault(s.parent.span_id, []).append(s.name.split()[0])
    for i in ids:
        assert sorted(by_parent[i]) == ["GET", "PUT"]
    root = next(s for s in exporter.get_finished_spans() if s.name == "root")
    assert by_parent[root.context.span_id] == ["BATCH_READ"]
    assert len({s.context.trace_id for s in exporter.get_finished_spans()}) == 1


def test_no_spans_when_off(client, set_name):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    aerospike_py.init_tracing(tracer_provider=provider)
    aerospike_py.shutdown_tracing()
    aerospike_py.shutdown_tracing()  # idempotent
    assert _tracing.TRACER is None
    assert _observe.ACTIVE is None or _observe.ACTIVE.tracer is None
    client.put(("test", set_name, "k"), {"a": 1})
    assert exporter.get_finished_spans() == ()


@pytest.mark.parametrize("var, value", [("OTEL_SDK_DISABLED", "true"), ("OTEL_TRACES_EXPORTER", "none")])
def test_kill_switches(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    aerospike_py.init_tracing()
    assert _tracing.TRACER is None
    aerospike_py.shutdown_tracing()


def test_init_without_an_exporter_leaves_tracing_off(monkeypatch, caplog):
    monkeypatch.setattr(_tracing, "_otlp_exporter", lambda: None)
    aerospike_py.init_tracing()
    assert _tracing.TRACER is None
    assert "OTLP exporter" in caplog.text


def test_init_with_otlp_env_builds_a_provider(monkeypatch):
    made = []

    class FakeExporter:
        def export(self, spans):
            made.extend(spans)
            from opentelemetry.sdk.trace.export import SpanExportResult

            return SpanExportResult.SUCCESS

        def shutdown(self):
            pass

        def force_flush(self, timeout_millis: int = 0) -> bool:
            return True

    monkeypatch.setenv("OTEL_SERVICE_NAME", "svc-obs")
    monkeypatch.setattr(_tracing, "_otlp_exporter", lambda: FakeExporter())
    aerospike_py.init_tracing()
    try:
        aerospike_py.init_tracing()  # idempotent: the same tracer stays
        assert _tracing.TRACER is not None
        assert _tracing._PROVIDER.resource.attributes["service.name"] == "svc-obs"
        with _tracing.TRACER.start_as_current_span("x"):
            pass
    finally:
        aerospike_py.shutdown_tracing()  # flushes the batch processor
    assert [s.name for s in made] == ["x"]
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_one_span_per_query_or_scan(client, server, spans, set_name):
    exporter, tracer = spans
    for i in range(3):
        client.put(("test", set_name, i), {"a": i})
    exporter.clear()
    with tracer.start_as_current_span("caller") as caller:
        client.query("test", set_name).results()
        client.query("test", set_name).foreach(lambda r: None)  # records read in a query thread
        list(client.scan("test", set_name).iterate())
    got = ours(exporter)
    assert [s.name for s in got] == [f"QUERY test.{set_name}"] * 3
    assert all(s.parent.span_id == caller.get_span_context().span_id for s in got)
    host, port = server.config["hosts"][0]
    assert dict(got[0].attributes) == {
        "db.system.name": "aerospike", "db.namespace": "test", "db.collection.name": set_name,
        "db.operation.name": "QUERY", "server.address": host, "server.port": port,
    }
    assert all(s.status.status_code == StatusCode.UNSET for s in got)
    exporter.clear()
    server.inject_fault("stall", count=1)
    with pytest.raises(aerospike_py.AerospikeTimeoutError):
        client.query("test", set_name).results({"total_timeout": 100, "socket_timeout": 100, "max_retries": 0})
    (span,) = ours(exporter)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "Timeout"


def test_async_query_spans(server, spans, set_name):
    exporter, tracer = spans

    async def main() -> int:
        c = await aerospike_py.async_client(server.config).connect()
        try:
            await c.put(("test", set_name, 1), {"a": 1})
            with tracer.start_as_current_span("caller") as caller:
                await c.query("test", set_name).results()
                await c.query("test", set_name).foreach(lambda r: None)
                assert len([r async for r in c.scan("test", set_name).iterate()]) == 1
                with pytest.raises(aerospike_py.AerospikeError):
                    await c.query("nsnotthere", set_name).results()
            return caller.get_span_context().span_id
        finally:
            await c.close()

    caller = asyncio.run(main())
    got = [s for s in ours(exporter) if s.name.startswith("QUERY")]
    assert [s.name for s in got] == [f"QUERY test.{set_name}"] * 3 + [f"QUERY nsnotthere.{set_name}"]
    assert {s.parent.span_id for s in got} == {caller}
    assert got[-1].status.status_code == StatusCode.ERROR
    assert got[-1].attributes["error.type"] == "InvalidNamespace"
