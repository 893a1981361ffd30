"""Differential probe of INVERTED index/rank results: one selection op on a fresh list or map,
on a real server and on the embedded one, result (or error code) and the stored bin compared.

The main harness (tests/_diffharness.py) leaves INVERTED with index/rank return types to this
probe: short random lists/maps (ordered and unordered, with ties), every multi-element selection
(by value, value list, value interval, index range, rank range, relative rank range; maps: key
list, key interval, relative key index range too), return types INDEX, REVERSE_INDEX, RANK,
REVERSE_RANK with INVERTED, read and remove variants; ``--every-rt``: every return type (EXISTS,
COUNT, VALUE, KEY, KEY_VALUE, ORDERED_MAP...), INVERTED or not. Long run::

    PYTHONPATH=src python tests/_invprobe.py --real 127.0.0.1:3000 --cases 0:20000 [--lists-only] [--every-rt]
"""

from __future__ import annotations

import random
import sys
from typing import Any

import aerospike_py as A
from aerospike_py import list_operations as L
from aerospike_py import map_operations as M
from aerospike_py.exception import AerospikeError

INV = 0x10000
SCALARS = [0, 1, 2, 3, 5, -1, "a", "b", "ab", 0.5, 2, 1, [1], b"x"]


#: Every return type of a list / map selection (``--every-rt``).
LIST_RTS = [0, 1, 2, 3, 4, 5, 7, 13]
MAP_RTS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 13, 16, 17]


def _safe(op: dict[str, Any]) -> dict[str, Any]:
    """``op`` without INVERTED where asd 8.1.2 aborts: an empty key or value list with INVERTED
    and a return type giving keys or values (SIGSEGV in offset_index_get_filled)."""
    rt = op.get("return_type", 0)
    if op["op"] in (2008, 2011, 2026, 2027) and not op.get("val") and rt & INV and rt & ~INV in (6, 7, 8, 16, 17):
        return {**op, "return_type": rt & ~INV}
    return op


def case(seed: int, lists_only: bool = False, inverted_only: bool = True,
         every_rt: bool = False) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """(bin, ops that build it, the selection op) of case ``seed``. ``every_rt``: any return type
    (not only index/rank ones), with INVERTED or not."""
    r = random.Random(seed)

    def sc() -> Any:
        return r.choice(SCALARS)

    rt = r.choice([1, 2, 3, 4]) | (INV if inverted_only or r.random() < 0.5 else 0)
    remove = r.random() < 0.3
    if every_rt:
        rt = r.randrange(1 << 16) | (INV if r.random() < 0.4 else 0)  # (a list's pick: below)
    if lists_only or r.random() < 0.5:
        if every_rt:
            rt = LIST_RTS[rt % 0x10000 % len(LIST_RTS)] | rt & INV
        order = r.choice([0, 1])
        vals = [sc() for _ in range(r.randint(0, 8))]
        build = [L.list_set_order("l", order)] + ([L.list_append_items("l", vals)] if vals else [])
        get, rem = (L.list_get_by_value, L.list_remove_by_value)
        choices = [
            lambda: (get if not remove else rem)("l", sc(), rt),
            lambda: (L.list_get_by_value_list if not remove else L.list_remove_by_value_list)(
                "l", [sc() for _ in range(r.randint(0, 3))], rt),
            lambda: (L.list_get_by_value_range if not remove else L.list_remove_by_value_range)(
                "l", sc(), r.choice([sc(), None]), rt),
            lambda: (L.list_get_by_index_range if not remove else L.list_remove_by_index_range)(
                "l", r.randint(-5, 5), rt, r.choice([None, 0, 1, 2, 3, 9])),
            lambda: (L.list_get_by_rank_range if not remove else L.list_remove_by_rank_range)(
                "l", r.randint(-5, 5), rt, r.choice([None, 0, 1, 2, 3, 9])),
            lambda: (L.list_get_by_value_rel_rank_range if not remove else L.list_remove_by_value_rel_rank_range)(
                "l", sc(), r.randint(-3, 3), rt, r.choice([None, 0, 1, 2, 5])),
        ]
        return "l", build, r.choice(choices)()
    if every_rt:
        rt = MAP_RTS[rt % 0x10000 % len(MAP_RTS)] | rt & INV
    order = r.choice([0, 1, 3])
    items = {r.choice([0, 1, 2, 3, 4, 5, "a", "b", "c"]): sc() for _ in range(r.randint(0, 7))}
    build = [M.map_set_order("m", order)] + ([M.map_put_items("m", items, {"order": order})] if items else [])
    ks = lambda: r.choice([0, 1, 2, 3, 5, "a", "b", "d"])  # noqa: E731
    g = not remove
    choices = [
        lambda: (M.map_get_by_value if g else M.map_remove_by_value)("m", sc(), rt),
        lambda: (M.map_get_by_value_list if g else M.map_remove_by_value_list)(
            "m", [sc() for _ in range(r.randint(0, 3))], rt),
        lambda: (M.map_get_by_value_range if g else M.map_remove_by_value_range)("m", sc(), r.choice([sc(), None]), rt),
        lambda: (M.map_get_by_key_range if g else M.map_remove_by_key_range)("m", ks(), r.choice([ks(), None]), rt),
        lambda: (M.map_get_by_key_list if g else M.map_remove_by_key_list)("m", [ks() for _ in range(r.randint(0, 3))],
                                                                          rt),
        lambda: (M.map_get_by_index_range if g else M.map_remove_by_index_range)(
            "m", r.randint(-4, 4), rt, r.choice([None, 0, 1, 2, 3])),
        lambda: (M.map_get_by_rank_range if g else M.map_remove_by_rank_range)(
            "m", r.randint(-4, 4), rt, r.choice([None, 0, 1, 2, 3])),
        lambda: (M.map_get_by_key_rel_index_range if g else M.map_remove_by_key_rel_index_range)(
            "m", ks(), r.randint(-2, 2), rt, r.choice([None, 0, 1, 2])),
        lambda: (M.map_get_by_value_rel_rank_range if g else M.map_remove_by_value_rel_rank_range)(
            "m", sc(), r.randint(-2, 2), rt, r.choice([None, 0, 1, 2])),
    ]
    return "m", build, _safe(r.choice(choices)())


