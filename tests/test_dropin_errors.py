"""Errors and policies as a drop-in: a wrong-typed argument raises an InvalidArgError that is also a
TypeError, a wrong value one that is also a ValueError, InvalidArgError is a ClientError; policy and
meta dicts take the original's and the official client's field names, and unknown fields warn once
per name (UnknownFieldWarning) instead of failing."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

import aerospike_py
from aerospike_py import exception as ex
from aerospike_py import list_operations as lo
from aerospike_py import map_operations as mo

K = ("test", "dropin_err", "k")


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget which unknown fields were already warned about."""
    monkeypatch.setattr(ex, "_WARNED", set())


def test_invalid_arg_error_is_a_client_error():
    assert issubclass(ex.InvalidArgError, ex.ClientError)
    assert issubclass(aerospike_py.InvalidArgError, aerospike_py.AerospikeError)


WRONG_TYPES: list[Any] = [
    lambda c: c.get(("test", "s", 1.5)),
    lambda c: c.get("not a key"),
    lambda c: c.put(K, ["not", "a", "dict"]),
    lambda c: c.put(K, {"a": 1}, meta="x"),
    lambda c: c.get(K, policy="x"),
    lambda c: c.get(K, policy={"total_timeout": "100"}),
    lambda c: c.put(K, {"a": 1}, meta={"ttl": 1.5}),
    lambda c: c.put(K, {"a": 1}, meta={"gen": "1"}),
    lambda c: c.operate(K, [lo.list_append("l", 1, policy="x")]),  # type: ignore[arg-type]
    lambda c: c.batch_read([K], policy={"read_touch_ttl_percent": "5"}),
    lambda c: c.batch_write([], retry="1"),
    lambda c: c.info_random_node("build", {"timeout": "1"}),
    lambda c: aerospike_py.client("127.0.0.1:3000"),
]

WRONG_VALUES: list[Any] = [
    lambda c: c.get(K, policy={"total_timeout": -1}),
    lambda c: c.get(K, policy={"replica": 7}),
    lambda c: c.put(K, {"a": 1}, meta={"ttl": -4}),
    lambda c: c.put(K, {"a": 1}, meta={"gen": -1}),
    lambda c: c.put(K, {"a": 1}, policy={"exists": 9}),
    lambda c: c.batch_read([K], policy={"concurrency": 7}),
    lambda c: c.batch_read([K], policy={"read_touch_ttl_percent": 101}),
    lambda c: c.batch_write([], retry=-1),
    lambda c: c.get(("test", "s", 2**64)),
    lambda c: c.get(("", "s", 1)),
    lambda c: c.operate(K, []),
    lambda c: c.operate(K, [mo.map_get_by_key("m", "a", 99)]),
    lambda c: c.truncate("test", "s", -1),
    lambda c: aerospike_py.client({"hosts": []}),
]


@pytest.mark.parametrize("call", WRONG_TYPES, ids=range(len(WRONG_TYPES)))
def test_wrong_type_is_invalid_arg_and_type_error(client, call):
    with pytest.raises(ex.InvalidArgError) as info:
        call(client)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ex.ClientError)
    assert type(info.value).__name__ == "InvalidArgError"


@pytest.mark.parametrize("call", WRONG_VALUES, ids=range(len(WRONG_VALUES)))
def test_wrong_value_is_invalid_arg_and_value_error(client, call):
    with pytest.raises(ex.InvalidArgError) as info:
        call(client)
    assert isinstance(info.value, ValueError) and not isinstance(info.value, TypeError)


def test_bin_name_too_long_is_a_value_error(client):
    with pytest.raises(ValueError):
        client.put(K, {"b" * 16: 1})


def test_unknown_fields_warn_once_per_name(client, fresh_warnings):
    client.put(K, {"a": 1})
    with pytest.warns(ex.UnknownFieldWarning, match="bogus") as rec:
        client.get(K, policy={"bogus": 1})
        client.get(K, policy={"bogus": 2})
    assert len(rec) == 1
    with pytest.warns(ex.UnknownFieldWarning, match="whatever"):
        client.put(K, {"a": 1}, meta={"ttl": 100, "whatever": 1})
    assert client.get(K).meta.ttl <= 100  # the known fields still apply
    with pytest.warns(ex.UnknownFieldWarning, match="weird"):
        client.operate(K, [lo.list_append("l", 1, {"weird": 1})])  # type: ignore[typeddict-unknown-key]
    with pytest.warns(ex.UnknownFieldWarning, match="sideways"):
        client.batch_remove([(K, {"sideways": 1})])
    with pytest.warns(ex.UnknownFieldWarning, match="bogus_key"):
        aerospike_py.client({"hosts": [("127.0.0.1", 1)], "bogus_key": 1})


def test_unknown_fields_can_be_made_errors(client, fresh_warnings):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ex.UnknownFieldWarning)
        with pytest.raises(ex.UnknownFieldWarning):
            client.get(K, policy={"made_up": 1})


def test_field_names_of_the_original_and_the_official_client(client, fresh_warnings):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.put(K, {"a": 1, "l": [3, 1]}, policy={"key": aerospike_py.POLICY_KEY_SEND, "compress": True})
        client.get(K, policy={"key": aerospike_py.POLICY_KEY_SEND, "deserialize": True, "read_mode_sc": 0})
        from aerospike_py import exp

        f = exp.eq(exp.int_bin("a"), exp.int_val(2))
        with pytest.raises(ex.FilteredOut):
            client.get(K, policy={"expressions": f})  # the official client's name for the filter
        recs = client.batch_read([K], policy={"concurrent": True, "send_set_name": True})
        assert recs.batch_records[0].result == 0
        # list/map policies: write_flags / map_write_flags / map_order as the official client names them
        client.operate(K, [lo.list_append("l", 3, {"write_flags": aerospike_py.LIST_WRITE_ADD_UNIQUE
                                                   | aerospike_py.LIST_WRITE_NO_FAIL})])  # type: ignore[typeddict-unknown-key]
        assert client.get(K).bins["l"] == [3, 1]
        client.operate(K, [mo.map_put("m", "x", 1, {"map_order": aerospike_py.MAP_KEY_ORDERED})])  # type: ignore[typeddict-unknown-key]
        with pytest.raises(ex.AerospikeError):
            client.operate(K, [mo.map_put("m", "x", 2, {"map_write_flags": aerospike_py.MAP_WRITE_FLAGS_CREATE_ONLY})])  # type: ignore[typeddict-unknown-key]


@pytest.mark.parametrize("kind", [TypeError, ValueError])
def test_both_kinds_pickle(client, kind):
    import pickle

    calls = {TypeError: lambda: client.get("not a key"), ValueError: lambda: client.get(K, policy={"replica": 7})}
    with pytest.raises(ex.InvalidArgError) as info:
        calls[kind]()
    back = pickle.loads(pickle.dumps(info.value))
    assert type(back) is type(info.value) and isinstance(back, kind) and back.msg == info.value.msg
