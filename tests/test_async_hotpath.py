"""The AsyncClient's fast path: reads into a reused buffer, one deadline timer per pool, retries of
a request sent without a coroutine of its own."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from aerospike_py import AsyncClient
from aerospike_py._net.async_pool import BUFFER_SIZE, _settle
from aerospike_py.exception import AerospikeTimeoutError, RecordNotFound

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


class _LaggingLoop(asyncio.SelectorEventLoop):
    """A loop whose clock is not ``time.monotonic`` (uvloop's is its own too): far behind it."""

    def time(self) -> float:
        return super().time() - 1e6


def test_deadlines_are_read_on_the_loops_own_clock(server: Any) -> None:
    """A pool reads ``time.monotonic`` directly only when that is the loop's clock; on a loop with
    a clock of its own, deadlines and idle times are in that clock, so a stalled request still
    times out on time (read on ``time.monotonic``, its deadline would lie 11 days ahead)."""

    async def main() -> None:
        async with AsyncClient(dict(server.config, idle_timeout=5000)) as c:
            await c.connect()
            await c.put(key("clk"), {"a": 1})
            pool = pool_of(c)
            lagging = isinstance(asyncio.get_running_loop(), _LaggingLoop)
            assert (pool.clock is time.monotonic) is not lagging
            assert abs(pool.clock() - asyncio.get_running_loop().time()) < 1.0
            assert (await c.get(key("clk"))).bins == {"a": 1}
            (idle,) = pool.idle
            assert abs(idle.last_used - asyncio.get_running_loop().time()) < 1.0
            server.inject_fault("stall", count=1)
            started = asyncio.get_running_loop().time()
            with pytest.raises(AerospikeTimeoutError):
                await asyncio.wait_for(c.get(key("clk"), policy={"total_timeout": 200, "max_retries": 0}), 10)
            assert asyncio.get_running_loop().time() - started < 5
            assert (await c.get(key("clk"))).bins == {"a": 1}

    asyncio.run(main())
    loop = _LaggingLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_a_connect_that_gets_no_answer_times_out(server: Any) -> None:
    """A node whose accept queue is full drops the SYNs: the connect is bounded by its timeout
    (ConnectionTimeout), and the slot it held is given back."""
    import socket
    from types import SimpleNamespace

    from aerospike_py._net.async_pool import AsyncPool
    from aerospike_py._net.connection import ConnectionTimeout

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    host, port = listener.getsockname()
    fillers = []
    try:
        for _ in range(4):  # fill the accept queue (never accepted): later SYNs are dropped
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex((host, port))
            fillers.append(f)

        async def main() -> None:
            async with AsyncClient(server.config) as c:
                await c.connect()
                real = c._cluster.node_list[0]
                node = SimpleNamespace(cluster=real.cluster, name="BLACKHOLE", host=host, port=port,
                                       address=f"{host}:{port}", tls_name=None, conns_created=0, conns_closed=0)
                pool = AsyncPool(node, asyncio.get_running_loop())
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                with pytest.raises(ConnectionTimeout, match="timed out"):
                    await asyncio.wait_for(pool._open(0.2), 5)  # (unbounded: TimeoutError, not ours)
                assert 0.15 < loop.time() - t0 < 5
                assert pool.count == 0 and not pool.conns

        asyncio.run(main())
    finally:
        for f in fillers:
            f.close()
        listener.close()


def test_a_reply_resumes_its_task_in_the_same_pass_of_the_loop(server: Any) -> None:
    """One get at a time: each costs one pass of the event loop (one ``select``), the task that
    awaits a reply being resumed from the reply's callback, not in a second pass."""

    async def main() -> None:
        async with AsyncClient(server.config) as c:
            await c.connect()
            await c.put(key("pass"), {"a": 1})
            selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
            real_select = selector.select
            calls = 0

            def counting_select(timeout: Any = None) -> Any:
                nonlocal calls
                calls += 1
                return real_select(timeout)

            selector.select = counting_select
            try:
                for _ in range(20):
                    assert (await c.get(key("pass"))).bins == {"a": 1}
                    with pytest.raises(RecordNotFound):  # (a server error resumes the same way)
                        await c.get(key("missing"))
            finally:
                del selector.select
            assert calls <= 40 + 2, calls  # 80 with a pass of its own for each resumption

    asyncio.run(main())


def test_a_reply_settled_while_a_task_runs_leaves_the_resumption_to_the_loop() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        async def await_it() -> Any:
            return await fut

        waiter = asyncio.ensure_future(await_it())
        await asyncio.sleep(0)
        _settle(fut, 5, False, loop)  # from inside this (running) task
        assert not waiter.done()  # not resumed in here: the loop resumes it
        assert await waiter == 5

    asyncio.run(main())


class _OwnFutureLoop(asyncio.SelectorEventLoop):
    """A loop that makes futures of its own (as uvloop does): they must be the ones used."""

    made = 0

    def create_future(self) -> asyncio.Future[Any]:
        _OwnFutureLoop.made += 1
        return super().create_future()


def test_request_futures_come_from_the_loops_own_create_future(server: Any) -> None:
    """On asyncio's own loop a request's future is made without the Python frame of
    ``loop.create_future``; a loop that overrides it makes every request's future (and a command
    parked in a pool's line gets one too)."""

    async def main() -> None:
        async with AsyncClient(dict(server.config, max_conns_per_node=1)) as c:
            await c.connect()
            await c.put(key("fut"), {"a": 1})
            results = await asyncio.gather(*(c.get(key("fut")) for _ in range(5)))
            assert [r.bins for r in results] == [{"a": 1}] * 5

    asyncio.run(main())
    assert _OwnFutureLoop.made == 0
    loop = _OwnFutureLoop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    assert _OwnFutureLoop.made >= 6  # the put and the five gets, four of which waited in line


def test_the_fast_path_knows_its_loop_without_get_running_loop(server: Any, monkeypatch: Any) -> None:
    """On asyncio's own loop a command finds that its pool's loop is the one running by the loop's
    thread (``asyncio.get_running_loop`` calls getpid(), a system call, on Python < 3.12); a pool
    made for another loop (a client used on a second loop in turn) is still noticed and replaced."""
    from aerospike_py._net import async_executor

    asked = []
    real = async_executor._get_running_loop

    def counting() -> asyncio.AbstractEventLoop:
        asked.append(1)
        return real()

    monkeypatch.setattr(async_executor, "_get_running_loop", counting)
    c = AsyncClient(server.config)

    async def first() -> None:
        await c.connect()
        await c.put(key("lp"), {"a": 1})  # (connect and the first command open the connection)
        asked.clear()
        for _ in range(3):
            await c.get(key("lp"))

    async def second() -> Any:
        got = [(await c.get(key("lp"))).bins for _ in range(3)]
        pool = pool_of(c)
        assert pool.loop is asyncio.get_running_loop()
        await c.close()
        return got

    loop1, loop2 = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        loop1.run_until_complete(first())
        assert asked == []
        assert loop2.run_until_complete(second()) == [{"a": 1}] * 3
        assert asked  # the first command on loop2 found a pool of loop1 and went the general way
    finally:
        loop1.close()
        loop2.close()
