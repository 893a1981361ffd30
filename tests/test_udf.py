"""UDFs end to end on the embedded server: registration (info), apply, batch_apply, the record API,
errors, sandboxing and limits; sync and async; module distribution in an embedded cluster; the
traced bytes of the official client."""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path

import pytest

import aerospike_py
from aerospike_py.exception import AerospikeTimeoutError, InvalidArgError, UDFError

pytest.importorskip("lupa")

LIB = Path(__file__).parent / "udf" / "udf_lib.lua"
MOD = "udf_lib"
SET = "udf_t"


@pytest.fixture
def uclient(client):
    client.udf_put(str(LIB))
    yield client
    client.udf_remove(MOD)


def line_of(function: str) -> int:
    """The line of ``udf_lib.lua`` that defines ``function`` (errors name it)."""
    for i, line in enumerate(LIB.read_text().splitlines(), 1):
        if line.startswith(f"function {function}("):
            return i
    raise LookupError(function)


def key(name: object) -> tuple:
    return ("test", SET, name)


def test_register_list_get_remove(client, tmp_path):
    client.udf_put(str(LIB))
    mods = {m["name"]: m for m in client.udf_list()}
    assert mods["udf_lib.lua"]["type"] == 0
    # The real server's hash: SHA1 of its stored JSON object.
    assert len(mods["udf_lib.lua"]["hash"]) == 40
    # As the official client: the hash as it comes (hex text) in a bytearray, content empty.
    assert type(mods["udf_lib.lua"]["hash"]) is bytearray and type(mods["udf_lib.lua"]["content"]) is bytearray
    int(mods["udf_lib.lua"]["hash"], 16)
    assert client.udf_get("udf_lib.lua") == LIB.read_text()
    # The file name as given, as the official client sends it: the real server has no "udf_lib".
    with pytest.raises(UDFError, match="not_found"):
        client.udf_get(MOD)
    client.udf_remove("udf_lib.lua")
    assert "udf_lib.lua" not in {m["name"] for m in client.udf_list()}
    client.udf_remove(MOD)  # removing a module that is not there is fine (as on the real server)
    with pytest.raises(UDFError, match="not_found"):
        client.udf_get(MOD)


def test_registration_errors(client, tmp_path):
    bad = tmp_path / "udf_bad.lua"
    bad.write_text("function f(rec\n  return 1\nend\n")
    with pytest.raises(UDFError) as ei:
        client.udf_put(str(bad))
    assert ei.value.msg == "udf_bad.lua:2: ')' expected near 'return'"
    at_load = tmp_path / "udf_bad2.lua"
    at_load.write_text("error('at load')\n")
    with pytest.raises(UDFError, match="udf_bad2.lua:1: at load"):
        client.udf_put(str(at_load))
    assert client.udf_list() == []
    with pytest.raises(InvalidArgError):
        client.udf_put(str(tmp_path / "missing.lua"))
    with pytest.raises(InvalidArgError):
        client.udf_put(str(LIB), udf_type=1)
    no_ext = tmp_path / "udfnoext"
    no_ext.write_text("function f(rec) return 1 end\n")
    with pytest.raises(UDFError, match="invalid_filename"):
        client.udf_put(str(no_ext))


@pytest.mark.parametrize("command, answer", [
    ("udf-put:filename=udf_x.lua;content=YQ==;udf-type=LUA;", "error=invalid_content_len"),
    ("udf-put:filename=udf_x.lua;content=YQ==;content-len=5;udf-type=LUA;", "error=invalid_content_len"),
    ("udf-put:filename=udf_x.lua;content=!!!!;content-len=4;udf-type=LUA;", "error=invalid_base64_content"),
    ("udf-put:filename=udf_x.lua;content=;content-len=0;udf-type=LUA;", "error=invalid_base64_content"),
    ("udf-put:filename=udf_x.lua;content=YQ==;content-len=4;udf-type=PYTHON;", "error=invalid_udf_type"),
    ("udf-put:content=abc", "error=invalid_filename"),
    ("udf-get:filename=udf_nosuch.lua;", "error=not_found"),
    ("udf-get", "error=invalid_filename"),
    ("udf-remove", "error=invalid_filename"),
    ("udf-remove:filename=udf_nosuch.lua;", "ok"),
])
def test_info_answers(client, command, answer):
    """Answers observed on a real 8.1 server, byte for byte."""
    assert client.info_random_node(command) == answer


