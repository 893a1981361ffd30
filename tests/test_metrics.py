"""Prometheus metrics: names, labels and buckets after real operations, the text format, the
metrics HTTP server, the switches, and one sample per operation (sync, async, batches)."""

from __future__ import annotations

import asyncio
import http.client
import os
import subprocess
import sys
import uuid

import pytest

import aerospike_py
from aerospike_py import _observe

prom_parser = pytest.importorskip("prometheus_client.parser")

OP = "db_client_operation_duration_seconds"


def families(text: str) -> dict:
    return {f.name: f for f in prom_parser.text_string_to_metric_families(text)}


def samples(set_name: str, op: str | None = None, error: str | None = None) -> dict[tuple, float]:
    """``{(sample name, op, error_type, le): value}`` of the operation histogram for one set."""
    out = {}
    fam = families(aerospike_py.get_metrics())[OP]
    for s in fam.samples:
        lb = s.labels
        if lb["db_collection_name"] != set_name:
            continue
        if (op is not None and lb["db_operation_name"] != op) or (error is not None and lb["error_type"] != error):
            continue
        out[(s.name, lb["db_operation_name"], lb["error_type"], lb.get("le"))] = s.value
    return out


def count(set_name: str, op: str, error: str = "") -> float:
    return samples(set_name, op, error).get((OP + "_count", op, error, None), 0)


@pytest.fixture
def set_name() -> str:
    return "obs_" + uuid.uuid4().hex[:10]


@pytest.fixture(autouse=True)
def metrics_on():
    aerospike_py.set_metrics_enabled(True)
    yield
    aerospike_py.set_metrics_enabled(True)
    aerospike_py.set_internal_stage_metrics_enabled(False)


def test_text_always_has_both_families_and_ends_with_eof():
    text = aerospike_py.get_metrics()
    assert "# HELP db_client_operation_duration_seconds " in text
    assert "# TYPE db_client_operation_duration_seconds histogram" in text
    assert "# TYPE db_client_internal_stage_seconds histogram" in text
    assert text.endswith("# EOF\n")
    assert set(families(text)) >= {OP, "db_client_internal_stage_seconds"}


def test_operations_are_labelled_like_the_original(client, set_name):
    key = ("test", set_name, "k")
    client.put(key, {"a": 1})
    client.get(key)
    client.get(key)
    client.select(key, ["a"])
    client.exists(("test", set_name, "missing"))  # not found is a success for exists
    client.touch(key)
    client.append(key, "s", "x")
    client.prepend(key, "s", "y")
    client.increment(key, "a", 1)
    client.operate(key, [{"op": aerospike_py.OPERATOR_READ, "bin": "a"}])
    client.operate_ordered(key, [{"op": aerospike_py.OPERATOR_READ, "bin": "a"}])
    client.remove_bin(key, ["s"])
    client.remove(key)
    got = {(op, n) for (name, op, err, le), n in samples(set_name).items() if name == OP + "_count"}
    assert got == {("put", 1), ("get", 2), ("select", 1), ("exists", 1), ("touch", 1), ("append", 1),
                   ("prepend", 1), ("increment", 1), ("operate", 1), ("operate_ordered", 1),
                   ("remove_bin", 1), ("delete", 1)}
    fam = families(aerospike_py.get_metrics())[OP]
    s = next(s for s in fam.samples if s.labels.get("db_collection_name") == set_name)
    assert s.labels["db_system_name"] == "aerospike"
    assert s.labels["db_namespace"] == "test"


def test_buckets_are_cumulative_and_match_the_count(client, set_name):
    key = ("test", set_name, "k")
    for _ in range(5):
        client.put(key, {"a": 1})
    got = samples(set_name, "put", "")
    les = ["0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1.0", "5.0", "10.0", "+Inf"]
    values = [got[(OP + "_bucket", "put", "", le)] for le in les]
    assert values == sorted(values)
    assert values[-1] == got[(OP + "_count", "put", "", None)] == 5
    assert 0 < got[(OP + "_sum", "put", "", None)] < 10


