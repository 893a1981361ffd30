"""The embedded server's query/scan answers at the byte level, and geo containment on the sphere.

* The query and scan requests of ``official-query.jsonl`` are replayed against the embedded server
  loaded with the capture's records and indexes: every record message must equal one the real
  server sent (bvals of integers and of hashed strings included), and the answer must end with the
  30-byte last-message frame.
* On a 3-node cluster (embedded, and real when available) a node answers the partitions it holds
  (master or replica) and sends a "partition done" (result 11) for each other partition asked for.
* Geo: containment follows great circles, not straight lines in longitude/latitude.
"""

from __future__ import annotations

import socket
import struct

import pytest

import aerospike_py
from _paths import SHARED
from _traces import decode, trace_frames
from aerospike_py._wire import constants as W
from aerospike_py._wire.query import decode_answer, pack_index_range
from aerospike_py.server import EmbeddedCluster, geo

QUERY_TRACE = SHARED / "traces" / "official-query.jsonl"


def _client(config: dict) -> aerospike_py.Client:
    """Our client, with write timeouts generous enough for a loaded test machine."""
    return aerospike_py.client({**config, "policies": {"write": {"total_timeout": 20000}}}).connect()


def _messages(frame: bytes) -> list[bytes]:
    """The messages of one type-3 frame, as bytes."""
    body, out, off = frame[8:], [], 0
    while off < len(body):
        h = struct.unpack_from(">BBBBBBIIIHH", body, off)
        end = off + 22
        for _ in range(h[9] + h[10]):
            end += 4 + struct.unpack_from(">I", body, end)[0]
        out.append(body[off:end])
        off = end
    return out


def _exchange(host: str, port: int, request: bytes) -> list[bytes]:
    """Send one request frame; the answer's frames, up to the one with the last message."""
    frames: list[bytes] = []
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(request)
        buf = b""
        while True:
            while len(buf) < 8 or len(buf) < 8 + int.from_bytes(buf[2:8], "big"):
                chunk = s.recv(65536)
                assert chunk, "connection closed mid-answer"
                buf += chunk
            n = 8 + int.from_bytes(buf[2:8], "big")
            frame, buf = buf[:n], buf[n:]
            frames.append(frame)
            msgs = _messages(frame)
            if any(m[3] & W.INFO3_LAST for m in msgs) or (len(msgs) == 1 and msgs[0][5] != 0):
                return frames


def _info(host: str, port: int, cmd: str) -> str:
    from aerospike_py._wire.info import pack_info_request, parse_info_response

    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(pack_info_request(cmd))
        head = b""
        while len(head) < 8:
            head += s.recv(8 - len(head))
        n, body = int.from_bytes(head[2:], "big"), b""
        while len(body) < n:
            body += s.recv(n - len(body))
    return parse_info_response(body)[cmd]


def test_trace_queries_answered_with_the_real_servers_record_messages(server):
    steps = trace_frames(QUERY_TRACE, "query(")
    c = _client(server.config)
    try:
        for i in range(20):
            c.put(("test", "tvq", f"tv-q-{i}"), {"n": i, "s": f"s{i % 5}", "g": i % 2},
                  policy={"key": aerospike_py.POLICY_KEY_SEND})
    finally:
        c.close()
    assert _info(server.host, server.port,
                 "sindex-create:namespace=test;set=tvq;indexname=tv_idx_n;bin=n;type=NUMERIC") == "ok"
    assert _info(server.host, server.port,
                 "sindex-create:namespace=test;set=tvq;indexname=tv_idx_s;bin=s;type=STRING") == "ok"
    try:
        checked = 0
        for request, _reply in steps:
            if "after truncate" in request["step"]:
                continue
            label = request["step"]
            theirs = [bytes.fromhex(f["hex"]) for f in _reply_frames(label)]
            ours = _exchange(server.host, server.port, bytes.fromhex(request["hex"]))
            assert ours[-1] == theirs[-1] and len(ours[-1]) == 30, label
            their_records = sorted(m for f in theirs[:-1] for m in _messages(f))
            our_records = sorted(m for f in ours[:-1] for m in _messages(f))
            if "max_records" in label:
                assert len(our_records) == len(their_records) == 5
                assert set(our_records) <= set(_all_scan_records()), label
            else:
                assert our_records == their_records, label
            checked += 1
        assert checked == 9
    finally:
        for name in ("tv_idx_n", "tv_idx_s"):
            _info(server.host, server.port, f"sindex-delete:namespace=test;indexname={name}")


def _reply_frames(label: str) -> list[dict]:
    import json

    return [d for d in map(json.loads, QUERY_TRACE.read_text().splitlines())
            if d.get("type") == W.PROTO_TYPE_MESSAGE and d.get("dir") == "s2c" and d.get("step") == label]


