"""Property: random well-typed expression trees over random records, evaluated by the embedded
server, agree with a small reference evaluator written from the documentation.

Reference semantics: a bin of the wrong type or a missing bin is unknown; comparisons and
arithmetic with an unknown operand are unknown; integer arithmetic wraps at 64 bits;
and/or/not follow three-valued logic; a filter passes only when it is true.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aerospike_py import exp as e
from aerospike_py.exception import FilteredOut

KEY = ("test", "prop", "k")
U = object()  # unknown
BINS = ("a", "b", "c")
small = st.integers(-1000, 1000)


def wrap(v: int) -> int:
    return (v + (1 << 63)) % (1 << 64) - (1 << 63)


def int_expr(depth: int):
    leaf = st.one_of(small.map(lambda v: (e.int_val(v), v)),
                     st.sampled_from(BINS).map(lambda n: (e.int_bin(n), ("bin", n))))
    if depth == 0:
        return leaf
    sub = int_expr(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(st.sampled_from(["add", "sub", "mul", "min", "max"]), sub, sub).map(
            lambda t: ({"add": e.num_add, "sub": e.num_sub, "mul": e.num_mul, "min": e.min_, "max": e.max_}[t[0]](
                t[1][0], t[2][0]), (t[0], t[1][1], t[2][1]))),
        sub.map(lambda s: (e.num_abs(s[0]), ("abs", s[1]))),
    )


def bool_expr(depth: int):
    cmp_ops = {"eq": e.eq, "ne": e.ne, "gt": e.gt, "ge": e.ge, "lt": e.lt, "le": e.le}
    leaf = st.one_of(
        st.tuples(st.sampled_from(sorted(cmp_ops)), int_expr(2), int_expr(2)).map(
            lambda t: (cmp_ops[t[0]](t[1][0], t[2][0]), (t[0], t[1][1], t[2][1]))),
        st.sampled_from(BINS).map(lambda n: (e.bin_exists(n), ("exists", n))),
    )
    if depth == 0:
        return leaf
    sub = bool_expr(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(st.sampled_from(["and", "or"]), st.lists(sub, min_size=2, max_size=3)).map(
            lambda t: ((e.and_ if t[0] == "and" else e.or_)(*[x[0] for x in t[1]]), (t[0], [x[1] for x in t[1]]))),
        sub.map(lambda s: (e.not_(s[0]), ("not", s[1]))),
    )


def ref(node: Any, rec: dict[str, Any]) -> Any:
    """The documented semantics, independently of the server's implementation."""
    if isinstance(node, int):
        return node
    op = node[0]
    if op == "bin":
        v = rec.get(node[1])
        return v if type(v) is int else U
    if op == "exists":
        return node[1] in rec
    if op == "abs":
        v = ref(node[1], rec)
        return U if v is U else wrap(abs(v))
    if op in ("and", "or"):
        vals = [ref(x, rec) for x in node[1]]
        if op == "and":
            return False if False in vals else (U if U in vals else True)
        return True if True in vals else (U if U in vals else False)
    if op == "not":
        v = ref(node[1], rec)
        return U if v is U else not v
    a, b = ref(node[1], rec), ref(node[2], rec)
    if a is U or b is U:
        return U
    return {
        "add": lambda: wrap(a + b), "sub": lambda: wrap(a - b), "mul": lambda: wrap(a * b),
        "min": lambda: min(a, b), "max": lambda: max(a, b),
        "eq": lambda: a == b, "ne": lambda: a != b, "gt": lambda: a > b, "ge": lambda: a >= b,
        "lt": lambda: a < b, "le": lambda: a <= b,
    }[op]()


records = st.dictionaries(st.sampled_from(BINS), st.one_of(small, st.sampled_from(["x", 1.5])), min_size=1)


@settings(max_examples=60, deadline=None, suppress_health_check=[*settings.default.suppress_health_check, HealthCheck.function_scoped_fixture])
@given(records, bool_expr(2))
def test_server_agrees_with_reference(client, bins, tree):
    expr, model = tree
    client.put(KEY, bins, policy={"exists": 2})  # replace
    expected = ref(model, bins) is True
    try:
        client.get(KEY, policy={"filter_expression": expr})
        got = True
    except FilteredOut:
        got = False
    assert got is expected