def test_error_types(client, server, set_name):
    key = ("test", set_name, "k")
    client.put(key, {"a": 1})
    with pytest.raises(aerospike_py.RecordNotFound):
        client.get(("test", set_name, "nope"))
    with pytest.raises(aerospike_py.RecordGenerationError):
        client.put(key, {"a": 2}, meta={"gen": 99}, policy={"gen": aerospike_py.POLICY_GEN_EQ})
    with pytest.raises(aerospike_py.RecordExistsError):
        client.put(key, {"a": 2}, policy={"exists": aerospike_py.POLICY_EXISTS_CREATE_ONLY})
    with pytest.raises(aerospike_py.BinTypeError):
        client.append(key, "a", "x")
    server.inject_fault("stall", count=1)
    with pytest.raises(aerospike_py.AerospikeTimeoutError):
        client.get(key, policy={"total_timeout": 50, "socket_timeout": 50, "max_retries": 0})
    assert count(set_name, "get", "KeyNotFoundError") == 1
    assert count(set_name, "put", "GenerationError") == 1
    assert count(set_name, "put", "KeyExistsError") == 1
    assert count(set_name, "append", "BinTypeError") == 1
    assert count(set_name, "get", "Timeout") == 1
    assert count(set_name, "put", "") == 1


def test_sync_general_path_counts_once(client, server, set_name):
    """Sync commands off the pooled fast path (no idle connection, a retry after a dropped
    connection, a failure after retries) are each one sample, labelled by their outcome."""
    key = ("test", set_name, "k")
    client.put(key, {"a": 1})
    for node in client._cluster.nodes.values():
        while node.idle:
            node.close_connection(node.idle.pop())
    assert client.get(key).bins == {"a": 1}  # no idle connection: the general path
    server.inject_fault("drop", count=1)
    assert client.get(key, policy={"max_retries": 2}).bins == {"a": 1}  # fails once, then retried
    server.inject_fault("drop", count=3)
    with pytest.raises(aerospike_py.AerospikeError):
        client.get(key, policy={"max_retries": 1, "sleep_between_retries": 0})
    with pytest.raises(aerospike_py.RecordNotFound):  # a server error on the fast path
        client.get(("test", set_name, "nope"))
    got = {(op, err): n for (name, op, err, le), n in samples(set_name).items() if name == OP + "_count"}
    failed = {k: n for k, n in got.items() if k[0] == "get" and k[1] not in ("", "KeyNotFoundError")}
    assert got[("put", "")] == 1
    assert got[("get", "")] == 2
    assert got[("get", "KeyNotFoundError")] == 1
    assert sum(failed.values()) == 1, got


def test_disabled_records_nothing(client, set_name):
    aerospike_py.set_metrics_enabled(False)
    assert not aerospike_py.is_metrics_enabled()
    assert _observe.ACTIVE is None or _observe.ACTIVE.tracer is not None
    key = ("test", set_name, "k")
    client.put(key, {"a": 1})
    client.get(key)
    client.batch_read([key])
    assert samples(set_name) == {}
    aerospike_py.set_metrics_enabled(True)
    client.get(key)
    assert count(set_name, "get") == 1


def test_async_operations_count_once(server, set_name):
    async def main() -> None:
        c = await aerospike_py.async_client(server.config).connect()
        try:
            keys = [("test", set_name, i) for i in range(20)]
            await asyncio.gather(*(c.put(k, {"a": 1}) for k in keys))
            await asyncio.gather(*(c.get(k) for k in keys))
            with pytest.raises(aerospike_py.RecordNotFound):
                await c.get(("test", set_name, "nope"))
            await c.batch_read(keys)
            await c.batch_write([(k, {"b": 2}) for k in keys])
        finally:
            await c.close()

    asyncio.run(main())
    assert count(set_name, "put") == 20
    assert count(set_name, "get") == 20
    assert count(set_name, "get", "KeyNotFoundError") == 1
    assert count(set_name, "batch_read") == 1
    assert count(set_name, "batch_write") == 1


