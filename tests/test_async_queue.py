"""Waiting for a free connection is queueing: deadlines start when a command gets one;
``operation_queue_timeout_ms`` bounds the wait (BackpressureError)."""

from __future__ import annotations

import asyncio
from typing import Any

from aerospike_py import AsyncClient
from aerospike_py.exception import BackpressureError

KEY = ("test", "queue", "k")


def test_queued_commands_get_their_whole_deadline(server: Any) -> None:
    """5 gets through 1 connection, each answered after 100 ms, each with a 250 ms deadline: the
    last one waits ~400 ms in line, yet none times out, because the wait is not charged."""

    async def main() -> float:
        async with AsyncClient(dict(server.config, max_conns_per_node=1)) as c:
            await c.connect()
            await c.put(KEY, {"v": 1})
            server.inject_fault("delay:100", count=5)
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            recs = await asyncio.gather(*(c.get(KEY, {"total_timeout": 250}) for _ in range(5)))
            assert all(r.bins == {"v": 1} for r in recs)
            assert c._cluster.node_list[0].async_pool.count <= 1
            return loop.time() - t0

    elapsed = asyncio.run(main())
    assert elapsed >= 0.45  # they really queued behind each other


def test_queue_timeout_raises_backpressure_error(server: Any) -> None:
    async def main() -> None:
        cfg = dict(server.config, max_conns_per_node=1, operation_queue_timeout_ms=1)
        async with AsyncClient(cfg) as c:
            await c.connect()
            await c.put(KEY, {"v": 2})
            server.inject_fault("delay:100")  # the one connection is busy for 100 ms
            results = await asyncio.gather(*(c.get(KEY) for _ in range(20)), return_exceptions=True)
            errors = [r for r in results if isinstance(r, BaseException)]
            assert errors and all(isinstance(e, BackpressureError) for e in errors)
            assert "operation_queue_timeout_ms=1" in str(errors[0])
            assert any(not isinstance(r, BaseException) and r.bins == {"v": 2} for r in results)
            # The pool is consistent and the next call works.
            assert (await c.get(KEY)).bins == {"v": 2}
            pool = c._cluster.node_list[0].async_pool
            assert pool.count <= 1

    asyncio.run(main())
