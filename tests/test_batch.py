"""Batch commands end to end on the embedded server, golden request bytes from the official
client's trace, and the official client's batch calls against the embedded server."""

from __future__ import annotations

import json
from typing import Any

import pytest

import aerospike_py
from _paths import TRACES, require
from aerospike_py import exception as ex
from aerospike_py._client_batch import BatchMixin
from aerospike_py._commands import batch as B
from aerospike_py._commands.keys import parse_key
from aerospike_py.server.batch import fail_records
from aerospike_py.types import BatchRecord, BatchRecords, BatchRetryInfo

NS, SET = "test", "bt"
NEVER = 0xFFFFFFFF
INCR = {"op": aerospike_py.OPERATOR_INCR, "bin": "i", "val": 100}
READ_I = {"op": aerospike_py.OPERATOR_READ, "bin": "i"}
TRACE = (TRACES / "official-batch.jsonl")


def k(i: Any, s: str = SET) -> tuple:
    return (NS, s, i)


def fill(client: Any, n: int, s: str = SET) -> list[tuple]:
    keys = [k(i, s) for i in range(n)]
    res = client.batch_write([(key, {"i": key[2], "s": f"v{key[2]}"}) for key in keys])
    assert [br.result for br in res.batch_records] == [0] * n
    return keys


# --------------------------------------------------------------------------- batch_read


def test_read_mixed_present_and_missing_in_key_order(client):
    fill(client, 5)
    keys = [k(4), k(100), k(0), k(101), k(2)]
    res = client.batch_read(keys)
    assert isinstance(res, BatchRecords)
    recs = res.batch_records
    assert [br.key.user_key for br in recs] == [4, 100, 0, 101, 2]
    assert [br.result for br in recs] == [0, 2, 0, 2, 0]
    assert recs[1].record is None and recs[1].in_doubt is False
    assert recs[0].record.bins == {"i": 4, "s": "v4"}
    assert recs[0].record.meta == (1, NEVER)
    assert recs[0].key.digest == recs[0].record.key.digest and len(recs[0].key.digest) == 20


def test_read_selected_bins_and_existence_only(client):
    fill(client, 3)
    keys = [k(0), k(9), k(2)]
    sel = client.batch_read(keys, ["s"]).batch_records
    assert [br.record.bins if br.record else None for br in sel] == [{"s": "v0"}, None, {"s": "v2"}]
    meta = client.batch_read(keys, []).batch_records
    assert [br.result for br in meta] == [0, 2, 0]
    assert meta[0].record.bins == {} and meta[0].record.meta.gen == 1


def test_read_duplicate_keys_each_answered(client):
    fill(client, 2)
    recs = client.batch_read([k(1), k(1), k(7), k(1)]).batch_records
    assert [br.result for br in recs] == [0, 0, 2, 0]
    assert all(br.record.bins["i"] == 1 for br in recs if br.result == 0)


def test_read_mixed_sets_and_namespaces(client):
    client.put(("bar", "x", "a"), {"v": 1})
    client.put(k("a", "other"), {"v": 2})
    recs = client.batch_read([("bar", "x", "a"), k("a", "other"), k("a")]).batch_records
    assert [br.record.bins["v"] if br.record else br.result for br in recs] == [1, 2, 2]


def test_5000_keys_write_read_remove(client):
    keys = [k(i) for i in range(5000)]
    slow_ok = {"total_timeout": 60000, "socket_timeout": 60000}  # a loaded CI machine is slow
    w = client.batch_write([(key, {"n": key[2]}) for key in keys], policy=slow_ok)
    assert sum(br.result == 0 for br in w.batch_records) == 5000
    recs = client.batch_read(keys, policy=slow_ok).batch_records
    assert [br.record.bins["n"] for br in recs] == list(range(5000))
    r = client.batch_remove(keys[::2], policy=slow_ok)
    assert {br.result for br in r.batch_records} == {0}
    after = client.batch_read(keys[:4]).batch_records
    assert [br.result for br in after] == [2, 0, 2, 0]


@pytest.mark.parametrize("concurrency", [aerospike_py.BATCH_CONCURRENCY_SEQUENTIAL,
                                         aerospike_py.BATCH_CONCURRENCY_PARALLEL])
