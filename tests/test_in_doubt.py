"""In doubt means in doubt: concurrent increments while a node stops and rejoins.

Several threads of one sync client and tasks of an async client increment a few counters on a
3-node cluster (replication factor 2) while node 1 is stopped and started again; one more thread
increments them by batches (``batch_operate`` of a few keys: per record, its result and its
``in_doubt`` flag count as a single increment's would). Per key, the
increments acknowledged and the failures flagged ``in_doubt`` are counted; at the end every
counter must lie between its acknowledged count and that count plus its in-doubt failures: no
acknowledged write lost, no write applied that the client reported as surely not applied.

The short version runs in a few seconds on an embedded cluster (with faults that apply a write and
lose or spoil its answer, so that a wrong in_doubt flag fails it) and on a real cluster when one
can be started (``real_cluster``); ``AEROSPIKE_PY_SLOW_TESTS=1`` runs 60 s on each.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

import aerospike_py
from _clients import generous
from aerospike_py.exception import AerospikeError, RecordNotFound
from aerospike_py.server import EmbeddedCluster, Fault

SLOW = bool(os.environ.get("AEROSPIKE_PY_SLOW_TESTS"))
N_KEYS = 24
THREADS = 3
TASKS = 4
TEND_MS = 50
VICTIM = 1
#: The increments' own policy: the client's defaults for writes (one attempt, 1 s), so that time-outs
#: and lost connections happen as in production.
WRITE_POLICY = {"total_timeout": 1000, "socket_timeout": 1000, "max_retries": 0}


@dataclass
class Tally:
    """What the workers saw, per key and in total."""

    acked: Counter[Any] = field(default_factory=Counter)
    in_doubt: Counter[Any] = field(default_factory=Counter)
    not_applied: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    unexpected: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ops: int = 0
    batch: Counter[str] = field(default_factory=Counter)  # batch records: acked / in_doubt / not_applied
    progress: threading.Condition = field(default_factory=threading.Condition)

    def note(self, key: Any, error: BaseException | None, batch: bool = False) -> None:
        with self.lock:
            if error is None:
                self.acked[key] += 1
                self.batch["acked"] += batch
            elif not isinstance(error, AerospikeError):
                self.unexpected.append(error)
            else:
                self.errors[f"{'batch ' if batch else ''}{type(error).__name__}({error.code})"
                            f"{'/in_doubt' if error.in_doubt else ''}"] += 1
                if error.in_doubt:
                    self.in_doubt[key] += 1
                    self.batch["in_doubt"] += batch
                else:
                    self.not_applied += 1
                    self.batch["not_applied"] += batch
        with self.progress:
            self.ops += 1
            self.progress.notify_all()

    def wait_ops(self, n: int, timeout: float = 120.0) -> None:
        """Until the workers have done ``n`` increments in all (bounded)."""
        with self.progress:
            assert self.progress.wait_for(lambda: self.ops >= n or self.unexpected, timeout), \
                f"only {self.ops} of {n} increments within {timeout} s"
        assert not self.unexpected, self.unexpected


def _sync_worker(client: Any, keys: list[tuple], tally: Tally, stop: threading.Event, seed: int) -> None:
    i = seed
    while not stop.is_set():
        key = keys[i % len(keys)]
        i += 7
        try:
            client.increment(key, "n", 1, policy=WRITE_POLICY)
        except Exception as e:  # noqa: BLE001 - counted (a non-Aerospike error fails the test)
            tally.note(key, e)
        else:
            tally.note(key, None)


BATCH = 4  # keys per batch increment (N_KEYS apart by 5: distinct)


def _batch_worker(client: Any, keys: list[tuple], tally: Tally, stop: threading.Event) -> None:
    incr = [{"op": aerospike_py.OPERATOR_INCR, "bin": "n", "val": 1}]
    i = 0
    while not stop.is_set():
        batch = [keys[(i + 5 * j) % len(keys)] for j in range(BATCH)]
        i += 1
        try:
            recs = client.batch_operate(batch, incr, policy=WRITE_POLICY).batch_records
        except Exception as e:  # noqa: BLE001 - the whole call failed: each record as that failure
            for key in batch:
                tally.note(key, e, batch=True)
            continue
        for key, br in zip(batch, recs, strict=True):
            if br.result == 0:
                tally.note(key, None, batch=True)
            else:  # (a record's failure: its code and its in_doubt flag)
                tally.note(key, AerospikeError(f"batch record {br.result}", code=br.result, in_doubt=br.in_doubt),
                           batch=True)


def _async_worker(config: dict, keys: list[tuple], tally: Tally, stop: threading.Event) -> None:
    async def one(client: Any, seed: int) -> None:
        i = seed
        while not stop.is_set():
            key = keys[i % len(keys)]
            i += 5
            try:
                await client.increment(key, "n", 1, policy=WRITE_POLICY)
            except Exception as e:  # noqa: BLE001 - counted
                tally.note(key, e)
            else:
                tally.note(key, None)

    async def main() -> None:
        client = aerospike_py.async_client(config)
        await client.connect()
        try:
            await asyncio.gather(*(one(client, s) for s in range(TASKS)))
        finally:
            await client.close()

    try:
        asyncio.run(main())
    except BaseException as e:  # noqa: BLE001 - reported by the main thread
        with tally.lock:
            tally.unexpected.append(e)
        with tally.progress:
            tally.progress.notify_all()


def _wait_tend(client: Any, cond: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    cl = client._cluster
    with cl.tend_event:
        ok = cl.tend_event.wait_for(cond, timeout)
    assert ok, f"not reached within {timeout} s: {what}"


def _stable(client: Any, size: int) -> bool:
    """``size`` nodes seen, all agreeing on one cluster key with no migration left."""
    if len(client.get_node_names()) != size:
        return False
    try:
        answers = {r.response for r in client.info_all(f"cluster-stable:size={size};ignore-migrations=false")}
    except AerospikeError:
        return False
    return len(answers) == 1 and not next(iter(answers)).startswith("ERROR")


def run_increments(hosts: list[tuple[str, int]], stop_node: Callable[[], None], start_node: Callable[[], None],
                   set_name: str, phase_ops: int, duration: float = 0.0,
                   faults: Callable[[], None] | None = None) -> tuple[Tally, dict[Any, int]]:
    """Increment while node ``VICTIM`` stops and rejoins; returns the tally and the final values.

    The phases are counted in increments (``phase_ops`` before the stop, while stopped, after the
    rejoin); ``duration`` > 0 stretches the run to at least that many seconds (the stop then lasts
    a third of it)."""
    config = generous({"hosts": list(hosts), "tend_interval": TEND_MS})
    client = aerospike_py.client(config).connect()
    keys = [("test", set_name, i) for i in range(N_KEYS)]
    tally = Tally()
    stop = threading.Event()
    workers = [threading.Thread(target=_sync_worker, args=(client, keys, tally, stop, s), daemon=True)
               for s in range(THREADS)]
    workers.append(threading.Thread(target=_async_worker, args=(config, keys, tally, stop), daemon=True))
    workers.append(threading.Thread(target=_batch_worker, args=(client, keys, tally, stop), daemon=True))
    try:
        _wait_tend(client, lambda: _stable(client, 3), "3 stable nodes")
        for key in keys:
            client.put(key, {"n": 0})
        started = time.monotonic()
        for w in workers:
            w.start()
        tally.wait_ops(phase_ops)
        if faults is not None:
            faults()
        if duration:
            stop.wait(max(0.0, started + duration / 3 - time.monotonic()))
        stop_node()
        tally.wait_ops(tally.ops + phase_ops)
        _wait_tend(client, lambda: len(client.get_node_names()) == 2, "the client drops the stopped node")
        if duration:
            stop.wait(max(0.0, started + 2 * duration / 3 - time.monotonic()))
        start_node()
        _wait_tend(client, lambda: len(client.get_node_names()) == 3, "the client sees the node again")
        tally.wait_ops(tally.ops + phase_ops)
        if duration:
            stop.wait(max(0.0, started + duration - time.monotonic()))
    finally:
        stop.set()
        for w in workers:
            w.join(60)
    try:
        assert not any(w.is_alive() for w in workers), "a worker did not stop"
        assert not tally.unexpected, tally.unexpected
        _wait_tend(client, lambda: _stable(client, 3), "3 stable nodes, migrations done")
        final = {}
        for key in keys:
            try:
                final[key] = client.get(key, policy={"max_retries": 5})[2]["n"]
            except RecordNotFound:
                final[key] = None
        client.truncate("test", set_name, 0)
        return tally, final
    finally:
        client.close()


def check(tally: Tally, final: dict[Any, int], label: str) -> dict[str, Any]:
    """Every counter between its acknowledged count and that plus its in-doubt failures."""
    lost = {k: (v, tally.acked[k]) for k, v in final.items() if v is None or v < tally.acked[k]}
    phantom = {k: (v, tally.acked[k], tally.in_doubt[k]) for k, v in final.items()
               if v is not None and v > tally.acked[k] + tally.in_doubt[k]}
    figures = {
        "cluster": label,
        "acked": sum(tally.acked.values()),
        "in_doubt": sum(tally.in_doubt.values()),
        "not_applied": tally.not_applied,
        "final_sum": sum(v or 0 for v in final.values()),
        "applied_in_doubt": sum((v or 0) - tally.acked[k] for k, v in final.items()),
        "batch_records": dict(tally.batch),
        "errors": dict(tally.errors),
    }
    print(f"\nin-doubt figures: {figures}")
    assert not lost, f"acknowledged increments lost (final, acked): {lost}"
    assert not phantom, f"increments applied beyond the in-doubt failures (final, acked, in_doubt): {phantom}"
    return figures


def _spoil_answers(cluster: EmbeddedCluster) -> Callable[[], None]:
    """Faults on node 0: writes applied whose answer is TIMEOUT (9), half a frame, or lost."""

    def inject() -> None:
        for fault in (f"{Fault.ANSWER}9", Fault.HALF, Fault.HALF_CLOSE):
            cluster.inject_fault(0, fault, count=3)

    return inject


@pytest.mark.timeout(300 if SLOW else 120)  # (the 60 s run plus a cluster's start and settling)
def test_embedded_cluster_increments_stay_within_acked_and_in_doubt() -> None:
    with EmbeddedCluster(nodes=3, replication_factor=2) as cl:
        tally, final = run_increments(cl.config["hosts"], lambda: cl.stop_node(VICTIM), lambda: cl.start_node(VICTIM),
                                      "indoubt", phase_ops=600 if SLOW else 150, duration=60.0 if SLOW else 0.0,
                                      faults=_spoil_answers(cl))
    figures = check(tally, final, "embedded")
    # The spoiled answers were applied (and counted in doubt, not acked); batches took part.
    assert figures["in_doubt"] >= 6 and figures["applied_in_doubt"] >= 3, figures
    assert figures["batch_records"]["acked"] > 0, figures


@pytest.mark.timeout(300 if SLOW else 120)  # (the 60 s run plus a cluster's start and settling)
def test_real_cluster_increments_stay_within_acked_and_in_doubt(real_cluster) -> None:
    if not real_cluster.started:
        pytest.skip("node stop/start needs a cluster this test session started")
    tally, final = run_increments(real_cluster.hosts, lambda: real_cluster.node_stop(VICTIM),
                                  lambda: real_cluster.node_start(VICTIM), "indoubt_real",
                                  phase_ops=2000 if SLOW else 300, duration=60.0 if SLOW else 0.0)
    check(tally, final, "real")