def _all_scan_records() -> list[bytes]:
    label = "query(test, tvq).results() (scan of the set, all partitions)"
    return [m for f in _reply_frames(label)[:-1] for m in _messages(bytes.fromhex(f["hex"]))]


def test_trace_request_without_index_gets_the_real_error(server):
    request, _ = trace_frames(QUERY_TRACE, "query(test, tvq).where(equals")[0]
    ours = _exchange(server.host, server.port, bytes.fromhex(request["hex"]))
    # As the real server answers when the index is missing: one message, result 201, no last bit.
    assert ours == [bytes.fromhex("02030000000000161600000000c900000000000000000000000000000000")]
    h, fields, _ = decode(request)
    assert h.info3 & W.INFO3_PARTITION_DONE


def _raw_scan(pids: list[int], max_records: int, no_bins: bool) -> bytes:
    from aerospike_py._wire.message import pack_field, pack_message

    fields = [pack_field(W.FIELD_NAMESPACE, b"test"), pack_field(W.FIELD_SET, b"qs_w"),
              pack_field(W.FIELD_PID_ARRAY, b"".join(struct.pack("<H", p) for p in pids))]
    if max_records:
        fields.append(pack_field(W.FIELD_MAX_RECORDS, struct.pack(">Q", max_records)))
    info1 = W.INFO1_READ | (W.INFO1_NOBINDATA if no_bins else 0)
    return pack_message(info1, 0, W.INFO3_PARTITION_DONE, 0, 0, 0xFFFFFFFF, 0, fields, [])


def test_max_records_stops_across_partitions_and_digests_resume(server):
    c = _client(server.config)
    try:
        for i in range(200):
            c.put(("test", "qs_w", i), {"i": i})
    finally:
        c.close()
    frames = _exchange(server.host, server.port, _raw_scan(list(range(4096)), 37, True))
    first = [m for f in frames for m in decode_answer(f[8:]) if m.kind == "record"]
    assert len(first) == 37 and all(not m.bins for m in first)
    pids = [(m.digest[0] | m.digest[1] << 8) & 0xFFF for m in first]
    assert pids == sorted(pids)  # partitions in order
    # Resume: the last digest of each partition seen, and the partitions after the last one.
    from aerospike_py._wire.message import pack_field, pack_message

    last: dict[int, bytes] = {}
    for pid, m in zip(pids, first, strict=True):
        last[pid] = m.digest
    rest = [p for p in range(4096) if p > pids[-1]]
    fields = [pack_field(W.FIELD_NAMESPACE, b"test"), pack_field(W.FIELD_SET, b"qs_w"),
              pack_field(W.FIELD_PID_ARRAY, b"".join(struct.pack("<H", p) for p in rest)),
              pack_field(W.FIELD_DIGEST_ARRAY, b"".join(last.values()))]
    req = pack_message(W.INFO1_READ, 0, W.INFO3_PARTITION_DONE, 0, 0, 0xFFFFFFFF, 0, fields, [])
    frames = _exchange(server.host, server.port, req)
    second = [m for f in frames for m in decode_answer(f[8:]) if m.kind == "record"]
    digests = [m.digest for m in first + second]
    assert len(digests) == len(set(digests)) == 200


def test_index_range_parse_errors_are_parameter_errors(server):
    from aerospike_py._wire.message import pack_field, pack_message

    assert _info(server.host, server.port, "sindex-create:namespace=test;set=qs_w;indexname=qs_w_i;bin=i;"
                                           "type=numeric") == "ok"
    try:
        for rng, code in ((pack_index_range("i", W.PT_INTEGER, struct.pack(">q", 5), struct.pack(">q", 1)), 4),
                          (pack_index_range("i", W.PT_INTEGER, b"\x01", b"\x02"), 4),
                          (pack_index_range("i", W.PT_GEOJSON, b'{"type": "Poin"}', b""), 4),
                          (pack_index_range("x", W.PT_INTEGER, bytes(8), bytes(8)), 201),
                          (pack_index_range("i", W.PT_INTEGER, bytes(8), bytes(8)), 0)):
            fields = [pack_field(W.FIELD_NAMESPACE, b"test"), pack_field(W.FIELD_SET, b"qs_w"),
                      pack_field(W.FIELD_INDEX_RANGE, rng), pack_field(W.FIELD_PID_ARRAY, b"\x00\x00")]
            req = pack_message(W.INFO1_READ, 0, W.INFO3_PARTITION_DONE, 0, 0, 0xFFFFFFFF, 0, fields, [])
            msgs = decode_answer(_exchange(server.host, server.port, req)[-1][8:])
            assert msgs[-1].result_code == code, rng
    finally:
        _info(server.host, server.port, "sindex-delete:namespace=test;indexname=qs_w_i")


# --------------------------------------------------------------------------- geo


