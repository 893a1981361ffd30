"""Constants, exception hierarchy and public types against the reference API surface."""

import ast
import importlib
import pickle
import re
import types as pytypes
import typing
import warnings
from typing import Any

import pytest

from _paths import REFERENCE

constants = importlib.import_module("aerospike_py._constants")
exception = importlib.import_module("aerospike_py.exception")
atypes = importlib.import_module("aerospike_py.types")

REFERENCE = REFERENCE / "api-signatures.txt"


def _section(title: str) -> list[str]:
    """Lines of one ``## <title>`` section of the reference (skips the test when absent)."""
    if not REFERENCE.exists():
        pytest.skip(f"reference file not found: {REFERENCE}")
    lines: list[str] = []
    inside = False
    for line in REFERENCE.read_text().splitlines():
        if line.startswith("## "):
            if inside:
                break
            inside = line[3:].strip() == title
            continue
        if inside and line.strip():
            lines.append(line.strip())
    assert lines, f"section {title!r} is empty"
    return lines


def _reference_constants() -> dict[str, int]:
    out = {}
    for line in _section("module aerospike_py: constants"):
        m = re.fullmatch(r"([A-Z][A-Z0-9_]*) = (-?\d+)", line)
        if m:
            out[m[1]] = int(m[2])
    return out


def _reference_hierarchy() -> dict[str, list[str]]:
    out = {}
    for line in _section("exception hierarchy (class: bases)"):
        name, chain = line.split(":", 1)
        out[name.strip()] = [c.strip() for c in chain.split("->")]
    return out


def _reference_types() -> tuple[dict[str, list[str]], dict[str, tuple[str, ...]]]:
    typed_dicts: dict[str, list[str]] = {}
    named_tuples: dict[str, tuple[str, ...]] = {}
    for line in _section("aerospike_py.types"):
        if m := re.fullmatch(r"TypedDict (\w+): (\[.*\])", line):
            typed_dicts[m[1]] = ast.literal_eval(m[2])
        elif m := re.fullmatch(r"NamedTuple (\w+)(\(.*\))", line):
            fields = ast.literal_eval(m[2])
            named_tuples[m[1]] = fields if isinstance(fields, tuple) else (fields,)
    return typed_dicts, named_tuples


# --------------------------------------------------------------------------- constants


def test_constant_values_match_reference():
    ref = _reference_constants()
    assert len(ref) == len(constants.__all__) == 171
    for name, value in ref.items():
        assert getattr(constants, name) == value, name
        assert type(getattr(constants, name)) is int, name


def test_constants_all_is_exactly_the_reference():
    ref = _reference_constants()
    assert sorted(constants.__all__) == sorted(ref)
    assert len(constants.__all__) == len(set(constants.__all__))
    public = {n for n in vars(constants) if not n.startswith(("_", "@"))}
    assert public == set(ref)


# --------------------------------------------------------------------------- exception hierarchy


def test_hierarchy_matches_reference():
    for name, chain in _reference_hierarchy().items():
        cls = getattr(exception, name)
        mro = [c.__name__ for c in cls.__mro__[1:]]
        if name == "InvalidArgError":
            # A documented difference: InvalidArgError is also a ClientError here (as the official
            # client's ParamError), and what is raised is also a TypeError or a ValueError.
            chain = ["ClientError", *chain]
        assert mro == [*chain, "BaseException", "object"], name
        assert cls.__bases__[0].__name__ == chain[0]


def test_all_lists_every_public_class_but_not_the_aliases():
    names = {n for n in _reference_hierarchy() if not n.startswith("_")}
    assert set(exception.__all__) == names | {"UnknownFieldWarning"}
    assert "TimeoutError" not in exception.__all__
    assert "IndexError" not in exception.__all__
    star: dict[str, Any] = {}
    exec("from aerospike_py.exception import *", star)
    assert "TimeoutError" not in star and "IndexError" not in star
    assert star["AerospikeError"] is exception.AerospikeError


