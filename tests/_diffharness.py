"""Differential harness: seeded random programs run against a real server and the embedded one.

A *program* is a short list of steps over a small key space (three keys of one set, a handful of
bins): puts with every exists/generation/TTL policy, gets, touches, the basic operators, list,
map, bit and HLL operations (all policies, flags, return types with and without INVERTED, ordered
and unordered collections, nested contexts), filter and operation expressions, batch
reads/writes/operates/removes with per-record metadata, truncate of the program's own set,
secondary indexes (:data:`INDEXES`: created and removed, named after the set) with queries
(equality/range/contains, nested contexts, filter expressions, partition filters, selected bins,
``max_records``) and scans, and record UDFs (``apply``/``batch_apply`` of :data:`UDF_MODULE`,
registered on both servers by :func:`register_udf`). :func:`run_program` runs one on a client and returns what every step
answered (results, result codes, ``in_doubt``, generations, TTLs) followed by every record as read
back; :func:`compare` says where two such outcomes differ (TTLs within a tolerance, since the
servers' clocks move independently).

Run it long from the command line (the real server's address, or start one with
``../shared/real-server/start.sh``)::

    PYTHONPATH=src python tests/_diffharness.py --real 127.0.0.1:3000 --seeds 0:20000

The test suite runs a short seeded slice (tests/test_differential.py).
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aerospike_py as A
from aerospike_py import bit_operations as B
from aerospike_py import cdt_ctx as X
from aerospike_py import exp as E
from aerospike_py import hll_operations as H
from aerospike_py import list_operations as L
from aerospike_py import map_operations as M
from aerospike_py import predicates as Q
from aerospike_py._wire.digest import compute_digest, key_particle, partition_id
from aerospike_py.exception import AerospikeError
from aerospike_py.types import RecordMetadata

NS = "test"
USER_KEYS: list[Any] = ["k0", "k1", 7]
TTL_TOLERANCE = 15  # seconds: a loaded machine may take that long between the two runs of a step

Step = tuple[str, tuple[Any, ...], dict[str, Any]]

#: The harness's record UDF module (registered on both servers by :func:`register_udf`).
UDF_FILE = Path(__file__).parent / "udf" / "diffh_udf.lua"
UDF_MODULE = "diffh_udf"

#: Secondary indexes a program may create: (bin, datatype, collection type, context).
INDEXES: list[tuple[str, str, int, list[Any] | None]] = [
    ("i", "int", A.INDEX_TYPE_DEFAULT, None),
    ("s", "str", A.INDEX_TYPE_DEFAULT, None),
    ("x", "blob", A.INDEX_TYPE_DEFAULT, None),
    ("l", "int", A.INDEX_TYPE_LIST, None),
    ("l", "str", A.INDEX_TYPE_LIST, None),
    ("m", "str", A.INDEX_TYPE_MAPKEYS, None),
    ("m", "int", A.INDEX_TYPE_MAPKEYS, None),
    ("m", "int", A.INDEX_TYPE_MAPVALUES, None),
    ("m", "str", A.INDEX_TYPE_MAPVALUES, None),
    ("l", "int", A.INDEX_TYPE_DEFAULT, [X.cdt_ctx_list_index(0)]),
    ("m", "str", A.INDEX_TYPE_DEFAULT, [X.cdt_ctx_map_key("a")]),
    ("m", "int", A.INDEX_TYPE_LIST, [X.cdt_ctx_map_key("b")]),
]

# ----------------------------------------------------------------------------- values


class Gen:
    """Random values, operations and programs from one seeded ``random.Random``."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.created: list[int] = []  # indexes the program made so far (queries favour them)

    # -- plain values
    def int_(self) -> int:
        r = self.r
        c = r.random()
        if c < 0.75:
            return r.randint(-3, 9)
        if c < 0.9:
            return r.choice([100, -100, 255, 256, 65535, 1 << 31, -(1 << 31)])
        return r.choice([(1 << 63) - 1, -(1 << 63), (1 << 62), -(1 << 62) - 1])

    def str_(self) -> str:
        return self.r.choice(["", "a", "b", "ab", "ba", "abc", "z", "é", "a" * 20])

    def scalar(self) -> Any:
        r = self.r
        c = r.random()
        if c < 0.45:
            return self.int_()
        if c < 0.75:
            return self.str_()
        if c < 0.85:
            return r.choice([0.5, -1.25, 2.0, 1e10, 0.0])
        if c < 0.95:
            return r.choice([b"", b"\x00", b"ab", b"\xff\x01"])
        return r.choice([True, False])

    def key_scalar(self) -> Any:
        """A value usable as a map key (int, str or bytes)."""
        r = self.r
        c = r.random()
        if c < 0.5:
            return r.randint(-2, 6)
        if c < 0.9:
            return r.choice(["a", "b", "c", "ab", ""])
        return r.choice([b"a", b"\x00"])

    def value(self, depth: int = 0) -> Any:
        r = self.r
        c = r.random()
        if depth < 2 and c < 0.15:
            return self.list_(depth + 1)
        if depth < 2 and c < 0.25:
            return self.map_(depth + 1)
        if c < 0.3:
            return None
        return self.scalar()

    def list_(self, depth: int = 0) -> list[Any]:
        return [self.value(depth) for _ in range(self.r.randint(0, 5))]

    def map_(self, depth: int = 0) -> dict[Any, Any]:
        return {self.key_scalar(): self.value(depth) for _ in range(self.r.randint(0, 5))}

    def values(self, n: int = 4) -> list[Any]:
        return [self.value(1) for _ in range(self.r.randint(0, n))]

    # -- CDT pieces
    # (INVERTED with index/rank return types also has its own, denser probe: tests/_invprobe.py.)
    def list_rt(self) -> int:
        rt = self.r.choice([0, 1, 2, 3, 4, 5, 7, 13])
        return rt | (L.LIST_RETURN_INVERTED if self.r.random() < 0.25 else 0)

    def map_rt(self) -> int:
        rt = self.r.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 13, 16, 17])
        return rt | (M.MAP_RETURN_INVERTED if self.r.random() < 0.25 else 0)

    def idx(self) -> int:
        return self.r.choice([-4, -2, -1, 0, 0, 1, 1, 2, 3, 5, 20])

    def count(self) -> int | None:
        return self.r.choice([None, 0, 1, 2, 3, 10])

    def ctx(self) -> list[Any] | None:
        r = self.r
        if r.random() < 0.6:
            return None
        out = []
        for _ in range(r.randint(1, 2)):
            c = r.randrange(9)
            out.append([
                lambda: X.cdt_ctx_list_index(self.idx()),
                lambda: X.cdt_ctx_list_rank(r.choice([0, -1, 1])),
                lambda: X.cdt_ctx_list_value(self.value(1)),
                # (a negative index here crashes asd 8.1.2 on a missing bin: cdt_context_create_new_particle_crnew)
                lambda: X.cdt_ctx_list_index_create(r.choice([0, 1, 3]), r.choice([0, 1]), r.random() < 0.5),
                lambda: X.cdt_ctx_map_index(r.choice([0, -1, 1])),
                lambda: X.cdt_ctx_map_rank(r.choice([0, -1, 1])),
                lambda: X.cdt_ctx_map_key(self.key_scalar()),
                lambda: X.cdt_ctx_map_value(self.value(1)),
                lambda: X.cdt_ctx_map_key_create(self.key_scalar(), r.choice([0, 1, 3])),
            ][c]())
        # (A create item followed by a plain one: once a level is created the real server creates
        # the plain levels below it too, if they are map keys or list indexes 0 / -1.)
        return out

    def list_policy(self) -> dict[str, int] | None:
        r = self.r
        if r.random() < 0.4:
            return None
        flags = 0
        for f in (1, 2, 4, 8):
            if r.random() < 0.3:
                flags |= f
        return {"order": r.choice([0, 1]), "flags": flags}

    def map_policy(self) -> dict[str, int] | None:
        r = self.r
        if r.random() < 0.4:
            return None
        return {"order": r.choice([0, 1, 3]), "write_mode": r.choice([0, 0, 1, 2])}

    def list_op(self, bin: str) -> dict[str, Any]:
        r = self.r
        ctx = self.ctx()
        v = self.value
        choices: list[Callable[[], dict[str, Any]]] = [
            lambda: L.list_append(bin, v(1), self.list_policy(), ctx=ctx),
            lambda: L.list_append_items(bin, self.values(), self.list_policy(), ctx=ctx),
            lambda: L.list_insert(bin, self.idx(), v(1), self.list_policy(), ctx=ctx),
            lambda: L.list_insert_items(bin, self.idx(), self.values(), self.list_policy(), ctx=ctx),
            lambda: L.list_pop(bin, self.idx(), ctx=ctx),
            lambda: L.list_pop_range(bin, self.idx(), r.randint(0, 3), ctx=ctx),
            lambda: L.list_remove(bin, self.idx(), ctx=ctx),
            lambda: L.list_remove_range(bin, self.idx(), r.randint(0, 3), ctx=ctx),
            lambda: L.list_set(bin, self.idx(), v(1), policy=self.list_policy(), ctx=ctx),
            lambda: L.list_trim(bin, self.idx(), r.randint(0, 3), ctx=ctx),
            lambda: L.list_clear(bin, ctx=ctx),
            lambda: L.list_size(bin, ctx=ctx),
            lambda: L.list_get(bin, self.idx(), ctx=ctx),
            lambda: L.list_get_range(bin, self.idx(), r.randint(0, 3), ctx=ctx),
            lambda: L.list_get_by_value(bin, v(1), self.list_rt(), ctx=ctx),
            lambda: L.list_get_by_index(bin, self.idx(), self.list_rt(), ctx=ctx),
            lambda: L.list_get_by_index_range(bin, self.idx(), self.list_rt(), self.count(), ctx=ctx),
            lambda: L.list_get_by_rank(bin, self.idx(), self.list_rt(), ctx=ctx),
            lambda: L.list_get_by_rank_range(bin, self.idx(), self.list_rt(), self.count(), ctx=ctx),
            lambda: L.list_get_by_value_list(bin, self.values(), self.list_rt(), ctx=ctx),
            lambda: L.list_get_by_value_range(bin, self.scalar_or_none(), self.scalar_or_none(), self.list_rt(),
                                              ctx=ctx),
            lambda: L.list_get_by_value_rel_rank_range(bin, v(1), self.idx(), self.list_rt(), self.count(),
                                                       ctx=ctx),
            lambda: L.list_remove_by_value(bin, v(1), self.list_rt(), ctx=ctx),
            lambda: L.list_remove_by_value_list(bin, self.values(), self.list_rt(), ctx=ctx),
            lambda: L.list_remove_by_value_range(bin, self.scalar_or_none(), self.scalar_or_none(),
                                                 self.list_rt(), ctx=ctx),
            lambda: L.list_remove_by_value_rel_rank_range(bin, v(1), self.idx(), self.list_rt(), self.count(),
                                                          ctx=ctx),
            lambda: L.list_remove_by_index(bin, self.idx(), self.list_rt(), ctx=ctx),
            lambda: L.list_remove_by_index_range(bin, self.idx(), self.list_rt(), self.count(), ctx=ctx),
            lambda: L.list_remove_by_rank(bin, self.idx(), self.list_rt(), ctx=ctx),
            lambda: L.list_remove_by_rank_range(bin, self.idx(), self.list_rt(), self.count(), ctx=ctx),
            lambda: L.list_increment(bin, self.idx(), r.choice([1, -2, 5]), self.list_policy(), ctx=ctx),
            lambda: L.list_sort(bin, r.choice([0, 2]), ctx=ctx),
            lambda: L.list_set_order(bin, r.choice([0, 1]), ctx=ctx),
            # (list_create with pad and a context on a missing bin aborts asd 8.1.2:
            # cdt_context_create_new_particle_crnew size mismatch; no context here)
            lambda: L.list_create(bin, r.choice([0, 1]), r.random() < 0.5),
        ]
        return r.choice(choices)()

    def scalar_or_none(self) -> Any:
        return None if self.r.random() < 0.2 else self.scalar()

    def map_list_rt(self, items: list[Any]) -> int:
        """A map return type for a key or value list ``items``. (An empty list with INVERTED and a
        return type giving keys or values aborts asd 8.1.2 on a map of two or more entries:
        SIGSEGV in offset_index_get_filled; such a selection takes INVERTED off.)"""
        rt = self.map_rt()
        if not items and rt & M.MAP_RETURN_INVERTED and rt & ~M.MAP_RETURN_INVERTED in (6, 7, 8, 16, 17):
            rt &= ~M.MAP_RETURN_INVERTED
        return rt

    def map_op(self, bin: str) -> dict[str, Any]:
        r = self.r
        ctx = self.ctx()
        k = self.key_scalar
        v = self.value
        choices: list[Callable[[], dict[str, Any]]] = [
            lambda: M.map_set_order(bin, r.choice([0, 1, 3]), ctx=ctx),
            lambda: M.map_put(bin, k(), v(1), self.map_policy(), ctx=ctx),
            lambda: M.map_put(bin, k(), v(1), self.map_policy(), ctx=ctx),
            lambda: M.map_put_items(bin, self.map_(1), self.map_policy(), ctx=ctx),
            lambda: M.map_increment(bin, k(), r.choice([1, -1, 3, 0.5]), self.map_policy(), ctx=ctx),
            lambda: M.map_decrement(bin, k(), r.choice([1, 2]), self.map_policy(), ctx=ctx),
            lambda: M.map_clear(bin, ctx=ctx),
            lambda: M.map_size(bin, ctx=ctx),
            lambda: M.map_remove_by_key(bin, k(), self.map_rt(), ctx=ctx),
            lambda: M.map_remove_by_key_list(bin, (ks := [k() for _ in range(r.randint(0, 3))]), self.map_list_rt(ks),
                                             ctx=ctx),
            lambda: M.map_remove_by_key_range(bin, k(), k(), self.map_rt(), ctx=ctx),
            lambda: M.map_remove_by_key_rel_index_range(bin, k(), self.idx(), self.map_rt(), self.count(), ctx=ctx),
            lambda: M.map_remove_by_value(bin, v(1), self.map_rt(), ctx=ctx),
            lambda: M.map_remove_by_value_list(bin, (vs := self.values()), self.map_list_rt(vs), ctx=ctx),
            lambda: M.map_remove_by_value_range(bin, self.scalar_or_none(), self.scalar_or_none(), self.map_rt(),
                                                ctx=ctx),
            lambda: M.map_remove_by_value_rel_rank_range(bin, v(1), self.idx(), self.map_rt(), self.count(),
                                                         ctx=ctx),
            lambda: M.map_remove_by_index(bin, self.idx(), self.map_rt(), ctx=ctx),
            lambda: M.map_remove_by_index_range(bin, self.idx(), self.map_rt(), self.count(), ctx=ctx),
            lambda: M.map_remove_by_rank(bin, self.idx(), self.map_rt(), ctx=ctx),
            lambda: M.map_remove_by_rank_range(bin, self.idx(), self.map_rt(), self.count(), ctx=ctx),
            lambda: M.map_get_by_key(bin, k(), self.map_rt(), ctx=ctx),
            lambda: M.map_get_by_key_range(bin, k(), k(), self.map_rt(), ctx=ctx),
            lambda: M.map_get_by_key_rel_index_range(bin, k(), self.idx(), self.map_rt(), self.count(), ctx=ctx),
            lambda: M.map_get_by_value(bin, v(1), self.map_rt(), ctx=ctx),
            lambda: M.map_get_by_value_range(bin, self.scalar_or_none(), self.scalar_or_none(), self.map_rt(),
                                             ctx=ctx),
            lambda: M.map_get_by_value_rel_rank_range(bin, v(1), self.idx(), self.map_rt(), self.count(), ctx=ctx),
            lambda: M.map_get_by_index(bin, self.idx(), self.map_rt(), ctx=ctx),
            lambda: M.map_get_by_index_range(bin, self.idx(), self.map_rt(), self.count(), ctx=ctx),
            lambda: M.map_get_by_rank(bin, self.idx(), self.map_rt(), ctx=ctx),
            lambda: M.map_get_by_rank_range(bin, self.idx(), self.map_rt(), self.count(), ctx=ctx),
            lambda: M.map_get_by_key_list(bin, (ks := [k() for _ in range(r.randint(0, 3))]), self.map_list_rt(ks),
                                          ctx=ctx),
            lambda: M.map_get_by_value_list(bin, (vs := self.values()), self.map_list_rt(vs), ctx=ctx),
            # (map_create flags its last context item "create": a negative list index there
            # aborts asd 8.1.2, cdt_context_fill_create() invalid context index)
            lambda: M.map_create(bin, r.choice([0, 1, 3]), ctx=ctx if not ctx or ctx[-1].type != 0x10
                                 or ctx[-1].value >= 0 else [*ctx[:-1], X.cdt_ctx_list_index(0)]),
        ]
        return r.choice(choices)()

    def bit_policy(self) -> int | None:
        r = self.r
        if r.random() < 0.5:
            return None
        flags = 0
        for f in (1, 2, 4, 8):
            if r.random() < 0.25:
                flags |= f
        return flags

    def blob(self) -> bytes:
        return bytes(self.r.randrange(256) for _ in range(self.r.randint(0, 4)))

    def bit_op(self, bin: str) -> dict[str, Any]:
        r = self.r
        off = lambda: r.choice([0, 1, 3, 7, 8, 13, 31, -1, -8, 40])  # noqa: E731
        size = lambda: r.choice([0, 1, 4, 8, 9, 16, 33, 64, 65])  # noqa: E731
        p = self.bit_policy
        choices: list[Callable[[], dict[str, Any]]] = [
            lambda: B.bit_resize(bin, r.choice([0, 1, 2, 4, 9]), r.choice([0, 1, 2, 4, 3]), policy=p()),
            lambda: B.bit_insert(bin, r.choice([0, 1, 2, 5, -1]), self.blob(), policy=p()),
            lambda: B.bit_remove(bin, r.choice([0, 1, 2, -1]), r.choice([0, 1, 2, 5]), policy=p()),
            lambda: B.bit_set(bin, off(), size(), self.blob(), policy=p()),
            lambda: B.bit_or(bin, off(), size(), self.blob(), policy=p()),
            lambda: B.bit_xor(bin, off(), size(), self.blob(), policy=p()),
            lambda: B.bit_and(bin, off(), size(), self.blob(), policy=p()),
            lambda: B.bit_not(bin, off(), size(), policy=p()),
            lambda: B.bit_lshift(bin, off(), size(), r.choice([0, 1, 3, 9]), policy=p()),
            lambda: B.bit_rshift(bin, off(), size(), r.choice([0, 1, 3, 9]), policy=p()),
            lambda: B.bit_add(bin, off(), r.choice([1, 4, 8, 16, 63, 64]), r.choice([1, 5, 200, -1]),
                              r.random() < 0.5, r.choice([0, 2, 4]), policy=p()),
            lambda: B.bit_subtract(bin, off(), r.choice([1, 4, 8, 16, 63, 64]), r.choice([1, 5, 200]),
                                   r.random() < 0.5, r.choice([0, 2, 4]), policy=p()),
            lambda: B.bit_set_int(bin, off(), r.choice([1, 4, 8, 16, 64]), r.choice([0, 1, 255, -1]), policy=p()),
            lambda: B.bit_get(bin, off(), size()),
            lambda: B.bit_count(bin, off(), size()),
            lambda: B.bit_lscan(bin, off(), size(), r.random() < 0.5),
            lambda: B.bit_rscan(bin, off(), size(), r.random() < 0.5),
            lambda: B.bit_get_int(bin, off(), r.choice([1, 4, 8, 16, 64, 65]), r.random() < 0.5),
        ]
        return r.choice(choices)()

    def hll_policy(self) -> dict[str, int] | None:
        r = self.r
        if r.random() < 0.5:
            return None
        flags = 0
        for f in (1, 2, 4, 8):
            if r.random() < 0.25:
                flags |= f
        return {"flags": flags}

    def hll_values(self) -> list[Any]:
        return [self.r.choice(["a", "b", "c", 1, 2, b"x"]) for _ in range(self.r.randint(0, 6))]

    def hll_op(self, bin: str) -> dict[str, Any]:
        r = self.r
        ibits = lambda: r.choice([4, 8, 10, 16, 3, 17])  # noqa: E731
        mbits = lambda: r.choice([None, 0, 4, 8, 51, 52])  # noqa: E731
        other = lambda: [H_CONST[r.randrange(len(H_CONST))] for _ in range(r.randint(0, 2))]  # noqa: E731
        choices: list[Callable[[], dict[str, Any]]] = [
            lambda: H.hll_init(bin, ibits(), mbits(), policy=self.hll_policy()),
            lambda: H.hll_add(bin, self.hll_values(), r.choice([None, 8, 10]), r.choice([None, 0, 4]),
                              policy=self.hll_policy()),
            lambda: H.hll_get_count(bin),
            lambda: H.hll_get_union(bin, other()),
            lambda: H.hll_get_union_count(bin, other()),
            lambda: H.hll_get_intersect_count(bin, other()),
            lambda: H.hll_get_similarity(bin, other()),
            lambda: H.hll_describe(bin),
            lambda: H.hll_fold(bin, r.choice([4, 6, 8, 12])),
            lambda: H.hll_set_union(bin, other(), policy=self.hll_policy()),
        ]
        return r.choice(choices)()

    # -- expressions
    def int_expr(self, depth: int = 0) -> Any:
        r = self.r
        c = r.randrange(10 if depth < 2 else 4)
        if c == 0:
            return E.int_val(self.int_())
        if c == 1:
            return E.int_bin("i")
        if c == 2:
            return E.list_size(E.list_bin("l"))
        if c == 3:
            return E.map_size(E.map_bin("m"))
        if c == 4:
            return E.num_add(self.int_expr(depth + 1), self.int_expr(depth + 1))
        if c == 5:
            return E.cond(self.bool_expr(depth + 1), self.int_expr(depth + 1), self.int_expr(depth + 1))
        if c == 6:
            return E.list_get_by_index(A.LIST_RETURN_VALUE, E.EXP_TYPE_INT, r.choice([0, -1, 1]), E.list_bin("l"))
        if c == 7:
            return E.map_get_by_key(A.MAP_RETURN_VALUE, E.EXP_TYPE_INT, self.key_scalar(), E.map_bin("m"))
        if c == 8:
            return E.let_(E.def_("x", self.int_expr(depth + 1)), E.num_mul(E.var("x"), E.int_val(2)))
        return E.bit_count(0, r.choice([8, 16]), E.blob_bin("x"))

    def bool_expr(self, depth: int = 0) -> Any:
        r = self.r
        c = r.randrange(9 if depth < 2 else 6)
        if c == 0:
            cmp = r.choice([E.eq, E.ne, E.gt, E.ge, E.lt, E.le])
            return cmp(self.int_expr(depth + 1), self.int_expr(depth + 1))
        if c == 1:
            return E.bin_exists(r.choice(["i", "s", "l", "m", "x", "h"]))
        if c == 2:
            return E.eq(E.bin_type(r.choice(["i", "s", "l", "m"])), E.int_val(r.choice([0, 1, 3, 20, 19])))
        if c == 3:
            return E.eq(E.string_bin("s"), E.string_val(self.str_()))
        if c == 4:
            return E.key_exists()
        if c == 5:
            return E.gt(E.ttl(), E.int_val(r.choice([0, 100, 5000])))
        if c == 6:
            return E.and_(self.bool_expr(depth + 1), self.bool_expr(depth + 1))
        if c == 7:
            return E.or_(self.bool_expr(depth + 1), self.bool_expr(depth + 1))
        return E.not_(self.bool_expr(depth + 1))

    def any_expr(self) -> Any:
        r = self.r
        c = r.randrange(7)
        if c == 0:
            return self.bool_expr()
        if c == 1:
            return E.list_bin("l")
        if c == 2:
            return E.map_get_by_rank_range(r.choice([1, 2, 3, 4, 5, 6, 7, 8, 13]), 0, 2, E.map_bin("m"))
        if c == 3:
            return E.list_get_by_value_range(r.choice([1, 2, 3, 4, 5, 7, 13]), self.int_(), self.int_(),
                                             E.list_bin("l"))
        if c == 4:
            return E.string_val(self.str_())
        return self.int_expr()

    # -- indexes, queries, scans, UDFs
    def index_val(self, dtype: str) -> Any:
        if dtype == "int":
            return self.int_() if self.r.random() < 0.5 else self.r.randint(-2, 6)
        if dtype == "str":
            return self.r.choice(["a", "b", "c", "ab", "", "z", "abc"])
        return self.r.choice([b"", b"\x00", b"ab", b"\xff\x01", b"a"])

    def predicate(self) -> tuple[int, tuple[Any, ...]]:
        """(index definition, predicate spec); now and then a predicate no index serves."""
        r = self.r
        j = r.choice(self.created) if self.created and r.random() < 0.9 else r.randrange(len(INDEXES))
        b, dtype, coll, ctx = INDEXES[j]
        if r.random() < 0.1:  # the type of another index: no index serves it
            dtype = r.choice(["int", "str", "blob"])
        if r.random() < 0.05:
            coll = r.choice([0, 1, 2, 3])
        v = self.index_val(dtype)
        if dtype == "int" and r.random() < 0.5:
            lo = self.index_val("int")
            hi = lo + r.choice([0, 1, 3, 10, -1])
            if coll == A.INDEX_TYPE_DEFAULT:
                return j, ("between", b, lo, hi, ctx)
            return j, ("range", b, coll, lo, hi, ctx)
        if coll == A.INDEX_TYPE_DEFAULT:
            return j, ("equals", b, v, ctx)
        return j, ("contains", b, coll, v, ctx)

    def partition_filter(self) -> tuple[Any, ...] | None:
        r = self.r
        c = r.random()
        if c < 0.4:
            return None
        if c < 0.7:
            return ("all",)
        if c < 0.8:
            return ("id", self.key(), r.choice([0, 0, 1]))
        if c < 0.9:
            return ("range", self.key(), r.choice([0, 1, 5]), r.choice([1, 2, 40, 4096]))
        return ("digest", self.key())

    def qpolicy(self, scan: bool = False) -> dict[str, Any] | None:
        r = self.r
        p: dict[str, Any] = {}
        if r.random() < 0.3:
            p["filter_expression"] = self.bool_expr()
        pf = self.partition_filter()
        if pf is not None:
            p["partition_filter"] = pf
        if r.random() < 0.1 and not scan:
            p["include_bin_data"] = False
        if r.random() < 0.1:
            p["max_records"] = r.choice([1, 2])
        return p or None

    def select_bins(self) -> list[str] | None:
        return None if self.r.random() < 0.7 else self.r.sample(["i", "s", "l", "m", "zz"], self.r.randint(1, 2))

    def udf_call(self) -> tuple[str, list[Any]]:
        r = self.r
        b = r.choice(["i", "s", "l", "m", "u"])
        return r.choice([
            lambda: ("get", [b]),
            lambda: ("put", [b, self.value()]),
            lambda: ("add", [r.choice(["i", "f", "u"]), r.choice([1, -2, 0.5])]),
            lambda: ("del", []),
            lambda: ("drop_bin", [b]),
            lambda: ("ttl", [r.choice([100, -1, 5000])]),
            lambda: ("meta", []),
            lambda: ("push", [r.choice(["l", "u"]), self.value(1)]),
            lambda: ("mput", [r.choice(["m", "u"]), self.key_scalar(), self.value(1)]),
            lambda: ("fail", [r.choice(["boom", "x"])]),
            lambda: ("echo", [self.value(), self.value()]),
            lambda: ("no_such_function", []),
        ])()

    def apolicy(self) -> dict[str, Any] | None:
        r = self.r
        if r.random() < 0.6:
            return None
        p: dict[str, Any] = {}
        if r.random() < 0.4:
            p["key"] = r.choice([0, 1])
        if r.random() < 0.3:
            p["ttl"] = r.choice([0, 500, -1])
        if r.random() < 0.4:
            p["filter_expression"] = self.bool_expr()
        return p or None

    def indexed_bins(self) -> dict[str, Any]:
        """Bins holding values the indexes made so far take in (and now and then other bins)."""
        r = self.r
        out = self.bins() if r.random() < 0.3 else {}
        for d in self.created:
            b, dtype, coll, ctx = INDEXES[d]
            vals = [self.index_val(dtype) for _ in range(r.randint(1, 3))]
            if coll == A.INDEX_TYPE_LIST:
                v: Any = vals
            elif coll == A.INDEX_TYPE_MAPKEYS:
                v = {k: self.value(1) for k in vals}
            elif coll == A.INDEX_TYPE_MAPVALUES:
                v = {self.key_scalar(): x for x in vals}
            else:
                v = vals[0]
            if ctx:  # the contexts of INDEXES: list index 0, map keys "a" / "b"
                v = [v, self.value(1)] if b == "l" else {ctx[0].value: v, self.key_scalar(): self.value(1)}
            out[b] = v
        return out

    def index_step(self) -> Step:
        r = self.r
        j = r.randrange(len(INDEXES))
        d = j if r.random() < 0.9 else r.randrange(len(INDEXES))  # now and then: a name taken by another
        self.created.append(d)
        return ("index_create", (j, d), {})

    def extra_step(self) -> Step:
        """A step of the later families: indexes, queries, scans, UDFs."""
        r = self.r
        c = r.random()
        if c < 0.15:
            return self.index_step()
        if c < 0.2:
            return ("index_remove", (r.randrange(len(INDEXES)),), {})
        if c < 0.5:
            if not self.created and r.random() < 0.8:
                return self.index_step()
            j, pred = self.predicate()
            return ("query", (j, pred, self.select_bins()), {"policy": self.qpolicy()})
        if c < 0.65:
            return ("scan", (self.select_bins(),), {"policy": self.qpolicy(scan=True)})
        fn, args = self.udf_call()
        if c < 0.88:
            return ("apply", (self.key(), fn, args), {"policy": self.apolicy()})
        keys = sorted({self.key() for _ in range(r.randint(1, 3))})
        return ("batch_apply", (keys, fn, args), {"policy": self.bpolicy()})

    # -- steps
    def bins(self) -> dict[str, Any]:
        r = self.r
        out: dict[str, Any] = {}
        for _ in range(r.randint(1, 3)):
            b = r.choice(["i", "i", "s", "l", "m", "x", "f"])
            out[b] = {
                "i": self.int_, "s": self.str_, "l": lambda: self.list_(), "m": lambda: self.map_(),
                "x": self.blob, "f": lambda: r.choice([1.5, -2.25, 0.0]),
            }[b]()
        if r.random() < 0.1:
            out[r.choice(["i", "s"])] = None
        return out

    def meta(self) -> dict[str, Any] | None:
        r = self.r
        if r.random() < 0.5:
            return None
        m: dict[str, Any] = {}
        if r.random() < 0.5:
            m["ttl"] = r.choice([0, -1, -2, 100, 3600, 86400 * 30])
        if r.random() < 0.4:
            m["gen"] = r.choice([0, 1, 2, 3])
        return m or None

    def wpolicy(self) -> dict[str, Any] | None:
        r = self.r
        if r.random() < 0.45:
            return None
        p: dict[str, Any] = {}
        if r.random() < 0.4:
            p["exists"] = r.choice([0, 1, 2, 3, 4])
        if r.random() < 0.3:
            p["gen"] = r.choice([0, 1, 2])
        if r.random() < 0.3:
            p["key"] = r.choice([0, 1])
        if r.random() < 0.2:
            p["ttl"] = r.choice([0, 500, -1])
        if r.random() < 0.15:
            p["filter_expression"] = self.bool_expr()
        return p or None

    def rpolicy(self) -> dict[str, Any] | None:
        if self.r.random() < 0.8:
            return None
        return {"filter_expression": self.bool_expr()}

    def cdt_op(self) -> dict[str, Any]:
        r = self.r
        c = r.random()
        if c < 0.35:
            return self.list_op(r.choice(["l", "l", "l", "m"]))
        if c < 0.7:
            return self.map_op(r.choice(["m", "m", "m", "l"]))
        if c < 0.85:
            return self.bit_op(r.choice(["x", "x", "i"]))
        return self.hll_op(r.choice(["h", "h", "x"]))

    def basic_op(self) -> dict[str, Any]:
        r = self.r
        b = r.choice(["i", "s", "f", "l", "n"])
        c = r.randrange(10)
        if c == 0:
            return {"op": A.OPERATOR_READ, "bin": b}
        if c == 1:
            return {"op": A.OPERATOR_WRITE, "bin": b, "val": self.value()}
        if c == 2:
            return {"op": A.OPERATOR_INCR, "bin": r.choice(["i", "f", "s"]), "val": r.choice([1, -5, 0.5])}
        if c == 3:
            return {"op": A.OPERATOR_APPEND, "bin": r.choice(["s", "i", "x"]), "val": r.choice(["z", b"y"])}
        if c == 4:
            return {"op": A.OPERATOR_PREPEND, "bin": r.choice(["s", "x"]), "val": r.choice(["q", b"p"])}
        if c == 5:
            return {"op": A.OPERATOR_TOUCH}
        if c == 6 and r.random() < 0.3:
            return {"op": A.OPERATOR_DELETE}
        if c == 7:
            return E.exp_read(r.choice(["r", "i"]), self.any_expr(), r.choice([0, 16]))
        if c == 8:
            return E.exp_write(r.choice(["i", "e"]), self.int_expr() if r.random() < 0.8 else self.any_expr(),
                               r.choice([0, 1, 2, 4, 8, 16, 24, 0]))
        return {"op": A.OPERATOR_READ, "bin": r.choice(["i", "l", "m"])}

    def ops(self) -> list[dict[str, Any]]:
        return [self.cdt_op() if self.r.random() < 0.65 else self.basic_op() for _ in range(self.r.randint(1, 4))]

    def key(self) -> int:
        return self.r.randrange(len(USER_KEYS))

    def step(self) -> Step:
        r = self.r
        if r.random() < 0.12:  # (queries and scans cost a real server tens of ms: not too many)
            return self.extra_step()
        c = r.random()
        k = self.key()
        if c < 0.17:
            return ("put", (k, self.bins()), {"meta": self.meta(), "policy": self.wpolicy()})
        if c < 0.5:
            return ("operate", (k, self.ops()), {"meta": self.meta(), "policy": self.wpolicy()})
        if c < 0.56:
            return ("operate_ordered", (k, self.ops()), {"meta": self.meta(), "policy": self.wpolicy()})
        if c < 0.62:
            return ("get", (k,), {"policy": self.rpolicy()})
        if c < 0.64:
            return ("select", (k, r.sample(["i", "s", "l", "m", "zz"], 2)), {"policy": self.rpolicy()})
        if c < 0.66:
            return ("exists", (k,), {"policy": self.rpolicy()})
        if c < 0.69:
            return ("touch", (k, r.choice([0, 10, 1000, -1])), {"meta": self.meta(), "policy": self.wpolicy()})
        if c < 0.71:
            return ("remove", (k,), {"meta": self.meta(), "policy": self.wpolicy()})
        if c < 0.74:
            m = r.choice(["append", "prepend", "increment"])
            val = r.choice([1, 2, -3, 0.5]) if m == "increment" else r.choice(["x", "yz", b"b"])
            return (m, (k, r.choice(["i", "s", "f", "x"]), val), {"meta": self.meta(), "policy": self.wpolicy()})
        if c < 0.76:
            return ("remove_bin", (k, r.sample(["i", "s", "l", "m"], r.randint(1, 2))),
                    {"meta": self.meta(), "policy": self.wpolicy()})
        if c < 0.82:
            keys = [self.key() for _ in range(r.randint(1, 4))]
            return ("batch_read", (keys, r.choice([None, None, ["i", "l"], []])), {"policy": self.rpolicy()})
        if c < 0.88:
            keys = sorted({self.key() for _ in range(r.randint(1, 3))})
            ops = self.ops()
            return ("batch_operate", (keys, ops), {"policy": self.rpolicy()})
        if c < 0.94:
            recs = [(self.key(), self.bins(), self.bmeta()) for _ in range(r.randint(1, 3))]
            return ("batch_write", (recs,), {"policy": self.bpolicy()})
        if c < 0.97:
            keys = sorted({self.key() for _ in range(r.randint(1, 3))})
            return ("batch_remove", (keys,), {"policy": self.bpolicy()})
        if c < 0.985:
            return ("truncate", (), {})
        return ("get", (k,), {"policy": None})

    def bmeta(self) -> dict[str, Any] | None:
        r = self.r
        if r.random() < 0.5:
            return None
        m: dict[str, Any] = {}
        if r.random() < 0.5:
            m["ttl"] = r.choice([0, -1, -2, 100, 7200])
        if r.random() < 0.4:
            m["gen"] = r.choice([0, 1, 2])
        if r.random() < 0.3:
            m["exists"] = r.choice([0, 1, 2, 3, 4])
        if r.random() < 0.2:
            m["key"] = 1
        return m or None

    def bpolicy(self) -> dict[str, Any] | None:
        r = self.r
        if r.random() < 0.6:
            return None
        p: dict[str, Any] = {}
        if r.random() < 0.4:
            p["exists"] = r.choice([0, 1, 2, 3, 4])
        if r.random() < 0.3:
            p["gen"] = r.choice([0, 1, 2])
        if r.random() < 0.3:
            p["filter_expression"] = self.bool_expr()
        if r.random() < 0.3:
            p["respond_all_keys"] = r.random() < 0.5
        return p or None

    def program(self) -> list[Step]:
        first: list[Step] = []
        if self.r.random() < 0.15:  # indexes first, then records for the queries to find
            first = [self.index_step() for _ in range(self.r.randint(1, 2))]
            first += [("put", (k, self.indexed_bins()), {}) for k in range(len(USER_KEYS)) if self.r.random() < 0.8]
            while self.r.random() < 0.7:
                j, pred = self.predicate()
                first.append(("query", (j, pred, self.select_bins()), {"policy": self.qpolicy()}))
        return first + [self.step() for _ in range(self.r.randint(3, 12))]