def test_concurrency_modes(client, concurrency):
    fill(client, 3)
    recs = client.batch_read([k(0), k(2)], policy={"concurrency": concurrency}).batch_records
    assert [br.record.bins["i"] for br in recs] == [0, 2]


def test_empty_key_lists(client):
    assert client.batch_read([]) == BatchRecords([])
    assert client.batch_write([]).batch_records == []
    assert client.batch_operate([], [READ_I]).batch_records == []
    assert client.batch_remove([]).batch_records == []


def test_policy_fields_accepted(client):
    fill(client, 1)
    policy = {"allow_inline": False, "allow_inline_ssd": True, "respond_all_keys": False, "max_retries": 0,
              "total_timeout": 2000, "socket_timeout": 1000, "read_touch_ttl_percent": 50,
              "read_mode_ap": aerospike_py.POLICY_READ_MODE_AP_ALL, "replica": aerospike_py.POLICY_REPLICA_MASTER}
    recs = client.batch_read([k(0), k(5)], policy=policy).batch_records
    assert [br.result for br in recs] == [0, 2]


def test_filter_expression_per_record(client):
    pytest.importorskip("aerospike_py.server.expressions")
    exp = pytest.importorskip("aerospike_py.exp")
    fill(client, 4)
    f = exp.ge(exp.int_bin("i"), exp.int_val(2))
    recs = client.batch_read([k(i) for i in range(5)], policy={"filter_expression": f}).batch_records
    assert [br.result for br in recs] == [27, 27, 0, 0, 2]


# --------------------------------------------------------------------------- batch_write


def test_write_per_record_meta_and_results(client, server):
    client.put(k("old"), {"i": 0})
    records = [
        (k("a"), {"i": 1}),
        (k("b"), {"i": 2}, {"ttl": 100}),
        (k("old"), {"i": 3}, {"gen": 5}),  # generation mismatch
        (k("old"), {"i": 4}, {"exists": aerospike_py.POLICY_EXISTS_CREATE_ONLY}),  # exists
        (k("c"), {"i": 5}, {"key": aerospike_py.POLICY_KEY_SEND, "exists": aerospike_py.POLICY_EXISTS_CREATE_ONLY}),
        (k("old"), {"i": 6}, {"gen": 1}),
    ]
    res = client.batch_write(records)
    assert [br.result for br in res.batch_records] == [0, 0, 3, 5, 0, 0]
    assert res.batch_records[0].record.bins == {"i": None}  # the server answers each write op
    assert res.batch_records[2].record is None
    assert 95 <= client.get(k("b")).meta.ttl <= 100
    assert client.get(k("old")).bins == {"i": 6} and client.get(k("old")).meta.gen == 2
    assert client.get(k("c")).bins == {"i": 5}


def test_write_record_meta_beats_batch_policy(client):
    client.put(k("x"), {"i": 0})
    policy = {"exists": aerospike_py.POLICY_EXISTS_CREATE_ONLY, "ttl": 500}
    res = client.batch_write([
        (k("x"), {"i": 1}),  # batch-level CREATE_ONLY: fails
        (k("x"), {"i": 2}, {"exists": aerospike_py.POLICY_EXISTS_IGNORE, "ttl": 50}),  # meta wins
        (k("new"), {"i": 3}),
    ], policy=policy)
    assert [br.result for br in res.batch_records] == [5, 0, 0]
    assert 45 <= client.get(k("x")).meta.ttl <= 50
    assert 495 <= client.get(k("new")).meta.ttl <= 500


def test_write_gen_asymmetry(client):
    client.put(k("g"), {"i": 0})
    client.put(k("g"), {"i": 1})  # generation 2
    # Batch-level gen is the POLICY_GEN enum; a record's gen is the generation value it compares.
    res = client.batch_write([(k("g"), {"i": 2}, {"gen": 3}), (k("g"), {"i": 3}, {"gen": 3})],
                             policy={"gen": aerospike_py.POLICY_GEN_GT})
    assert [br.result for br in res.batch_records] == [0, 3]  # 3 > 2 applies; then 3 > 3 does not
    res = client.batch_write([(k("g"), {"i": 4}, {"gen": 3}), (k("g"), {"i": 5}, {"gen": 3})])
    assert [br.result for br in res.batch_records] == [0, 3]  # a record gen alone means EQ
    res = client.batch_write([(k("g"), {"i": 6})], policy={"gen": aerospike_py.POLICY_GEN_EQ})
    assert res.batch_records[0].result == 3  # EQ with no expected value compares with 0
    assert client.get(k("g")).bins == {"i": 4}