def test_aliases_are_same_objects_and_warn():
    with pytest.warns(DeprecationWarning, match="AerospikeTimeoutError"):
        alias = exception.TimeoutError
    assert alias is exception.AerospikeTimeoutError
    with pytest.warns(DeprecationWarning, match="AerospikeIndexError"):
        alias = exception.IndexError
    assert alias is exception.AerospikeIndexError
    assert exception._TimeoutError is exception.AerospikeTimeoutError
    assert exception._IndexError is exception.AerospikeIndexError
    with pytest.warns(DeprecationWarning):
        from aerospike_py.exception import TimeoutError as imported
    assert imported is exception.AerospikeTimeoutError


def test_regular_names_do_not_warn_and_unknown_names_raise():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in exception.__all__:
            getattr(exception, name)
    with pytest.raises(AttributeError):
        exception.NoSuchError  # noqa: B018
    assert not issubclass(exception.AerospikeTimeoutError, TimeoutError)
    assert not issubclass(exception.AerospikeIndexError, IndexError)


# --------------------------------------------------------------------------- result codes


def test_result_code_names_agree_with_constants():
    for name, value in _reference_constants().items():
        if name.startswith("AEROSPIKE_"):
            assert exception._RESULT_CODE_NAMES[value] == name
    names = list(exception._RESULT_CODE_NAMES.values())
    assert len(names) == len(set(names))
    assert all(n.startswith("AEROSPIKE_") for n in names)


def test_result_code_table_covers_server_codes():
    expected = [*range(0, 30), 32, *range(50, 57), *range(60, 67), *range(70, 76), *range(80, 84), 100]
    expected += [*range(120, 128), 150, 151, 152, 160, *range(200, 207), *range(210, 214)]
    expected += [-1, -4, -7, -10, -11]
    for code in expected:
        assert code in exception._RESULT_CODE_NAMES, code


CODE_TO_CLASS = {
    2: "RecordNotFound",
    3: "RecordGenerationError",
    5: "RecordExistsError",
    6: "BinExistsError",
    12: "BinTypeError",
    13: "RecordTooBig",
    17: "BinNotFound",
    21: "BinNameError",
    23: "RecordError",
    24: "RecordError",
    27: "FilteredOut",
    9: "AerospikeTimeoutError",
    200: "IndexFoundError",
    201: "IndexNotFound",
    202: "AerospikeIndexError",
    203: "AerospikeIndexError",
    204: "AerospikeIndexError",
    15: "QueryAbortedError",
    210: "QueryAbortedError",
    211: "QueryError",
    212: "QueryError",
    213: "QueryError",
    100: "UDFError",
    51: "AdminError",
    52: "AdminError",
    **dict.fromkeys(range(60, 66), "AdminError"),
    **dict.fromkeys(range(70, 76), "AdminError"),
    80: "AdminError",
    81: "AdminError",
    1: "ServerError",
    4: "ServerError",
    14: "ServerError",
    22: "ServerError",
    150: "ServerError",
    999: "ServerError",
    -1: "ClientError",
    -2: "InvalidArgError",
    -3: "ClientError",
    -4: "ClusterError",
    -7: "ClusterError",
    -10: "ClusterError",
    -11: "ClusterError",
    -99: "ClientError",
}


@pytest.mark.parametrize(("code", "cls_name"), sorted(CODE_TO_CLASS.items()))
def test_error_from_result_code_class(code, cls_name):
    err = exception._error_from_result_code(code, "boom", node="BB9", key=("test", "demo", 1))
    assert type(err) is getattr(exception, cls_name)
    assert err.code == code
    assert err.msg == "boom"
    assert err.node == "BB9"
    assert err.key == ("test", "demo", 1)
    assert err.in_doubt is False
    assert isinstance(err, exception.AerospikeError)


def test_every_known_code_round_trips():
    for code, name in exception._RESULT_CODE_NAMES.items():
        err = exception._error_from_result_code(code)
        assert err.code == code
        assert str(err) == f"{name} ({code})"
        if code > 0:
            assert not isinstance(
                err, exception.ClientError | exception.ClusterError | exception.InvalidArgError
            )
        elif code < 0:
            assert isinstance(err, exception.ClientError | exception.ClusterError | exception.InvalidArgError)