def test_batches_count_once_on_a_cluster(set_name):
    from aerospike_py.server import EmbeddedCluster

    with EmbeddedCluster(nodes=3, replication_factor=1) as cl:
        c = aerospike_py.client(cl.config).connect()
        try:
            keys = [("test", set_name, i) for i in range(60)]
            c.batch_write([(k, {"a": i}) for i, k in enumerate(keys)])
            c.batch_read(keys)
            c.batch_read(keys, ["a"])
            c.batch_operate(keys, [{"op": aerospike_py.OPERATOR_READ, "bin": "a"}])
            c.batch_remove(keys)
            assert len({n for n in c.get_node_names()}) == 3
        finally:
            c.close()
    assert count(set_name, "batch_write") == 1
    assert count(set_name, "batch_read") == 2
    assert count(set_name, "batch_operate") == 1
    assert count(set_name, "batch_remove") == 1


def test_concatenates_with_prometheus_client_output(client, set_name):
    prometheus_client = pytest.importorskip("prometheus_client")
    registry = prometheus_client.CollectorRegistry()
    prometheus_client.Counter("app_requests", "Requests.", registry=registry).inc()
    client.put(("test", set_name, "k"), {"a": 1})
    text = aerospike_py.get_metrics() + prometheus_client.generate_latest(registry).decode()
    fams = families(text)
    assert OP in fams and "app_requests" in fams


def test_register_into_a_prometheus_client_registry(client, set_name):
    prometheus_client = pytest.importorskip("prometheus_client")
    registry = prometheus_client.CollectorRegistry()
    aerospike_py.register_prometheus_collector(registry)
    client.put(("test", set_name, "k"), {"a": 1})
    text = prometheus_client.generate_latest(registry).decode()
    fam = families(text)[OP]
    counts = [s for s in fam.samples if s.name == OP + "_count" and s.labels["db_collection_name"] == set_name]
    assert [(s.labels["db_operation_name"], s.value) for s in counts] == [("put", 1)]


def test_internal_stages_opt_in(client, set_name):
    keys = [("test", set_name, i) for i in range(3)]
    client.batch_write([(k, {"a": 1}) for k in keys])
    assert not aerospike_py.is_internal_stage_metrics_enabled()

    def stage_counts() -> dict[str, float]:
        fam = families(aerospike_py.get_metrics())["db_client_internal_stage_seconds"]
        return {s.labels["stage"]: s.value for s in fam.samples
                if s.name.endswith("_count") and s.labels["db_operation_name"] == "batch_read"}

    before = stage_counts()
    client.batch_read(keys)
    assert stage_counts() == before
    with aerospike_py.internal_stage_profiling():
        assert aerospike_py.is_internal_stage_metrics_enabled()
        client.batch_read(keys)
        client.batch_write([(k, {"a": 2}) for k in keys])  # only batch reads have stages (original)
        client.query("test", set_name).results()
    assert not aerospike_py.is_internal_stage_metrics_enabled()
    fam = families(aerospike_py.get_metrics())["db_client_internal_stage_seconds"]
    assert {s.labels["db_operation_name"] for s in fam.samples} <= {"batch_read"}
    after = stage_counts()
    for stage in ("key_parse", "io"):
        assert after[stage] == before.get(stage, 0) + 1
    aerospike_py.set_internal_stage_metrics_enabled(True)
    assert aerospike_py.is_internal_stage_metrics_enabled()


@pytest.mark.parametrize("value, expected", [("1", True), ("yes", True), ("ON", True), ("true", True), ("0", False),
                                             ("", False), ("no", False)])
def test_internal_stage_env_values(monkeypatch, value, expected):
    from aerospike_py import _metrics

    monkeypatch.setenv("AEROSPIKE_PY_INTERNAL_METRICS", value)
    assert _metrics._env_flag("AEROSPIKE_PY_INTERNAL_METRICS") is expected