def test_write_update_only_fails_per_record(client):
    client.put(k("u"), {"i": 0})
    res = client.batch_write([(k("u"), {"i": 1}), (k("nope"), {"i": 1})],
                             policy={"exists": aerospike_py.POLICY_EXISTS_UPDATE_ONLY})
    assert [br.result for br in res.batch_records] == [0, 2]


def test_write_in_doubt_when_connection_drops(client, server):
    server.inject_fault("drop")
    res = client.batch_write([(k(1), {"i": 1}), (k(2), {"i": 2})], policy={"max_retries": 0})
    assert all(br.in_doubt for br in res.batch_records)
    assert all(br.result != 0 and br.record is None for br in res.batch_records)


def test_read_raises_when_connection_drops(client, server):
    server.inject_fault("drop")
    with pytest.raises(ex.AerospikeError) as e:
        client.batch_read([k(1)], policy={"max_retries": 0})
    assert not e.value.in_doubt


def test_respond_all_keys_off_does_not_stop_writes(client):
    # As the real server: a failed write entry does not end the batch (reads do, see below).
    client.put(k(1), {"i": 0})
    res = client.batch_write(
        [(k(0), {"i": 1}), (k(1), {"i": 1}), (k(2), {"i": 1})],
        policy={"respond_all_keys": False, "exists": aerospike_py.POLICY_EXISTS_CREATE_ONLY},
    )
    assert [br.result for br in res.batch_records] == [0, 5, 0]
    assert client.exists(k(2)).meta is not None


def test_respond_all_keys_off_stops_reads_at_first_error(client):
    client.put(k(0), {"l": 1})
    client.put(k(1), {"l": [1]})
    with pytest.raises(ex.BinTypeError):
        client.batch_operate([k(0), k(1)], [aerospike_py.list_operations.list_size("l")],
                             policy={"respond_all_keys": False})


# --------------------------------------------------------------------------- batch_operate / remove


def test_operate_last_result_per_bin_and_missing_created(client):
    fill(client, 2)
    recs = client.batch_operate([k(0), k(1), k("m")], [INCR, READ_I]).batch_records
    assert [br.record.bins for br in recs] == [{"i": 100}, {"i": 101}, {"i": 100}]
    assert [br.record.meta.gen for br in recs] == [2, 2, 1]


def test_operate_read_only_and_write_only(client):
    fill(client, 2)
    recs = client.batch_operate([k(0), k(5)], [{"op": aerospike_py.OPERATOR_READ, "bin": "s"}]).batch_records
    assert [br.result for br in recs] == [0, 2] and recs[0].record.bins == {"s": "v0"}
    w = client.batch_operate([k(0)], [{"op": aerospike_py.OPERATOR_WRITE, "bin": "z", "val": 9}]).batch_records
    assert w[0].result == 0 and w[0].record.bins == {}
    assert client.get(k(0)).bins["z"] == 9


def test_remove_bare_keys_and_meta(client):
    fill(client, 4)
    res = client.batch_remove([k(0), (k(1), {"gen": 7}), (k(2), {"gen": 1}), k(99),
                               (k(3), {"durable_delete": False, "commit_level": 1})])
    assert [br.result for br in res.batch_records] == [0, 3, 0, 2, 0]
    assert [br.result for br in client.batch_read([k(i) for i in range(4)]).batch_records] == [2, 0, 2, 2]


# --------------------------------------------------------------------------- bad input


@pytest.fixture
def offline():
    return aerospike_py.client({"hosts": [("127.0.0.1", 1)]})  # never connected: errors come first


