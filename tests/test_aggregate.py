"""Stream UDF aggregation (``Query.apply``): end to end on the embedded server (sync, async, a
3-node cluster), differential against a real server (ours on both, the official client on both),
bad input, and the client's module source (``lua.user_path``, else the server's copy)."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

import aerospike_py
from aerospike_py import exp, predicates
from aerospike_py.exception import AerospikeError, ClientError, InvalidArgError, ServerError, UDFError
from aerospike_py.server import EmbeddedCluster

pytest.importorskip("lupa")

LIB = Path(__file__).parent / "udf" / "stream_lib.lua"
MOD = "stream_lib"
SET = "agg_t"
N = 300


def line_of(function: str) -> int:
    for i, line in enumerate(LIB.read_text().splitlines(), 1):
        if line.startswith(f"function {function}("):
            return i
    raise LookupError(function)


def load(client: Any, set_name: str = SET, n: int = N, lib: Path = LIB) -> None:
    client.udf_put(str(lib))
    for i in range(n):
        client.put(("test", set_name, i), {"n": i, "s": f"v{i}"})


def agg(client: Any, function: str, args: list[Any] | None = None, set_name: str = SET,
        where: Any = None, policy: dict[str, Any] | None = None, module: str = MOD) -> list[Any]:
    q = client.query("test", set_name)
    if where is not None:
        q.where(where)
    q.apply(module, function, args)
    return q.results(policy)


@pytest.fixture
def aclient(client):
    load(client)
    yield client
    client.udf_remove(MOD)


def test_count_sum_average(aclient):
    assert agg(aclient, "count") == [N]
    assert agg(aclient, "sum_bin", ["n"]) == [sum(range(N))]
    assert agg(aclient, "average", ["n"]) == [sum(range(N)) / N]
    assert agg(aclient, "count_above", ["n", 250]) == [50]


def test_no_reduce_gives_every_value(aclient):
    assert sorted(agg(aclient, "above", ["n", 290])) == list(range(290, N))
    assert sorted(agg(aclient, "values_of", ["n"]), key=lambda v: v[0])[:2] == [[0, "0", b""], [1, "1", b""]]
    assert set(agg(aclient, "meta_of")) == {f"{SET}:1"}


def test_group_by(aclient):
    assert agg(aclient, "parity_counts", ["n"]) == [{"even": N // 2, "odd": N // 2}]
    assert agg(aclient, "group_sizes", ["n"]) == [{0: 100, 1: 100, 2: 100}]


def test_args_and_empty_results(aclient):
    arg = {"k": [1, 2.5, b"\x00"], "t": True}
    assert agg(aclient, "args_echo", ["x", arg]) == [["x", arg]]
    assert agg(aclient, "nothing") == []
    assert agg(aclient, "nils") == []
    assert agg(aclient, "count", set_name="agg_no_such_set") == []


def test_aggregate_value_over_1000_is_emitted_early(aclient):
    # Each record's value is >= 1000 at once: emitted, then the aggregation restarts from 0, and
    # each partition ends with that 0 (the real server's stream_ops semantics).
    out = agg(aclient, "big_steps", ["n"])
    assert sorted(v for v in out if v) == [i * 1000 for i in range(1, N)]
    assert 0 in out


def test_errors_carry_the_lua_message(aclient):
    with pytest.raises(UDFError) as e:
        agg(aclient, "fail_map")
    assert e.value.code == 100
    assert e.value.msg == f"UDF: Execution Error 2 : ./stream_lib.lua:{line_of('fail_map')}: boom in map"
    with pytest.raises(UDFError, match=r"boom in reduce"):
        agg(aclient, "fail_reduce")
    with pytest.raises(UDFError, match=r"Execution Error 2 : \./stream_lib\.lua:\d+: boom on the client"):
        agg(aclient, "fail_final")
    with pytest.raises(UDFError, match="Execution Error 2 : function not found"):
        agg(aclient, "no_such_function")
    with pytest.raises(UDFError, match=r"attempt to index a number value \(global 'result'\)"):
        agg(aclient, "not_a_stream")
    q = aclient.query("test", SET)
    q.apply("no_such_module", "count")
    with pytest.raises(UDFError, match="Execution Error 1"):
        q.results()
    # The connection is left clean: the next aggregation works.
    assert agg(aclient, "count") == [N]


def test_foreach_and_iterate(aclient):
    got: list[Any] = []
    q = aclient.query("test", SET)
    q.apply(MOD, "above", ["n", 297])
    q.foreach(got.append)
    assert sorted(got) == [297, 298, 299]
    assert sorted(q.iterate()) == [297, 298, 299]
    first: list[Any] = []
    q.foreach(lambda v: first.append(v) or False)
    assert len(first) == 1


def test_secondary_index_query(aclient):
    aclient.index_integer_create("test", SET, "n", "agg_t_n")
    try:
        assert agg(aclient, "count", where=predicates.between("n", 10, 19)) == [10]
        assert agg(aclient, "sum_bin", ["n"], where=predicates.equals("n", 7)) == [7]
    finally:
        aclient.index_remove("test", "agg_t_n")


def test_bad_input(aclient):
    q = aclient.query("test", SET)
    with pytest.raises(InvalidArgError):
        q.apply(MOD, "count", "not a list")
    with pytest.raises(InvalidArgError):
        q.apply("", "count")
    with pytest.raises(InvalidArgError):
        q.apply(MOD, 5)
    with pytest.raises(InvalidArgError):
        q.apply(MOD, "count", [object()])
    q.apply(MOD, "count")
    with pytest.raises(InvalidArgError, match="filter expression"):  # not an expression: refused here
        q.results({"filter_expression": exp.eq(exp.int_bin("n"), 1)})


def test_filter_expression_refused_by_the_server(aclient):
    """The filter expression goes to the server, as the official client sends it; the server
    refuses it (16, as the real CE 8.1.2 does: see test_filter_expression_same_as_real_server)."""
    q = aclient.query("test", SET)
    q.apply(MOD, "count")
    with pytest.raises(ServerError) as ei:
        q.results({"filter_expression": exp.gt(exp.int_bin("n"), exp.int_val(9))})
    assert ei.value.code == 16
    assert agg(aclient, "count") == [N]  # the connections are fine afterwards


def test_async(server):
    async def main() -> tuple[Any, ...]:
        c = aerospike_py.AsyncClient(server.config)
        await c.connect()
        try:
            await c.udf_put(str(LIB))
            for i in range(20):
                await c.put(("test", SET, i), {"n": i})
            q = c.query("test", SET)
            q.apply(MOD, "sum_bin", ["n"])
            total = await q.results()
            seen: list[Any] = []
            q2 = c.query("test", SET)
            q2.apply(MOD, "above", ["n", 17])
            await q2.foreach(seen.append)
            it = [v async for v in q2.iterate()]
            q3 = c.query("test", SET)
            q3.apply(MOD, "fail_map")
            try:
                await q3.results()
                err = None
            except UDFError as e:
                err = e.msg
            return total, sorted(seen), sorted(it), err
        finally:
            await c.close()

    total, seen, it, err = asyncio.run(main())
    assert total == [sum(range(20))]
    assert seen == it == [17, 18, 19]
    assert err is not None and err.endswith("boom in map")


def test_cluster_each_partition_once():
    with EmbeddedCluster(nodes=3, replication_factor=2) as cluster:
        c = aerospike_py.client(cluster.config).connect()
        try:
            load(c, n=200)
            assert agg(c, "count") == [200]
            assert sorted(agg(c, "above", ["n", 0])) == list(range(200))
        finally:
            c.close()


def test_async_final_stage_runs_off_the_event_loop(server, monkeypatch):
    """The client-side final stages (a reduce that may run long) run in the loop's executor: while
    they run, the loop still serves a coroutine. The patched stage waits for that coroutine's
    signal: run on the loop, it would wait in vain (and fail after its bound)."""
    import threading

    from aerospike_py._commands import aggregate as A

    run_final = A.final_stages
    seen: dict[str, Any] = {}
    signal = threading.Event()

    def final_stages(eng: Any, stages: Any, values: list[Any]) -> list[Any]:
        seen["thread"] = threading.get_ident()
        seen["signalled"] = signal.wait(30)
        return run_final(eng, stages, values)

    monkeypatch.setattr(A, "final_stages", final_stages)

    async def main() -> tuple[Any, ...]:
        c = await aerospike_py.AsyncClient(server.config).connect()
        try:
            await c.udf_put(str(LIB))
            for i in range(20):
                await c.put(("test", SET, i), {"n": i})
            q = c.query("test", SET)
            q.apply(MOD, "sum_bin", ["n"])
            task = asyncio.ensure_future(q.results())
            while "thread" not in seen:  # the final stage has started (the loop turns meanwhile)
                await asyncio.sleep(0)
                if task.done():
                    break
            rec = await c.get(("test", SET, 3))  # served by the loop while the stage runs
            signal.set()
            return await task, rec.bins, threading.get_ident()
        finally:
            await c.close()

    total, bins, loop_thread = asyncio.run(main())
    assert total == [sum(range(20))]
    assert bins == {"n": 3}
    assert seen["signalled"] is True
    assert seen["thread"] != loop_thread


def test_async_cluster_many_records():
    """Every node's values are gathered before the final stage (as the official client): on a
    3-node cluster with more records than one answer frame holds, no hang and no timeout."""
    async def main() -> tuple[Any, ...]:
        with EmbeddedCluster(nodes=3, replication_factor=2) as cluster:
            c = await aerospike_py.AsyncClient(cluster.config).connect()
            try:
                await c.udf_put(str(LIB))
                for i in range(3000):
                    await c.put(("test", SET, i), {"n": i})
                q = c.query("test", SET)
                q.apply(MOD, "sum_bin", ["n"])
                total = await q.results({"total_timeout": 60000})
                q2 = c.query("test", SET)
                q2.apply(MOD, "above", ["n", -1])
                every = [v async for v in q2.iterate()]
                return total, len(every), len(set(every))
            finally:
                await c.close()

    total, n, distinct = asyncio.run(main())
    assert total == [sum(range(3000))]
    assert n == distinct == 3000  # each partition once (replicas do not answer)


def test_local_module_in_user_path_wins(server, tmp_path):
    """The client runs its final stages from ``<user_path>/<module>.lua`` when it is there."""
    shutil.copy(LIB, tmp_path / "stream_lib.lua")
    local = (tmp_path / "stream_lib.lua").read_text().replace(
        "function count(s) return s : map(one) : reduce(add) end",
        "function count(s) return s : map(one) : reduce(add) : map(function(v) return v * 10 end) end")
    (tmp_path / "stream_lib.lua").write_text(local)
    c = aerospike_py.client({**server.config, "lua": {"user_path": str(tmp_path)}}).connect()
    try:
        load(c, n=5)
        assert agg(c, "count") == [50]  # the server's copy reduces, the local one maps * 10
    finally:
        c.close()


def test_without_lupa_a_clear_error(aclient, monkeypatch):
    import aerospike_py._lua as L

    monkeypatch.setattr(L, "lupa_available", lambda: False)
    c = aerospike_py.client(aclient._config).connect()
    try:
        q = c.query("test", SET)
        q.apply(MOD, "count")
        with pytest.raises(ClientError, match="install lupa"):
            q.results()
    finally:
        c.close()


# --------------------------------------------------------------------------- differential

#: (function, args): run by our client on the real server and on the embedded one.
DIFF_CASES: list[tuple[str, list[Any]]] = [
    ("count", []), ("sum_bin", ["n"]), ("average", ["n"]), ("above", ["n", 280]), ("count_above", ["n", 100]),
    ("parity_counts", ["n"]), ("group_sizes", ["n"]), ("big_steps", ["n"]), ("values_of", ["n"]),
    ("meta_of", []), ("args_echo", [b"\x01", {"a": 1.5, "l": [1, "x"]}]), ("nothing", []), ("nils", []),
    ("fail_map", []), ("fail_reduce", []), ("fail_final", []), ("no_such_function", []), ("not_a_stream", []),
]
#: The real server is shared (other test runs may use it at the same time): this run's own
#: module and set names there.
RUN = f"{os.getpid()}"
DMOD = f"stream_lib_{RUN}"
DSET = f"agg_diff_{RUN}"


@pytest.fixture(scope="module")
def dlib(tmp_path_factory) -> Path:
    """The stream module under this run's name (DMOD)."""
    p = tmp_path_factory.mktemp("agg_lua") / f"{DMOD}.lua"
    shutil.copy(LIB, p)
    return p


