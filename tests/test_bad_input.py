"""Bad input raises typed errors before anything reaches the server."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import aerospike_py
from aerospike_py.exception import AerospikeError, BinNameError, InvalidArgError

K = ("test", "bad", "k")
OK_OP = {"op": aerospike_py.OPERATOR_READ, "bin": "a"}


@pytest.fixture
def quiet(server: Any) -> Iterator[Any]:
    """A connected client that does not tend during the test (so server counters stay still)."""
    c = aerospike_py.client(dict(server.config, tend_interval=10**7)).connect()
    c.put(K, {"a": 1})
    yield c
    c.close()


def requests(server: Any) -> int:
    return server.call(lambda: server.node.requests)


def check_not_sent(server: Any, client: Any, call: Callable[[], Any], exc: type[BaseException]) -> BaseException:
    """Run a call that must fail with ``exc`` without sending a request; the client stays usable."""
    before = requests(server)
    with pytest.raises(exc) as ei:
        call()
    assert requests(server) == before, "a request was sent for bad input"
    assert client.get(K).bins == {"a": 1}
    return ei.value


# ----------------------------------------------------------------------------- keys

BAD_KEYS: list[Any] = [
    "test",  # not a tuple
    None,
    {"ns": "test"},
    12,
    (),  # wrong lengths
    ("test",),
    ("test", "bad"),
    ("test", "bad", "k", None, "extra"),
    (1, "bad", "k"),  # namespace not str
    (None, "bad", "k"),
    (b"test", "bad", "k"),
    ("", "bad", "k"),
    ("test", 5, "k"),  # set not str
    ("test", b"bad", "k"),
    ("test", "bad", 1.5),  # unsupported user key types
    ("test", "bad", [1]),
    ("test", "bad", {"a": 1}),
    ("test", "bad", (1,)),
    ("test", "bad", True),
    ("test", "bad", None),  # no key and no digest
    ("test", "bad", None, None),
    ("test", "bad", 2**63),  # int key outside int64
    ("test", "bad", -(2**63) - 1),
    ("test", "bad", None, b"short"),  # digest not 20 bytes
    ("test", "bad", None, "x" * 20),
    ("n" * 32, "bad", "k"),  # name limits
    ("test", "s" * 64, "k"),
]


@pytest.mark.parametrize("bad", BAD_KEYS, ids=repr)
def test_bad_key(quiet: Any, server: Any, bad: Any) -> None:
    calls = [
        lambda: quiet.get(bad),
        lambda: quiet.put(bad, {"a": 1}),
        lambda: quiet.exists(bad),
        lambda: quiet.remove(bad),
        lambda: quiet.operate(bad, [OK_OP]),
    ]
    for call in calls:
        e = check_not_sent(server, quiet, call, InvalidArgError)
        assert e.code == -2 and str(e)


def test_key_as_list_is_accepted(quiet: Any) -> None:
    assert quiet.get(list(K)).bins == {"a": 1}


# ----------------------------------------------------------------------------- bins


@pytest.mark.parametrize("name", ["a" * 16, "é" * 8, "x" * 100])
def test_bin_name_too_long(quiet: Any, server: Any, name: str) -> None:
    calls = [
        lambda: quiet.put(K, {name: 1}),
        lambda: quiet.put(K, {"ok": 1, name: 1}),
        lambda: quiet.select(K, [name]),
        lambda: quiet.increment(K, name, 1),
        lambda: quiet.append(K, name, "x"),
        lambda: quiet.prepend(K, name, "x"),
        lambda: quiet.remove_bin(K, [name]),
        lambda: quiet.operate(K, [{"op": aerospike_py.OPERATOR_WRITE, "bin": name, "val": 1}]),
        lambda: quiet.operate(K, [{"op": aerospike_py.OPERATOR_READ, "bin": name}]),
    ]
    for call in calls:
        e = check_not_sent(server, quiet, call, BinNameError)
        assert isinstance(e, ValueError) and e.code == 21
        assert repr(name[:10])[:-1] in str(e)


def test_bin_name_of_15_bytes_is_fine(quiet: Any) -> None:
    quiet.put(K, {"b" * 15: 1, "é" * 7 + "x": 2})
    assert quiet.get(K).bins == {"a": 1, "b" * 15: 1, "é" * 7 + "x": 2}


@pytest.mark.parametrize("bins", [{1: "x"}, {None: 1}, {b"a": 1}], ids=repr)
def test_bin_name_not_str(quiet: Any, server: Any, bins: dict) -> None:
    check_not_sent(server, quiet, lambda: quiet.put(K, bins), InvalidArgError)


@pytest.mark.parametrize(
    "value",
    [object(), {1, 2}, frozenset(), (1, 2), 1j, [object()], {"k": {1, 2}}, {(1, 2): "tuple key"},
     [1, [2, [3, (4,)]]], 2**64, -(2**63) - 1, [2**64], Exception("x"), type],
    ids=lambda v: re.sub(r" at 0x[0-9a-f]+", "", repr(v)),  # stable across processes (pytest-xdist)
)
def test_unsupported_bin_value(quiet: Any, server: Any, value: Any) -> None:
    calls = [
        lambda: quiet.put(K, {"v": value}),
        lambda: quiet.operate(K, [{"op": aerospike_py.OPERATOR_WRITE, "bin": "v", "val": value}]),
    ]
    for call in calls:
        e = check_not_sent(server, quiet, call, InvalidArgError)
        assert "'v'" in str(e)


@pytest.mark.parametrize("bins", [[("a", 1)], "a", None, 5], ids=repr)
def test_bins_not_a_dict(quiet: Any, server: Any, bins: Any) -> None:
    check_not_sent(server, quiet, lambda: quiet.put(K, bins), TypeError)


def test_empty_bins(quiet: Any, server: Any) -> None:
    check_not_sent(server, quiet, lambda: quiet.put(K, {}), InvalidArgError)


def test_bad_single_bin_calls(quiet: Any, server: Any) -> None:
    calls = [
        lambda: quiet.increment(K, "a", "1"),
        lambda: quiet.increment(K, "a", None),
        lambda: quiet.increment(K, "a", True),
        lambda: quiet.increment(K, "a", 2**64),
        lambda: quiet.append(K, "a", 1),
        lambda: quiet.prepend(K, "a", None),
        lambda: quiet.select(K, "a"),
        lambda: quiet.select(K, None),
        lambda: quiet.select(K, [1]),
        lambda: quiet.remove_bin(K, []),
        lambda: quiet.remove_bin(K, "a"),
        lambda: quiet.touch(K, "10"),
        lambda: quiet.touch(K, 1.5),
    ]
    for call in calls:
        check_not_sent(server, quiet, call, InvalidArgError)


# ----------------------------------------------------------------------------- policies and meta

# Unknown fields (and write fields on reads) only warn: see test_dropin_errors.py.
BAD_READ_POLICIES: list[Any] = [
    {"total_timeout": -1},
    {"socket_timeout": -5},
    {"max_retries": -1},
    {"sleep_between_retries": -1},
    {"total_timeout": "100"},
    {"total_timeout": 1.5},
    {"total_timeout": True},
    {"total_timeout": 2**32},
    {"replica": 7},
    {"read_mode_ap": 2},
    {"read_touch_ttl_percent": 101},
    {"read_touch_ttl_percent": -2},
    [("total_timeout", 1)],
    "policy",
]


@pytest.mark.parametrize("policy", BAD_READ_POLICIES, ids=repr)
def test_bad_read_policy(quiet: Any, server: Any, policy: Any) -> None:
    for call in (lambda: quiet.get(K, policy), lambda: quiet.select(K, ["a"], policy),
                 lambda: quiet.exists(K, policy)):
        check_not_sent(server, quiet, call, InvalidArgError)


BAD_WRITE_POLICIES: list[Any] = [
    {"total_timeout": -1},
    {"socket_timeout": -1},
    {"ttl": -4},
    {"ttl": 2**32},
    {"ttl": "100"},
    {"exists": 5},
    {"exists": -1},
    {"gen": 3},
    {"key": 2},
    {"commit_level": 2},
    {"durable_delete": "yes"},
]


@pytest.mark.parametrize("policy", BAD_WRITE_POLICIES, ids=repr)
def test_bad_write_policy(quiet: Any, server: Any, policy: Any) -> None:
    calls = [
        lambda: quiet.put(K, {"a": 2}, policy=policy),
        lambda: quiet.remove(K, policy=policy),
        lambda: quiet.touch(K, 10, policy=policy),
        lambda: quiet.increment(K, "a", 1, policy=policy),
        lambda: quiet.append(K, "s", "x", policy=policy),
        lambda: quiet.remove_bin(K, ["a"], policy=policy),
        lambda: quiet.operate(K, [OK_OP], policy=policy),
        lambda: quiet.operate_ordered(K, [OK_OP], policy=policy),
    ]
    for call in calls:
        check_not_sent(server, quiet, call, InvalidArgError)


BAD_METAS: list[Any] = [
    {"ttl": -4},
    {"ttl": 2**32},
    {"ttl": 1.5},
    {"ttl": None},
    {"gen": -1},
    {"gen": 2**32},
    {"gen": "1"},
    {"exists": 9},
    {"key": 5},
    {"commit_level": 3},
    [("ttl", 1)],
]


@pytest.mark.parametrize("meta", BAD_METAS, ids=repr)
def test_bad_meta(quiet: Any, server: Any, meta: Any) -> None:
    calls = [
        lambda: quiet.put(K, {"a": 2}, meta),
        lambda: quiet.remove(K, meta),
        lambda: quiet.touch(K, 0, meta),
        lambda: quiet.increment(K, "a", 1, meta),
        lambda: quiet.operate(K, [{"op": aerospike_py.OPERATOR_WRITE, "bin": "a", "val": 1}], meta),
    ]
    for call in calls:
        check_not_sent(server, quiet, call, InvalidArgError)


def test_out_of_range_touch_ttl(quiet: Any, server: Any) -> None:
    check_not_sent(server, quiet, lambda: quiet.touch(K, -4), InvalidArgError)
    check_not_sent(server, quiet, lambda: quiet.touch(K, 2**32), InvalidArgError)


@pytest.mark.parametrize("policy", [{"timeout": -1}, {"timeout": "1"}], ids=repr)
def test_bad_admin_policy(quiet: Any, server: Any, policy: Any) -> None:
    for call in (lambda: quiet.info_all("node", policy), lambda: quiet.info_random_node("node", policy),
                 lambda: quiet.truncate("test", "bad", 0, policy)):
        check_not_sent(server, quiet, call, InvalidArgError)


def test_bad_info_and_truncate_arguments(quiet: Any, server: Any) -> None:
    calls = [
        lambda: quiet.info_random_node(""),
        lambda: quiet.info_random_node(None),
        lambda: quiet.info_all(5),
        lambda: quiet.truncate("", None),
        lambda: quiet.truncate(5, None),
        lambda: quiet.truncate("test", 5),
        lambda: quiet.truncate("test", None, -1),
        lambda: quiet.truncate("test", None, "0"),
    ]
    for call in calls:
        check_not_sent(server, quiet, call, InvalidArgError)


# ----------------------------------------------------------------------------- operations

BAD_OPS: list[Any] = [
    [],
    None,
    "read",
    {"op": 1, "bin": "a"},
    [None],
    ["op"],
    [{"op": 999, "bin": "a"}],
    [{"op": None, "bin": "a"}],
    [{"bin": "a"}],  # no op code
    [{"op": aerospike_py.OPERATOR_WRITE, "val": 1}],  # no bin
    [{"op": aerospike_py.OPERATOR_WRITE, "bin": "a"}],  # no value
    [{"op": aerospike_py.OPERATOR_INCR, "bin": "a", "val": "x"}],
    [{"op": aerospike_py.OPERATOR_APPEND, "bin": "a", "val": 1}],
    [{"op": aerospike_py.OPERATOR_PREPEND, "bin": "a"}],
    [{"op": aerospike_py.OPERATOR_INCR, "val": 1}],
    [{"op": aerospike_py.OPERATOR_READ, "bin": 5}],
    [OK_OP, {"op": 999}],  # a bad op after a good one
]


@pytest.mark.parametrize("ops", BAD_OPS, ids=repr)
def test_bad_ops(quiet: Any, server: Any, ops: Any) -> None:
    for call in (lambda: quiet.operate(K, ops), lambda: quiet.operate_ordered(K, ops)):
        check_not_sent(server, quiet, call, InvalidArgError)


def test_bad_op_error_names_the_index(quiet: Any, server: Any) -> None:
    e = check_not_sent(server, quiet, lambda: quiet.operate(K, [OK_OP, {"op": 999, "bin": "a"}]), InvalidArgError)
    assert "ops[1]" in str(e) and "999" in str(e)


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    ("config", "exc"),
    [
        ("127.0.0.1:3000", TypeError),
        ({}, InvalidArgError),
        ({"hosts": []}, InvalidArgError),
        ({"hosts": "127.0.0.1"}, InvalidArgError),
        ({"hosts": [("127.0.0.1", 3000)], "timeout": -1}, InvalidArgError),
        ({"hosts": [("127.0.0.1", 3000)], "max_conns_per_node": "10"}, InvalidArgError),
        ({"hosts": [("127.0.0.1", 3000)], "cluster_name": 5}, InvalidArgError),
        ({"hosts": [("127.0.0.1", 3000)], "policies": {"read": {"total_timeout": "1"}}}, InvalidArgError),
        ({"hosts": [("127.0.0.1", 3000)], "policies": {"write": {"total_timeout": -1}}}, InvalidArgError),
    ],
    ids=repr,
)
def test_bad_config(config: Any, exc: type[BaseException]) -> None:
    with pytest.raises(exc):
        aerospike_py.client(config)


def test_typed_errors_are_aerospike_errors(quiet: Any, server: Any) -> None:
    e = check_not_sent(server, quiet, lambda: quiet.put(K, {"a" * 16: 1}), AerospikeError)
    assert isinstance(e, BinNameError)
    e = check_not_sent(server, quiet, lambda: quiet.get(("test", "bad", 1.5)), AerospikeError)
    assert isinstance(e, InvalidArgError) and "float" in str(e)


def test_unknown_config_keys_warn_but_are_ignored() -> None:
    with pytest.warns(UserWarning, match="bogus"):
        c = aerospike_py.client({"hosts": [("127.0.0.1", 1)], "bogus": 1})
    assert not c.is_connected()