def test_bad_keys_name_their_index(offline):
    with pytest.raises(ex.InvalidArgError, match=r"keys\[2\]"):
        offline.batch_read([k(1), k(2), ("test",)])
    with pytest.raises(ex.InvalidArgError, match=r"keys\[1\]"):
        offline.batch_remove([k(1), 5])
    with pytest.raises(ex.InvalidArgError, match=r"keys\[0\]"):
        offline.batch_operate([(NS, SET, None)], [READ_I])
    with pytest.raises(ex.InvalidArgError):
        offline.batch_read("not a list")


def test_bad_records(offline):
    with pytest.raises(ex.InvalidArgError, match=r"records\[1\].*got 1"):
        offline.batch_write([(k(1), {"a": 1}), (k(2),)])
    with pytest.raises(ex.InvalidArgError, match=r"records\[0\]"):
        offline.batch_write([(k(1), {"a": 1}, {"ttl": "x"})])
    with pytest.raises(ex.InvalidArgError, match=r"records\[0\]"):
        offline.batch_write([(k(1), {"a": object()})])
    with pytest.raises(ex.InvalidArgError, match=r"records\[0\]"):
        offline.batch_write([((1, 2, 3), {"a": 1})])
    with pytest.raises(ex.InvalidArgError, match="retry"):
        offline.batch_write([], retry=-1)
    with pytest.raises(ex.InvalidArgError, match=r"keys\[0\]"):
        offline.batch_remove([(k(1), {"gen": "5"})])


def test_bad_policies_and_bins(offline):
    with pytest.raises(ValueError, match="concurrency"):
        offline.batch_read([k(1)], policy={"concurrency": 7})
    with pytest.raises(ex.InvalidArgError):
        offline.batch_read([k(1)], policy={"total_timeout": -1})
    with pytest.raises(ex.InvalidArgError):
        offline.batch_read([k(1)], policy={"read_touch_ttl_percent": 101})
    with pytest.raises(ex.InvalidArgError):
        offline.batch_write([(k(1), {"a": 1})], policy={"ttl": -9})
    with pytest.raises(ex.InvalidArgError):
        offline.batch_read([k(1)], bins="a")
    with pytest.raises(ValueError):
        offline.batch_read([k(1)], bins=["x" * 16])
    with pytest.raises(ex.InvalidArgError):
        offline.batch_operate([k(1)], [])
    with pytest.raises(ex.ClientError, match="not connected"):
        offline.batch_read([k(1)])


# --------------------------------------------------------------------------- the async handle


def test_batch_read_handle():
    keys = B.parse_keys([k("a"), k(2), k("c"), (NS, SET, None, b"\x01" * 20)])
    state = B.BatchState(keys)
    state.slots[:] = [B.Slot(0, 1, 0, {"x": 1}, False), B.Slot(2, 0, 0, None, False),
                      B.Slot(0, 3, 0, {"y": 2}, False), B.Slot(0, 1, 0, {"z": 3}, False)]
    h = B.BatchReadHandle(state)
    assert len(h) == 4 and h.found_count() == 3
    assert h.as_dict() == {"a": {"x": 1}, "c": {"y": 2}}  # digest-only and failed records left out
    assert h.keys() == ["a", 2, "c", None]
    recs = h.batch_records
    assert recs is h.batch_records  # converted once
    assert isinstance(h[0], BatchRecord) and h[0].record.bins == {"x": 1}
    assert h[-1].record.meta.gen == 1 and h[-3].result == 2
    assert [br.result for br in h] == [0, 2, 0, 0]


# --------------------------------------------------------------------------- golden bytes


class _Capture(BatchMixin):
    """Builds the commands of a batch call and returns them instead of running them."""

    _defaults: dict[str, Any] = {}

    class _Cluster:
        node_list = ["n1"]

    def _cluster_view(self) -> Any:
        return self._Cluster()

    def _run_many(self, cmds: list[Any], parallel: bool = True, combine: Any = None) -> Any:
        return cmds

    def _drive(self, steps: Any) -> Any:
        return next(steps)[0]  # the commands of the first attempt

    @staticmethod
    def commands_for(client: Any, keys: list) -> list[Any]:
        """The node commands a batch_read of ``keys`` by ``client`` would send now."""
        cap = _Capture()
        cap._cluster_view = client._cluster_view
        return cap.batch_read(keys)