def _outcome(run: Any) -> Any:
    try:
        return ("ok", sorted(run(), key=repr))
    except AerospikeError as e:
        return ("error", type(e).__name__, e.code, e.msg.split("\n")[0])


@pytest.fixture(scope="module")
def both(real_server, aerospike_server, dlib):
    real = aerospike_py.client(real_server.config).connect()
    emb = aerospike_py.client(aerospike_server.config).connect()
    for c in (real, emb):
        load(c, DSET, 120, dlib)
    yield real, emb
    for c in (real, emb):
        for i in range(120):
            c.remove(("test", DSET, i))
        try:
            c.udf_remove(DMOD)
        except AerospikeError:
            pass  # removed by a test already
        c.close()


@pytest.mark.parametrize("case", DIFF_CASES, ids=[c[0] for c in DIFF_CASES])
def test_same_as_real_server(both, case):
    real, emb = both
    fn, args = case
    assert _outcome(lambda: agg(emb, fn, args, DSET, module=DMOD)) == \
        _outcome(lambda: agg(real, fn, args, DSET, module=DMOD))


def test_missing_module_same_as_real_server(both):
    def run(c: Any) -> Any:
        q = c.query("test", DSET)
        q.apply("agg_no_such_module", "count")
        return q.results()

    real, emb = both
    assert _outcome(lambda: run(emb)) == _outcome(lambda: run(real))