def test_great_circle_edges_not_straight_lines():
    pytest.importorskip("shapely")
    # Edges are great circles: at longitude 0 the edge between (-60, 60) and (60, 60) passes at about
    # 73.9 degrees north, the one between (60, 50) and (-60, 50) at about 67.2 (checked on a real server).
    band = geo.parse('{"type": "Polygon", "coordinates": [[[-60, 60], [60, 60], [60, 50], [-60, 50], [-60, 60]]]}')
    inside = [(0, 70), (0, 73.5), (0, 67.5), (59, 55)]
    outside = [(0, 55), (0, 65), (0, 75), (61, 55)]
    for x, y in inside + outside:
        assert band.contains(geo.Point(x, y)) == ((x, y) in inside), (x, y)


def test_holes_multipolygons_and_circles():
    pytest.importorskip("shapely")
    donut = geo.parse('{"type": "Polygon", "coordinates": [[[0,0],[4,0],[4,4],[0,4],[0,0]],'
                      '[[1,1],[3,1],[3,3],[1,3],[1,1]]]}')
    pt = lambda x, y: geo.parse(f'{{"type": "Point", "coordinates": [{x}, {y}]}}')  # noqa: E731
    assert donut.contains(pt(0.5, 0.5)) and not donut.contains(pt(2, 2))
    multi = geo.parse('{"type": "MultiPolygon", "coordinates": [[[[0,0],[1,0],[1,1],[0,1],[0,0]]],'
                      '[[[10,10],[11,10],[11,11],[10,11],[10,10]]]]}')
    assert multi.contains(pt(10.5, 10.5)) and multi.contains(pt(0.5, 0.5)) and not multi.contains(pt(5, 5))
    circle = geo.parse('{"type": "AeroCircle", "coordinates": [[0, 0], 111195]}')  # ~1 degree of arc
    assert circle.contains(pt(0.99, 0)) and not circle.contains(pt(1.01, 0))
    assert circle.contains(pt(0, -0.99)) and not circle.contains(pt(0.8, 0.8))


@pytest.mark.parametrize("text, message", [
    ('{"type": "Poin", "coordinates": [1, 2]}', "unknown top-level type: Poin"),
    ('{"type": "Point", "coordinates": [1, 200]}', "invalid latitude-longitude"),
    ('{"type": "Point", "coordinates": [1]}', "expected 2 coordinates, saw 1"),
    ('{"type": "Polygon", "coordinates": [[[0,0],[1,0],[0,0]]]}', "loop contains less than 4 points"),
    ('{"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,2]]]}', "loop not closed"),
    ('{"type": "AeroCircle", "coordinates": [[0, 0]]}', "malformed circle coordinate array"),
    ('{"type": "Feature", "geometry": {"type": "Line"}}', "unknown geometry type: Line"),
    ("[1, 2]", "top level geojson element not object"),
])
def test_invalid_geojson_messages(text, message):
    with pytest.raises(geo.GeoError, match=message):
        geo.parse(text)


def test_polygon_queries_without_shapely_give_a_clear_error(server, monkeypatch):
    def missing() -> None:
        raise geo.GeoUnavailable("geo queries on polygons need the optional 'shapely' package")

    monkeypatch.setattr(geo, "_shapely", missing)
    from aerospike_py._wire.message import pack_field, pack_message

    assert _info(server.host, server.port, "sindex-create:namespace=test;set=qs_w;indexname=qs_w_g;bin=g;"
                                           "type=geo2dsphere") == "ok"
    try:
        c = _client(server.config)
        try:
            c.put(("test", "qs_w", 1), {"g": aerospike_py.GeoJSON('{"type": "Point", "coordinates": [0.5, 0.5]}')})
        finally:
            c.close()
        region = b'{"type": "Polygon", "coordinates": [[[0,0],[1,0],[1,1],[0,1],[0,0]]]}'
        fields = [pack_field(W.FIELD_NAMESPACE, b"test"), pack_field(W.FIELD_SET, b"qs_w"),
                  pack_field(W.FIELD_INDEX_RANGE, pack_index_range("g", W.PT_GEOJSON, region, region)),
                  pack_field(W.FIELD_PID_ARRAY, b"".join(struct.pack("<H", p) for p in range(4096)))]
        req = pack_message(W.INFO1_READ, 0, W.INFO3_PARTITION_DONE, 0, 0, 0xFFFFFFFF, 0, fields, [])
        msgs = decode_answer(_exchange(server.host, server.port, req)[-1][8:])
        assert msgs[-1].result_code == 16  # unsupported feature (the server logs why)
    finally:
        _info(server.host, server.port, "sindex-delete:namespace=test;indexname=qs_w_g")