def _trace_requests() -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    for line in require(TRACE).read_text().splitlines():
        o = json.loads(line)
        if o.get("dir") == "c2s" and o.get("type") == 3:
            out.setdefault(o["step"], []).append(bytes.fromhex(o["hex"]))
    return out


@pytest.fixture(scope="module")
def trace() -> dict[str, list[bytes]]:
    if not TRACE.exists():
        pytest.skip("trace files not available")
    return _trace_requests()


def _one(trace: dict[str, list[bytes]], prefix: str) -> bytes:
    (frames,) = [v for s, v in trace.items() if s.startswith(prefix)]
    return frames[0]


TK = [("test", "tv", f"tv-b-{i}") for i in range(10)]
MISSING = [("test", "tv", "tv-b-missing-1"), ("test", "tv", "tv-b-missing-2")]


@pytest.mark.parametrize("prefix,bins", [
    ("batch_read 10 keys + 2 missing, all bins", None),
    ("batch_read 10 keys + 2 missing, bins=['i']", ["i"]),
    ("batch_read 10 keys + 2 missing, bins=[]", []),
])
def test_golden_batch_read(trace, prefix, bins):
    (cmd,) = _Capture().batch_read(TK + MISSING, bins)
    assert cmd.request == _one(trace, prefix)


def test_golden_batch_write(trace):
    records = []
    for i in range(10):
        bins = {"i": i, "s": f"v{i}"}
        if i == 8:
            records.append((TK[i], {"i": i}, {"gen": 5}))
        elif i == 9:
            records.append((TK[i], bins, {"key": aerospike_py.POLICY_KEY_SEND,
                                          "exists": aerospike_py.POLICY_EXISTS_CREATE_ONLY}))
        else:
            records.append((TK[i], bins, {"ttl": 1000 + i}) if i % 3 else (TK[i], bins))
    (cmd,) = _Capture().batch_write(records)
    assert cmd.request == _one(trace, "batch_write 10 Write records")


def test_golden_batch_operate_and_remove(trace):
    (cmd,) = _Capture().batch_operate(TK + MISSING[:1], [INCR, READ_I])
    assert cmd.request == _one(trace, "batch_operate 10 keys + 1 missing")
    (cmd,) = _Capture().batch_operate(TK[:5], [{"op": aerospike_py.OPERATOR_READ, "bin": "s"}])
    assert cmd.request == _one(trace, "batch_operate 5 keys [read s]")
    (cmd,) = _Capture().batch_remove(TK[5:8] + MISSING[:1])
    assert cmd.request == _one(trace, "batch_remove 3 keys + 1 missing")
    keys = [("test", "tv", f"tv-bb-{i}") for i in range(200)]
    (cmd,) = _Capture().batch_write([(key, {"n": i}) for i, key in enumerate(keys)])
    assert cmd.request == _one(trace, "batch_write 200 Write records")


# --------------------------------------------------------------------------- the official client


@pytest.fixture
def official(server):
    aerospike = pytest.importorskip("aerospike")
    c = aerospike.client({"hosts": [(server.host, server.port)], "policies": {"total_timeout": 2000}}).connect()
    yield c
    c.close()


def _official_view(res: Any) -> list[tuple]:
    return [(br.key[2], br.result, br.record[2] if br.result == 0 and br.record else None)
            for br in res.batch_records]


def _our_view(res: Any) -> list[tuple]:
    return [(br.key.user_key, br.result, br.record.bins if br.result == 0 and br.record else None)
            for br in res.batch_records]


@pytest.mark.official
def test_official_batch_write_and_read_agree(client, official):
    from aerospike_helpers.batch import records as br
    from aerospike_helpers.operations import operations as op

    batch = br.BatchRecords([br.Write(k(i), [op.write("i", i), op.write("s", f"v{i}")]) for i in range(5)])
    official.batch_write(batch)
    assert [r.result for r in batch.batch_records] == [0] * 5
    keys = [k(i) for i in range(7)]
    theirs = _official_view(official.batch_read(keys))
    ours = _our_view(client.batch_read(keys))
    assert theirs == ours
    assert [r for _, r, _ in ours] == [0] * 5 + [2, 2]
    theirs_i = _official_view(official.batch_read(keys, ["i"]))
    assert theirs_i == _our_view(client.batch_read(keys, ["i"]))


