"""Benchmark: aerospike_py side by side with the official ``aerospike`` client, in one run.

    python bench/bench.py                       # embedded server in its own process
    python bench/bench.py --host H --port P     # any Aerospike server
    python bench/bench.py --ops 10000 --only kv,batch --json out.json
    python bench/bench.py --rust-python /path/to/venv/bin/python   # + the Rust-based aerospike-py

Sections (``--only``):

* ``kv``: sync get / put / operate (incr + append + read) of a ~100-byte record.
* ``async``: gets and puts with 1, 16, 64, 256 commands in flight (our AsyncClient on asyncio; the
  official client, which has no asyncio API, on a thread pool of the same width).
* ``batch``: batch_read of 100 and 1,000 records with 5 bins (sync, async ``as_dict()``, numpy).

Each figure is the median of ``--repeat`` runs. Client CPU is measured with ``time.process_time``
in this process (the server runs in another process), so it is the client's own CPU, tend threads
included. In ``kv`` the clients of this process take turns every ``--chunk`` ops, and in ``batch`` the
sync, numpy and official runs take turns in ``--turns`` rounds, so load changes during a run fall
on all alike. A section whose feature does not exist yet (no AsyncClient, no batch_read) is skipped
with a message. ``--rust-python`` runs this same script under another interpreter in which
``aerospike_py`` is the Rust-based package (same API) and merges its figures as client ``rust``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import os
import platform
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

SECTIONS = ("kv", "async", "batch")
WIDTHS = (1, 16, 64, 256)
BATCH_SIZES = (100, 1000)
N_KEYS = 1000
#: ~100 bytes of bin data: 60-byte string, int, float, 2-char string (append target), 16-byte blob.
RECORD: dict[str, Any] = {"s": "x" * 60, "i": 1, "f": 1.5, "a": "ab", "b": b"\x01" * 16}
#: 5 bins per batch record, numpy-friendly (ints, float, fixed bytes).
BATCH_RECORD: dict[str, Any] = {"b0": 1, "b1": 2, "b2": 3, "b3": 4.5, "b4": b"\x02" * 16}
BATCH_DTYPE = [("b0", "i8"), ("b1", "i8"), ("b2", "i8"), ("b3", "f8"), ("b4", "S16")]
_SKIPPABLE = (NotImplementedError, AttributeError, ImportError, TypeError)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- results


@dataclass
class Result:
    """The median of several samples of one case for one client."""

    section: str
    case: str
    client: str
    unit: str  # "op" or "record"
    cpu_us: list[float] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)

    def add(self, cpu_s: float, wall_s: float, n: int) -> None:
        self.cpu_us.append(cpu_s / n * 1e6)
        self.rate.append(n / wall_s if wall_s > 0 else float("inf"))

    def as_json(self) -> dict[str, Any]:
        return {
            "section": self.section, "case": self.case, "client": self.client, "unit": self.unit,
            "cpu_us_per_unit": statistics.median(self.cpu_us), "per_s": statistics.median(self.rate),
            "cpu_us_samples": self.cpu_us, "per_s_samples": self.rate,
        }


class Results:
    """All results, in the order the cases were first measured."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str, str], Result] = {}
        self.notes: list[str] = []
        self.failed: set[tuple[str, str, str]] = set()

    def get(self, section: str, case: str, client: str, unit: str = "op") -> Result:
        k = (section, case, client)
        r = self.by_key.get(k)
        if r is None:
            r = self.by_key[k] = Result(section, case, client, unit)
        return r

    def note(self, msg: str) -> None:
        log(msg)
        self.notes.append(msg)


def measure(res: Results, section: str, case: str, client: str, n: int, fn: Callable[..., Any],
            *args: Any, unit: str = "op") -> None:
    """Run ``fn(*args)`` (``n`` units of work) and record client CPU and wall time.

    A failure (e.g. a timeout under load) is noted and the case is not run again for that client.
    """
    key = (section, case, client)
    if key in res.failed:
        return
    r = res.get(section, case, client, unit)
    gc.collect()
    c0 = time.process_time()
    w0 = time.perf_counter()
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - reported, the other cases go on
        res.failed.add(key)
        res.note(f"{section} {case}: {client} failed ({type(e).__name__}: {e})")
        return
    w1 = time.perf_counter()
    c1 = time.process_time()
    r.add(c1 - c0, w1 - w0, n)