#: Serialized HLLs used as operands of union/intersect operations (made once by :func:`hll_consts`).
H_CONST: list[bytes] = []


def register_udf(*clients: Any) -> None:
    """Register the harness's UDF module on each client's server."""
    for c in clients:
        c.udf_put(str(UDF_FILE))


def hll_consts(client: Any, set_name: str) -> None:
    """Fill :data:`H_CONST` with a few HLL values made by ``client``'s server (identical on both)."""
    if H_CONST:
        return
    key = (NS, set_name, "hllsrc")
    for ib, mb, vals in ((8, 0, ["a", "b"]), (10, 4, ["c", 1, 2]), (8, 8, ["a", "z"])):
        client.operate(key, [H.hll_init("h", ib, mb), H.hll_add("h", vals)])
        H_CONST.append(client.get(key).bins["h"])
    client.remove(key)


# ----------------------------------------------------------------------------- running


def norm(v: Any) -> Any:
    """A comparable form of a result: type-tagged, maps as ordered item lists, TTLs approximate."""
    if isinstance(v, RecordMetadata):
        return ("meta", v.gen, Ttl(v.ttl))
    if isinstance(v, dict):
        return ("map", [(norm(k), norm(x)) for k, x in v.items()])
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, [norm(x) for x in v])
    if isinstance(v, (bytes, bytearray)):
        return ("bytes", bytes(v))
    return (type(v).__name__, v)