@pytest.mark.official
def test_official_reads_what_we_batch_write(client, official):
    client.batch_write([(k(i), {"i": i, "l": [1, "a"], "m": {"x": 1.5}}) for i in range(3)])
    theirs = _official_view(official.batch_read([k(i) for i in range(3)]))
    assert theirs == [(i, 0, {"i": i, "l": [1, "a"], "m": {"x": 1.5}}) for i in range(3)]


@pytest.mark.official
def test_official_operate_and_remove_agree(client, official):
    from aerospike_helpers.operations import operations as op

    fill(client, 3)
    keys = [k(0), k(1), k("m")]
    theirs = official.batch_operate(keys, [op.increment("i", 100), op.read("i")])
    assert [(r.result, r.record[2]) for r in theirs.batch_records] == [(0, {"i": 100}), (0, {"i": 101}),
                                                                        (0, {"i": 100})]
    ours = client.batch_operate(keys, [INCR, READ_I])
    assert [(r.result, r.record.bins) for r in ours.batch_records] == [(0, {"i": 200}), (0, {"i": 201}),
                                                                       (0, {"i": 200})]
    removed = official.batch_remove([k(0), k(2)])
    assert [r.result for r in removed.batch_records] == [0, 0]
    assert [r.result for r in client.batch_remove([k(1), k(2)]).batch_records] == [0, 2]
    assert [r.result for r in client.batch_read(keys).batch_records] == [2, 2, 0]


def test_async_client_batch_calls(server):
    import asyncio

    async def scenario() -> tuple:
        c = aerospike_py.AsyncClient(server.config)
        await c.connect()
        try:
            w = await c.batch_write([(k(i), {"i": i}) for i in range(3)])
            h = await c.batch_read([k(0), k(9), k(2)])
            o = await c.batch_operate([k(1)], [INCR, READ_I])
            r = await c.batch_remove([k(0), k(9)])
            return w, h, o, r
        finally:
            await c.close()

    w, h, o, r = asyncio.run(scenario())
    assert [br.result for br in w.batch_records] == [0, 0, 0]
    assert isinstance(h, B.BatchReadHandle)
    assert h.as_dict() == {0: {"i": 0}, 2: {"i": 2}} and h.found_count() == 2 and h[1].result == 2
    assert o.batch_records[0].record.bins == {"i": 101}
    assert [br.result for br in r.batch_records] == [0, 2]


# --------------------------------------------------------------------------- batch_write retry

@pytest.fixture
def tiny_backoff(monkeypatch):
    monkeypatch.setattr(B.steps, "RETRY_BASE", 0.0005)
    monkeypatch.setattr(B.steps, "RETRY_CAP", 0.001)


def _fail(server: Any, keys: list, code: int, times: int) -> None:
    server.call(fail_records, server.node, [parse_key(key).digest for key in keys], code, times)


def test_write_retry_resends_only_transient_failures(client, server, tiny_backoff):
    keys = [k(i) for i in range(6)]
    _fail(server, keys[1:3], 14, 2)  # key busy twice
    _fail(server, keys[4:5], 18, 1)  # device overload once
    res = client.batch_write([(key, {"i": i}) for i, key in enumerate(keys)], retry=3)
    assert isinstance(res, BatchRecords) and [br.result for br in res.batch_records] == [0] * 6
    assert res.retry == BatchRetryInfo(3, 4, False, 0)
    # Each record was written exactly once: nothing answered OK was sent again.
    assert [client.get(key).meta.gen for key in keys] == [1] * 6


def test_write_retry_gives_up_after_n_retries(client, server, tiny_backoff):
    keys = [k(i) for i in range(3)]
    _fail(server, keys[:1], 14, 5)
    _fail(server, keys[2:], 9, 1)  # a timeout once
    res = client.batch_write([(key, {"i": 1}) for key in keys], retry=1)
    assert [br.result for br in res.batch_records] == [14, 0, 0]
    assert res.retry == BatchRetryInfo(2, 2, False, 1)
    assert client.exists(keys[0]).meta is None
    _fail(server, keys[:1], 14, 0)  # clear what is left of the fault


