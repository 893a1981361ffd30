"""The AsyncClient's fast path: reads into a reused buffer, one deadline timer per pool, retries of
a request sent without a coroutine of its own."""

from __future__ import annotations

import asyncio
from typing import Any

from aerospike_py import AsyncClient
from aerospike_py._net.async_pool import BUFFER_SIZE

NS, SET = "test", "hot"


def key(k: Any) -> tuple:
    return (NS, SET, k)


def pool_of(c: AsyncClient) -> Any:
    return c._cluster.node_list[0].async_pool


def test_replies_larger_than_the_buffer_and_back_to_back_small_ones(server: Any) -> None:
    big = bytes(range(256)) * (3 * BUFFER_SIZE // 256 + 7)

    async def main() -> None:
        async with AsyncClient(dict(server.config, max_conns_per_node=1)) as c:
            await c.connect()
            await c.put(key("big"), {"b": big, "s": "x" * 50})
            await c.put(key("small"), {"i": 7})
            conn = pool_of(c).idle[0]
            rec = await c.get(key("big"))
            assert rec.bins == {"b": big, "s": "x" * 50}
            assert pool_of(c).idle[0] is conn and len(conn.buf) >= BUFFER_SIZE  # reused, kept in step
            assert [(await c.get(key("small"))).bins["i"] for _ in range(3)] == [7, 7, 7]
            # The large result is the caller's own copy: later reads into the buffer do not touch it.
            assert rec.bins["b"] == big

    asyncio.run(main())


def test_one_deadline_timer_per_pool_however_many_requests(server: Any) -> None:
    async def main() -> None:
        async with AsyncClient(server.config) as c:
            await c.connect()
            await asyncio.gather(*(c.put(key(i), {"i": i}) for i in range(50)))
            loop = asyncio.get_running_loop()
            before = len(loop._scheduled)  # type: ignore[attr-defined]
            pending = [asyncio.ensure_future(c.get(key(i))) for i in range(50)]
            await asyncio.sleep(0)  # every get has sent its request
            pool = pool_of(c)
            assert sum(1 for conn in pool.conns if conn.waiter is not None) > 1
            assert len(loop._scheduled) - before <= 1  # type: ignore[attr-defined]
            assert pool.sweep_timer is not None
            recs = await asyncio.gather(*pending)
            assert [r.bins["i"] for r in recs] == list(range(50))

    asyncio.run(main())


def test_a_dropped_request_is_retried_and_the_pool_stays_consistent(server: Any) -> None:
    async def main() -> None:
        async with AsyncClient(server.config) as c:
            await c.connect()
            await c.put(key("r"), {"a": 1})
            pool = pool_of(c)
            first = pool.idle[-1]
            server.inject_fault("drop", count=1)
            rec = await c.get(key("r"), policy={"max_retries": 2, "total_timeout": 5000})
            assert rec.bins == {"a": 1}
            assert first.dead and first not in pool.conns
            assert pool.count == len(pool.conns) == len(pool.idle)

    asyncio.run(main())