class Ttl:
    """A TTL compared with a tolerance (the two servers' clocks are not the same clock)."""

    __slots__ = ("v",)

    def __init__(self, v: int) -> None:
        self.v = v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ttl) and abs(self.v - other.v) <= TTL_TOLERANCE

    def __repr__(self) -> str:
        return f"ttl={self.v}"


def _err(e: AerospikeError) -> tuple[Any, ...]:
    code = getattr(e, "code", None)
    out = ("ERR", type(e).__name__, code, bool(getattr(e, "in_doubt", False)))
    return (*out, e.msg) if code == 100 else out  # a UDF's error: its message too


class Runner:
    """Runs programs on one client, in set ``set_name``."""

    def __init__(self, client: Any, set_name: str, keep_indexes: bool = False) -> None:
        self.c = client
        self.set = set_name
        self.keys = [(NS, set_name, k) for k in USER_KEYS]
        self.indexes: set[int] = set()  # index numbers this runner may have created
        #: Indexes outlive a program (both runners see the same sequence, so they stay alike):
        #: creating one on a loaded real server takes up to a second.
        self.keep_indexes = keep_indexes

    def drop_indexes(self) -> None:
        """Remove every index a program of this set may have created."""
        for j in range(len(INDEXES)):
            self.c.index_remove(NS, self.index_name(j), policy={"timeout": 20000})
        self.indexes.clear()

    def index_name(self, j: int) -> str:
        return f"{self.set}_ix{j}"

    def _index_create(self, j: int, d: int) -> Any:
        b, dtype, coll, ctx = INDEXES[d]
        make = {"int": self.c.index_integer_create, "str": self.c.index_string_create,
                "blob": self.c.index_blob_create}[dtype]
        self.indexes.add(j)
        return make(NS, self.set, b, self.index_name(j), policy={"timeout": 20000}, collection_type=coll, ctx=ctx)

    def _pf(self, spec: tuple[Any, ...] | None) -> Any:
        if spec is None or spec[0] == "all":
            return None if spec is None else A.partition_filter_all()
        digest = compute_digest(self.set, *key_particle(USER_KEYS[spec[1]]))
        if spec[0] == "id":
            return A.partition_filter_by_id((partition_id(digest) + spec[2]) % 4096)
        if spec[0] == "range":
            begin = max(partition_id(digest) - spec[2], 0)
            return A.partition_filter_by_range(begin, min(spec[3], 4096 - begin))
        return A.partition_filter_by_digest(digest)

    def _query(self, q: Any, bins: list[str] | None, policy: dict[str, Any] | None) -> Any:
        if bins:
            q.select(*bins)
        p = dict(policy or {})
        if "partition_filter" in p:
            p["partition_filter"] = self._pf(p["partition_filter"])
        p["total_timeout"] = p["socket_timeout"] = 20000
        recs = q.results(p)
        if p.get("max_records"):  # which records are first is the server's business: count them
            return ("count", min(len(recs), p["max_records"]))
        return norm(sorted(((r.key[3], r.key[2], r.meta, r.bins) for r in recs), key=lambda t: t[0]))

    def reset(self) -> None:
        if not self.keep_indexes:
            for j in sorted(self.indexes):
                self.c.index_remove(NS, self.index_name(j), policy={"timeout": 20000})
            self.indexes.clear()
        for k in self.keys:
            try:
                self.c.remove(k)
            except AerospikeError:
                pass

    def run_step(self, step: Step) -> Any:
        name, args, kw = step
        c = self.c
        kw = {k: v for k, v in kw.items() if v is not None}
        try:
            if name == "truncate":
                # The real server compares last-update times in milliseconds: keep writes before
                # and after the truncate in other milliseconds than the truncate itself.
                time.sleep(0.002)
                c.truncate(NS, self.set, 0, policy={"timeout": 10000})  # (a loaded machine is slow)
                self._wait_truncated()
                time.sleep(0.002)
                return ("ok",)
            if name == "index_create":
                return norm(self._index_create(*args))
            if name == "index_remove":
                return norm(c.index_remove(NS, self.index_name(args[0]), policy={"timeout": 20000}))
            if name == "query":
                j, pred, bins = args
                q = c.query(NS, self.set)
                kind, *rest, ctx = pred
                q.where(getattr(Q, kind)(*rest, ctx=ctx))
                return self._query(q, bins, kw.get("policy"))
            if name == "scan":
                return self._query(c.scan(NS, self.set), args[0], kw.get("policy"))
            if name == "apply":
                k, fn, fargs = args
                return norm(c.apply(self.keys[k], UDF_MODULE, fn, fargs, **kw))
            if name == "batch_apply":
                keys, fn, fargs = args
                res = c.batch_apply([self.keys[i] for i in keys], UDF_MODULE, fn, fargs, **kw)
                return norm([(r.key, r.result, r.record, r.in_doubt) for r in res.batch_records])
            if name in ("batch_read", "batch_operate", "batch_remove"):
                res = getattr(c, name)([self.keys[i] for i in args[0]], *args[1:], **kw)
                return norm([(r.key, r.result, r.record, r.in_doubt) for r in res.batch_records])
            if name == "batch_write":
                recs = [(self.keys[i], bins, m) if m else (self.keys[i], bins) for i, bins, m in args[0]]
                res = c.batch_write(recs, **kw)
                return norm([(r.key, r.result, r.record, r.in_doubt) for r in res.batch_records])
            res = getattr(c, name)(self.keys[args[0]], *args[1:], **kw)
            return norm(res)
        except AerospikeError as e:
            return _err(e)

    def _wait_truncated(self) -> None:
        """Wait (bounded) until the server reports the set empty and not truncating: a real
        server applies a truncate in the background after acknowledging it."""
        deadline = time.monotonic() + 60  # generous: a loaded machine
        while time.monotonic() < deadline:
            try:
                info = self.c.info_random_node(f"sets/{NS}/{self.set}", policy={"timeout": 5000})
            except AerospikeError:  # a busy server: ask again
                continue
            if "objects=0:" in info and "truncating=true" not in info or "objects=" not in info:
                return
            time.sleep(0.005)

    def readback(self) -> list[Any]:
        out = []
        for k in self.keys:
            try:
                out.append(norm(self.c.get(k)))
            except AerospikeError as e:
                out.append(_err(e))
        return out

    def run(self, program: list[Step]) -> list[Any]:
        self.reset()
        out = [self.run_step(s) for s in program]
        out.append(("readback", self.readback()))
        return out