def test_info_list_hash_matches_real_server(client):
    content = base64.b64encode(b"function f(rec) return 1 end\n").decode()
    assert client.info_random_node(
        f"udf-put:filename=udf_good.lua;content={content};content-len={len(content)};udf-type=LUA;") == "ok"
    # Observed on the real server for this very module.
    assert client.info_random_node("udf-list") == \
        "filename=udf_good.lua,hash=33f45d14f57514724138343906305c2d0bac9fa6,type=LUA;"
    assert client.info_random_node("udf-get:filename=udf_good.lua;") == f"type=LUA;content={content};"
    client.info_random_node("udf-remove:filename=udf_good.lua;")


VALUES = [1, -(2**63), 2**63 - 1, 1.5, "héllo", b"\x00\xff", True, False, None, [1, [2, "x"], {"k": b"v"}],
          {"a": {"b": [1.5, None]}, 7: "seven"}, aerospike_py._wire.values.GeoJSON('{"type":"Point","coordinates":[1,2]}')]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_values_round_trip(uclient, value):
    uclient.put(key("v"), {"a": 1})
    out = uclient.apply(key("v"), MOD, "echo", [value])
    assert out == value and type(out) is type(value)


def test_types_as_lua_sees_them(uclient):
    uclient.put(key("t"), {"a": 1})
    seen = [uclient.apply(key("t"), MOD, "typeof", [v]) for v in (1, 1.5, "s", b"b", True, [1], {"a": 1}, None)]
    assert seen == ["number", "number", "string", "userdata", "boolean", "userdata", "userdata", "nil"]
    assert uclient.apply(key("t"), MOD, "echo_all", [1, "two", None, 4]) == [1, "two", 4]


def test_write_generation_ttl(uclient, server):
    k = key("w")
    assert uclient.apply(k, MOD, "set_bin", ["a", 5]) == 0  # creates the record
    rec = uclient.get(k)
    assert rec.bins == {"a": 5} and rec.meta.gen == 1
    assert uclient.apply(k, MOD, "bump", ["a", 10]) == 15
    assert uclient.apply(k, MOD, "gen_after_update", ["b", 1]) == 2  # record.gen: before this write
    assert uclient.get(k).meta.gen == 3
    assert uclient.apply(k, MOD, "set_ttl", [100]) == 0
    rec = uclient.get(k)
    assert rec.meta.gen == 4 and 98 <= rec.meta.ttl <= 100
    # Bins set without aerospike:update are not written; a read-only call keeps the generation.
    assert uclient.apply(k, MOD, "set_no_update", ["c", 1]) == 1
    rec = uclient.get(k)
    assert "c" not in rec.bins and rec.meta.gen == 4
    assert uclient.apply(k, MOD, "remove_bin", ["b"]) == 0
    assert uclient.get(k).bins == {"a": 15}
    assert uclient.apply(k, MOD, "remove") == 0
    with pytest.raises(aerospike_py.exception.RecordNotFound):
        uclient.get(k)


def test_create_update_on_missing_and_existing(uclient):
    k = key("cu")
    assert uclient.apply(k, MOD, "update_only", ["a", 1]) == -2
    assert uclient.apply(k, MOD, "bump", ["a", 1]) is None
    assert uclient.apply(k, MOD, "remove") == 1
    assert uclient.apply(k, MOD, "create_only", ["a", 1]) == 0
    assert uclient.apply(k, MOD, "create_only", ["a", 2]) == 1  # exists: not created again
    assert uclient.get(k).bins == {"a": 1}