def test_write_without_retry_reports_one_attempt(client, server):
    keys = [k(i) for i in range(2)]
    _fail(server, keys[:1], 14, 1)
    res = client.batch_write([(key, {"i": 1}) for key in keys])
    assert [br.result for br in res.batch_records] == [14, 0]
    assert res.retry == BatchRetryInfo(1, 1, False, 1)
    assert client.batch_write([(keys[0], {"i": 1})]).retry == BatchRetryInfo(1, 1, False, 0)


def test_write_retry_stops_before_total_timeout(client, server, monkeypatch):
    monkeypatch.setattr(B.steps, "RETRY_MIN_LEFT", 60.0)  # more than total_timeout allows: no retry may start
    keys = [k(i) for i in range(2)]
    _fail(server, keys[:1], 14, 1)
    res = client.batch_write([(key, {"i": 1}) for key in keys], {"total_timeout": 5000}, retry=5)
    assert [br.result for br in res.batch_records] == [14, 0]
    assert res.retry == BatchRetryInfo(1, 6, True, 1)


def test_write_retry_backoff_is_full_jitter_capped():
    """The schedule alone (no server): delay n = rand * min(cap, base * 2**(n-1)), capped at 500 ms."""
    keys = B.parse_keys([k(i) for i in range(3)])
    heads = [B.write_head(rk, 0, (0, 0, 0, 0, 0, None), ()) for rk in keys]
    steps = B.batch_steps(_Capture()._cluster_view, B.BatchState(keys), heads, aerospike_py._policy.BATCH.resolve(None),
                          True, None, True, B.write_result, 10, clock=lambda: 0.0, rand=lambda: 0.5)
    delays, sizes = [], []
    step = next(steps)
    with pytest.raises(StopIteration) as stop:
        while True:
            (cmd,), _, combine, delay = step
            delays.append(delay)
            state, indices = cmd.extra
            sizes.append(len(indices))
            for i in indices:  # key 0 keeps failing
                state.slots[i] = B.Slot(14, 0, 0, None, False) if i == 0 else B.Slot(0, 1, 0, None, False)
            step = steps.send(combine([None]))
    assert sizes == [3] + [1] * 10
    assert delays == [0.0] + [0.5 * min(0.5, 0.01 * 2 ** i) for i in range(10)]
    assert stop.value.value.retry == BatchRetryInfo(11, 11, False, 1)


def test_async_write_retry(server, tiny_backoff):
    import asyncio

    keys = [k(i) for i in range(3)]
    _fail(server, keys[1:2], 14, 1)

    async def scenario() -> Any:
        c = aerospike_py.AsyncClient(server.config)
        await c.connect()
        try:
            return await c.batch_write([(key, {"i": 1}) for key in keys], retry=2)
        finally:
            await c.close()

    res = asyncio.run(scenario())
    assert [br.result for br in res.batch_records] == [0, 0, 0]
    assert res.retry == BatchRetryInfo(2, 3, False, 0)


def test_write_retry_bad_value(client):
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ex.InvalidArgError):
            client.batch_write([(k(1), {"i": 1})], retry=bad)


# --------------------------------------------------------------------------- node failure: re-split


def test_retry_after_node_failure_resplits_by_fresh_map():
    """Node 1 stops; the client's map still routes to it (no tend yet). The failed node command's
    records are split again on the retry by the map as it is then (refreshed in between)."""
    from aerospike_py.server import EmbeddedCluster

    with EmbeddedCluster(nodes=3, replication_factor=2) as cluster:
        c = aerospike_py.client({"hosts": cluster.config["hosts"], "tend_interval": 600_000}).connect()
        try:
            keys = [("test", "rs", i) for i in range(60)]
            assert [br.result for br in c.batch_write([(key, {"v": 1}) for key in keys]).batch_records] == [0] * 60
            dead = cluster.nodes[1].node_id
            by_node = {cmd.node.name for cmd in _Capture.commands_for(c, keys)}
            assert dead in by_node  # the stale map sends some keys to node 1
            cluster.stop_node(1)
            views = []
            real_view = c._cluster_view

            def view() -> Any:
                views.append(1)
                if len(views) == 2:  # before the retry is split: the map is refreshed
                    c._cluster.tend()
                return real_view()

            c._cluster_view = view
            policy = {"max_retries": 1, "total_timeout": 5000}
            res = c.batch_write([(key, {"v": 2}) for key in keys], policy)
            assert [br.result for br in res.batch_records] == [0] * 60 and len(views) == 2
            assert [br.record.bins["v"] for br in c.batch_read(keys, policy=policy).batch_records] == [2] * 60
            assert all(cmd.node.name != dead for cmd in _Capture.commands_for(c, keys))
        finally:
            c.close()


