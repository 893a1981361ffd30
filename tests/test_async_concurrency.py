"""AsyncClient under load: many commands at once, cancellation storms, a stalled connection."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import aerospike_py
from aerospike_py import AsyncClient
from aerospike_py._commands.keys import parse_key
from aerospike_py.exception import AerospikeTimeoutError

NS, SET = "test", "conc"
A = aerospike_py

#: Generous deadlines: the embedded server shares this process's CPU (and the GIL) with the client.
RELAXED = {"read": {"total_timeout": 30000}, "write": {"total_timeout": 30000}}


def key(k: Any) -> tuple:
    return (NS, SET, k)


def pool_of(c: AsyncClient) -> Any:
    return c._cluster.node_list[0].async_pool


def check_pool(pool: Any) -> None:
    """Every counted connection is alive; idle ones carry no request; the bound holds."""
    assert 0 <= pool.count <= pool.max_conns
    assert all(not conn.dead and conn.waiter is None for conn in pool.idle)
    assert len(pool.idle) <= pool.count
    assert not [w for w in pool.waiters if not w.done()]


def test_ten_thousand_concurrent_mixed_commands(server: Any) -> None:
    n_keys, n_counters = 2000, 50

    async def main() -> None:
        # timeout: the connect timeout of the ~100 connections opened at once (1 s by default; the
        # embedded server shares this process, and a loaded machine can take longer to accept them).
        async with AsyncClient(dict(server.config, policies=RELAXED, timeout=30000)) as c:
            await c.connect()
            await asyncio.gather(*(c.put(key(i), {"i": i, "s": f"v{i}"}) for i in range(n_keys)))
            await asyncio.gather(*(c.put(key(f"c{j}"), {"n": 0}) for j in range(n_counters)))
            cmds, checks = [], []
            for m in range(10_000):
                kind = m % 5
                i = m % n_keys
                if kind == 0:
                    cmds.append(c.get(key(i)))
                    checks.append(lambda r, i=i: r.bins == {"i": i, "s": f"v{i}"} and r.key.user_key == i)
                elif kind == 1:
                    cmds.append(c.increment(key(f"c{(m // 5) % n_counters}"), "n", 1))
                    checks.append(lambda r: r is None)
                elif kind == 2:
                    cmds.append(c.exists(key(f"missing{m}")))
                    checks.append(lambda r, m=m: r.meta is None and r.key.user_key == f"missing{m}")
                elif kind == 3:
                    cmds.append(c.put(key(f"new{m}"), {"m": m}))
                    checks.append(lambda r: r is None)
                else:
                    cmds.append(c.operate(key(i), [{"op": A.OPERATOR_READ, "bin": "s"}]))
                    checks.append(lambda r, i=i: r.bins == {"s": f"v{i}"})
            results = await asyncio.gather(*cmds)
            bad = [(m, r) for m, (r, ok) in enumerate(zip(results, checks, strict=True)) if not ok(r)]
            assert not bad, bad[:5]
            counters = await asyncio.gather(*(c.get(key(f"c{j}")) for j in range(n_counters)))
            assert [r.bins["n"] for r in counters] == [10_000 // 5 // n_counters] * n_counters
            news = await asyncio.gather(*(c.get(key(f"new{m}")) for m in range(3, 10_000, 5)))
            assert [r.bins["m"] for r in news] == list(range(3, 10_000, 5))
            check_pool(pool_of(c))

    asyncio.run(main())


def test_cancellation_storm_leaves_the_pool_consistent(server: Any) -> None:
    rnd = random.Random(7)

    async def main() -> None:
        cfg = dict(server.config, max_conns_per_node=32, policies=RELAXED)
        async with AsyncClient(cfg) as c:
            await c.connect()
            await asyncio.gather(*(c.put(key(i), {"i": i}) for i in range(100)))
            pool = pool_of(c)
            tasks = [asyncio.ensure_future(c.get(key(i % 100))) for i in range(1000)]
            victims = rnd.sample(range(1000), 500)
            steps = {v: rnd.randrange(0, 60) for v in victims}  # loop iterations to wait before cancelling
            for step in range(61):
                for v in victims:
                    if steps[v] == step:
                        tasks[v].cancel()
                assert pool.count <= pool.max_conns
                await asyncio.sleep(0)
            done = await asyncio.gather(*tasks, return_exceptions=True)
            cancelled = {i for i, r in enumerate(done) if isinstance(r, asyncio.CancelledError)}
            assert cancelled <= set(victims) and len(cancelled) > 100
            for i, r in enumerate(done):
                if i not in cancelled:
                    assert not isinstance(r, BaseException), r
                    assert r.bins == {"i": i % 100}
            check_pool(pool)
            # Every later call works, and reads what it asked for.
            recs = await asyncio.gather(*(c.get(key(i)) for i in range(100)))
            assert [r.bins["i"] for r in recs] == list(range(100))
            check_pool(pool)
            assert pool.count <= 32 and len(pool.idle) == pool.count

    asyncio.run(main())


def test_cancel_with_wait_for_discards_the_connection(server: Any) -> None:
    async def main() -> None:
        async with AsyncClient(dict(server.config, max_conns_per_node=1)) as c:
            await c.connect()
            await c.put(key("w"), {"a": 1})
            pool = pool_of(c)
            (first,) = pool.idle
            server.inject_fault("stall", count=1)
            try:
                await asyncio.wait_for(c.get(key("w"), policy={"total_timeout": 0, "socket_timeout": 0}), 0.05)
            except asyncio.TimeoutError:
                pass
            else:  # pragma: no cover
                raise AssertionError("the stalled get should not have finished")
            assert first.dead and pool.count == 0  # discarded, not parked
            assert (await c.get(key("w"))).bins == {"a": 1}
            assert pool.count == 1 and pool.idle[0] is not first

    asyncio.run(main())


def test_stalled_connection_times_out_while_others_finish(server: Any) -> None:
    stalled = key("stalled")
    digest = parse_key(stalled).digest

    async def timed(coro: Any) -> tuple[float, Any]:
        t0 = time.monotonic()
        try:
            return time.monotonic() - t0, await coro
        except AerospikeTimeoutError as e:
            return time.monotonic() - t0, e

    async def main() -> None:
        async with AsyncClient(dict(server.config, policies=RELAXED)) as c:
            await c.connect()
            await asyncio.gather(*(c.put(key(i), {"i": i}) for i in range(50)))
            await c.put(stalled, {"i": -1})
            server.inject_fault("stall", match=lambda ptype, body: digest in body, count=1)
            policy = {"total_timeout": 400, "socket_timeout": 0, "max_retries": 0}
            victim = asyncio.ensure_future(timed(c.get(stalled, policy=policy)))
            others = await asyncio.gather(*(c.get(key(i % 50)) for i in range(300)))
            assert [r.bins["i"] for r in others] == [i % 50 for i in range(300)]
            took, err = await victim
            assert isinstance(err, AerospikeTimeoutError), err
            assert 0.39 <= took < 1.5, took
            assert "timed out after 1 attempt(s) (total_timeout=400 ms, socket_timeout=0 ms)" in str(err)
            check_pool(pool_of(c))
            assert (await c.get(stalled)).bins == {"i": -1}

    asyncio.run(main())
