"""A short seeded slice of the differential harness (tests/_diffharness.py): the same random
programs (record, CDT, expression, batch, index/query/scan, UDF and truncate steps) on a real
server and on the embedded one must answer alike. Skipped without a real server (the
``real_server`` fixture starts one from ../shared when it can) or without lupa (UDF steps)."""

from __future__ import annotations

import contextlib
import os

import pytest

import aerospike_py
from _diffharness import Gen, Runner, compare, describe, hll_consts, register_udf, run_pair
from aerospike_py.exception import AerospikeError
from aerospike_py.server import EmbeddedServer

SEEDS = range(0, 100)  # some seconds; the long runs use the command line (see the module)


def test_seeded_programs_agree(real_server) -> None:
    pytest.importorskip("lupa")
    # Its own set (and so index names) per run among a few, so concurrent suites do not collide.
    set_name = f"diffharness_ci{os.getpid() % 16}"
    with EmbeddedServer() as srv:
        real = aerospike_py.client(real_server.config).connect()
        emb = aerospike_py.client(srv.config).connect()
        try:
            hll_consts(real, set_name)
            register_udf(real, emb)
            rr, er = Runner(real, set_name), Runner(emb, set_name)
            for seed in SEEDS:
                prog = Gen(seed).program()
                x, y, _ = run_pair(prog, rr, er)
                i = compare(x, y)
                assert i is None, f"seed {seed}\n{describe(prog, i, x, y)}"
            rr.reset()
            er.reset()
        finally:
            real.close()
            emb.close()


@pytest.mark.parametrize("every_rt", [False, True], ids=["inverted_index_rank", "every_return_type"])
def test_inverted_index_rank_results_agree(real_server, every_rt: bool) -> None:
    """A seeded slice of tests/_invprobe.py: INVERTED index/rank results of list and map
    selections (ordered and unordered, with ties, read and remove) as a real server answers; and
    (``--every-rt``) every return type, INVERTED or not."""
    from _invprobe import case, run

    with EmbeddedServer() as srv:
        real = aerospike_py.client(real_server.config).connect()
        emb = aerospike_py.client(srv.config).connect()
        key = ("test", f"invprobe_ci{os.getpid() % 16}", "k")
        try:
            for seed in range(300):
                _, build, op = case(seed + 100_000 * every_rt, every_rt=every_rt)
                x, y = run(real, key, build, op), run(emb, key, build, op)
                assert x == y, f"case {seed}: {build} {op}\n  real {x}\n  emb  {y}"
            with contextlib.suppress(AerospikeError):
                real.remove(key)
        finally:
            real.close()
            emb.close()
