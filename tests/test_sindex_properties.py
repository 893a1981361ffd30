"""Property: a secondary index always answers what a full scan of the live records would.

Random puts (ints, lists, maps, other types), deletes, expiries, truncates and partition
replacements (migrations) on a :class:`Namespace` with integer, list, map-key and string indexes;
after each step every index's candidates for a random range equal a brute-force filter.
"""

from __future__ import annotations

import struct

from hypothesis import example, given, settings
from hypothesis import strategies as st

from aerospike_py._wire import constants as W
from aerospike_py._wire.digest import compute_digest, partition_id
from aerospike_py.server import cdt
from aerospike_py.server.sindex import IndexDef, SecondaryIndex
from aerospike_py.server.storage import Clock, Namespace, StoredRecord

DEFS = [IndexDef("i", "test", "s", "n", W.PT_INTEGER, 0, None),
        IndexDef("l", "test", None, "l", W.PT_INTEGER, 1, None),
        IndexDef("mk", "test", "s", "m", W.PT_STRING, 2, None),
        IndexDef("str", "test", "s", "t", W.PT_STRING, 0, None)]

values = st.one_of(st.integers(-5, 5), st.text("ab", max_size=2), st.binary(max_size=2))
bins = st.fixed_dictionaries({}, optional={
    "n": st.one_of(st.integers(-5, 5), st.text("ab", max_size=1)),
    "l": st.lists(values, max_size=4),
    "m": st.dictionaries(st.text("abc", max_size=1), st.integers(0, 3), max_size=3),
    "t": st.text("ab", max_size=2),
})
steps = st.lists(st.one_of(
    st.tuples(st.just("put"), st.integers(0, 3), st.sampled_from(["s", "x"]), bins, st.booleans()),
    st.tuples(st.just("delete"), st.integers(0, 3)),
    st.tuples(st.just("expire")),
    st.tuples(st.just("truncate"), st.sampled_from(["s", "x", ""])),
    st.tuples(st.just("migrate"), st.integers(0, 3), st.booleans()),
), max_size=30)


def _particle(v):
    if isinstance(v, int):
        return W.PT_INTEGER, struct.pack(">q", v)
    if isinstance(v, str):
        return W.PT_STRING, v.encode()
    if isinstance(v, list):
        return W.PT_LIST, cdt.pack(cdt.CList([_cdt(x) for x in v]))
    return W.PT_MAP, cdt.pack(cdt.CMap([[_cdt(k), _cdt(x)] for k, x in v.items()]))


def _cdt(v):
    if isinstance(v, str):
        return b"\x03" + v.encode()
    if isinstance(v, bytes):
        return b"\x04" + v
    return v


def _digest(k: int) -> bytes:
    return compute_digest(b"", W.PT_INTEGER, struct.pack(">q", k))


def _brute(ns: Namespace, d: IndexDef, clock: Clock, lo, hi) -> set[bytes]:
    out = set()
    for _pid, rec in ns.records(clock=clock):
        if d.set_name and rec.set_name != d.set_name or d.bin not in rec.bins:
            continue
        pt, raw = rec.bins[d.bin]
        if d.itype == 0:
            vals = [int.from_bytes(raw, "big", signed=True)] if pt == d.ktype == W.PT_INTEGER else \
                [raw] if pt == d.ktype == W.PT_STRING else []
        else:
            c = cdt.unpack(raw)
            if d.itype == 1 and isinstance(c, cdt.CList):
                els = list(c)
            elif d.itype == 2 and isinstance(c, cdt.CMap):
                els = [k for k, _ in c.items]
            else:
                els = []
            vals = [e for e in els if type(e) is int] if d.ktype == W.PT_INTEGER else \
                [e[1:] for e in els if type(e) is bytes and e[:1] == b"\x03"]
        if any(lo <= v <= hi if d.ktype == W.PT_INTEGER else v == lo for v in vals):
            out.add(rec.digest)
    return out


class _Q:
    def __init__(self, ktype, lo, hi):
        self.ktype, self.start, self.end, self.value = ktype, lo, hi, lo


_FULL = {"n": 0, "l": [1, "a"], "m": {"a": 1}, "t": "a"}


@settings(max_examples=40, deadline=None)
@given(steps, st.integers(-5, 5), st.integers(0, 4), st.text("ab", max_size=2))
@example([("put", 0, "s", _FULL, False), ("migrate", 0, False)], 0, 4, "a")
@example([("put", 0, "s", _FULL, False), ("migrate", 0, True), ("put", 0, "s", {"n": 9}, False)], 0, 4, "a")
@example([("put", 1, "s", _FULL, True), ("put", 2, "s", _FULL, False), ("expire",)], 0, 4, "a")
@example([("put", 1, "s", _FULL, False), ("put", 2, "x", _FULL, False), ("truncate", "s")], 0, 4, "a")
@example([("put", 1, "s", _FULL, False), ("delete", 1), ("put", 1, "x", _FULL, False)], 0, 4, "a")
def test_indexes_answer_as_a_scan_would(ops, lo, width, text):
    clock = Clock(lambda: 1_800_000_000.0)
    ns = Namespace("test")
    for d in DEFS:
        ix = SecondaryIndex(d)
        ix.build(ns)
        ns.indexes[d.name] = ix
    for step in ops:
        kind = step[0]
        if kind == "put":
            _, k, set_name, b, short = step
            rec = StoredRecord(_digest(k), set_name)
            rec.bins = {name: _particle(v) for name, v in b.items()}
            rec.void_time = clock.citrus_now() + 10 if short else 0
            rec.last_update_ns = clock.nanos()
            if rec.bins:
                ns.put(rec)
            else:
                ns.delete(rec.digest)
        elif kind == "delete":
            ns.delete(_digest(step[1]))
        elif kind == "expire":
            clock.advance(11)
        elif kind == "truncate":
            ns.truncate(step[1] or None, clock.nanos())
        else:
            pid = partition_id(_digest(step[1]))  # the partition leaves the node, or comes back as a copy
            ns.replace_partition(pid, {d: r.copy() for d, r in ns.partitions[pid].items()} if step[2] else {})
        for d in DEFS:
            q = _Q(d.ktype, lo, lo + width) if d.ktype == W.PT_INTEGER else _Q(d.ktype, text.encode(), None)
            got = set()
            for pid, lst in ns.indexes[d.name].candidates(q).items():
                for _bval, dg in lst:
                    rec = ns.get(dg, clock)
                    if rec is not None:
                        got.add(dg)
                    assert partition_id(dg) == pid
            want = _brute(ns, d, clock, q.start if d.ktype == W.PT_INTEGER else q.value, q.end)
            assert got == want, (d.name, step)
            ix = ns.indexes[d.name]  # and no entry outlives its record (sindex-stat counts them)
            live = {rec.digest for _pid, rec in ns.records(clock=clock)}
            assert set(ix.by_digest) <= live, (d.name, step)
            assert ix.n_entries == sum(map(len, ix.by_digest.values()))
