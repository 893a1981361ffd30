"""Waiting for a free connection is queueing: deadlines start when a command gets one;
``operation_queue_timeout_ms`` bounds the wait (BackpressureError)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aerospike_py import AsyncClient
from aerospike_py._net.async_executor import AsyncExecutor, _Parked
from aerospike_py.exception import AerospikeTimeoutError, BackpressureError, ClientError

KEY = ("test", "queue", "k")


def test_queued_commands_get_their_whole_deadline(server: Any) -> None:
    """5 gets through 1 connection, each answered after 200 ms, each with a 600 ms deadline: the
    last one waits ~800 ms in line, yet none times out, because the wait is not charged (each
    answer has 400 ms of slack for a loaded machine)."""

    async def main() -> float:
        async with AsyncClient(dict(server.config, max_conns_per_node=1)) as c:
            await c.connect()
            await c.put(KEY, {"v": 1})
            server.inject_fault("delay:200", count=5)
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            recs = await asyncio.gather(*(c.get(KEY, {"total_timeout": 600}) for _ in range(5)))
            assert all(r.bins == {"v": 1} for r in recs)
            assert c._cluster.node_list[0].async_pool.count <= 1
            return loop.time() - t0

    elapsed = asyncio.run(main())
    assert elapsed >= 0.95  # they really queued behind each other


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


def _pool(c: AsyncClient) -> Any:
    return c._cluster.node_list[0].async_pool


def test_queued_commands_are_sent_by_the_connection_released_to_them(server: Any, monkeypatch: Any) -> None:
    """At the bound, a command waits in the pool's line without a coroutine of its own (no
    ``AsyncExecutor.run``): the reply that frees a connection sends the next queued request."""
    runs = []
    real_run = AsyncExecutor.run

    def counting_run(self: AsyncExecutor, cmd: Any, target: Any = None) -> Any:
        runs.append(cmd)
        return real_run(self, cmd, target)

    async def main() -> None:
        async with AsyncClient(dict(server.config, max_conns_per_node=2)) as c:
            await c.connect()
            keys = [("test", "queue", i) for i in range(30)]
            await asyncio.gather(*(c.put(k, {"i": i}) for i, k in enumerate(keys)))
            pool = _pool(c)
            assert pool.count == 2 and len(pool.idle) == 2
            node = c._cluster.node_list[0]
            waits = node.queue_waits
            monkeypatch.setattr(AsyncExecutor, "run", counting_run)
            recs = await asyncio.gather(*(c.get(k) for k in keys))
            assert [r.bins["i"] for r in recs] == list(range(30))
            assert runs == []  # none needed the coroutine path
            assert node.queue_waits - waits == 28
            assert pool.count == 2 and len(pool.idle) == 2 and not pool.waiters

    asyncio.run(main())


def test_a_cancelled_queued_command_is_skipped(server: Any) -> None:
    async def main() -> None:
        async with AsyncClient(dict(server.config, max_conns_per_node=1)) as c:
            await c.connect()
            await c.put(KEY, {"v": 3})
            pool = _pool(c)
            (conn,) = pool.idle
            server.inject_fault("delay:100", count=1)
            first = asyncio.ensure_future(c.get(KEY))
            await asyncio.sleep(0)  # it has the one connection
            second = asyncio.ensure_future(c.get(KEY))
            third = asyncio.ensure_future(c.get(KEY))
            await asyncio.sleep(0)
            assert len(pool.waiters) == 2 and all(isinstance(w, _Parked) for w in pool.waiters)
            second.cancel()
            assert [r.bins for r in await asyncio.gather(first, third)] == [{"v": 3}, {"v": 3}]
            assert second.cancelled()
            # The one connection served the first and the third; the cancelled one cost none.
            assert not conn.dead and list(pool.idle) == [conn] and pool.count == 1 and not pool.waiters

    asyncio.run(main())


def test_a_queued_command_opens_the_slot_a_failed_connection_freed(server: Any) -> None:
    async def main() -> None:
        async with AsyncClient(dict(server.config, max_conns_per_node=1)) as c:
            await c.connect()
            await c.put(KEY, {"v": 4})
            pool = _pool(c)
            (conn,) = pool.idle
            server.inject_fault("stall", count=1)
            stalled = asyncio.ensure_future(c.get(KEY, {"total_timeout": 200, "max_retries": 0}))
            await asyncio.sleep(0)
            queued = asyncio.ensure_future(c.get(KEY, {"total_timeout": 5000}))
            await asyncio.sleep(0)
            assert isinstance(pool.waiters[0], _Parked)
            with pytest.raises(AerospikeTimeoutError):
                await stalled
            assert (await queued).bins == {"v": 4}  # on a new connection, in the freed slot
            assert conn.dead and pool.count == 1 and pool.idle[0] is not conn

    asyncio.run(main())


def test_closing_the_client_fails_queued_commands_as_closed(server: Any) -> None:
    async def main() -> None:
        c = await AsyncClient(dict(server.config, max_conns_per_node=1)).connect()
        await c.put(KEY, {"v": 5})
        pool = _pool(c)
        server.inject_fault("stall", count=1)
        stalled = asyncio.ensure_future(c.get(KEY, {"total_timeout": 300, "max_retries": 0}))
        await asyncio.sleep(0)
        queued = asyncio.ensure_future(c.put(KEY, {"v": 6}))
        await asyncio.sleep(0)
        assert isinstance(pool.waiters[0], _Parked)
        await c.close()
        err = (await asyncio.gather(queued, return_exceptions=True))[0]
        assert type(err) is ClientError and "closed" in str(err), repr(err)
        assert err.in_doubt is False  # never sent
        await asyncio.gather(stalled, return_exceptions=True)

    asyncio.run(main())


def test_a_queued_request_lost_on_the_network_is_retried(server: Any, monkeypatch: Any) -> None:
    """A request sent by the connection released to it fails like a fast-path one: handed to the
    executor's retry hook and retried (the connection that lost it is dropped, the pool stays
    consistent)."""
    hooked = []
    real_retry = AsyncExecutor._retry

    def spy(self: AsyncExecutor, fut: Any, cmd: Any, node: Any, attempt: int, deadline: float, error: Any) -> None:
        hooked.append(type(error).__name__)
        real_retry(self, fut, cmd, node, attempt, deadline, error)

    monkeypatch.setattr(AsyncExecutor, "_retry", spy)

    async def main() -> None:
        async with AsyncClient(dict(server.config, max_conns_per_node=1)) as c:
            await c.connect()
            await c.put(KEY, {"v": 7})
            pool = _pool(c)
            (conn,) = pool.idle
            server.inject_fault("delay:100", count=1)  # the first get holds the one connection
            server.inject_fault("drop", count=1)  # the queued get's first request is lost
            first = asyncio.ensure_future(c.get(KEY))
            await asyncio.sleep(0)
            queued = asyncio.ensure_future(c.get(KEY, {"max_retries": 2, "total_timeout": 5000}))
            await asyncio.sleep(0)
            assert isinstance(pool.waiters[0], _Parked)
            assert [r.bins for r in await asyncio.gather(first, queued)] == [{"v": 7}, {"v": 7}]
            assert conn.dead and pool.count == 1 and pool.idle[0] is not conn and not pool.waiters
            assert hooked == ["ConnectionClosed"], hooked

    asyncio.run(main())