def test_node_failure_without_retries_fails_reads_and_marks_writes():
    from aerospike_py.server import EmbeddedCluster

    with EmbeddedCluster(nodes=3, replication_factor=2) as cluster:
        c = aerospike_py.client({"hosts": cluster.config["hosts"], "tend_interval": 600_000}).connect()
        try:
            keys = [("test", "rs", i) for i in range(30)]
            c.batch_write([(key, {"v": 1}) for key in keys])
            on_dead = {key for key in keys if _Capture.commands_for(c, [key])[0].node.name == cluster.nodes[1].node_id}
            cluster.stop_node(1)
            policy = {"max_retries": 0, "total_timeout": 5000}
            with pytest.raises((ex.ClusterError, ex.AerospikeTimeoutError)):
                c.batch_read(keys, policy=policy)
            res = c.batch_write([(key, {"v": 2}) for key in keys], policy)
            failed = {br.key.user_key for br in res.batch_records if br.result != 0}
            assert failed == {key[2] for key in on_dead} and failed
        finally:
            c.close()


# --------------------------------------------------------------------------- fast paths = general paths


def test_parse_keys_memo_loop_matches_parse_key():
    keys = [k(1), k(1), k("1"), k(b"1"), k(2), (NS, "other", 1), k(1), (NS, SET, 3, b"d" * 20)]
    assert B.parse_keys(keys) == [parse_key(key) for key in keys]
    # True and 1.0 hash like the memo's 1 but are no valid keys.
    for bad, idx in (([k(1), k(True)], 1), ([k(1), k(1.0)], 1), ([k(1), k(2), k([1])], 2),
                     ([k(1), ("", SET, 1)], 1)):
        with pytest.raises(ex.InvalidArgError, match=rf"keys\[{idx}\]"):
            B.parse_keys(bad)


def test_runs_of_shapes_read_like_single_gets(client):
    """Blocks of same-shape records (the run path), broken by missing keys, other string lengths
    and extra bins (the general path), in frames of several sizes: each record as ``get`` sees it."""
    keys = [k(i) for i in range(1600)]  # two reply frames
    records = []
    for i, key in enumerate(keys):
        if i % 97 == 5:
            continue  # missing
        bins = {"a": i, "f": i / 2, "s": "x" * (3 if (i // 40) % 2 else 5), "b": b"\x00\x01"}
        if i % 61 == 7:
            bins["extra"] = [i]
        if 300 <= i < 340:
            bins["s"] = "y" * (i % 7)  # every record a different shape
        records.append((key, bins))
    client.batch_write(records)
    got = client.batch_read(keys).batch_records
    for key, br in zip(keys, got, strict=True):
        try:
            want = client.get(key)
        except ex.RecordNotFound:
            assert br.result == 2 and br.record is None
            continue
        assert br.result == 0 and br.record.bins == want.bins and br.record.meta == want.meta, key
    numpy = pytest.importorskip("numpy")
    dt = numpy.dtype([("a", "i8"), ("f", "f8"), ("s", "S6"), ("b", "S2")])
    arr = client.batch_read(keys, _dtype=dt)
    plain = {br.key.user_key: br.record.bins for br in got if br.result == 0}
    assert arr.result_codes.tolist() == [br.result for br in got]
    for i, row in enumerate(arr.batch_records.tolist()):
        b = plain.get(i)
        assert row == ((b["a"], b["f"], b["s"].encode(), b["b"]) if b else (0, 0.0, b"", b""))
