"""The memo of operate plans (ops lists of basic operators that repeat) gives exactly what the
general encoder gives: the same request bytes, result plan and errors, for every value type
(including values that are equal but encode differently: ``1``/``True``/``1.0``, ``0.0``/``-0.0``)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import aerospike_py as ap
from aerospike_py import _policy as P
from aerospike_py._commands import record as R

CODES = [ap.OPERATOR_READ, ap.OPERATOR_WRITE, ap.OPERATOR_INCR, ap.OPERATOR_APPEND, ap.OPERATOR_PREPEND,
         ap.OPERATOR_TOUCH, ap.OPERATOR_DELETE, 1001, 99]
VALUES = st.one_of(
    st.integers(-(2**63), 2**63 - 1), st.integers(2**63, 2**65), st.booleans(), st.none(),
    st.text(max_size=12), st.binary(max_size=12), st.floats(allow_nan=True),
    st.sampled_from([1, True, 1.0, 0, False, 0.0, -0.0, "1", b"1", bytearray(b"1"), float("nan")]),
    st.lists(st.integers(), max_size=3),
)
OP = st.fixed_dictionaries(
    {"op": st.sampled_from(CODES)},
    optional={"bin": st.sampled_from(["a", "b", "", "n" * 15, "n" * 16, 1, None]), "val": VALUES},
)
OPS = st.one_of(st.lists(OP, max_size=4), st.tuples(OP), st.just("not ops"))


def _same(x: object, y: object) -> bool:
    """Equality that tells 0.0 from -0.0 and takes NaN as equal to itself."""
    if isinstance(x, float) and isinstance(y, float):
        return math.copysign(1, x) == math.copysign(1, y) and (x == y or (x != x and y != y))
    return type(x) is type(y) and x == y


def _outcome(fn, ops):
    try:
        info1, any_write, respond_all, n, data, plan = fn(ops)
    except Exception as e:  # noqa: BLE001 - compared with the general path's
        return ("error", type(e), str(e))
    described = None if plan is None else (plan.keep, plan.multi, plan.post, plan.drop_none)
    return (info1, any_write, respond_all, n, data, described)


@settings(max_examples=150)
@given(st.lists(OPS, min_size=1, max_size=6))
def test_remembered_plans_are_the_general_plans(seq):
    R._PLANS.clear()
    for ops in seq + seq + seq[::-1]:  # later passes find the plans remembered by earlier ones
        assert _outcome(R._ops_plan, ops) == _outcome(R.plan_ops, ops)


@pytest.mark.parametrize("vals", [(1, True, 1.0), (0.0, -0.0, 0, False), ("1", b"1", 1),
                                  (float("nan"), float("nan"))])
def test_equal_values_of_other_types_are_encoded_each_as_itself(vals):
    R._PLANS.clear()
    key = ("test", "demo", "k")
    policy = P.WRITE.resolve(None)
    for code in (ap.OPERATOR_WRITE, ap.OPERATOR_INCR, ap.OPERATOR_APPEND):
        for v in vals * 2:
            ops = [{"op": code, "bin": "x", "val": v}, {"op": ap.OPERATOR_READ, "bin": "x"}]
            try:
                got = R.operate(key, ops, None, policy).request
            except ap.exception.AerospikeError as e:
                got = e
            saved = R._plan_key
            R._plan_key = lambda ops: None  # the general path only
            try:
                want = R.operate(key, ops, None, policy).request
            except ap.exception.AerospikeError as e:
                want = e
            finally:
                R._plan_key = saved
            if isinstance(want, Exception):
                assert type(got) is type(want) and str(got) == str(want)
            else:
                assert got == want, (code, v)


def test_increment_without_val_differs_from_val_none():
    R._PLANS.clear()
    key = ("test", "demo", "k")
    policy = P.WRITE.resolve(None)
    R.operate(key, [{"op": ap.OPERATOR_INCR, "bin": "x"}], None, policy)  # remembered (adds 1)
    with pytest.raises(ap.exception.InvalidArgError):
        R.operate(key, [{"op": ap.OPERATOR_INCR, "bin": "x", "val": None}], None, policy)


def test_plans_are_bounded():
    R._PLANS.clear()
    policy = P.WRITE.resolve(None)
    for i in range(R._MAX_PLANS * 2 + 5):
        R.operate(("test", "demo", "k"), [{"op": ap.OPERATOR_INCR, "bin": "x", "val": i}], None, policy)
        assert len(R._PLANS) <= R._MAX_PLANS


def test_operate_results_end_to_end(client):
    """Against the embedded server: remembered plans give the results fresh ones give."""
    key = ("test", "plans", "k")
    client.put(key, {"n": 1, "s": "ab"})
    ops = [{"op": ap.OPERATOR_INCR, "bin": "n", "val": 2}, {"op": ap.OPERATOR_APPEND, "bin": "s", "val": "c"},
           {"op": ap.OPERATOR_READ, "bin": "n"}, {"op": ap.OPERATOR_READ, "bin": "s"}]
    R._PLANS.clear()
    seen = [client.operate(key, [dict(op) for op in ops]).bins for _ in range(3)]
    assert seen == [{"n": 3, "s": "abc"}, {"n": 5, "s": "abcc"}, {"n": 7, "s": "abccc"}]
    assert len(R._PLANS) == 1