def test_record_metadata(uclient):
    k = key("m")
    uclient.put(k, {"a": 1, "b": 2}, policy={"key": aerospike_py.POLICY_KEY_SEND})
    m = uclient.apply(k, MOD, "meta")
    assert m == {"gen": 1, "ttl": 0, "set": SET, "key": "m", "digest": uclient.get(k).key.digest,
                 "exists": True, "numbins": 2}
    assert uclient.apply(k, MOD, "bins_of") == ["a", "b"]
    missing = uclient.apply(key("none"), MOD, "meta")
    assert missing["exists"] is False and missing["gen"] == 0 and missing["set"] is None


def test_list_map_bytes_api(uclient):
    k = key("api")
    uclient.put(k, {"a": 1})
    out = uclient.apply(k, MOD, "lists")
    assert out["all"] == [0, "ins", "two", 3.5, 4] and out["size"] == 5 and out["len"] == 5
    assert out["take"] == [0, "ins", "two"] and out["drop"] == [3.5, 4] and out["iter"] == out["all"]
    assert out["str"] == '[1, "a"]'
    m = uclient.apply(k, MOD, "maps")
    assert m == {"m": {"b": "x", "c": [1, 2], "d": {"e": 2.5}}, "size": 3, "keys": 3, "b": "x"}
    assert uclient.apply(k, MOD, "bytes_ops") == [b"\x01AB\x01\x02\x01\x00\x00\x00", 9, 1, "AB", 258, 1, 65]
    assert uclient.apply(k, MOD, "bytes_arg", [b"\x07\x08"]) == [2, 7, "userdata"]
    nested = uclient.apply(k, MOD, "nested_write", ["n"])
    assert nested == {"l": [1, [2, 3], {"x": "y"}], "n": -7, "f": 1.25, "s": "str", "t": True}
    assert uclient.get(k).bins["n"] == nested
    assert uclient.apply(k, MOD, "numbers") == [1, 1.5, 2.0**53, 3, 3.5, True, 2**63 - 1, 7]


@pytest.mark.parametrize("fn, message", [
    ("fail", f"./udf_lib.lua:{line_of('fail')}: deliberate failure"),
    ("fail_level0", "no position"),
    ("fail_table", "result value type unexpected"),
    ("fail_nil_index", f"./udf_lib.lua:{line_of('fail_nil_index')}: attempt to index a nil value (local 'x')"),
    ("fail_call", f"./udf_lib.lua:{line_of('fail_call')}: attempt to call a nil value (global 'undefined_fn')"),
    ("no_such_function", "function not found"),
    ("require_missing", "module 'udf_no_such_module' not found"),
])
def test_udf_errors(uclient, fn, message):
    k = key("e")
    uclient.put(k, {"a": 1})
    with pytest.raises(UDFError) as ei:
        uclient.apply(k, MOD, fn)
    assert ei.value.code == 100
    assert ei.value.msg.endswith(message)
    assert uclient.get(k).meta.gen == 1  # a failed call writes nothing


def test_missing_module_and_unstorable_value(uclient):
    k = key("e2")
    uclient.put(k, {"a": 1})
    with pytest.raises(UDFError, match="UDF: Execution Error 1"):
        uclient.apply(k, "udf_no_such_module", "f")
    with pytest.raises(UDFError, match=f"udf_lib.lua:{line_of('bad_bin_value')}: can't set bin f to unsupported type"):
        uclient.apply(k, MOD, "bad_bin_value")
    assert uclient.apply(k, MOD, "ret_function") is None
    assert uclient.apply(k, MOD, "ret_table") is None


