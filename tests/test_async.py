"""AsyncClient: the sync Client's scenarios run on it too, and what is particular to asyncio.

* Every test of ``test_kv.py`` that uses the ``client`` fixture is collected here a second time,
  with ``client`` bound to :class:`Blocking`, which drives an AsyncClient through the sync
  interface (each call runs the coroutine to completion on the test's loop). Same bodies, no copies.
* The tests below take ``make``: a factory parametrised over ("sync", "async") that returns
  either a plain :class:`Client` or a :class:`Blocking` AsyncClient, so one body covers both.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import aerospike_py
from _clients import Blocking
from aerospike_py import AsyncClient, Client
from aerospike_py._async_client import NOT_AWAITABLE
from aerospike_py.exception import (
    AerospikeTimeoutError,
    ClientError,
    ClusterError,
    InvalidArgError,
    RecordNotFound,
)

NS, SET = "test", "async"


def key(k: Any) -> tuple:
    return (NS, SET, k)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


@pytest.fixture
def client(server: Any, loop: asyncio.AbstractEventLoop) -> Iterator[Blocking]:
    """Overrides conftest's ``client`` for the tests imported from test_kv: an AsyncClient."""
    c = Blocking(AsyncClient(server.config), loop).connect()
    yield c
    c.close()


@pytest.fixture(params=["sync", "async"])
def make(request: Any, loop: asyncio.AbstractEventLoop) -> Iterator[Callable[[dict], Any]]:
    """``make(config)``: a new, unconnected client of the parametrised kind (closed at the end)."""
    made: list[Any] = []

    def factory(config: dict) -> Any:
        c = aerospike_py.client(config) if request.param == "sync" else Blocking(
            aerospike_py.async_client(config), loop)
        made.append(c)
        return c

    yield factory
    for c in made:
        c.close()


def _import_sync_scenarios() -> None:
    """Collect test_kv's client tests (and the fixtures they need) in this module too."""
    try:
        import test_kv
    except ImportError:  # pragma: no cover - the sync suite is not there
        return
    skip = {"test_threads_share_one_client"}  # threads on one sync Client: sync-only by nature
    for name, obj in vars(test_kv).items():
        if name in globals() or name in ("client", "server"):
            continue
        if name.startswith("test_") and callable(obj) and name not in skip:
            if "client" in inspect.signature(obj).parameters:
                globals()[name] = obj
        elif type(obj).__name__ == "FixtureFunctionDefinition" or hasattr(obj, "_pytestfixturefunction"):
            globals()[name] = obj


_import_sync_scenarios()


# ----------------------------------------------------------------------------- surface


def test_every_operation_is_a_coroutine_with_the_sync_signature() -> None:
    ops = [n for n in dir(Client) if not n.startswith("_") and callable(getattr(Client, n))]
    assert {"get", "put", "operate_ordered", "info_all", "truncate", "connect", "close", "ping"} <= set(ops)
    for name in ops:
        fn = getattr(AsyncClient, name)
        if name in NOT_AWAITABLE:
            assert not inspect.iscoroutinefunction(fn), name
            continue
        assert inspect.iscoroutinefunction(fn), name
        if name != "connect":  # returns the client's own type
            assert inspect.signature(fn) == inspect.signature(getattr(Client, name)), name
    for name in ("is_connected", "get_node_names"):
        assert not inspect.iscoroutinefunction(getattr(AsyncClient, name))
    assert inspect.iscoroutinefunction(AsyncClient.__aenter__)
    assert inspect.iscoroutinefunction(AsyncClient.__aexit__)


def test_factory_and_export(server: Any) -> None:
    c = aerospike_py.async_client(server.config)
    assert type(c) is AsyncClient and c.is_connected() is False
    assert "AsyncClient" in aerospike_py.__all__ and "async_client" in aerospike_py.__all__
    with pytest.raises(InvalidArgError):
        aerospike_py.async_client({"hosts": []})


# ----------------------------------------------------------------------------- lifecycle (sync + async)


def test_lifecycle(make: Callable[[dict], Any], server: Any) -> None:
    c = make(server.config)
    assert c.is_connected() is False and c.ping() is False and c.get_node_names() == []
    with pytest.raises(ClientError, match="not connected"):
        c.get(key("x"))
    assert c.connect() is c
    assert c.is_connected() and c.ping() is True
    assert c.get_node_names() == [server.node.node_id]
    with pytest.raises(ClientError, match="already connected"):
        c.connect()
    c.put(key("lc"), {"a": 1})
    c.close()
    c.close()
    assert c.is_connected() is False and c.ping() is False
    for call in (lambda: c.get(key("lc")), lambda: c.put(key("lc"), {"a": 2}), lambda: c.info_all("node"),
                 lambda: c.info_random_node("node"), lambda: c.truncate(NS, SET)):
        with pytest.raises(ClientError, match="not connected"):
            call()
    assert c.connect() is c  # a closed client can connect again
    assert c.get(key("lc")).bins == {"a": 1}


def test_context_manager_does_not_connect_and_closes(make: Callable[[dict], Any], server: Any) -> None:
    with make(server.config) as c:
        assert c.is_connected() is False
        c.connect()
        c.put(key("cm"), {"a": 1})
    assert c.is_connected() is False
    with pytest.raises(ClientError):
        c.get(key("cm"))


def test_bad_arguments_raise_before_sending(make: Callable[[dict], Any], server: Any) -> None:
    c = make(server.config).connect()
    with pytest.raises(InvalidArgError):
        c.get(("test",))
    with pytest.raises(InvalidArgError):
        c.get(key("k"), policy={"total_timeout": -1})
    with pytest.raises(aerospike_py.BinNameError):
        c.put(key("k"), {"x" * 16: 1})
    with pytest.raises(RecordNotFound):
        c.get(key("k"))  # nothing was written


