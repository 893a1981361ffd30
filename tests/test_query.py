"""Queries, scans, secondary indexes, partition filters and background jobs, end to end.

Every scenario runs against the embedded server (skipped until it has secondary indexes) and the
real server (skipped when absent), with set and index names of its own.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import uuid

import pytest

import aerospike_py
from aerospike_py import exp
from aerospike_py import predicates as p
from aerospike_py.exception import IndexNotFound, InvalidArgError

N = 60


def _embedded_has_sindex(c) -> bool:
    try:
        return not c.info_random_node("sindex-list:ns=test").startswith("ERROR")
    except aerospike_py.AerospikeError:
        return False


@pytest.fixture(params=["embedded", "real"])
def target(request):
    """(config, unique prefix) of a server that has secondary indexes."""
    if request.param == "embedded":
        srv = request.getfixturevalue("server")
        config = srv.config
    else:
        config = request.getfixturevalue("real_server").config
    with aerospike_py.client(config).connect() as c:
        if request.param == "embedded" and not _embedded_has_sindex(c):
            pytest.skip("the embedded server has no secondary indexes yet")
    return config, "qc" + uuid.uuid4().hex[:8]


@pytest.fixture
def loaded(target):
    """A connected client, its set (N records) and index names; indexes and records removed after."""
    config, pre = target
    c = aerospike_py.client(config).connect()
    s = pre
    for i in range(N):
        c.put(("test", s, f"k{i}"), {"n": i, "s": f"s{i % 5}", "l": [i, i + 100], "g": i % 2,
                                     "b": bytes([i % 3])}, policy={"key": aerospike_py.POLICY_KEY_SEND})
    names = {"n": f"{pre}_n", "s": f"{pre}_s", "l": f"{pre}_l"}
    c.index_integer_create("test", s, "n", names["n"])
    c.index_string_create("test", s, "s", names["s"])
    c.index_integer_create("test", s, "l", names["l"], collection_type=aerospike_py.INDEX_TYPE_LIST)
    yield c, s, names
    for name in names.values():
        c.index_remove("test", name)
    c.truncate("test", s)
    c.close()


def _ns(records):
    return sorted(r.bins["n"] for r in records)


def test_scan_and_index_queries(loaded):
    c, s, _ = loaded
    recs = c.query("test", s).results()
    assert _ns(recs) == list(range(N))
    assert {r.key.user_key for r in recs} == {f"k{i}" for i in range(N)}
    assert all(r.key.namespace == "test" and r.key.set_name == s and len(r.key.digest) == 20 for r in recs)
    assert all(r.meta.gen == 1 for r in recs)
    q = c.query("test", s)
    q.where(p.between("n", 5, 9))
    assert _ns(q.results()) == [5, 6, 7, 8, 9]
    q = c.query("test", s)
    q.select("n")
    q.where(p.equals("s", "s1"))
    recs = q.results()
    assert _ns(recs) == list(range(1, N, 5)) and all(set(r.bins) == {"n"} for r in recs)
    q = c.query("test", s)
    q.where(p.contains("l", aerospike_py.INDEX_TYPE_LIST, 107))
    assert _ns(q.results()) == [7]
    q = c.query("test", s)
    q.where(p.between("n", 0, 19))
    assert _ns(q.results({"filter_expression": exp.eq(exp.int_bin("g"), exp.int_val(1))})) == list(range(1, 20, 2))
    nobins = c.query("test", s).results({"include_bin_data": False})
    assert len(nobins) == N and all(r.bins == {} for r in nobins)


def test_scan_object_and_namespace_scan(loaded):
    c, s, _ = loaded
    assert _ns(c.scan("test", s).results()) == list(range(N))
    seen = [r for r in c.query("test", None).results({"filter_expression": exp.eq(exp.set_name(), exp.string_val(s))})]
    assert _ns(seen) == list(range(N))


def test_max_records_pages_resume_without_duplicates(loaded):
    c, s, _ = loaded
    pf = aerospike_py.partition_filter_all()
    got = []
    for _ in range(N):
        page = c.query("test", s).results({"partition_filter": pf, "max_records": 7})
        assert len(page) <= 7
        got += page
        if pf.is_done():
            break
        # A later process: the state goes through JSON (and pickle) and comes back.
        pf = aerospike_py.PartitionFilter.from_dict(json.loads(json.dumps(pf.to_dict())))
        pf = pickle.loads(pickle.dumps(pf))
    assert pf.is_done()
    assert sorted(r.key.user_key for r in got) == sorted(f"k{i}" for i in range(N))
    # A done filter starts over when used again.
    assert len(c.query("test", s).results({"partition_filter": pf})) == N


def test_index_query_pages(loaded):
    c, s, _ = loaded
    pf = aerospike_py.partition_filter_all()
    got = []
    while not pf.is_done():
        q = c.query("test", s)
        q.where(p.between("n", 10, 49))
        page = q.results({"partition_filter": pf, "max_records": 9})
        got += page
        if not page:
            break
    assert _ns(got) == list(range(10, 50))


def test_partition_ranges_cover_the_set_once(loaded):
    c, s, _ = loaded
    got = []
    for begin in range(0, 4096, 1024):
        recs = c.query("test", s).results({"partition_filter": aerospike_py.partition_filter_by_range(begin, 1024)})
        for r in recs:
            d = r.key.digest
            assert begin <= ((d[0] | (d[1] << 8)) & 0xFFF) < begin + 1024
        got += recs
    assert _ns(got) == list(range(N))
    d = got[0].key.digest
    pid = (d[0] | (d[1] << 8)) & 0xFFF
    one = c.query("test", s).results({"partition_filter": aerospike_py.partition_filter_by_id(pid)})
    assert d in {r.key.digest for r in one}
    after = c.query("test", s).results({"partition_filter": aerospike_py.partition_filter_by_digest(d)})
    assert d not in {r.key.digest for r in after}
    assert len(after) + 1 == len(one) or len(after) < len(one)


def test_foreach_and_iterate(loaded):
    c, s, _ = loaded
    seen = []
    c.query("test", s).foreach(lambda r: seen.append(r) or len(seen) < 5)
    assert len(seen) == 5
    got = list(c.query("test", s).iterate({"record_queue_size": 3}))
    assert _ns(got) == list(range(N))
    with c.query("test", s).iterate({"record_queue_size": 2}) as stream:
        first = next(stream)
    assert first.bins
    # The client is still usable after a stream was stopped half-way.
    assert len(c.query("test", s).results()) == N


def test_background_ops_and_job_status(loaded):
    c, s, _ = loaded
    q = c.query("test", s)
    q.where(p.between("n", 0, 9))
    job = q.execute_background([{"op": aerospike_py.OPERATOR_WRITE, "bin": "bg", "val": 7}])
    assert isinstance(job, int) and job > 0
    info = c.wait_job(job, "query")
    assert info["status"] == aerospike_py.JOB_STATUS_COMPLETED
    assert c.job_info(job)["status"] == aerospike_py.JOB_STATUS_COMPLETED
    recs = c.query("test", s).results()
    assert sorted(r.bins["n"] for r in recs if r.bins.get("bg") == 7) == list(range(10))
    with pytest.raises(InvalidArgError):
        c.query("test", s).execute_background([{"op": aerospike_py.OPERATOR_READ, "bin": "n"}])


def test_index_not_found_is_the_servers_error(loaded):
    c, s, _ = loaded
    q = c.query("test", s)
    q.where(p.equals("nobin", 1))
    with pytest.raises(IndexNotFound) as ei:
        q.results()
    assert ei.value.code == 201


def test_geo_queries(target):
    config, pre = target
    with aerospike_py.client(config).connect() as c:
        s = pre
        pts = {"in1": (-122.0, 37.5), "in2": (-122.1, 37.4), "out": (0.0, 0.0)}
        for k, (lng, lat) in pts.items():
            c.put(("test", s, k), {"loc": aerospike_py.GeoJSON(json.dumps({"type": "Point", "coordinates": [lng, lat]})),
                                   "name": k})
        region = {"type": "Polygon", "coordinates": [[[-123, 37], [-121, 37], [-121, 38], [-123, 38], [-123, 37]]]}
        c.put(("test", s, "area"), {"area": aerospike_py.GeoJSON(json.dumps(region)), "name": "area"})
        c.index_geo2dsphere_create("test", s, "loc", f"{pre}_loc")
        c.index_geo2dsphere_create("test", s, "area", f"{pre}_area")
        try:
            q = c.query("test", s)
            q.where(p.geo_within_geojson_region("loc", json.dumps(region)))
            assert sorted(r.bins["name"] for r in q.results()) == ["in1", "in2"]
            q = c.query("test", s)
            q.where(p.geo_within_radius("loc", 37.5, -122.0, 20000.0))
            assert sorted(r.bins["name"] for r in q.results()) == ["in1", "in2"]
            q = c.query("test", s)
            q.where(p.geo_within_radius("loc", 37.5, -122.0, 100.0))
            assert [r.bins["name"] for r in q.results()] == ["in1"]
            q = c.query("test", s)
            q.where(p.geo_contains_geojson_point("area", json.dumps({"type": "Point", "coordinates": [-122.5, 37.5]})))
            assert [r.bins["name"] for r in q.results()] == ["area"]
        finally:
            c.index_remove("test", f"{pre}_loc")
            c.index_remove("test", f"{pre}_area")
            c.truncate("test", s)


def test_async_query(target):
    config, pre = target

    async def main():
        ac = aerospike_py.async_client(config)
        await ac.connect()
        try:
            for i in range(30):
                await ac.put(("test", pre, i), {"n": i})
            await ac.index_integer_create("test", pre, "n", f"{pre}_n")
            q = ac.query("test", pre)
            assert isinstance(q, aerospike_py.AsyncQuery)
            assert _ns(await q.results()) == list(range(30))
            q.where(p.between("n", 3, 5))
            assert _ns(await q.results()) == [3, 4, 5]
            got = [r async for r in ac.query("test", pre).iterate({"record_queue_size": 2})]
            assert _ns(got) == list(range(30))
            seen = []
            await ac.query("test", pre).foreach(lambda r: seen.append(r) or len(seen) < 4)
            assert len(seen) == 4
            pf = aerospike_py.partition_filter_all()
            pages = []
            while not pf.is_done():
                page = await ac.query("test", pre).results({"partition_filter": pf, "max_records": 8})
                pages += page
                if not page:
                    break
            assert _ns(pages) == list(range(30))
            job = await ac.query("test", pre).execute_background([{"op": aerospike_py.OPERATOR_WRITE, "bin": "z",
                                                                   "val": 1}])
            assert (await ac.wait_job(job))["status"] == aerospike_py.JOB_STATUS_COMPLETED
            assert all(r.bins["z"] == 1 for r in await ac.scan("test", pre).results())
            await ac.index_remove("test", f"{pre}_n")
            await ac.truncate("test", pre)
        finally:
            await ac.close()

    asyncio.run(main())


# --------------------------------------------------------------------------- no server needed


@pytest.mark.parametrize("pred", [
    ("equals", "b"),
    ("foo", "b", 1),
    ("equals", "b", 1.5),
    ("equals", "b", True),
    ("between", "b", 1, "x"),
    ("contains", "b", 9, 1),
    ("equals", "b", 1, 2),
    ("equals", "a" * 16, 1),
    ("geo_within_geojson_region", "loc", "{not json"),
    ("geo_within_geojson_region", "loc", '{"type": "Polygon"}'),
    ("geo_within_radius", "loc", 95.0, 0.0, 10.0),
    ("geo_within_radius", "loc", "1", 0.0, 10.0),
])
def test_bad_predicates_raise_before_sending(pred):
    from aerospike_py._commands.query import parse_predicate

    with pytest.raises(InvalidArgError):
        parse_predicate(pred)


@pytest.mark.parametrize("pred", ["x", ("equals", 1, 2)])
def test_non_tuple_predicates_are_type_errors_too(pred):
    from aerospike_py._commands.query import parse_predicate

    with pytest.raises(InvalidArgError):
        parse_predicate(pred)
    with pytest.raises(TypeError):
        parse_predicate(pred)


def test_predicate_tuples_match_the_original():
    assert p.equals("b", 1) == ("equals", "b", 1)
    assert p.between("b", 1, 5) == ("between", "b", 1, 5)
    assert p.contains("b", aerospike_py.INDEX_TYPE_LIST, "x") == ("contains", "b", 1, "x")
    assert p.geo_within_geojson_region("b", "{}") == ("geo_within_geojson_region", "b", "{}")
    assert p.geo_within_radius("b", 1.0, 2.0, 3.0) == ("geo_within_radius", "b", 1.0, 2.0, 3.0)
    assert p.geo_contains_geojson_point("b", "{}") == ("geo_contains_geojson_point", "b", "{}")
    from aerospike_py import cdt_ctx

    t = p.equals("m", 1, ctx=[cdt_ctx.cdt_ctx_map_key("a")])
    assert t[:3] == ("equals", "m", 1) and t[3] == {"ctx": [cdt_ctx.cdt_ctx_map_key("a")]}


def test_partition_filter_checks_and_state():
    with pytest.raises(InvalidArgError):
        aerospike_py.partition_filter_by_id(4096)
    with pytest.raises(InvalidArgError):
        aerospike_py.partition_filter_by_range(4000, 200)
    with pytest.raises(InvalidArgError):
        aerospike_py.partition_filter_by_range(0, 0)
    pf = aerospike_py.partition_filter_by_range(10, 5)
    assert repr(pf) == "PartitionFilter(begin=10, count=5)" and not pf.is_done()
    assert aerospike_py.PartitionFilter.from_dict(pf.to_dict()).to_dict() == pf.to_dict()
    with pytest.raises(InvalidArgError):
        aerospike_py.PartitionFilter.from_dict({"begin": 0})


def test_query_needs_a_connection():
    c = aerospike_py.client({"hosts": [("127.0.0.1", 1)]})
    with pytest.raises(aerospike_py.ClientError):
        c.query("test", "x")


def test_async_iterate_pauses_sockets_when_the_buffer_is_full(target):
    """With a small record_queue_size the async stream stops reading the node socket (and resumes
    it as the consumer drains): every record still arrives exactly once."""
    config, pre = target

    async def main():
        ac = aerospike_py.async_client(config)
        await ac.connect()
        try:
            await ac.batch_write([(("test", pre, i), {"n": i, "pad": "x" * 40}) for i in range(2000)],
                                 policy={"total_timeout": 30000})
            stream = ac.query("test", pre).iterate({"record_queue_size": 10})
            got = [r.bins["n"] async for r in stream]
            assert sorted(got) == list(range(2000))
            assert stream.pauses >= 1
            await ac.truncate("test", pre)
        finally:
            await ac.close()

    asyncio.run(main())