def test_bad_input_raises_before_sending(uclient):
    with pytest.raises(InvalidArgError):
        uclient.apply(key("x"), MOD, "echo", "not a list")
    with pytest.raises(InvalidArgError):
        uclient.apply(key("x"), "", "echo", [])
    with pytest.raises(InvalidArgError):
        uclient.apply(key("x"), MOD, None, [])
    with pytest.raises(InvalidArgError):
        uclient.apply(key("x"), MOD, "echo", [object()])
    with pytest.raises(InvalidArgError):
        uclient.batch_apply([(key("x"), {"bogus": 1})], MOD, "echo", [1])


def test_runaway_udf_is_stopped(uclient, server):
    server.node.udf_time_limit_ms = 50
    try:
        with pytest.raises(UDFError) as ei:
            uclient.apply(key("loop"), MOD, "loop", policy={"total_timeout": 10000, "socket_timeout": 10000})
        assert ei.value.msg == "UDF Execution Timeout"
    finally:
        server.node.udf_time_limit_ms = None


def test_memory_is_bounded(uclient, server):
    with pytest.raises(UDFError, match="not enough memory"):
        uclient.apply(key("mem"), MOD, "memory_hog", policy={"total_timeout": 20000, "socket_timeout": 20000})
    assert uclient.apply(key("mem"), MOD, "echo", [1]) == 1  # the engine still works


def test_sandbox(uclient, tmp_path):
    assert uclient.apply(key("s"), MOD, "sandbox") == {
        "io": "nil", "load": "nil", "dofile": "nil", "loadfile": "nil", "os_execute": "nil", "string_dump": "nil"}
    escape = tmp_path / "udf_escape.lua"
    escape.write_text("function f(rec, o) return tostring(o) end\n"
                      "function g(rec) return python end\n"
                      "function h(rec) return require('os') end\n")
    uclient.udf_put(str(escape))
    try:
        assert uclient.apply(key("s"), "udf_escape", "g") is None
        with pytest.raises(UDFError, match="module 'os' not found"):
            uclient.apply(key("s"), "udf_escape", "h")
    finally:
        uclient.udf_remove("udf_escape")


def test_require_registered_module(uclient, tmp_path):
    helper = tmp_path / "udf_helper.lua"
    helper.write_text("local M = {}\nfunction M.twice(x) return 2 * x end\nreturn M\n")
    user = tmp_path / "udf_user.lua"
    user.write_text("local h = require('udf_helper')\nfunction f(rec, x) return h.twice(x) end\n")
    uclient.udf_put(str(helper))
    uclient.udf_put(str(user))
    try:
        assert uclient.apply(key("r"), "udf_user", "f", [21]) == 42
    finally:
        uclient.udf_remove("udf_user")
        uclient.udf_remove("udf_helper")


def test_logging(uclient, caplog):
    with caplog.at_level(logging.DEBUG, logger="aerospike_py.server.udf"):
        assert uclient.apply(key("l"), MOD, "log_all") == 1
    texts = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "aerospike_py.server.udf"]
    assert (logging.INFO, "i x") in texts and (logging.WARNING, "w") in texts and (logging.DEBUG, "t 1") in texts


def test_batch_apply(uclient):
    keys = [key(f"b{i}") for i in range(5)]
    for i, k in enumerate(keys[:4]):
        uclient.put(k, {"n": i})
    res = uclient.batch_apply(keys, MOD, "bump", ["n", 100])
    assert [r.result for r in res.batch_records] == [0] * 5
    assert [r.record.bins for r in res.batch_records] == [{"SUCCESS": 100 + i} for i in range(4)] + [{"SUCCESS": None}]
    assert [r.record.meta.gen for r in res.batch_records] == [2, 2, 2, 2, 0]
    assert res.batch_records[0].key.user_key == "b0"
    # Per-record overrides, and per-record failures with the server's message.
    res = uclient.batch_apply([keys[0], (keys[1], {"args": ["n", 1]}), (keys[2], {"function": "fail"})],
                              MOD, "bump", ["n", 5])
    r0, r1, r2 = res.batch_records
    assert r0.record.bins == {"SUCCESS": 105} and r1.record.bins == {"SUCCESS": 102}
    assert r2.result == 100 and r2.record.bins == {"FAILURE": f"./udf_lib.lua:{line_of('fail')}: deliberate failure"}
    assert res.retry.attempts == 1