# ----------------------------------------------------------------------------- faults (sync + async)


def test_stalled_server_times_out_within_the_deadline(make: Callable[[dict], Any], server: Any) -> None:
    c = make(server.config).connect()
    c.put(key("st"), {"a": 1})
    server.inject_fault("stall", count=1)
    t0 = time.monotonic()
    with pytest.raises(AerospikeTimeoutError) as ei:
        c.get(key("st"), policy={"total_timeout": 300, "socket_timeout": 100, "max_retries": 0})
    took = time.monotonic() - t0
    assert 0.09 <= took < 1.0
    assert ei.value.in_doubt is False
    assert "timed out after 1 attempt(s) (total_timeout=300 ms, socket_timeout=100 ms)" in str(ei.value)
    assert c.get(key("st")).bins == {"a": 1}  # the stalled socket is not reused


def test_stall_then_retry_succeeds(make: Callable[[dict], Any], server: Any) -> None:
    c = make(server.config).connect()
    c.put(key("rt"), {"a": 2})
    server.inject_fault("stall", count=1)
    rec = c.get(key("rt"), policy={"total_timeout": 2000, "socket_timeout": 100, "max_retries": 2})
    assert rec.bins == {"a": 2}


def test_write_after_send_is_in_doubt(make: Callable[[dict], Any], server: Any) -> None:
    c = make(server.config).connect()
    server.inject_fault("drop", count=1)
    with pytest.raises(ClusterError) as ei:
        c.put(key("dr"), {"a": 1})
    assert ei.value.in_doubt is True and ei.value.code == -10
    assert "connection failed" in str(ei.value)
    server.inject_fault("stall", count=1)
    with pytest.raises(AerospikeTimeoutError) as ei2:
        c.put(key("dr"), {"a": 1}, policy={"total_timeout": 200})
    assert ei2.value.in_doubt is True


def test_garbage_reply_is_a_protocol_error(make: Callable[[dict], Any], server: Any) -> None:
    c = make(server.config).connect()
    server.inject_fault("bad_version", count=1)
    with pytest.raises(ClientError, match="protocol error"):
        c.put(key("gb"), {"a": 1})
    c.put(key("gb"), {"a": 2})
    assert c.get(key("gb")).bins == {"a": 2}


# ----------------------------------------------------------------------------- the async pool


def _pool(c: AsyncClient) -> Any:
    return c._cluster.node_list[0].async_pool


def test_min_conns_are_prewarmed_and_max_conns_bound(server: Any) -> None:
    async def main() -> None:
        cfg = dict(server.config, min_conns_per_node=3, max_conns_per_node=5)
        async with AsyncClient(cfg) as c:
            await c.connect()
            pool = _pool(c)
            assert pool.count == 3 and len(pool.idle) == 3
            await asyncio.gather(*(c.put(key(i), {"i": i}) for i in range(200)))
            recs = await asyncio.gather(*(c.get(key(i)) for i in range(200)))
            assert [r.bins["i"] for r in recs] == list(range(200))
            assert pool.count == 5 and len(pool.idle) == 5
        assert pool.closed and pool.count == 0

    asyncio.run(main())


def test_idle_connections_past_idle_timeout_are_replaced(server: Any) -> None:
    async def main() -> None:
        async with AsyncClient(dict(server.config, idle_timeout=5000)) as c:
            await c.connect()
            await c.put(key("it"), {"a": 1})
            pool = _pool(c)
            (old,) = pool.idle
            old.last_used -= 10  # idle for 10 s as far as the pool can tell
            assert (await c.get(key("it"))).bins == {"a": 1}
            assert old.dead and pool.count == 1 and pool.idle[0] is not old

    asyncio.run(main())


def test_close_while_connecting_is_a_client_error(server: Any) -> None:
    async def main() -> None:
        c = AsyncClient(server.config)
        task = asyncio.ensure_future(c.connect())
        await asyncio.sleep(0)  # let connect() start its discovery thread
        await c.close()
        with pytest.raises(ClientError, match="closed while connecting"):
            await task
        assert c.is_connected() is False
        await c.connect()
        assert await c.ping()
        await c.close()

    asyncio.run(main())


def test_connect_failure_leaves_the_client_usable(server: Any) -> None:
    async def main() -> None:
        c = AsyncClient({"hosts": [("127.0.0.1", 1)], "timeout": 200})
        with pytest.raises(ClusterError):
            await c.connect()
        assert c.is_connected() is False
        with pytest.raises(ClientError, match="not connected"):
            await c.get(key("x"))

    asyncio.run(main())


def test_runs_under_uvloop(server: Any) -> None:
    uvloop = pytest.importorskip("uvloop")

    async def main() -> None:
        async with AsyncClient(server.config) as c:
            await c.connect()
            await asyncio.gather(*(c.put(key(i), {"i": i}) for i in range(50)))
            recs = await asyncio.gather(*(c.get(key(i)) for i in range(50)))
            assert [r.bins["i"] for r in recs] == list(range(50))

    uvloop.run(main())


def test_client_used_from_a_second_loop_gets_a_new_pool(server: Any) -> None:
    c = AsyncClient(server.config)

    async def first() -> Any:
        await c.connect()
        await c.put(key("l"), {"a": 1})
        return _pool(c)

    old = asyncio.run(first())

    async def second() -> None:
        assert (await c.get(key("l"))).bins == {"a": 1}
        assert _pool(c) is not old and old.closed
        await c.close()

    asyncio.run(second())