# --------------------------------------------------------------------------- server


def start_server() -> tuple[subprocess.Popen, str, int]:
    """Run the embedded server in its own process; return it and the address it listens on."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "aerospike_py.server", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline() if ready else ""
    m = re.search(r"listening on (\S+):(\d+)", line)
    if not m:
        stop_server(proc)
        raise SystemExit(f"embedded server did not start (got {line!r})")
    return proc, m.group(1), int(m.group(2))


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------- clients


def client_config(host: str, port: int, args: argparse.Namespace) -> dict[str, Any]:
    """The same config for every client: one seed, pool size, timeouts."""
    timeouts = {"total_timeout": args.timeout, "socket_timeout": args.timeout}
    return {"hosts": [(host, port)], "max_conns_per_node": args.conns,
            "policies": {"read": dict(timeouts), "write": dict(timeouts), "batch": dict(timeouts)}}


@dataclass
class SyncClient:
    """One client's sync calls, each taking a key (the record/ops are bound in)."""

    name: str
    get: Callable[[Any], Any]
    put: Callable[[Any], Any]
    operate: Callable[[Any], Any]
    batch: Callable[[list], Any] | None
    batch_numpy: Callable[[list], Any] | None
    found: Callable[[Any], int]
    raw: Any


def _has_param(fn: Callable[..., Any], name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):  # no signature: assume the current API
        return True


def ours_sync(label: str, cfg: dict[str, Any]) -> SyncClient:
    import aerospike_py as ap

    c = ap.client(cfg).connect()
    ops = [
        {"op": ap.OPERATOR_INCR, "bin": "i", "val": 1},
        {"op": ap.OPERATOR_APPEND, "bin": "a", "val": "x"},
        {"op": ap.OPERATOR_READ, "bin": "s"},
    ]
    put, operate = c.put, c.operate
    batch = getattr(c, "batch_read", None)
    batch_numpy = None
    if batch is not None:
        try:
            import numpy as np

            dtype = np.dtype(BATCH_DTYPE)
            if _has_param(batch, "_dtype"):
                batch_numpy = lambda keys: batch(keys, _dtype=dtype)  # noqa: E731
            else:  # the Rust-based client of 0.14: LazyBatchRecords.to_numpy(dtype)
                batch_numpy = lambda keys: batch(keys).to_numpy(dtype)  # noqa: E731
        except ImportError:
            pass

    def found(res: Any) -> int:
        if hasattr(res, "result_codes"):  # NumpyBatchRecords
            return int((res.result_codes == 0).sum())
        return sum(1 for br in res if br.record is not None and br.record[2])

    return SyncClient(label, c.get, lambda k: put(k, RECORD), lambda k: operate(k, ops),
                      (lambda keys: batch(keys).batch_records) if batch else None, batch_numpy,
                      found, c)


def official_sync(cfg: dict[str, Any]) -> SyncClient:
    import aerospike
    from aerospike_helpers.operations import operations as oh

    # The official client warns that string append is deprecated on server 8.2+; not our concern.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="aerospike_helpers")
    warnings.filterwarnings("ignore", message=".*append is deprecated.*")

    c = aerospike.client(cfg).connect()
    ops = [oh.increment("i", 1), oh.append("a", "x"), oh.read("s")]
    put, operate, batch = c.put, c.operate, c.batch_read

    def found(res: Any) -> int:
        return sum(1 for br in res if br.result == 0 and br.record is not None and br.record[2])

    return SyncClient("official", c.get, lambda k: put(k, RECORD), lambda k: operate(k, ops),
                      lambda keys: batch(keys).batch_records, None, found, c)


def ours_async_factory() -> Callable[[str, int, int], Any] | None:
    """A coroutine function connecting our AsyncClient, or None when there is none yet."""
    try:
        import aerospike_py as ap
    except ImportError:
        return None
    make = getattr(ap, "async_client", None) or getattr(ap, "AsyncClient", None)
    if make is None:
        return None

    async def connect(cfg: dict[str, Any]) -> Any:
        return await make(cfg).connect()

    return connect


# --------------------------------------------------------------------------- kv section


def seed(put: Callable[[Any], Any], keys: list) -> None:
    for k in keys:
        put(k)


