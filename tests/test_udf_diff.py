"""UDF scenarios run through our client against a real server and against the embedded one: the
same return values, errors (class, code, message), stored bins, generations and TTLs.

Skips without a real server (``real_server`` fixture) or without lupa.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

import aerospike_py
from aerospike_py._wire.values import GeoJSON
from aerospike_py.exception import AerospikeError, RecordNotFound

pytest.importorskip("lupa")

LIB = Path(__file__).parent / "udf" / "udf_lib.lua"
_RUN = uuid.uuid4().hex[:8]
#: The module and sets of this run only: the real server is shared with other tests and runs (a
#: parallel worker's teardown removing a shared module made background jobs here fail now and then).
MOD = f"udf_lib_{_RUN}"
SET = f"udf_diff_{_RUN}"
BG_SET = SET + "_bg"

NESTED = {"l": [1, [2, "x"], {"k": b"v"}], "m": {"a": {"b": 1.5}}, "n": None}
#: (name, bins before the call or None for no record, function, args, policy)
SCENARIOS: list[tuple[str, dict[str, Any] | None, str, list[Any], dict[str, Any] | None]] = [
    ("echo-int", {"a": 1}, "echo", [7], None),
    ("echo-big", {"a": 1}, "echo", [2**63 - 1], None),
    ("echo-float", {"a": 1}, "echo", [1.25], None),
    ("echo-str", {"a": 1}, "echo", ["héllo"], None),
    ("echo-bytes", {"a": 1}, "echo", [b"\x00\x01\xff"], None),
    ("echo-bool", {"a": 1}, "echo", [True], None),
    ("echo-none", {"a": 1}, "echo", [None], None),
    ("echo-nested", {"a": 1}, "echo", [NESTED], None),
    ("echo-geo", {"a": 1}, "echo", [GeoJSON('{"type":"Point","coordinates":[1,2]}')], None),
    ("echo-all-nil", {"a": 1}, "echo_all", [1, "two", None, 4], None),
    ("typeof", {"a": 1}, "typeof", [[1]], None),
    ("typeof-bytes", {"a": 1}, "typeof", [b"x"], None),
    ("hello-list", {"a": 1}, "hello", [[1, {"a": 2.5}, b"\x01"]], None),
    ("get-bin", {"a": 1, "b": [1, {"x": 2}]}, "get_bin", ["b"], None),
    ("set-bin-create", None, "set_bin", ["a", 5], None),
    ("set-bin-update", {"a": 1}, "set_bin", ["b", {"x": [1, 2]}], None),
    ("set-no-update", {"a": 1}, "set_no_update", ["b", 2], None),
    ("bump", {"n": 1}, "bump", ["n", 41], None),
    ("bump-missing", None, "bump", ["n", 1], None),
    ("create-existing", {"a": 1}, "create_only", ["a", 2], None),
    ("update-missing", None, "update_only", ["a", 1], None),
    ("remove", {"a": 1}, "remove", [], None),
    ("remove-missing", None, "remove", [], None),
    ("remove-bin", {"a": 1, "b": 2}, "remove_bin", ["b"], None),
    ("remove-last-bin", {"a": 1}, "remove_bin", ["a"], None),
    ("touch", {"a": 1}, "touch", [], None),
    ("set-ttl", {"a": 1}, "set_ttl", [1000], None),
    ("policy-ttl", {"a": 1}, "touch", [], {"ttl": 500}),
    ("meta", {"a": 1, "b": 2}, "meta", [], None),
    ("meta-missing", None, "meta", [], None),
    ("gen-after-update", {"a": 1}, "gen_after_update", ["b", 3], None),
    ("lists", {"a": 1}, "lists", [], None),
    ("maps", {"a": 1}, "maps", [], None),
    ("nested-write", {"a": 1}, "nested_write", ["n"], None),
    ("bytes-ops", {"a": 1}, "bytes_ops", [], None),
    ("bytes-arg", {"a": 1}, "bytes_arg", [b"\x07\x08"], None),
    ("bins-of", {"b": 1, "a": 2}, "bins_of", [], None),
    ("numbers", {"a": 1}, "numbers", [], None),
    ("fail", {"a": 1}, "fail", [], None),
    ("fail-level0", {"a": 1}, "fail_level0", [], None),
    ("fail-table", {"a": 1}, "fail_table", [], None),
    ("fail-nil-index", {"a": 1}, "fail_nil_index", [], None),
    ("fail-call", {"a": 1}, "fail_call", [], None),
    ("missing-function", {"a": 1}, "no_such_function", [], None),
    ("bad-bin-value", {"a": 1}, "bad_bin_value", [], None),
    ("ret-function", {"a": 1}, "ret_function", [], None),
    ("ret-table", {"a": 1}, "ret_table", [], None),
    ("log", {"a": 1}, "log_all", [], None),
]


def _ttl(ttl: int) -> Any:
    return ttl if ttl in (0, 0xFFFFFFFF) else ("about", round(ttl / 10))


def run(client: Any, name: str, bins: dict[str, Any] | None, fn: str, args: list[Any],
        policy: dict[str, Any] | None, module: str = MOD) -> tuple[Any, Any]:
    key = ("test", SET, name)
    try:
        client.remove(key)
    except RecordNotFound:
        pass
    if bins is not None:
        client.put(key, bins)
    try:
        out: Any = ("ok", client.apply(key, module, fn, args, policy))
    except AerospikeError as e:
        out = ("error", type(e).__name__, e.code, e.msg)
    try:
        rec = client.get(key)
        after: Any = (rec.meta.gen, _ttl(rec.meta.ttl), rec.bins)
    except RecordNotFound:
        after = None
    return out, after


@pytest.fixture(scope="module")
def clients(real_server, aerospike_server, tmp_path_factory):
    real = aerospike_py.client(real_server.config).connect()
    emb = aerospike_py.client(aerospike_server.config).connect()
    lib = tmp_path_factory.mktemp("udf_diff") / f"{MOD}.lua"
    shutil.copy(LIB, lib)
    real.udf_put(str(lib))
    emb.udf_put(str(lib))
    yield real, emb
    for c in (real, emb):
        for name, *_ in SCENARIOS:
            try:
                c.remove(("test", SET, name))
            except RecordNotFound:
                pass
        c.udf_remove(MOD)
        c.close()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_same_as_real_server(clients, scenario):
    real, emb = clients
    assert run(emb, *scenario) == run(real, *scenario)


def test_missing_module_same(clients):
    real, emb = clients
    assert run(emb, "nomod", {"a": 1}, "f", [], None, module="udf_no_such") == \
        run(real, "nomod", {"a": 1}, "f", [], None, module="udf_no_such")


def test_registration_errors_same(clients, tmp_path):
    real, emb = clients
    for name, text in [("udf_bad_syntax.lua", "function f(rec\n  return 1\nend\n"),
                       ("udf_bad_load.lua", "error('at load')\n"),
                       ("udf_bad_sym.lua", "x = = 1\n")]:
        p = tmp_path / name
        p.write_text(text)
        outs = []
        for c in (real, emb):
            with pytest.raises(AerospikeError) as ei:
                c.udf_put(str(p))
            outs.append((type(ei.value).__name__, ei.value.code, ei.value.msg))
        assert outs[0] == outs[1]


def test_info_answers_same(clients):
    real, emb = clients
    for command in ["udf-get:filename=udf_nosuch.lua;", "udf-remove:filename=udf_nosuch.lua;", "udf-get",
                    "udf-put:filename=udf_x.lua;content=!!!!;content-len=4;udf-type=LUA;",
                    "udf-put:filename=udfx;content=YQ==;content-len=4;udf-type=LUA;",
                    f"udf-get:filename={MOD}.lua;"]:
        assert emb.info_random_node(command) == real.info_random_node(command), command
    assert [m for m in emb.udf_list() if m["name"] == MOD + ".lua"] == \
        [m for m in real.udf_list() if m["name"] == MOD + ".lua"]


def test_batch_apply_same(clients):
    real, emb = clients
    outs = []
    for c in (real, emb):
        keys = [("test", SET, f"batch{i}") for i in range(4)]
        for k in keys[:3]:
            c.put(k, {"n": 1})
        res = c.batch_apply(keys + [(keys[0], {"function": "fail"})], MOD, "bump", ["n", 2])
        outs.append([(r.result, r.record and r.record.bins, r.record and r.record.meta.gen) for r in res.batch_records])
        for k in keys:
            try:
                c.remove(k)
            except RecordNotFound:
                pass
    assert outs[0] == outs[1]


def test_runaway_udf_same(clients):
    real, emb = clients
    policy = {"total_timeout": 0, "socket_timeout": 10000}
    assert run(emb, "loop", {"a": 1}, "loop", [], policy) == run(real, "loop", {"a": 1}, "loop", [], policy)


def test_background_udf_same(clients):
    outs = []
    for c in clients:
        keys = [("test", BG_SET, i) for i in range(10)]
        for i, k in enumerate(keys):
            c.put(k, {"n": i})
        job = c.query("test", BG_SET).execute_udf_background(MOD, "bump", ["n", 10])
        c.wait_job(job, timeout=30)
        outs.append([(r.meta.gen, r.bins) for r in (c.get(k) for k in keys)])
        for k in keys:
            c.remove(k)
    assert outs[0] == outs[1]