def timed_out(outcome: list[Any]) -> bool:
    """Whether a server timed out somewhere in ``outcome`` (load, not semantics: run it again)."""
    return "AerospikeTimeoutError" in repr(outcome) or "('int', 9), ('NoneType', None), ('bool', True)" in repr(outcome)


def run_pair(prog: list[Step], a: Runner, b: Runner, tries: int = 3) -> tuple[list[Any], list[Any], int]:
    """Both outcomes of ``prog``, run again (up to ``tries`` times) while a server times out;
    also how many runs timed out."""
    retried = 0
    while True:
        x, y = a.run(prog), b.run(prog)
        if compare(x, y) is None or retried + 1 >= tries or not (timed_out(x) or timed_out(y)):
            return x, y, retried
        retried += 1


def compare(a: list[Any], b: list[Any]) -> int | None:
    """Index of the first differing entry of two outcomes, or None when they agree."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def _short(x: Any) -> str:
    t = repr(x)
    return t if len(t) < 400 else t[:400] + "..."


def shrink(program: list[Step], a: Runner, b: Runner) -> list[Step]:
    """A smaller program on which ``a`` and ``b`` still differ (steps, then ops, dropped greedily)."""

    def differs(p: list[Step]) -> bool:
        return compare(a.run(p), b.run(p)) is not None

    prog = list(program)
    changed = True
    while changed:
        changed = False
        for i in range(len(prog) - 1, -1, -1):
            cand = prog[:i] + prog[i + 1:]
            if cand and differs(cand):
                prog, changed = cand, True
        for i, (name, args, kw) in enumerate(prog):
            if name in ("operate", "operate_ordered", "batch_operate"):
                ops = args[1]
                for j in range(len(ops) - 1, -1, -1):
                    if len(ops) < 2:
                        break
                    nops = ops[:j] + ops[j + 1:]
                    cand = prog[:i] + [(name, (args[0], nops), kw)] + prog[i + 1:]
                    if differs(cand):
                        prog, ops, changed = cand, nops, True
            for k in list(kw):
                if kw[k] is not None:
                    cand = prog[:i] + [(name, args, {**kw, k: None})] + prog[i + 1:]
                    if differs(cand):
                        prog, kw, changed = cand, {**kw, k: None}, True
    return prog


def describe(program: list[Step], i: int, real: list[Any], emb: list[Any]) -> str:
    lines = [f"{j}: {s[0]} {_short(s[1])} {_short(s[2])}" for j, s in enumerate(program)]
    lines.append(f"first divergence at step {i}")
    lines.append(f"  real:     {_short(real[i])}")
    lines.append(f"  embedded: {_short(emb[i])}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    import argparse

    from aerospike_py.server import EmbeddedServer

    ap = argparse.ArgumentParser()
    ap.add_argument("--real", required=True, help="host:port of a real server")
    ap.add_argument("--seeds", default="0:1000", help="first:last (exclusive)")
    ap.add_argument("--set", default="diffh")
    ap.add_argument("--stop", type=int, default=20, help="stop after this many divergences")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--shrink", action="store_true", help="shrink divergent programs before printing")
    ap.add_argument("--fresh-indexes", action="store_true",
                    help="drop the indexes after every program (slower; each seed then stands alone)")
    a = ap.parse_args(argv)
    host, _, port = a.real.rpartition(":")
    lo, _, hi = a.seeds.partition(":")
    real = A.client({"hosts": [(host, int(port))]}).connect()
    srv = EmbeddedServer().start()
    emb = A.client(srv.config).connect()
    hll_consts(real, a.set)
    register_udf(real, emb)
    rr, er = Runner(real, a.set, not a.fresh_indexes), Runner(emb, a.set, not a.fresh_indexes)
    rr.drop_indexes()
    found = timeouts = gone = 0
    t0 = time.time()
    n = 0
    for seed in range(int(lo), int(hi)):
        prog = Gen(seed).program()
        x, y, again = run_pair(prog, rr, er)
        timeouts += again
        n += 1
        i = compare(x, y)
        if i is not None:
            found += 1
            if a.shrink:
                prog = shrink(prog, rr, er)
                x, y = rr.run(prog), er.run(prog)
                i = compare(x, y)
                if i is None:  # it did not happen again (load): not a divergence
                    found -= 1
                    gone += 1
                    continue
            print(f"=== seed {seed}\n{describe(prog, i, x, y)}", flush=True)
            if found >= a.stop:
                break
        if not a.quiet and n % 500 == 0:
            print(f"... {n} programs, {found} divergent, {time.time() - t0:.0f} s", flush=True)
    print(f"ran {n} programs (seeds {lo}..{int(lo) + n - 1}) in {time.time() - t0:.0f} s: {found} divergent"
          f" ({timeouts} runs again after a server timeout, {gone} differences that did not happen again)")
    rr.drop_indexes()
    real.close()
    emb.close()
    srv.stop()
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