def test_internal_stage_env_sets_the_initial_state():
    env = dict(os.environ, AEROSPIKE_PY_INTERNAL_METRICS="1")
    code = "import aerospike_py; print(aerospike_py.is_internal_stage_metrics_enabled())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


# --------------------------------------------------------------------------- metrics server


def _get(port: int, path: str, method: str = "GET") -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, r.getheader("Content-Type") or "", r.read()
    finally:
        conn.close()


def test_metrics_server_serves_only_get_metrics(client, set_name):
    client.put(("test", set_name, "k"), {"a": 1})
    aerospike_py.start_metrics_server(0)
    try:
        port = aerospike_py.metrics_server_port()
        assert port
        status, ctype, body = _get(port, "/metrics")
        assert status == 200
        assert ctype == "text/plain; version=0.0.4; charset=utf-8"
        assert set_name in body.decode() and OP in families(body.decode())
        assert _get(port, "/")[0] == 404
        assert _get(port, "/metrics/x")[0] == 404
        assert _get(port, "/metrics", "POST")[0] in (404, 405, 501)
    finally:
        aerospike_py.stop_metrics_server()
    assert aerospike_py.metrics_server_port() is None
    aerospike_py.stop_metrics_server()  # idempotent


def test_metrics_server_restart_same_and_other_port():
    aerospike_py.start_metrics_server(0)
    try:
        port = aerospike_py.metrics_server_port()
        aerospike_py.start_metrics_server(port)  # same port: the old socket is released first
        assert aerospike_py.metrics_server_port() == port
        assert _get(port, "/metrics")[0] == 200
        aerospike_py.start_metrics_server(0)  # another port: the new one replaces it
        new = aerospike_py.metrics_server_port()
        assert new != port
        assert _get(new, "/metrics")[0] == 200
        with pytest.raises(OSError):
            _get(port, "/metrics")
        # A failed bind keeps the running server.
        import socket

        blocker = socket.socket()
        blocker.bind(("", 0))
        blocker.listen()
        try:
            with pytest.raises(OSError):
                aerospike_py.start_metrics_server(blocker.getsockname()[1])
        finally:
            blocker.close()
        assert aerospike_py.metrics_server_port() == new
        assert _get(new, "/metrics")[0] == 200
    finally:
        aerospike_py.stop_metrics_server()


def test_start_metrics_server_checks_the_port():
    with pytest.raises(ValueError):
        aerospike_py.start_metrics_server(-1)
    with pytest.raises(ValueError):
        aerospike_py.start_metrics_server("9464")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- text format


def test_any_label_value_round_trips_through_the_prometheus_parser():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from aerospike_py import _metrics

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.tuples(st.text(max_size=12), st.floats(0, 100, allow_nan=False)), min_size=1, max_size=5))
    def check(obs: list[tuple[str, float]]) -> None:
        fam = _metrics.Family("x_seconds", 'Help with "quotes" and \\ backslash.', ("set", "op"), (0.5, 1.0))
        for value, dt in obs:
            fam.observe((value, "get"), dt)
        text = "\n".join(_metrics.family_lines(fam)) + "\n"
        (parsed,) = prom_parser.text_string_to_metric_families(text)
        counts = {s.labels["set"]: s.value for s in parsed.samples if s.name == "x_seconds_count"}
        expected: dict[str, int] = {}
        for value, _ in obs:
            expected[value] = expected.get(value, 0) + 1
        assert counts == expected
        for s in parsed.samples:
            if s.name == "x_seconds_bucket" and s.labels["le"] == "+Inf":
                assert s.value == expected[s.labels["set"]]

    check()


