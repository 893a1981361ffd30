"""The official ``aerospike`` client against the embedded server: it proves the server speaks the
real protocol, and that ours and the official client see the same values, generations and errors.

The same KV scenario runs once with each client (each on an emptied server); records written by
one client are then read by the other, both ways, for str, int, bytes and bytearray keys.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

import aerospike_py

aerospike = pytest.importorskip("aerospike")
oh = pytest.importorskip("aerospike_helpers.operations.operations")

pytestmark = [
    pytest.mark.official,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),  # the official client's meta/append notices
]

NEVER = 0xFFFFFFFF
GEO = '{"type": "Point", "coordinates": [-122.0, 37.5]}'
ALL_TYPES: dict[str, Any] = {
    "i": 42,
    "neg": -7,
    "max": 2**63 - 1,
    "min": -(2**63),
    "f": 3.14159,
    "s": "héllo wörld ✓ 日本 😀",
    "e": "",
    "b": b"\x00\x01\xff",
    "t": True,
    "fa": False,
    "l": [1, -1, "a", 2.5, [1, 2, [3]], {"k": "v"}, None, True, b"\x01\x02", []],
    "m": {"two": 2, 1: "one", -1: b"\xff", 3: {4: 5.5}, "nested": {"a": [1, 2]}},
    "em": {},
}


@pytest.fixture
def official(server):
    """A connected official client on the embedded server."""
    c = aerospike.client({"hosts": [(server.host, server.port)], "policies": {"total_timeout": 2000}}).connect()
    yield c
    c.close()


class TTL(int):
    """A TTL in a normalised result: equal to another within 3 seconds (the clients read at different times)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, int) and abs(int(self) - int(other)) <= 3

    __hash__ = int.__hash__


def _meta(m: Any) -> tuple[int, TTL] | None:
    if m is None:
        return None
    if isinstance(m, dict):
        return m["gen"], TTL(m["ttl"])
    return m.gen, TTL(m.ttl)