def test_async_udf(server):
    async def main() -> None:
        c = await aerospike_py.AsyncClient(server.config).connect()
        try:
            await c.udf_put(str(LIB))
            await c.put(key("a"), {"n": 1})
            assert await c.apply(key("a"), MOD, "bump", ["n", 2]) == 3
            with pytest.raises(UDFError, match="deliberate failure"):
                await c.apply(key("a"), MOD, "fail")
            res = await c.batch_apply([key("a")], MOD, "echo", [7])
            assert res.batch_records[0].record.bins == {"SUCCESS": 7}
            assert MOD + ".lua" in {m["name"] for m in await c.udf_list()}
            assert (await c.udf_get(MOD + ".lua")).startswith("-- Record UDFs")
            await c.udf_remove(MOD)
            assert await c.udf_list() == []
        finally:
            await c.close()

    asyncio.run(main())


def test_cluster_distributes_modules():
    from aerospike_py.server import EmbeddedCluster

    with EmbeddedCluster(nodes=3, replication_factor=2) as cl:
        c = aerospike_py.client(cl.config).connect()
        try:
            c.udf_put(str(LIB))
            answers = c.info_all("udf-list")
            assert len(answers) == 3 and len({a.response for a in answers}) == 1
            assert "udf_lib.lua" in answers[0].response
            keys = [("test", SET, i) for i in range(30)]
            for k in keys:
                c.put(k, {"n": 1})
            res = c.batch_apply(keys, MOD, "bump", ["n", 1])
            assert all(r.record.bins == {"SUCCESS": 2} for r in res.batch_records)
            assert {c.apply(k, MOD, "get_bin", ["n"]) for k in keys} == {2}
            c.udf_remove(MOD)
            assert all(a.response == "" for a in c.info_all("udf-list"))
        finally:
            c.close()


def test_wait_times_out_when_a_node_never_gets_the_module(client, server):
    # A node that answers udf-put but never lists the module: the register task gives up.
    server.call(server.node.inject_fault, "drop", lambda t, b: t == 1 and b.startswith(b"udf-list"), 1000)
    try:
        with pytest.raises((AerospikeTimeoutError, aerospike_py.exception.ClusterError)):
            client.udf_put(str(LIB), policy={"timeout": 200})
    finally:
        server.call(server.node.clear_faults)
        client.udf_remove(MOD)


@pytest.fixture
def server_process():
    """An embedded server in its own process: the official client keeps the GIL while its
    udf_put waits, so an in-process server could not answer it."""
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


def test_official_client_udf_put_and_apply(server_process, tmp_path):
    aerospike = pytest.importorskip("aerospike")
    # The official client keeps copies of modules in its Lua user path: keep them out of the tree.
    c = aerospike.client({"hosts": [server_process], "lua": {"user_path": str(tmp_path)}}).connect()
    try:
        assert c.udf_put(str(LIB)) == 0
        c.put(("test", SET, "o"), {"n": 1})
        assert c.apply(("test", SET, "o"), MOD, "bump", ["n", 41]) == 42
        assert c.apply(("test", SET, "o"), MOD, "echo", [[1, {"a": 2.5}, bytearray(b"x")]]) == \
            [1, {"a": 2.5}, bytearray(b"x")]
        with pytest.raises(aerospike.exception.UDFError):
            c.apply(("test", SET, "o"), MOD, "fail", [])
        assert any(m["name"] == "udf_lib.lua" for m in c.udf_list())
        assert c.udf_get("udf_lib.lua").startswith("-- Record UDFs")
        c.udf_remove("udf_lib.lua")
    finally:
        c.close()