def test_queries_and_scans_count_once_each(client, server, set_name):
    for i in range(5):
        client.put(("test", set_name, i), {"a": i})
    base = count(set_name, "query")
    assert len(client.query("test", set_name).results()) == 5
    seen = []
    client.query("test", set_name).foreach(seen.append)
    client.query("test", set_name).foreach(lambda r: False)  # the consumer stops: still a success
    with client.query("test", set_name).iterate() as it:
        assert len(list(it)) == 5
    it = client.query("test", set_name).iterate({"record_queue_size": 1})
    next(it)
    it.close()
    it._thread.join(10)  # the sample is taken when the query's thread ends
    assert len(client.scan("test", set_name).results()) == 5
    client.query("test", set_name).execute_background(
        [{"op": aerospike_py.OPERATOR_WRITE, "bin": "b", "val": 1}])
    assert len(seen) == 5
    assert count(set_name, "query") - base == 7
    assert {k[2] for k in samples(set_name, "query")} == {""}
    server.inject_fault("stall", count=1)
    with pytest.raises(aerospike_py.AerospikeTimeoutError):
        client.query("test", set_name).results({"total_timeout": 100, "socket_timeout": 100, "max_retries": 0})
    assert count(set_name, "query", "Timeout") == 1
    with pytest.raises(aerospike_py.AerospikeError):
        client.query("nsnotthere", set_name).results()
    got = [s for s in families(aerospike_py.get_metrics())[OP].samples
           if s.name == OP + "_count" and s.labels["db_namespace"] == "nsnotthere"]
    assert [(s.labels["db_operation_name"], s.labels["error_type"], s.value) for s in got] == [
        ("query", "InvalidNamespace", 1)]
    with pytest.raises(TypeError):
        client.query("test", set_name).results({"total_timeout": "x"})  # bad input: never sent, not counted
    assert sum(v for (n, *_), v in samples(set_name, "query").items() if n == OP + "_count") == base + 9


def test_disabled_records_no_query(client, set_name):
    client.put(("test", set_name, 1), {"a": 1})
    aerospike_py.set_metrics_enabled(False)
    client.query("test", set_name).results()
    list(client.query("test", set_name).iterate())
    aerospike_py.set_metrics_enabled(True)
    assert count(set_name, "query") == 0


def test_async_queries_count_once_each(server, set_name):
    N = 300

    async def main() -> None:
        c = await aerospike_py.async_client(server.config).connect()
        try:
            # enough records that the query is still running when its consumer stops
            await asyncio.gather(*(c.put(("test", set_name, i), {"a": i}) for i in range(N)))
            assert len(await c.query("test", set_name).results()) == N
            await c.query("test", set_name).foreach(lambda r: None)
            await c.query("test", set_name).foreach(lambda r: False)
            got = [r async for r in c.query("test", set_name).iterate()]
            assert len(got) == N
            stream = c.query("test", set_name).iterate({"record_queue_size": 1})
            await stream.__anext__()
            await stream.aclose()  # cancelled by the consumer: a success
            assert len(await c.scan("test", set_name).results()) == N
            await c.query("test", set_name).execute_background(
                [{"op": aerospike_py.OPERATOR_WRITE, "bin": "b", "val": 1}])
            server.inject_fault("stall", count=1)
            with pytest.raises(aerospike_py.AerospikeTimeoutError):
                await c.query("test", set_name).results(
                    {"total_timeout": 100, "socket_timeout": 100, "max_retries": 0})
        finally:
            await c.close()

    asyncio.run(main())
    assert count(set_name, "query") == 7
    assert count(set_name, "query", "Timeout") == 1
    assert {k[2] for k in samples(set_name, "query")} == {"", "Timeout"}


def test_udf_apply_is_not_recorded_batch_apply_is(client, set_name):
    """As the original: ``apply`` has no sample, ``batch_apply`` one per call."""
    pytest.importorskip("lupa")
    from pathlib import Path

    client.udf_put(str(Path(__file__).parent / "udf" / "udf_lib.lua"))
    try:
        key = ("test", set_name, 1)
        client.put(key, {"a": 1})
        assert client.apply(key, "udf_lib", "echo", [7]) == 7
        client.batch_apply([key, ("test", set_name, 2)], "udf_lib", "echo", [7])
    finally:
        client.udf_remove("udf_lib")
    assert {k[1] for k in samples(set_name)} == {"put", "batch_apply"}
    assert count(set_name, "batch_apply") == 1