def test_class_lookup_is_a_dict():
    assert isinstance(exception._CLASS_BY_CODE, dict)
    assert exception._exception_class_for(2) is exception.RecordNotFound


# --------------------------------------------------------------------------- attributes and format


DEFAULT_CODES = {
    "RecordNotFound": 2,
    "RecordGenerationError": 3,
    "RecordExistsError": 5,
    "BinExistsError": 6,
    "BinTypeError": 12,
    "RecordTooBig": 13,
    "BinNotFound": 17,
    "BinNameError": 21,
    "FilteredOut": 27,
    "AerospikeTimeoutError": 9,
    "IndexFoundError": 200,
    "IndexNotFound": 201,
    "QueryAbortedError": 210,
    "UDFError": 100,
    "ClientError": -1,
    "ClusterError": -11,
    "ServerError": 1,
}


@pytest.mark.parametrize(("cls_name", "code"), sorted(DEFAULT_CODES.items()))
def test_default_codes(cls_name, code):
    cls = getattr(exception, cls_name)
    assert cls.code == code
    assert cls().code == code
    assert cls("x", 77).code == 77


def test_attributes_and_defaults():
    err = exception.RecordNotFound()
    assert (err.code, err.msg, err.in_doubt, err.node, err.key) == (2, "", False, None, None)
    assert err.args == ("",)
    err = exception.ServerError("disk full", 8, in_doubt=True, node="A1", key=("ns", "s", "k"))
    assert (err.code, err.msg, err.in_doubt, err.node, err.key) == (
        8,
        "disk full",
        True,
        "A1",
        ("ns", "s", "k"),
    )
    assert err.args == ("disk full",)


def test_str_format():
    assert str(exception.RecordNotFound("not here")) == "AEROSPIKE_ERR_RECORD_NOT_FOUND (2): not here"
    assert str(exception.RecordNotFound()) == "AEROSPIKE_ERR_RECORD_NOT_FOUND (2)"
    err = exception.AerospikeTimeoutError("timed out", in_doubt=True)
    assert str(err) == "AEROSPIKE_ERR_TIMEOUT (9): timed out [in_doubt]"
    assert str(exception.ServerError("what", 4242)) == "AEROSPIKE_ERR (4242): what"
    assert str(exception.ClusterError("refused", -10)) == "AEROSPIKE_ERR_CONNECTION (-10): refused"
    assert str(exception.AdminError("no", 52)) == "AEROSPIKE_SECURITY_NOT_ENABLED (52): no"
    assert "RecordNotFound" in repr(exception.RecordNotFound("x"))


def test_raise_and_catch_by_base():
    with pytest.raises(exception.RecordError) as info:
        raise exception._error_from_result_code(2, "gone")
    assert info.value.code == 2
    with pytest.raises(exception.ServerError):
        raise exception._error_from_result_code(201)
    with pytest.raises(exception.AerospikeError):
        raise exception.BackpressureError("queue")


@pytest.mark.parametrize("name", sorted(n for n in exception.__all__ if n != "UnknownFieldWarning"))
def test_pickle_round_trip(name):
    cls = getattr(exception, name)
    err = cls("message", 123, in_doubt=True, node="N1", key=("test", "demo", b"k"))
    if hasattr(err, "add_note"):  # Python 3.11+
        err.add_note("note")
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(err, protocol=proto))
        assert type(back) is cls
        assert (back.code, back.msg, back.in_doubt, back.node, back.key) == (
            123,
            "message",
            True,
            "N1",
            ("test", "demo", b"k"),
        )
        assert str(back) == str(err)
        assert getattr(back, "__notes__", None) == getattr(err, "__notes__", None)


def test_pickle_default_code():
    back = pickle.loads(pickle.dumps(exception.RecordNotFound("x")))
    assert back.code == 2 and back.in_doubt is False and back.node is None and back.key is None


# --------------------------------------------------------------------------- types