def _loop(fn: Callable[[Any], Any], seq: list) -> None:
    for k in seq:
        fn(k)


def run_kv(clients: list[SyncClient], keys: list, args: argparse.Namespace, res: Results) -> None:
    n = args.ops
    seq = [keys[i % len(keys)] for i in range(n)]
    warm = seq[: max(1, min(2000, n // 5))]
    seed(clients[0].put, keys)
    for cl in clients:
        for fn in (cl.get, cl.put, cl.operate):
            for k in warm:
                fn(k)
    for _rep in range(args.repeat):
        for case in ("get", "put", "operate"):
            if case == "operate":
                seed(clients[0].put, keys)  # keep the appended bin short
            measure_interleaved(res, "kv", case, clients, seq, args.chunk)


def measure_interleaved(res: Results, section: str, case: str, clients: list[SyncClient], seq: list,
                        chunk: int) -> None:
    """Run ``case`` over ``seq`` for every client, in alternating chunks of ``chunk`` ops.

    The clients take turns (order reversed every chunk), so a change in machine load during the
    run falls on all of them alike: the ratio between them is steadier than with back-to-back runs.
    Each client's chunks add up to one sample.
    """
    totals = {cl.name: [0.0, 0.0] for cl in clients}
    gc.collect()
    for i, start in enumerate(range(0, len(seq), chunk)):
        part = seq[start : start + chunk]
        for cl in clients if i % 2 == 0 else clients[::-1]:
            key = (section, case, cl.name)
            if key in res.failed:
                continue
            fn = getattr(cl, case)
            c0 = time.process_time()
            w0 = time.perf_counter()
            try:
                _loop(fn, part)
            except Exception as e:  # noqa: BLE001 - reported, the other cases go on
                res.failed.add(key)
                res.note(f"{section} {case}: {cl.name} failed ({type(e).__name__}: {e})")
                continue
            w1 = time.perf_counter()
            c1 = time.process_time()
            totals[cl.name][0] += c1 - c0
            totals[cl.name][1] += w1 - w0
    for cl in clients:
        if (section, case, cl.name) not in res.failed:
            cpu, wall = totals[cl.name]
            res.get(section, case, cl.name).add(cpu, wall, len(seq))


# --------------------------------------------------------------------------- async section


def _run_coro(loop: asyncio.AbstractEventLoop, coro_fn: Callable[..., Any], *args: Any) -> None:
    loop.run_until_complete(coro_fn(*args))


async def _ours_async_width(c: Any, case: str, seq: list, width: int) -> None:
    get, put = c.get, c.put

    async def worker(part: list) -> None:
        if case == "get":
            for k in part:
                await get(k)
        else:
            for k in part:
                await put(k, RECORD)

    await asyncio.gather(*(worker(seq[i::width]) for i in range(width)))


def _threads_width(pool: ThreadPoolExecutor, fn: Callable[[Any], Any], seq: list, width: int) -> None:
    def worker(part: list) -> None:
        for k in part:
            fn(k)

    for f in [pool.submit(worker, seq[i::width]) for i in range(width)]:
        f.result()


def run_async(official: SyncClient | None, label: str, keys: list, args: argparse.Namespace,
              res: Results) -> None:
    connect = ours_async_factory()
    if connect is None:
        res.note("async: our client skipped (aerospike_py has no AsyncClient/async_client yet)")
    n = args.ops
    seq = [keys[i % len(keys)] for i in range(n)]
    warm = seq[: max(1, min(2000, n // 5))]
    loop = asyncio.new_event_loop()
    c = None
    if connect is not None:
        try:
            c = loop.run_until_complete(connect(args.cfg))
            loop.run_until_complete(_ours_async_width(c, "put", keys, 16))
            for case in ("get", "put"):
                loop.run_until_complete(_ours_async_width(c, case, warm, 16))
        except Exception as e:  # noqa: BLE001 - missing feature or server error: reported, skipped
            res.note(f"async: our AsyncClient skipped ({type(e).__name__}: {e})")
            c = None
    pools = {w: ThreadPoolExecutor(w) for w in args.widths} if official else {}
    try:
        if official:
            for w, pool in pools.items():
                _threads_width(pool, official.get, warm, w)  # starts the threads
        for _rep in range(args.repeat):
            for w in args.widths:
                for case in ("get", "put"):
                    name = f"{case} x{w}"
                    if c is not None:
                        measure(res, "async", name, label, n, _run_coro, loop, _ours_async_width, c, case, seq, w)
                    if official:
                        fn = official.get if case == "get" else official.put
                        measure(res, "async", name, "official", n, _threads_width, pools[w], fn, seq, w)
    finally:
        for pool in pools.values():
            pool.shutdown()
        if c is not None:
            with suppress(Exception):
                loop.run_until_complete(c.close())
        loop.close()


# --------------------------------------------------------------------------- batch section


def _batch_calls(size: int, args: argparse.Namespace) -> int:
    return max(3, args.ops // size)


def _check_batch(res: Results, who: str, found: int, size: int) -> bool:
    if found != size:
        res.note(f"batch: {who} skipped: found {found} of {size} records (server or client lacks batch?)")
        return False
    return True


def run_batch(clients: list[SyncClient], label: str, bkeys: list, args: argparse.Namespace,
              res: Results) -> None:
    ours = next((c for c in clients if c.name == label), None)
    if ours is not None and ours.batch is None:
        res.note("batch: our sync batch_read skipped (Client has no batch_read yet)")
    put = ours.raw.put if ours else clients[0].raw.put
    for k in bkeys:
        put(k, BATCH_RECORD)
    # (client, case suffix, callable) that passed a correctness check.
    runners: list[tuple[str, str, Callable[[list], Any]]] = []
    for cl in clients:
        for suffix, fn in (("sync", cl.batch), ("numpy", cl.batch_numpy)):
            if fn is None:
                continue
            try:
                ok = _check_batch(res, f"{cl.name} {suffix}", cl.found(fn(bkeys[:100])), 100)
            except _SKIPPABLE as e:
                res.note(f"batch: {cl.name} {suffix} skipped ({type(e).__name__}: {e})")
                continue
            except Exception as e:  # noqa: BLE001 - e.g. the server answers with an error
                res.note(f"batch: {cl.name} {suffix} failed ({type(e).__name__}: {e})")
                continue
            if ok:
                runners.append((cl.name, suffix, fn))
    loop, ac = _batch_async_client(bkeys, args, res)
    try:
        for _rep in range(args.repeat):
            for size in BATCH_SIZES:
                keys = bkeys[:size]
                calls = _batch_calls(size, args)
                for _name, _suffix, fn in runners:
                    with suppress(Exception):
                        fn(keys)  # warm-up at this size
                measure_turns(res, "batch", [(f"{size} {suffix}", name, fn) for name, suffix, fn in runners],
                              keys, calls, args.turns)
                if ac is not None:
                    with suppress(Exception):
                        loop.run_until_complete(_async_batch(ac, keys, 1))
                    measure(res, "batch", f"{size} async", label, calls * size, _run_coro, loop, _async_batch,
                            ac, keys, calls, unit="record")
    finally:
        if ac is not None:
            with suppress(Exception):
                loop.run_until_complete(ac.close())
        loop.close()


def measure_turns(res: Results, section: str, lanes: list[tuple[str, str, Callable[[list], Any]]], keys: list,
                  calls: int, turns: int) -> None:
    """``calls`` batch calls on ``keys`` for every lane (case, client, fn), split into ``turns``
    rounds in which the lanes take turns (order reversed every round), so that load changes fall
    on all alike. Each lane's rounds add up to one sample, per record."""
    turns = max(1, min(turns, calls))
    totals = {(case, name): [0.0, 0.0, 0] for case, name, _ in lanes}
    gc.collect()
    for i in range(turns):
        per = calls // turns + (1 if i < calls % turns else 0)
        for case, name, fn in lanes if i % 2 == 0 else lanes[::-1]:
            key = (section, case, name)
            if key in res.failed:
                continue
            c0 = time.process_time()
            w0 = time.perf_counter()
            try:
                _repeat(fn, keys, per)
            except Exception as e:  # noqa: BLE001 - reported, the other cases go on
                res.failed.add(key)
                res.note(f"{section} {case}: {name} failed ({type(e).__name__}: {e})")
                continue
            w1 = time.perf_counter()
            c1 = time.process_time()
            t = totals[(case, name)]
            t[0] += c1 - c0
            t[1] += w1 - w0
            t[2] += per * len(keys)
    for case, name, _ in lanes:
        cpu, wall, n = totals[(case, name)]
        if (section, case, name) not in res.failed and n:
            res.get(section, case, name, "record").add(cpu, wall, n)


def _repeat(fn: Callable[[list], Any], keys: list, calls: int) -> None:
    for _ in range(calls):
        fn(keys)


async def _async_batch(c: Any, keys: list, calls: int) -> None:
    for _ in range(calls):
        _as_dict(await c.batch_read(keys))


def _as_dict(h: Any) -> Any:
    """``{user_key: bins}`` of an async batch_read result: ours is a handle (``as_dict()``); the
    Rust-based 0.14 returns ``LazyBatchRecords`` (``to_dict()``); older ones return the dict itself."""
    conv = getattr(h, "as_dict", None) or getattr(h, "to_dict", None)
    return conv() if conv is not None else h


def _batch_async_client(bkeys: list, args: argparse.Namespace, res: Results) -> tuple[asyncio.AbstractEventLoop, Any]:
    loop = asyncio.new_event_loop()
    connect = ours_async_factory()
    if connect is None:
        res.note("batch: async batch_read skipped (no AsyncClient yet)")
        return loop, None
    try:
        c = loop.run_until_complete(connect(args.cfg))
        h = loop.run_until_complete(c.batch_read(bkeys[:100]))
        d = _as_dict(h)
        if len(d) != 100:
            res.note(f"batch: async batch_read skipped (as_dict() gave {len(d)} of 100 records)")
            loop.run_until_complete(c.close())
            return loop, None
        return loop, c
    except Exception as e:  # noqa: BLE001 - missing feature or server error: reported, skipped
        res.note(f"batch: async batch_read skipped ({type(e).__name__}: {e})")
        return loop, None


# --------------------------------------------------------------------------- Rust-based client


def run_rust_worker(python: str, host: str, port: int, args: argparse.Namespace, res: Results) -> None:
    """Run this script under another interpreter (its ``aerospike_py`` = the Rust-based package)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        path = tmp.name
    cmd = [python, os.path.abspath(__file__), "--host", host, "--port", str(port), "--ops", str(args.ops),
           "--repeat", str(args.repeat), "--keys", str(args.keys), "--only", ",".join(args.only), "--clients", "ours",
           "--label", "rust", "--conns", str(args.conns), "--timeout", str(args.timeout), "--json", path,
           "--quiet",
           "--widths", ",".join(map(str, args.widths))]
    log(f"running the Rust-based client: {' '.join(cmd)}")
    try:
        subprocess.run(cmd, check=True)
        with open(path) as f:
            data = json.load(f)
    except (subprocess.CalledProcessError, OSError, ValueError) as e:
        res.note(f"rust: skipped ({e})")
        return
    finally:
        with suppress(OSError):
            os.unlink(path)
    for r in data["results"]:
        out = res.get(r["section"], r["case"], "rust", r["unit"])
        out.cpu_us, out.rate = r["cpu_us_samples"], r["per_s_samples"]
    res.notes.extend(f"rust: {n}" for n in data.get("notes", []))


# --------------------------------------------------------------------------- report


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if v >= 100 else f"{v:.2f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def report(res: Results, label: str) -> str:
    clients = [c for c in (label, "official", "rust") if any(k[2] == c for k in res.by_key)]
    others = [c for c in clients if c != label]
    head = ["section", "case"]
    for c in clients:
        head += [f"{c} CPU us", f"{c} per s"]
    for o in others:
        head += [f"CPU {label}/{o}", f"per s {label}/{o}"]
    rows = [head]
    cases: dict[tuple[str, str], dict[str, Result]] = {}
    for (section, case, client), r in res.by_key.items():
        cases.setdefault((section, case), {})[client] = r
    for (section, case), by in cases.items():
        unit = next(iter(by.values())).unit
        med = {c: (statistics.median(r.cpu_us), statistics.median(r.rate)) for c, r in by.items() if r.cpu_us}
        row = [section, f"{case} (per {unit})" if unit != "op" else case]
        for c in clients:
            cpu, rate = med.get(c, (None, None))
            row += [_fmt(cpu), _fmt(rate)]
        ours = med.get(label, (None, None))
        for o in others:
            theirs = med.get(o, (None, None))
            row += [_ratio(ours[0], theirs[0]), _ratio(ours[1], theirs[1])]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(cell.rjust(w) if i > 1 else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
             for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def environment(args: argparse.Namespace, embedded: bool) -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
        "loadavg": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "server": "embedded (own process)" if embedded else f"{args.host}:{args.port}",
        "ops": args.ops, "repeat": args.repeat, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    with suppress(Exception):
        from importlib.metadata import version

        env["aerospike"] = version("aerospike")
    return env


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", help="server host (default: start the embedded server)")
    ap.add_argument("--port", type=int, default=3000)
    ap.add_argument("--namespace", default="test")
    ap.add_argument("--set", default="bench")
    ap.add_argument("--keys", type=int, default=N_KEYS, help="distinct keys cycled through by kv/async")
    ap.add_argument("--ops", type=int, default=20000, help="operations (or records) per measurement")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    ap.add_argument("--chunk", type=int, default=1000,
                    help="kv: the clients take turns every this many ops (steadier ratios)")
    ap.add_argument("--turns", type=int, default=10,
                    help="batch: rounds in which the sync/numpy/official runs take turns (steadier ratios)")
    ap.add_argument("--only", default=",".join(SECTIONS), help="sections: kv,async,batch")
    ap.add_argument("--widths", default=",".join(map(str, WIDTHS)), help="async commands in flight")
    ap.add_argument("--clients", default="ours,official", help="ours,official")
    ap.add_argument("--conns", type=int, default=300, help="max_conns_per_node for every client")
    ap.add_argument("--timeout", type=int, default=10000,
                    help="total_timeout (ms) of every command: high widths queue on 2 cores")
    ap.add_argument("--rust-python", help="interpreter whose aerospike_py is the Rust-based client")
    ap.add_argument("--label", default="ours", help=argparse.SUPPRESS)
    ap.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="write the results as JSON to this path")
    args = ap.parse_args(argv)
    args.only = [s for s in args.only.split(",") if s]
    bad = set(args.only) - set(SECTIONS)
    if bad:
        ap.error(f"unknown sections {sorted(bad)}; choose from {SECTIONS}")
    args.widths = [int(w) for w in args.widths.split(",") if w]
    args.clients = set(args.clients.split(","))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    res = Results()
    embedded = args.host is None
    proc = None
    if embedded:
        proc, host, port = start_server()
        log(f"embedded server pid {proc.pid} on {host}:{port}")
    else:
        host, port = args.host, args.port
    args.cfg = client_config(host, port, args)
    clients: list[SyncClient] = []
    try:
        if "ours" in args.clients:
            clients.append(ours_sync(args.label, args.cfg))
        if "official" in args.clients:
            try:
                clients.append(official_sync(args.cfg))
            except ImportError:
                res.note("official: skipped (the `aerospike` package is not installed)")
        if not clients:
            raise SystemExit("no client to benchmark")
        ns, st = args.namespace, args.set
        keys = [(ns, st, f"k{i}") for i in range(args.keys)]
        official = next((c for c in clients if c.name == "official"), None)
        if "kv" in args.only:
            log("kv ...")
            run_kv(clients, keys, args, res)
        if "async" in args.only:
            log("async ...")
            run_async(official, args.label, keys, args, res)
        if "batch" in args.only:
            log("batch ...")
            run_batch(clients, args.label, [(ns, st, f"b{i}") for i in range(max(BATCH_SIZES))],
                      args, res)
        for cl in clients:
            with suppress(Exception):
                cl.raw.close()
        clients = []
        if args.rust_python:
            run_rust_worker(args.rust_python, host, port, args, res)
    finally:
        for cl in clients:
            with suppress(Exception):
                cl.raw.close()
        if proc is not None:
            stop_server(proc)
    env = environment(args, embedded)
    if not args.quiet:
        print(f"\nclient CPU microseconds per op/record (process_time, this process only) and wall rate;"
              f" median of {args.repeat}; {args.ops} ops per run")
        print(f"NOTE: {env['cpus']} CPUs shared with other engineers (loadavg {env['loadavg']}): "
              "wall rates are noisy, CPU per op is the steadier figure. Ratios: <1 CPU and >1 per s favour ours.\n")
        print(report(res, args.label))
        for n in res.notes:
            print(f"* {n}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "notes": res.notes,
                       "results": [r.as_json() for r in res.by_key.values() if r.cpu_us]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
