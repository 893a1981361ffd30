"""Secondary indexes and queries/scans of the embedded server, driven by the official client.

One scenario (indexes of every key and collection type, equality/range/geo/ctx queries, scans,
partition filters, max_records pages resumed to the end, projections, filter expressions, no-bin
scans, a background-ops job, and the errors) runs against the embedded server and, when one is
available, against a real server; both must give the same records (as sets, with the same count
per partition), the same errors and the same ``sindex-*`` answers.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest

from aerospike_py._wire.digest import partition_id

aerospike = pytest.importorskip("aerospike")
p = pytest.importorskip("aerospike.predicates")
oh = pytest.importorskip("aerospike_helpers.operations.operations")
ex = pytest.importorskip("aerospike_helpers.expressions")
cdt_ctx = pytest.importorskip("aerospike_helpers.cdt_ctx")
eo = pytest.importorskip("aerospike_helpers.operations.expression_operations")

pytestmark = [pytest.mark.official, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

NS = "test"
SET = "qs_q"
N = 60
INDEXES = ("qs_q_n", "qs_q_s", "qs_q_b", "qs_q_l", "qs_q_mk", "qs_q_mv", "qs_q_g", "qs_q_ctx", "qs_q_r", "qs_q_bg")
SQUARE = {"type": "Polygon", "coordinates": [[[0.05, 0.05], [0.55, 0.05], [0.55, 0.55], [0.05, 0.55], [0.05, 0.05]]]}


def _bins(i: int) -> dict[str, Any]:
    return {
        "n": i,
        "s": f"s{i % 5}",
        "b": bytes([i % 3]) * 3,
        "l": [i, i + 100, i % 7],
        "m": {f"k{i % 4}": i % 6, "z": i},
        "g": aerospike.GeoJSON({"type": "Point", "coordinates": [i * 0.02, i * 0.02]}),
        "nest": {"c": {"x": i % 10}},
        "odd": i % 2,
    }


def _load(c: Any) -> None:
    for i in range(N):
        c.put((NS, SET, f"k{i}"), _bins(i), policy={"key": aerospike.POLICY_KEY_SEND})
    for i in range(4):  # regions, for "regions containing a point"
        c.put((NS, SET, f"r{i}"), {"r": aerospike.GeoJSON(
            {"type": "AeroCircle", "coordinates": [[i * 1.0, 0.0], 50000]} if i % 2 else
            {"type": "Polygon", "coordinates": [[[i - 0.4, -0.4], [i + 0.4, -0.4], [i + 0.4, 0.4], [i - 0.4, 0.4],
                                                 [i - 0.4, -0.4]]]})}, policy={"key": aerospike.POLICY_KEY_SEND})


#: name -> sindex-create parameters (created by info, as the clients' index helpers do, without their
#: one-second readiness polls; the context is ``[map_key("c")]`` in Aerospike msgpack, base64).
INDEX_DEFS = {
    "qs_q_n": "bin=n;type=numeric",
    "qs_q_s": "bin=s;type=string",
    "qs_q_b": "bin=b;type=blob",
    "qs_q_l": "bin=l;type=numeric;indextype=list",
    "qs_q_mk": "bin=m;type=string;indextype=mapkeys",
    "qs_q_mv": "bin=m;type=numeric;indextype=mapvalues",
    "qs_q_g": "bin=g;type=geo2dsphere",
    "qs_q_r": "bin=r;type=geo2dsphere",
    "qs_q_ctx": "bin=nest;type=numeric;context=kiKiA2M=",
}


def _create_indexes(info: Any) -> None:
    for name, params in INDEX_DEFS.items():
        assert info(f"sindex-create:namespace={NS};set={SET};indexname={name};{params}") == "ok"
    for name in INDEX_DEFS:  # a real server builds in the background: wait until each is readable
        for _ in range(10_000):
            if "load_pct=100" in info(f"sindex-stat:namespace={NS};indexname={name}"):
                break


def _drop(c: Any) -> None:
    for name in INDEXES:
        c.index_remove(NS, name)


def _connect(config: dict) -> Any:
    """An official client with timeouts generous enough for a loaded test machine."""
    slow = {"total_timeout": 20000, "socket_timeout": 20000}
    policies = {"read": slow, "write": slow, "remove": slow, "query": slow, "scan": slow, "operate": slow,
                "info": {"timeout": 20000}}
    return aerospike.client({**config, "policies": policies}).connect()


def _keys(records: list) -> list[str]:
    return sorted(r[0][2] for r in records)


def _query(c: Any, pred: Any, policy: dict | None = None, options: dict | None = None) -> list[str]:
    q = c.query(NS, SET)
    q.where(pred)
    return _keys(q.results(policy, options) if options else q.results(policy))


def _per_partition(records: list) -> dict[int, int]:
    return dict(Counter(partition_id(r[0][3]) for r in records))


def _error(fn: Any) -> Any:
    try:
        fn()
    except aerospike.exception.AerospikeError as e:
        return type(e).__name__, e.code
    return None


def scenario(c: Any, info: Any) -> dict[str, Any]:
    """Everything the differential test compares (``info(cmd)``: one info command's answer)."""
    out: dict[str, Any] = {}
    _load(c)
    _create_indexes(info)
    out["list"] = [e for e in info("sindex-list:ns=test").split(";") if ":indexname=qs_q_" in e]
    out["stat_n"] = info("sindex-stat:namespace=test;indexname=qs_q_n").split(";")[0]
    out["stat_l"] = [x for x in info("sindex/test/qs_q_l").split(";") if not x.startswith("load_time")]
    out["stat_s"] = [x for x in info("sindex-stat:namespace=test;indexname=qs_q_s").split(";")
                     if not x.startswith("load_time")]
    out["eq_int"] = _query(c, p.equals("n", 7))
    out["range_int"] = _query(c, p.between("n", 10, 19))
    out["eq_str"] = _query(c, p.equals("s", "s3"))
    out["eq_blob"] = _query(c, p.equals("b", b"\x01\x01\x01"))
    out["list_eq"] = _query(c, p.contains("l", aerospike.INDEX_TYPE_LIST, 3))
    out["list_range"] = _query(c, p.range("l", aerospike.INDEX_TYPE_LIST, 100, 104))
    out["mapkeys"] = _query(c, p.contains("m", aerospike.INDEX_TYPE_MAPKEYS, "k2"))
    out["mapvalues"] = _query(c, p.range("m", aerospike.INDEX_TYPE_MAPVALUES, 4, 5))
    q = c.query(NS, SET)
    q.where(p.equals("nest", 4), [cdt_ctx.cdt_ctx_map_key("c")])
    out["ctx"] = _keys(q.results())
    out["geo_radius"] = _query(c, p.geo_within_radius("g", 0.5, 0.5, 40000))
    out["geo_polygon"] = _query(c, p.geo_within_geojson_region("g", json.dumps(SQUARE)))
    out["geo_contains"] = sorted(
        _query(c, p.geo_contains_geojson_point("r", json.dumps({"type": "Point", "coordinates": [x, 0.1]})))
        for x in (0.0, 1.0, 2.2, 3.45, 7.0))
    expr = ex.Eq(ex.IntBin("odd"), 1).compile()
    out["filtered"] = _query(c, p.between("n", 0, 29), {"expressions": expr})
    q = c.query(NS, SET)
    q.select("n")
    q.where(p.between("n", 50, 55))
    out["select"] = sorted((r[0][2], tuple(sorted(r[2]))) for r in q.results())
    scan = c.query(NS, SET).results()
    out["scan"] = _keys(scan)
    out["scan_parts"] = _per_partition(scan)
    part = c.query(NS, SET).results({"partition_filter": {"begin": 1000, "count": 1500}})
    out["part_range"] = _keys(part)
    out["part_range_parts"] = _per_partition(part)
    nobins = c.query(NS, SET).results(None, {"nobins": True})
    out["nobins"] = (_keys(nobins), {len(r[2]) for r in nobins})
    pages, q = [], c.query(NS, SET)
    q.max_records = 13
    q.paginate()
    while not q.is_done() and len(pages) < 20:
        pages.append(_keys(q.results()))
    everything = [k for page in pages for k in page]
    out["pages"] = (sorted(everything), len(everything) == len(set(everything)), all(len(pg) <= 13 for pg in pages))
    pages, q = [], c.query(NS, SET)  # an index query's pages resume from (bval, digest)
    q.where(p.between("n", 5, 54))
    q.max_records = 9
    q.paginate()
    while not q.is_done() and len(pages) < 20:
        pages.append(_keys(q.results()))
    everything = [k for page in pages for k in page]
    out["query_pages"] = (sorted(everything), len(everything) == len(set(everything)))
    out["no_index"] = _error(lambda: _query(c, p.equals("zz", 1)))
    out["bad_geo_query"] = _error(lambda: _query(c, p.geo_within_geojson_region("g", '{"type": "Poin"}')))
    out["bad_geo_put"] = _error(lambda: c.put((NS, SET, "bad"), {"g": aerospike.GeoJSON({"type": "Poin"})}))
    q = c.query(NS, SET)
    q.where(p.between("n", 20, 24))
    q.add_ops([oh.write("bg", 1), eo.expression_write("bx", ex.Add(ex.IntBin("n"), 7).compile()),
               oh.increment("n", 1000)])
    job = q.execute_background()
    c.job_info(job, aerospike.JOB_QUERY)  # the job is done when this answers (the embedded one runs at once)
    for _ in range(200):
        if c.job_info(job, aerospike.JOB_QUERY)["status"] == aerospike.JOB_STATUS_COMPLETED:
            break
    show = info(f"query-show:id={job}")
    out["bg_show"] = re.sub(r"(trid|run-time|time-since-done|from)=[^:]*", r"\1=*", show)
    out["bg"] = _keys([r for r in c.query(NS, SET).results() if r[2].get("bg") == 1])
    out["bg_moved"] = _query(c, p.between("n", 1020, 1024))
    out["bg_exp"] = sorted(r[2]["bx"] for r in c.query(NS, SET).results() if "bx" in r[2])
    c.remove((NS, SET, "k1"))
    c.put((NS, SET, "k2"), {"n": 5000})
    out["after_writes"] = (_query(c, p.equals("n", 1)), _query(c, p.equals("n", 5000)), _query(c, p.equals("n", 2)))
    return out


@pytest.fixture
def official(server):
    c = _connect(server.config)
    yield c
    _drop(c)
    c.close()


def _info_fn(c: Any):
    def info(cmd: str) -> str:
        return next(iter(c.info_all(cmd).values()))[1].rstrip("\n")

    return info


EXPECTED_EMBEDDED = {
    "eq_int": ["k7"],
    "range_int": [f"k{i}" for i in sorted(range(10, 20), key=str)],
    "eq_str": sorted(f"k{i}" for i in range(N) if i % 5 == 3),
    "list_eq": sorted(f"k{i}" for i in range(N) if 3 in (i, i + 100, i % 7)),
    "geo_contains": [[], [], ["r0"], ["r1"], ["r2"]],
    "no_index": ("IndexNotFound", 201),
    "bad_geo_query": ("InvalidRequest", 4),
    "bad_geo_put": ("InvalidGeoJSON", 160),
}


def test_scenario_on_embedded_server(official, server):
    out = scenario(official, _info_fn(official))
    for key, want in EXPECTED_EMBEDDED.items():
        assert out[key] == want, key
    assert out["scan"] == sorted([f"k{i}" for i in range(N)] + [f"r{i}" for i in range(4)])
    assert out["pages"][0] == out["scan"] and out["pages"][1] and out["pages"][2]
    assert out["bg"] == [f"k{i}" for i in range(20, 25)] and out["bg_moved"] == out["bg"]
    assert out["bg_exp"] == list(range(27, 32))
    assert out["query_pages"] == (sorted(f"k{i}" for i in range(5, 55)), True)
    assert out["after_writes"] == ([], ["k2"], [])
    assert out["stat_n"] == f"entries={N}"
    assert out["nobins"][1] == {0}


def test_scenario_matches_real_server(official, server, real_server):
    ours = scenario(official, _info_fn(official))
    rc = _connect(real_server.config)
    try:
        _drop(rc)
        rc.truncate(NS, SET, 0)
        theirs = scenario(rc, _info_fn(rc))
    finally:
        _drop(rc)
        rc.truncate(NS, SET, 0)
        rc.close()
    for key in ours:
        assert ours[key] == theirs[key], key


def test_index_maintenance_on_expiry_truncate_and_delete(official, server):
    info = _info_fn(official)
    _create_indexes(info)
    for i in range(10):
        official.put((NS, SET, i), {"n": i}, meta={"ttl": 100 if i < 4 else -1})
    assert info("sindex-stat:namespace=test;indexname=qs_q_n").startswith("entries=10;")
    server.clock.advance(101)
    q = official.query(NS, SET)
    q.where(p.between("n", 0, 9))
    assert sorted(r[2]["n"] for r in q.results()) == [4, 5, 6, 7, 8, 9]
    assert info("sindex-stat:namespace=test;indexname=qs_q_n").startswith("entries=6;")
    official.remove((NS, SET, 5))
    assert info("sindex-stat:namespace=test;indexname=qs_q_n").startswith("entries=5;")
    assert _raw_info(server.host, server.port, "truncate:namespace=test;set=qs_q") == "ok"
    assert info("sindex-stat:namespace=test;indexname=qs_q_n").startswith("entries=0;")
    q = official.query(NS, SET)
    q.where(p.between("n", 0, 9))
    assert q.results() == []


def test_index_created_over_existing_records_and_bvals(official, server):
    for i in range(30):
        official.put((NS, SET, f"k{i}"), {"s": f"value-{i % 3}" * (i % 4 + 1)},
                     policy={"key": aerospike.POLICY_KEY_SEND})
    official.index_string_create(NS, SET, "s", "qs_q_s")  # once through the client's own index task
    assert _query(official, p.equals("s", "value-1value-1")) == sorted(
        f"k{i}" for i in range(30) if f"value-{i % 3}" * (i % 4 + 1) == "value-1value-1")


SINDEX_INFO = [  # (command, answer) pairs as CE 8.1.2 gives them (checked against a real server)
    ("sindex-create:namespace=test;set=qs_s;indexname=qs_n;bin=n;type=NUMERIC", "ok"),
    ("sindex-create:namespace=test;set=qs_s;indexname=qs_n;bin=n;type=numeric", "ok"),
    ("sindex-create:namespace=test;indexname=qs_mk;bin=m;type=numeric;indextype=mapkeys", "ok"),
    ("sindex-create:namespace=test;set=qs_s;indexname=qs_c2;bin=m;type=string;indextype=list;context=lBABIqIDYQ==",
     "ok"),
    ("sindex-create:namespace=test;set=qs_s;indexname=qs_n;bin=zz;type=numeric",
     "ERROR:200:'indexname' already exists with different definition"),
    ("WAIT", "qs_n qs_mk qs_c2"),
    ("sindex-list:ns=test",
     "ns=test:indexname=qs_n:set=qs_s:bin=n:type=numeric:indextype=default:context=null:exp=null:state=RW;"
     "ns=test:indexname=qs_mk:set=null:bin=m:type=numeric:indextype=mapkeys:context=null:exp=null:state=RW;"
     "ns=test:indexname=qs_c2:set=qs_s:bin=m:type=string:indextype=list:context=[list_index(1), "
     "map_key(<string#1>)]:exp=null:state=RW"),
    ("sindex-stat:namespace=test;indexname=qs_n",
     "entries=0;used_bytes=16777216;entries_per_bval=0;entries_per_rec=0;load_pct=100;load_time=0;stat_gc_recs=0"),
    ("sindex-exists:namespace=test;indexname=qs_n", "true"),
    ("sindex-exists:namespace=test;indexname=qs_zz", "false"),
    ("sindex-stat:namespace=test;indexname=qs_zz", "ERROR:201:no index"),
    ("sindex-stat:namespace=nons;indexname=qs_zz", "ERROR:20:namespace not found on node"),
    ("sindex/test/qs_zz", "ERROR:201:no index"),
    ("sindex/nons", "ns_type=unknown"),
    ("sindex-list:ns=nons", "ERROR:20:namespace not found on node;ERROR:20:namespace not found on node"),
    ("sindex-create:namespace=test;set=qs_s;indexname=qs_x;bin=m;type=numeric;context=!!!",
     "ERROR:4:'context' invalid base64"),
    ("sindex-create:namespace=test;set=qs_s;indexname=qs_x;bin=m;type=numeric;context=kQ==",
     "ERROR:4:'context' invalid cdt context"),
    ("sindex-create:namespace=test;set=qs_s;indexname=qs_x;bin=m;type=foo",
     "ERROR:4:bad 'type' - must be one of 'numeric', 'string', 'blob', 'geo2dsphere'"),
    ("sindex-create:namespace=test;set=qs_s;indexname=qs_x;bin=m;type=numeric;indextype=foo",
     "ERROR:4:bad 'indextype' - must be one of 'default', 'list', 'mapkeys', 'mapvalues'"),
    ("sindex-create:namespace=test;set=qs_s;indexname=qs_x;bin=m", "ERROR:4:both 'indexdata' and 'type' are missing"),
    ("sindex-create:namespace=test;set=qs_s;indexname=qs_x;type=numeric", "ERROR:4:both 'bin' and 'exp' are missing"),
    ("sindex-create:namespace=test;set=qs_s;bin=m;type=numeric", "ERROR:4:missing 'indexname'"),
    ("sindex-create:set=qs_s;indexname=qs_x;bin=m;type=numeric", "ERROR:20:missing 'namespace'"),
    ("sindex-create:namespace=test;set=qs_s;indexname=qs_x;bin=m;type=geo2dsphere;indextype=mapkeys",
     "ERROR:4:bad 'indexdata' bin type for 'indextype' 'mapkeys' - must be one of 'numeric', 'string', 'blob'"),
    ("sindex-create:namespace=test;set=qs_s;indexname=qs_z;bin=m1234567890123456;type=numeric",
     "ERROR:4:'bin' value too long"),
    ("sindex-create:namespace=test;set=;indexname=qs_x;bin=m;type=numeric;indextype=foo",
     "ERROR:4:missing 'set' value"),
    ("sindex-create:namespace=test;set=qs_s;indexname=qs_x;bin=m;type=numeric;indexdata=m,numeric",
     "ERROR:4:both 'indexdata' and 'type' are specified"),
    ("sindex-stat:namespace=test", "ERROR:4:missing 'indexname'ERROR:201:no index"),
    ("sindex-exists:namespace=test", "ERROR:4:missing 'indexname'false"),
    ("sindex-list:ns=test;b64=maybe", "ERROR:4:bad b64"),
    ("sindex-list:ns=", "ERROR:20:missing 'namespace' value;ERROR:20:missing 'namespace' value"),
    ("sindex-delete:namespace=test", "ERROR:4:missing 'indexname'ok"),
    ("sindex-delete:indexname=qs_zz", "ERROR:20:missing 'namespace'"),
    ("sindex-delete:namespace=test;indexname=qs_zz", "ok"),
    ("query-show:id=abc", "ERROR:4:bad id"),
    ("query-show:id=123456789", "ERROR:2:job not found"),
    ("sindex-delete:namespace=test;indexname=qs_n", "ok"),
    ("sindex-delete:namespace=test;indexname=qs_mk", "ok"),
    ("sindex-delete:namespace=test;indexname=qs_c2", "ok"),
    ("sindex-list:ns=test", ""),
]


def _raw_info(host: str, port: int, cmd: str) -> str:
    import socket

    from aerospike_py._wire.info import pack_info_request, parse_info_response

    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(pack_info_request(cmd))
        head = b""
        while len(head) < 8:
            head += s.recv(8 - len(head))
        n = int.from_bytes(head[2:], "big")
        body = b""
        while len(body) < n:
            body += s.recv(n - len(body))
    return parse_info_response(body)[cmd]


def _check_info(host: str, port: int) -> None:
    for cmd, want in SINDEX_INFO:
        if cmd == "WAIT":  # a real server builds in the background (state WO until then)
            for name in want.split():
                for _ in range(10_000):
                    if "load_pct=100" in _raw_info(host, port, f"sindex-stat:namespace=test;indexname={name}"):
                        break
            continue
        got = _raw_info(host, port, cmd)
        if cmd.startswith("sindex-list") and not got.startswith("ERROR"):  # other sessions' indexes aside
            got = ";".join(e for e in got.split(";") if ":indexname=qs_" in e)
        if cmd.startswith("sindex-stat"):  # the build time is a measurement
            got = re.sub(r"load_time=\d+", "load_time=0", got)
        assert got == want, cmd


def test_sindex_info_answers_byte_for_byte(server):
    _check_info(server.host, server.port)


def test_sindex_info_answers_match_real_server(server, real_server):
    try:
        _check_info(real_server.host, real_server.port)
    finally:
        for name in ("qs_n", "qs_mk", "qs_c2"):
            _raw_info(real_server.host, real_server.port, f"sindex-delete:namespace=test;indexname={name}")


def test_cluster_queries_follow_partition_owners_through_a_node_stop():
    from aerospike_py.server import EmbeddedCluster

    with EmbeddedCluster(nodes=3, replication_factor=2) as cluster:
        c = _connect(cluster.config)
        try:
            info = _info_fn(c)
            for i in range(90):
                c.put((NS, SET, i), {"n": i, "s": f"s{i % 3}"})
            _create_indexes(info)
            q = c.query(NS, SET)
            q.where(p.between("n", 10, 69))
            assert sorted(r[2]["n"] for r in q.results()) == list(range(10, 70))
            assert len(c.query(NS, SET).results()) == 90
            cluster.stop_node(1)  # survivors take over its partitions, indexes with them
            for _ in range(100):  # until the client has the new partition map
                if len(c.get_nodes()) == 2:
                    break
                c.is_connected()
            q = c.query(NS, SET)
            q.where(p.equals("s", "s1"))
            assert sorted(r[2]["n"] for r in q.results()) == list(range(1, 90, 3))
        finally:
            c.close()


PER_NODE = ("stat_n", "stat_l", "stat_s", "bg_show")  # per node (partitions differ)


def test_cluster_scenario_matches_real_cluster(real_cluster):
    from aerospike_py.server import EmbeddedCluster

    with EmbeddedCluster(nodes=3, replication_factor=2) as cluster:
        c = _connect(cluster.config)
        try:
            ours = scenario(c, _info_fn(c))
        finally:
            _drop(c)
            c.close()
    rc = _connect(real_cluster.config)
    try:
        _drop(rc)
        rc.truncate(NS, SET, 0)
        theirs = scenario(rc, _info_fn(rc))
    finally:
        _drop(rc)
        rc.truncate(NS, SET, 0)
        rc.close()
    for key in ours:
        if key not in PER_NODE:
            assert ours[key] == theirs[key], key