def test_filter_expression_same_as_real_server(both):
    """An aggregation with a filter expression: the real server (CE 8.1.2) answers 16, the official
    client raises it (UnsupportedFeature); we pass it through as ServerError 16, on both servers."""
    real, emb = both
    policy = {"filter_expression": exp.gt(exp.int_bin("n"), exp.int_val(9))}
    outcomes = [_outcome(lambda c=c: agg(c, "count", [], DSET, policy=policy, module=DMOD)) for c in (emb, real)]
    assert outcomes[0][:3] == outcomes[1][:3] == ("error", "ServerError", 16)


@pytest.fixture(scope="module")
def server_process():
    """An embedded server in its own process (the official client keeps the GIL in udf_put)."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-m", "aerospike_py.server", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        host, port = line.rsplit(" ", 1)[1].strip().rsplit(":", 1)
        yield host, int(port)
    finally:
        proc.terminate()
        proc.wait(10)


#: Cases whose failure the official client may report from its own Lua or from the server's
#: answer, whichever comes first (its error class and the file path then differ): the Lua message only.
_RACY = {"not_a_stream", "fail_final", "fail_reduce"}


def _official_outcome(aerospike: Any, hosts: list[Any], user_path: Path, lib: Path) -> list[Any]:
    from _clients import official_generous

    c = aerospike.client(official_generous({"hosts": hosts, "lua": {"user_path": str(user_path)}})).connect()
    out = []
    mod = lib.stem  # this run's DMOD (a child process has its own pid)
    oset = f"agg_off_{mod}"
    try:
        c.udf_put(str(lib))
        for i in range(60):
            c.put(("test", oset, i), {"n": i, "s": f"v{i}"})
        for fn, args in DIFF_CASES:
            q = c.query("test", oset)
            q.apply(mod, fn, args)
            try:
                res: Any = ("ok", sorted(q.results(), key=repr))
            except aerospike.exception.AerospikeError as e:
                msg = str(e.args[1]).split(" : ", 1)[-1]
                res = ("error", msg.rsplit(": ", 1)[-1]) if fn in _RACY else ("error", type(e).__name__, e.args[0], msg)
            out.append((fn, res))
        for i in range(60):
            c.remove(("test", oset, i))
    finally:
        c.close()
    return out


def _official_in_child(host: str, port: int, user_path: Path, lib: Path) -> list[Any]:
    """``_official_outcome`` in a fresh process: the official client's Lua paths are set once per
    process (by its first client), so an earlier test's client would decide where it looks."""
    import base64
    import pickle
    import subprocess
    import sys

    code = ("import base64, pickle, sys, aerospike; sys.path.insert(0, sys.argv[1]); import test_aggregate as t; "
            "out = t._official_outcome(aerospike, [(sys.argv[2], int(sys.argv[3]))], t.Path(sys.argv[4]), "
            "t.Path(sys.argv[5])); print(base64.b64encode(pickle.dumps(out)).decode())")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), host, str(port), str(user_path),
                           str(lib)], env=env, capture_output=True, text=True, timeout=300, check=True)
    return pickle.loads(base64.b64decode(done.stdout.strip().splitlines()[-1]))