def _value(v: Any) -> Any:
    """Client-neutral values: GeoJSON as its text, bytearray as bytes, containers recursively."""
    if isinstance(v, aerospike.GeoJSON):
        return v.dumps()
    if isinstance(v, aerospike_py.GeoJSON):
        return str(v)
    if isinstance(v, bytearray):
        return bytes(v)
    if isinstance(v, list):
        return [_value(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_value(x) for x in v)
    if isinstance(v, dict):
        return {_value(k): _value(x) for k, x in v.items()}
    return v


def _record(r: Any) -> tuple:
    """(digest, (gen, ttl), bins) of a get/select/operate result."""
    key, meta, bins = r
    return bytes(key[3]), _meta(meta), _value(bins)


class Dialect:
    """The differences between the two clients' APIs, so one scenario serves both."""

    def __init__(self, client: Any, official: bool) -> None:
        self.c = client
        self.official = official
        m = aerospike if official else aerospike_py
        self.EXISTS_CREATE_ONLY = m.POLICY_EXISTS_CREATE if official else m.POLICY_EXISTS_CREATE_ONLY
        self.EXISTS_UPDATE_ONLY = m.POLICY_EXISTS_UPDATE
        self.EXISTS_REPLACE_ONLY = m.POLICY_EXISTS_REPLACE if official else m.POLICY_EXISTS_REPLACE_ONLY
        self.EXISTS_CREATE_OR_REPLACE = m.POLICY_EXISTS_CREATE_OR_REPLACE if official else m.POLICY_EXISTS_REPLACE
        self.GEN_EQ = m.POLICY_GEN_EQ
        self.GEN_GT = m.POLICY_GEN_GT
        self.KEY_SEND = m.POLICY_KEY_SEND

    def geo(self, text: str) -> Any:
        import json

        return aerospike.GeoJSON(json.loads(text)) if self.official else aerospike_py.GeoJSON(text)

    def write(self, b: str, v: Any) -> Any:
        return oh.write(b, v) if self.official else {"op": aerospike_py.OPERATOR_WRITE, "bin": b, "val": v}

    def read(self, b: str) -> Any:
        return oh.read(b) if self.official else {"op": aerospike_py.OPERATOR_READ, "bin": b}

    def incr(self, b: str, v: Any) -> Any:
        return oh.increment(b, v) if self.official else {"op": aerospike_py.OPERATOR_INCR, "bin": b, "val": v}

    def append(self, b: str, v: Any) -> Any:
        return oh.append(b, v) if self.official else {"op": aerospike_py.OPERATOR_APPEND, "bin": b, "val": v}

    def prepend(self, b: str, v: Any) -> Any:
        return oh.prepend(b, v) if self.official else {"op": aerospike_py.OPERATOR_PREPEND, "bin": b, "val": v}

    def touch(self) -> Any:
        return oh.touch() if self.official else {"op": aerospike_py.OPERATOR_TOUCH}

    def delete(self) -> Any:
        return oh.delete() if self.official else {"op": aerospike_py.OPERATOR_DELETE}


def _outcome(fn: Callable[[], Any], shape: Callable[[Any], Any] = lambda r: r) -> tuple:
    """("ok", shaped result) or ("error", result code)."""
    try:
        r = fn()
    except (aerospike.exception.AerospikeError, aerospike_py.exception.AerospikeError) as e:
        return ("error", e.code)
    return ("ok", shape(r))


def _ordered(r: Any) -> tuple:
    key, meta, pairs = r
    return bytes(key[3]), _meta(meta), [(n, _value(v)) for n, v in pairs]


def _exists(r: Any) -> Any:
    return bytes(r[0][3]), _meta(r[1])


def scenario(d: Dialect) -> list[tuple[str, tuple]]:
    """The KV scenario; returns each step's normalised outcome."""
    c = d.c
    k = ("test", "sc", "all")
    k2 = ("test", "sc", "op")
    missing = ("test", "sc", "missing")
    out: list[tuple[str, tuple]] = []

    def step(name: str, fn: Callable[[], Any], shape: Callable[[Any], Any] = lambda r: r) -> None:
        out.append((name, _outcome(fn, shape)))

    step("put all", lambda: c.put(k, dict(ALL_TYPES, g=d.geo(GEO))), lambda r: None)
    step("get all", lambda: c.get(k), _record)
    step("select", lambda: c.select(k, ["i", "s", "nosuchbin"]), _record)
    step("exists", lambda: c.exists(k), _exists)
    step("exists missing", lambda: c.exists(missing), _exists)
    step("get missing", lambda: c.get(missing), _record)
    step("put None deletes bin", lambda: c.put(k, {"t": None}), lambda r: None)
    step("get after bin delete", lambda: c.get(k), _record)
    step("create-only on existing", lambda: c.put(k, {"x": 1}, policy={"exists": d.EXISTS_CREATE_ONLY}))
    step("update-only on missing", lambda: c.put(missing, {"x": 1}, policy={"exists": d.EXISTS_UPDATE_ONLY}))
    step("replace-only on missing", lambda: c.put(missing, {"x": 1}, policy={"exists": d.EXISTS_REPLACE_ONLY}))
    step("gen EQ mismatch", lambda: c.put(k, {"x": 1}, meta={"gen": 999}, policy={"gen": d.GEN_EQ}))
    step("gen EQ match", lambda: c.put(k, {"x": 2}, meta={"gen": 2}, policy={"gen": d.GEN_EQ}), lambda r: None)
    step("gen GT older", lambda: c.put(k, {"x": 3}, meta={"gen": 1}, policy={"gen": d.GEN_GT}))
    step("increment int", lambda: c.increment(k, "i", 5), lambda r: None)
    step("increment negative", lambda: c.increment(k, "neg", -3), lambda r: None)
    step("increment float", lambda: c.increment(k, "f", 0.5), lambda r: None)
    step("increment new bin", lambda: c.increment(k, "newbin", 1), lambda r: None)
    step("increment str bin", lambda: c.increment(k, "s", 1))
    step("append", lambda: c.append(k, "s", "!"), lambda r: None)
    step("prepend", lambda: c.prepend(k, "s", ">>"), lambda r: None)
    step("append bytes", lambda: c.append(k, "b", b"\xaa"), lambda r: None)
    step("get after updates", lambda: c.get(k), _record)
    step("touch 300", lambda: c.touch(k, 300), lambda r: None)
    step("exists after touch", lambda: c.exists(k), _exists)
    step("remove_bin", lambda: c.remove_bin(k, ["e"]), lambda r: None)
    step("create-or-replace", lambda: c.put(k, {"only": 1}, policy={"exists": d.EXISTS_CREATE_OR_REPLACE}),
         lambda r: None)
    step("get after replace", lambda: c.get(k), _record)
    for ttl in (100, -1, -2, 0):
        kt = ("test", "sc", f"ttl{ttl}")
        step(f"put ttl {ttl}", lambda kt=kt, ttl=ttl: c.put(kt, {"x": 1}, meta={"ttl": ttl}), lambda r: None)
        step(f"exists ttl {ttl}", lambda kt=kt: c.exists(kt), _exists)
    step("operate", lambda: c.operate(k2, [d.write("a", 1), d.write("s", "mid"), d.incr("a", 5),
                                           d.append("s", ">"), d.prepend("s", "<"), d.read("a"), d.read("s")]),
         _record)
    step("operate touch+read", lambda: c.operate(k2, [d.touch(), d.read("a")], meta={"ttl": 500}), _record)
    step("operate float incr", lambda: c.operate(k2, [d.incr("f", 1.25), d.read("f")]), _record)
    step("operate_ordered", lambda: c.operate_ordered(
        k2, [d.write("x", 1), d.read("x"), d.incr("x", 2), d.read("x"), d.write("y", "z"), d.read("y")]), _ordered)
    step("operate delete", lambda: c.operate(k2, [d.delete()]), _record)
    step("operate read deleted", lambda: c.operate(k2, [d.read("a")]), _record)
    step("remove present", lambda: c.remove(k), lambda r: None)
    step("remove missing", lambda: c.remove(k))
    step("put for gen remove", lambda: c.put(k, {"x": 1}), lambda r: None)
    step("remove gen mismatch", lambda: c.remove(k, meta={"gen": 999}, policy={"gen": d.GEN_EQ}))
    step("remove gen match", lambda: c.remove(k, meta={"gen": 1}, policy={"gen": d.GEN_EQ}), lambda r: None)
    step("put for truncate", lambda: c.put(("test", "sc", "tr"), {"x": 1}), lambda r: None)
    # The official client's truncate() holds the GIL while it waits for the answer, so against a server
    # in this process it always times out: it sends the same info command through info_all() here, and
    # test_official_truncate runs truncate() itself against a server in another process.
    step("truncate set", (lambda: c.info_all("truncate:namespace=test;set=sc")) if d.official
         else (lambda: c.truncate("test", "sc", 0)), lambda r: None)
    step("get after truncate", lambda: c.get(("test", "sc", "tr")), _record)
    return out


def test_same_scenario_same_outcomes(server, official, client):
    theirs = scenario(Dialect(official, True))
    server.clear()
    ours = scenario(Dialect(client, False))
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    for (name, a), (_, b) in zip(theirs, ours, strict=True):
        assert b == a, f"step {name!r}: official {a!r}, ours {b!r}"
    got = dict(theirs)
    # Spot checks that the scenario exercised what it claims (the comparison alone would pass if both failed).
    assert got["get all"][1][1] == (1, NEVER)
    assert got["get all"][1][2] == _value(dict(ALL_TYPES, g=GEO))
    assert got["select"][1][2] == {"i": 42, "s": ALL_TYPES["s"]}
    assert got["exists missing"] == ("ok", (got["exists missing"][1][0], None))
    assert got["get missing"] == ("error", 2)
    assert got["create-only on existing"] == ("error", 5)
    assert got["update-only on missing"] == ("error", 2)
    assert got["gen EQ mismatch"] == ("error", 3)
    assert got["gen GT older"] == ("error", 3)
    assert got["increment str bin"] == ("error", 12)
    bins = got["get after updates"][1][2]
    assert (bins["i"], bins["neg"], bins["f"], bins["newbin"]) == (47, -10, 3.64159, 1)
    assert (bins["s"], bins["b"]) == (">>" + ALL_TYPES["s"] + "!", b"\x00\x01\xff\xaa")
    assert got["exists after touch"][1][1] == (11, 300)
    assert got["get after replace"][1][2] == {"only": 1}
    assert got["exists ttl 100"][1][1] == (1, 100)
    assert got["exists ttl -1"][1][1] == (1, NEVER)
    assert got["operate"][1][1:] == ((1, NEVER), {"a": 6, "s": "<mid>"})
    assert got["operate touch+read"][1][1:] == ((2, 500), {"a": 6})
    assert got["operate_ordered"][1][2] == [("x", 1), ("x", 3), ("y", "z")]
    assert got["operate read deleted"] == ("error", 2)
    assert got["remove missing"] == ("error", 2)
    assert got["remove gen mismatch"] == ("error", 3)
    assert got["get after truncate"] == ("error", 2)


KEYS = [
    ("test", "x", "str-key"),
    ("test", "x", 12345),
    ("test", "x", -1),
    ("test", "x", b"bytes-key"),
    ("test", "x", bytearray(b"\x01\x02tv")),
    ("test", "", "no-set"),
]


def _stored_key(server: Any, key: tuple) -> bytes | None:
    """The user-key field (particle type + bytes) the server stored for ``key``."""
    from aerospike_py._commands.keys import parse_key

    digest = parse_key(key).digest
    rec = server.call(lambda: server.node.namespaces[key[0]].get(digest, server.clock))
    return rec.key


def _expected_stored_key(user_key: Any) -> bytes:
    """As the official client sends keys: str and bytes with the string type, bytearray as a blob."""
    if isinstance(user_key, int):
        return b"\x01" + user_key.to_bytes(8, "big", signed=True)
    if isinstance(user_key, str):
        return b"\x03" + user_key.encode()
    return (b"\x04" if isinstance(user_key, bytearray) else b"\x03") + bytes(user_key)


@pytest.mark.parametrize("key", KEYS, ids=lambda k: repr(k[2]) + "@" + repr(k[1]))
def test_official_writes_ours_reads(server, official, client, key):
    bins = dict(ALL_TYPES, g=aerospike.GeoJSON({"type": "Point", "coordinates": [-122.0, 37.5]}))
    official.put(key, bins, policy={"key": aerospike.POLICY_KEY_SEND})
    assert _stored_key(server, key) == _expected_stored_key(key[2])
    official.put(key, {"extra": 1})
    o_key, o_meta, o_bins = official.get(key)
    r = client.get(key)
    assert r.key.digest == bytes(o_key[3])
    assert (r.meta.gen, r.meta.ttl) == (o_meta["gen"], o_meta["ttl"]) == (2, NEVER)
    assert _value(r.bins) == _value(o_bins) == _value(dict(ALL_TYPES, g=GEO, extra=1))
    assert client.exists(key).meta.gen == 2


@pytest.mark.parametrize("key", KEYS, ids=lambda k: repr(k[2]) + "@" + repr(k[1]))
def test_ours_writes_official_reads(server, official, client, key):
    client.put(key, dict(ALL_TYPES, g=aerospike_py.GeoJSON(GEO)), policy={"key": aerospike_py.POLICY_KEY_SEND})
    client.increment(key, "i", 1)
    r = client.get(key)
    o_key, o_meta, o_bins = official.get(key)
    assert bytes(o_key[3]) == r.key.digest
    assert o_meta == {"gen": 2, "ttl": NEVER}
    assert _value(o_bins) == _value(r.bins) == _value(dict(ALL_TYPES, g=GEO, i=43))
    assert _stored_key(server, key) == _expected_stored_key(key[2])
    official.remove(key)
    with pytest.raises(aerospike_py.exception.RecordNotFound):
        client.get(key)


def test_official_connect_and_info(server, official, client):
    assert official.is_connected()
    nodes = official.get_nodes()
    assert nodes == [(server.host, server.port)]
    theirs = official.info_all("namespaces")
    assert len(theirs) == 1
    (node_name, (err, text)), = theirs.items()
    assert err is None and node_name == client.get_node_names()[0]
    assert set(text.strip().split(";")) == {"test", "bar"}
    ours = client.info_all("namespaces")
    assert [(i.node_name, i.error_code) for i in ours] == [(node_name, 0)]
    assert ours[0].response.strip().split("\t")[-1].split(";") == text.strip().split(";")
    build = official.info_random_node("build")
    assert build.strip().split("\t")[-1] == "8.1.2.0"
    assert client.info_random_node("build").strip().split("\t")[-1] == "8.1.2.0"


def test_official_tend_sequence(server):
    """The official client's connect sends the info requests seen against the real server, and the server answers them."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from _proxy import FrameProxy

    with FrameProxy(server.address) as px:
        c = aerospike.client(px.config).connect()
        try:
            info = [f for f in px.frames if f.ptype == 1]
        finally:
            c.close()
    requests = [f.data[8:].decode() for f in info if f.direction == "c2s"]
    replies = [f.data[8:].decode() for f in info if f.direction == "s2c"]
    assert requests[:4] == [
        "node\npartition-generation\nbuild\n",
        requests[1],
        "peers-clear-std\n",
        "partition-generation\nreplicas\n",
    ]
    assert requests[1].startswith("user-agent-set:value=")
    assert replies[0].split("\n")[2] == "build\t8.1.2.0"
    assert replies[2] == f"peers-clear-std\t{server.node.peers_generation},3000,[]\n"
    assert "test:0,1," in replies[3] and "bar:0,1," in replies[3]


def test_cross_client_errors_carry_codes(server, official, client):
    key = ("test", "x", "err")
    official.put(key, {"s": "text"})
    with pytest.raises(aerospike.exception.BinIncompatibleType):
        official.increment(key, "s", 1)
    with pytest.raises(aerospike_py.exception.BinTypeError) as ours:
        client.increment(key, "s", 1)
    assert ours.value.code == 12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(aerospike.exception.RecordExistsError):
            official.put(key, {"s": 1}, policy={"exists": aerospike.POLICY_EXISTS_CREATE})
    with pytest.raises(aerospike_py.exception.RecordExistsError):
        client.put(key, {"s": 1}, policy={"exists": aerospike_py.POLICY_EXISTS_CREATE_ONLY})
    assert official.get(key)[1]["gen"] == client.get(key).meta.gen == 1


@pytest.fixture(scope="module")
def server_process():
    """An embedded server in its own process: ``(host, port)``."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "aerospike_py.server", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        host, _, port = line.strip().rpartition(" ")[2].rpartition(":")
        yield host, int(port)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_official_truncate(server_process):
    """truncate() of the official client, and its lut cut-off, against a server it does not share a GIL with."""
    import time

    off = aerospike.client({"hosts": [server_process]}).connect()
    ours = aerospike_py.client({"hosts": [server_process]}).connect()
    try:
        old, new, other = ("test", "trunc", "old"), ("test", "trunc", "new"), ("test", "keep", "k")
        for k in (old, other):
            ours.put(k, {"x": 1})
        cutoff = time.time_ns()
        ours.put(new, {"x": 2})
        assert off.truncate("test", "trunc", cutoff) == 0
        assert ours.exists(old).meta is None
        assert ours.exists(new).meta.gen == 1
        assert off.truncate("test", "trunc", 0) == 0
        assert ours.exists(new).meta is None
        assert off.exists(other)[1]["gen"] == 1
    finally:
        off.close()
        ours.close()
