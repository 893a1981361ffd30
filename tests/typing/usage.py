"""Typed use of the public API, checked with ``mypy --strict`` by tests/test_typing.py (never run).

Every ``reveal``-style assignment below states the type a user gets; a wrong return type in the
package (or an operation the checker cannot see as a coroutine) fails the check.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aerospike_py
from aerospike_py import exp
from aerospike_py import list_operations as lo
from aerospike_py import map_operations as mo
from aerospike_py.types import (
    AerospikeKey,
    BatchRecord,
    BatchRecords,
    ExistsResult,
    InfoNodeResult,
    OperateOrderedResult,
    ReadPolicy,
    Record,
    RecordMetadata,
    WriteMeta,
    WritePolicy,
)

KEY = ("test", "demo", "k")


def sync_usage(config: dict[str, Any]) -> None:
    client: aerospike_py.Client = aerospike_py.client(config).connect()
    with client as c:
        read_policy: ReadPolicy = {"total_timeout": 500, "max_retries": 1}
        write_policy: WritePolicy = {"key": aerospike_py.POLICY_KEY_SEND}
        meta: WriteMeta = {"ttl": 60}
        c.put(KEY, {"a": 1, "l": [1, 2]}, meta=meta, policy=write_policy)
        c.put(KEY, {"a": 1}, policy={"total_timeout": 100})
        rec: Record = c.get(KEY, policy=read_policy)
        _, rmeta, bins = rec
        if rmeta is not None:
            gen: int = rmeta.gen
            del gen
        if bins is not None:
            value: Any = bins["a"]
            del value
        key: AerospikeKey | None = rec.key
        del key
        sel: Record = c.select(KEY, ["a"])
        ex: ExistsResult = c.exists(KEY)
        m: RecordMetadata | None = ex.meta
        del sel, m
        c.touch(KEY, 10)
        c.append(KEY, "s", "x")
        c.prepend(KEY, "s", "y")
        c.increment(KEY, "a", 1)
        c.remove_bin(KEY, ["s"])
        op: Record = c.operate(KEY, [lo.list_append("l", 3), lo.list_size("l"),
                                      mo.map_put("m", "k", 1), {"op": aerospike_py.OPERATOR_READ, "bin": "a"}])
        ordered: OperateOrderedResult = c.operate_ordered(KEY, [lo.list_get("l", 0)])
        del op, ordered
        f = exp.eq(exp.int_bin("a"), exp.int_val(2))
        try:
            c.get(KEY, policy={"filter_expression": f})
        except aerospike_py.FilteredOut:
            pass
        br: BatchRecords = c.batch_read([KEY, ("test", "demo", 2)], bins=["a"])
        first: BatchRecord = br.batch_records[0]
        found: int = br.found_count()
        as_dict: dict[aerospike_py.UserKey, dict[str, Any]] = br.to_dict()
        del first, found, as_dict
        bw: BatchRecords = c.batch_write([(KEY, {"a": 2})], retry=2)
        bo: BatchRecords = c.batch_operate([KEY], [lo.list_size("l")])
        bd: BatchRecords = c.batch_remove([KEY])
        del bw, bo, bd
        infos: list[InfoNodeResult] = c.info_all("build")
        one: str = c.info_random_node("build")
        names: list[str] = c.get_node_names()
        alive: bool = c.ping() and c.is_connected()
        del infos, one, names, alive
        c.truncate("test", "demo")
        c.remove(KEY)


async def async_usage(config: dict[str, Any]) -> None:
    client = aerospike_py.async_client(config)
    async with await client.connect() as c:
        await c.put(KEY, {"a": 1})
        rec: Record = await c.get(KEY)
        ex: ExistsResult = await c.exists(KEY, policy={"total_timeout": 100})
        op: Record = await c.operate(KEY, [lo.list_size("l")])
        ordered: OperateOrderedResult = await c.operate_ordered(KEY, [lo.list_size("l")])
        handle = await c.batch_read([KEY])
        n: int = len(handle)
        found: dict[Any, dict[str, Any]] = handle.as_dict()
        records: list[BatchRecord] = handle.batch_records
        bw: BatchRecords = await c.batch_write([(KEY, {"a": 2})])
        infos: list[InfoNodeResult] = await c.info_all("build")
        alive: bool = await c.ping()
        del rec, ex, op, ordered, n, found, records, bw, infos, alive
        results = await asyncio.gather(c.get(KEY), c.get(KEY))
        both: list[Record] = list(results)
        del both
        await c.remove(KEY)
    await client.close()


def errors() -> None:
    try:
        aerospike_py.client({"hosts": []})
    except aerospike_py.InvalidArgError as e:
        code: int = e.code
        in_doubt: bool = e.in_doubt
        del code, in_doubt