def test_named_tuple_fields_match_reference():
    _, named = _reference_types()
    assert named
    for name, fields in named.items():
        cls = getattr(atypes, name)
        assert issubclass(cls, tuple), name
        assert cls._fields == fields, name


def test_typed_dict_keys_match_reference():
    typed, _ = _reference_types()
    assert typed
    for name, keys in typed.items():
        cls = getattr(atypes, name)
        assert typing.is_typeddict(cls), name
        assert list(cls.__annotations__) == keys, name
        assert cls.__total__ is False, name
        assert cls.__required_keys__ == frozenset(), name


def test_extra_typed_dicts():
    for cls, keys in ((atypes.ListPolicy, ["order", "flags"]), (atypes.MapPolicy, ["order", "write_mode"])):
        assert list(cls.__annotations__) == keys
        assert cls.__total__ is False
    assert list(atypes.HLLPolicy.__annotations__) == ["flags"]
    assert atypes.HLLPolicy.__total__ is False


def test_type_hints_resolve():
    for name in atypes.__all__:
        obj = getattr(atypes, name)
        if isinstance(obj, type):
            typing.get_type_hints(obj)
    hints = typing.get_type_hints(atypes.AerospikeKey)
    assert hints["user_key"] == str | int | bytes | None
    assert hints["digest"] is bytes


def test_aliases():
    assert atypes.UserKey == str | int
    assert isinstance(atypes.UserKey, pytypes.UnionType)
    assert atypes.AerospikeRecord == dict[str, Any]
    assert atypes.Bins == dict[str, Any]
    assert atypes.Key == tuple[Any, ...]


def test_types_all():
    typed, named = _reference_types()
    expected = set(typed) | set(named) | {"UserKey", "AerospikeRecord", "Bins", "BatchRecords", "Key"}
    expected |= {"ListPolicy", "MapPolicy", "HLLPolicy", "LazyBatchRecords", "Operation"}
    assert set(atypes.__all__) == expected
    for name in atypes.__all__:
        assert hasattr(atypes, name)


def test_named_tuple_usage():
    key = atypes.AerospikeKey("test", "demo", "k1", b"\x00" * 20)
    meta = atypes.RecordMetadata(gen=3, ttl=100)
    rec = atypes.Record(key, meta, {"a": 1})
    k, m, bins = rec
    assert (k.user_key, m.gen, m.ttl, bins) == ("k1", 3, 100, {"a": 1})
    assert rec.bins == {"a": 1} and rec == (key, meta, {"a": 1})
    ns, set_name, user_key, digest = key
    assert (ns, set_name, user_key, len(digest)) == ("test", "demo", "k1", 20)

    assert atypes.ExistsResult(key, None).meta is None
    assert tuple(atypes.InfoNodeResult("BB9", 0, "ok")) == ("BB9", 0, "ok")
    ordered = atypes.OperateOrderedResult(key, meta, [atypes.BinTuple("a", 1), atypes.BinTuple("b", [2])])
    assert [(b.name, b.value) for b in ordered.ordered_bins] == [("a", 1), ("b", [2])]

    br = atypes.BatchRecord(key, 0, rec)
    assert br.in_doubt is False
    _, result, record, in_doubt = br
    assert (result, record, in_doubt) == (0, rec, False)
    assert atypes.BatchRecord(None, 9, None, True).in_doubt is True

    records = atypes.BatchRecords([br])
    assert records.batch_records == [br]
    assert atypes.BatchRecords._fields == ("batch_records",)

    wr = atypes.BatchWriteResult([br])
    assert wr.retry is None
    info = atypes.BatchRetryInfo(attempts=2, max_attempts=3, truncated_by_timeout=False, unresolved=0)
    batch_records, retry = atypes.BatchWriteResult([br], info)
    assert batch_records == [br] and retry.attempts == 2 and retry.max_attempts == 3


def test_typed_dicts_are_plain_dicts():
    policy: atypes.WritePolicy = {"ttl": 10, "key": constants.POLICY_KEY_SEND}
    assert type(atypes.WritePolicy(ttl=10, key=1)) is dict
    assert policy == {"ttl": 10, "key": 1}