def test_records_per_second_paces_frames_without_changing_the_answer(server):
    from aerospike_py._wire.message import pack_field, pack_message

    c = _client(server.config)
    try:
        for i in range(60):
            c.put(("test", "qs_w", i), {"i": i})
    finally:
        c.close()
    fields = [pack_field(W.FIELD_NAMESPACE, b"test"), pack_field(W.FIELD_SET, b"qs_w"),
              pack_field(W.FIELD_RECORDS_PER_SECOND, struct.pack(">I", 300)),
              pack_field(W.FIELD_PID_ARRAY, b"".join(struct.pack("<H", p) for p in range(4096)))]
    req = pack_message(W.INFO1_READ, 0, W.INFO3_PARTITION_DONE, 0, 0, 0xFFFFFFFF, 0, fields, [])
    frames = _exchange(server.host, server.port, req)
    # 300 records a second: frames of 30 records, a tenth of a second apart.
    assert [len(decode_answer(f[8:])) for f in frames] == [30, 30, 1]
    assert sorted(m.bins[0][1] for f in frames[:-1] for m in decode_answer(f[8:])) == list(range(60))


def _partitions(host: str, port: int) -> tuple[set[int], set[int]]:
    """(master, held) partitions of namespace ``test`` on a node, from its ``replicas`` answer."""
    import base64

    value = _info(host, port, "replicas")
    for part in value.split(";"):
        ns, _, rest = part.partition(":")
        if ns == "test":
            maps = [base64.b64decode(b) for b in rest.split(",")[2:]]
            sets = [{p for p in range(4096) if bm[p >> 3] & (0x80 >> (p & 7))} for bm in maps]
            return sets[0], set().union(*sets)
    raise AssertionError(value)


def _stable_key(hosts: list[tuple[str, int]]) -> str | None:
    """The cluster key when every node says the cluster is stable (no migrations), else None."""
    keys = {_info(h, p, f"cluster-stable:size={len(hosts)};ignore-migrations=false") for h, p in hosts}
    return keys.pop() if len(keys) == 1 and not next(iter(keys)).startswith("ERROR") else None


def _cluster_scan_facts(hosts: list[tuple[str, int]]) -> tuple[int, bool]:
    """Scan every partition on every node: as real nodes do, each sends the records of every
    partition it holds (master or replica) and "partition done" (11) for the others; the records of
    each node's master partitions make every record, once. Checked on a stable cluster: a real one
    may be migrating (after another test's node restart, or heartbeats lost on a loaded machine),
    then the check is made again."""
    import time

    c = _client({"hosts": hosts})
    try:
        for i in range(300):
            c.put(("test", "qs_c", i), {"i": i})
        deadline = time.monotonic() + 120
        while True:
            key = _stable_key(hosts)
            if key is None and time.monotonic() < deadline:
                continue
            facts = _scan_facts_once(hosts)
            if key is not None and _stable_key(hosts) == key or time.monotonic() >= deadline:
                return facts
    finally:
        _info(hosts[0][0], hosts[0][1], "truncate:namespace=test;set=qs_c")
        c.close()


def _scan_facts_once(hosts: list[tuple[str, int]]) -> tuple[int, bool]:
    from_masters: list[bytes] = []
    exact = True
    for host, port in hosts:
        master, held = _partitions(host, port)
        frames = _exchange(host, port, _raw_scan_set(b"qs_c", list(range(4096))))
        msgs = [m for f in frames for m in decode_answer(f[8:])]
        done = {m.generation for m in msgs if m.kind == "partition_done" and m.result_code == 11}
        pids = [(m.digest[0] | m.digest[1] << 8) & 0xFFF for m in msgs if m.kind == "record"]
        exact &= done == set(range(4096)) - held and all(p in held for p in pids)
        from_masters += [m.digest for m in msgs if m.kind == "record"
                         and (m.digest[0] | m.digest[1] << 8) & 0xFFF in master]
    return len(set(from_masters)) if len(from_masters) == len(set(from_masters)) else -1, exact


def _raw_scan_set(set_name: bytes, pids: list[int]) -> bytes:
    from aerospike_py._wire.message import pack_field, pack_message

    fields = [pack_field(W.FIELD_NAMESPACE, b"test"), pack_field(W.FIELD_SET, set_name),
              pack_field(W.FIELD_PID_ARRAY, b"".join(struct.pack("<H", p) for p in pids))]
    return pack_message(W.INFO1_READ | W.INFO1_NOBINDATA, 0, W.INFO3_PARTITION_DONE, 0, 0, 0xFFFFFFFF, 0,
                        fields, [])


def test_embedded_cluster_scans_split_by_master_as_a_real_cluster():
    with EmbeddedCluster(nodes=3, replication_factor=2) as cl:
        assert _cluster_scan_facts(cl.config["hosts"]) == (300, True)


def test_real_cluster_scans_split_by_master(real_cluster):
    assert _cluster_scan_facts(real_cluster.hosts) == (300, True)