def test_traced_official_frames_answered_alike(server):
    """Replay the official client's traced UDF session on the embedded server: same replies."""
    from _paths import SHARED
    from _traces import trace_frames

    trace = SHARED / "traces" / "official-udf.jsonl"
    c = aerospike_py.client(server.config).connect()
    try:
        import json

        for line in trace.read_text().splitlines() if trace.exists() else pytest.skip("no traces"):
            d = json.loads(line)
            if d.get("type") == 1 and d["dir"] == "c2s" and d["text"].startswith("udf-put"):
                assert c.info_random_node(d["text"].strip()) == "ok"
                break
        c.put(("test", "tv", "tv-udf-1"), {"i": 1})
        import socket
        import struct

        with socket.create_connection((server.host, server.port)) as s:
            for req, rep in trace_frames(trace, "apply"):
                s.sendall(bytes.fromhex(req["hex"]))
                head = s.recv(8)
                n = struct.unpack(">Q", head)[0] & 0xFFFFFFFFFFFF
                body = b""
                while len(body) < n:
                    body += s.recv(n - len(body))
                assert (head + body).hex() == rep["hex"], req["step"]
    finally:
        c.close()


def test_background_udf_job(uclient):
    keys = [("test", "udf_bg", i) for i in range(20)]
    for i, k in enumerate(keys):
        uclient.put(k, {"n": i})
    job = uclient.query("test", "udf_bg").execute_udf_background(MOD, "bump", ["n", 100])
    assert uclient.wait_job(job, timeout=10)["status"] == aerospike_py.JOB_STATUS_COMPLETED
    for i, k in enumerate(keys):
        rec = uclient.get(k)
        assert rec.bins == {"n": 100 + i} and rec.meta.gen == 2
    # Background UDFs update, never create; a failing UDF fails per record, not the job.
    job = uclient.query("test", "udf_bg").execute_udf_background(MOD, "fail")
    uclient.wait_job(job, timeout=10)
    assert uclient.get(keys[0]).meta.gen == 2
    with pytest.raises(InvalidArgError):
        uclient.query("test", "udf_bg").execute_udf_background(MOD, "bump", "n")


def test_background_udf_job_async(server):
    async def main() -> None:
        c = await aerospike_py.AsyncClient(server.config).connect()
        try:
            await c.udf_put(str(LIB))
            await c.put(("test", "udf_bga", 1), {"n": 1})
            job = await c.query("test", "udf_bga").execute_udf_background(MOD, "bump", ["n", 1])
            await c.wait_job(job, timeout=10)
            assert (await c.get(("test", "udf_bga", 1))).bins == {"n": 2}
            await c.udf_remove(MOD)
        finally:
            await c.close()

    asyncio.run(main())


@pytest.mark.parametrize("policy", [None, {"key": 1}, {"total_timeout": 777}, {"ttl": 60}],
                         ids=["default", "send_key", "timeout", "ttl"])
def test_apply_request_template_same_bytes(policy):
    """``apply`` with a long-lived policy joins cached bytes (``udf._TEMPLATES``): the same request
    as the one built field by field, for every key kind, set, arguments and policy."""
    from aerospike_py import _policy as P
    from aerospike_py._commands import udf as U
    from aerospike_py._commands.keys import parse_key

    p = P.WRITE.resolve(policy)
    keys = [("test", "udf_t", 0), ("test", "udf_t", "abc"), ("test", "", b"xx"), ("test", "udf_t2", None, b"d" * 20)]
    for k in keys:
        for args in (None, [], (), [1, "a", {"x": [1.5]}], [None], (2,)):
            for _ in range(2):  # the first call fills the template, the second uses it
                assert U.apply(k, "udf_lib", "echo", args, p).request == \
                    U._apply(parse_key(k), "udf_lib", "echo", args, p).request, (k, args)
    assert any(t[0] is p for t in U._TEMPLATES.values()) == (policy is None)  # only long-lived ones
    with pytest.raises(InvalidArgError):
        U.apply(keys[0], "udf_lib", "echo", "not a list", P.WRITE.default_policy)