def run(client: Any, key: tuple, build: list[dict[str, Any]], op: dict[str, Any]) -> Any:
    try:
        client.remove(key)
    except AerospikeError:
        pass
    try:
        client.operate(key, build)
        out: Any = ("ok", client.operate_ordered(key, [op]).ordered_bins)
    except AerospikeError as e:
        out = ("err", e.code)
    try:
        return out, list(client.get(key).bins.items())
    except AerospikeError as e:
        return out, ("err", e.code)


def main(argv: list[str]) -> int:
    import argparse

    from aerospike_py.server import EmbeddedServer

    ap = argparse.ArgumentParser()
    ap.add_argument("--real", required=True)
    ap.add_argument("--cases", default="0:2000")
    ap.add_argument("--lists-only", action="store_true")
    ap.add_argument("--every-rt", action="store_true", help="every return type, INVERTED or not")
    ap.add_argument("--show", type=int, default=10)
    ap.add_argument("--set", default="invprobe")
    a = ap.parse_args(argv)
    host, _, port = a.real.rpartition(":")
    pol = {"read": {"total_timeout": 20000}, "write": {"total_timeout": 20000}, "operate": {"total_timeout": 20000}}
    real = A.client({"hosts": [(host, int(port))], "policies": pol}).connect()
    srv = EmbeddedServer().start()
    emb = A.client({**srv.config, "policies": pol}).connect()
    key = ("test", a.set, "k")
    lo, _, hi = a.cases.partition(":")
    bad = 0
    for seed in range(int(lo), int(hi)):
        _, build, op = case(seed, a.lists_only, every_rt=a.every_rt)
        x, y = run(real, key, build, op), run(emb, key, build, op)
        if x != y:
            bad += 1
            if bad <= a.show:
                print(f"case {seed}: {build}\n  op {op}\n  real {x}\n  emb  {y}", flush=True)
    print(f"{int(hi) - int(lo)} cases, {bad} divergent")
    real.close()
    emb.close()
    srv.stop()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