def test_official_client_same_on_embedded_and_real(real_server, server_process, tmp_path, dlib):
    pytest.importorskip("aerospike")
    (tmp_path / "real").mkdir()
    (tmp_path / "emb").mkdir()
    emb = _official_in_child(*server_process, tmp_path / "emb", dlib)
    real = _official_in_child(real_server.host, real_server.port, tmp_path / "real", dlib)
    # A missing function is found either by a node (UDFError 100) or first by the official client's
    # own final stage (ClientError -1), whichever runs first: seen both ways against the real server.
    def same(results: list) -> list:
        return [(name, ("error", "UDFError", 100, out[3]))
                if name == "no_such_function" and out[:3] == ("error", "ClientError", -1) else (name, out)
                for name, out in results]

    assert same(emb) == same(real)
    assert dict(emb)["count"] == ("ok", [60])


def test_udf_list_and_get_shaped_as_the_official_client(real_server, tmp_path):
    """udf_list/udf_get of ours and of the official client on the real server: same values, same types."""
    aerospike = pytest.importorskip("aerospike")
    from _clients import official_generous

    ours = aerospike_py.client(real_server.config).connect()
    off = aerospike.client(official_generous({"hosts": [(real_server.host, real_server.port)]})).connect()
    name = f"stream_lib_list_{RUN}.lua"  # its own module: removed at the end
    shutil.copy(LIB, tmp_path / name)
    try:
        ours.udf_put(str(tmp_path / name))
        mine = [m for m in ours.udf_list() if m["name"] == name]
        theirs = [m for m in off.udf_list() if m["name"] == name]
        assert mine == theirs
        assert {k: type(v) for k, v in mine[0].items()} == {k: type(v) for k, v in theirs[0].items()}
        assert ours.udf_get(name) == off.udf_get(name) == LIB.read_text()
        # Without ".lua": the file name as given, not found on the real server, by either client.
        with pytest.raises(UDFError, match="not_found"):
            ours.udf_get(name[:-4])
        with pytest.raises(aerospike.exception.UDFError, match="not_found"):
            off.udf_get(name[:-4])
        ours.udf_remove(name)
    finally:
        ours.close()
        off.close()


def test_query_show_of_an_aggregation_like_real_server(both):
    """``query-show`` lists an aggregation job with the real server's fields, in its order."""
    def job_keys(c: Any) -> list[str]:
        agg(c, "count", [], DSET, module=DMOD)
        jobs = [j for j in c.info_random_node("query-show").split(";") if f"set={DSET}:" in j]
        assert jobs and ":job-type=aggregation:" in jobs[0]
        return [item.partition("=")[0] for item in jobs[0].split(":")]

    real, emb = both
    keys = job_keys(emb)
    assert keys == job_keys(real)
    assert "job-type" in keys and "net-io-bytes" in keys
