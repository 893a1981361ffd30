"""Benchmark: aerospike_py against the official ``aerospike`` client and the original
Rust-based ``aerospike-py`` 0.14.4, in one run.

    python bench/bench.py --real                # reference: a private real server (started, stopped)
    python bench/bench.py --host H --port P     # any Aerospike server
    python bench/bench.py                       # embedded server in its own process (not the reference)
    python bench/bench.py --real --rounds 5 --results bench/results   # table + JSON + PNG chart

Sections (``--only``):

* ``kv``: sync get / put / operate (incr + append + read) of a fixed ~100-byte record.
* ``mix``: get / put / operate over a realistic mix (``--mix-keys`` keys, 2-20 bins per record:
  strings, blobs, lists and maps from 0 to a few KB, ints of every width, floats), built
  deterministically from ``--seed``.
* ``unique``: gets whose replies all differ in length (record ``i`` holds a string of ``i`` bytes),
  the stress case of reply-shape caches; ours is also run with its shape cache bypassed
  (client ``ours-general``), the bar being "no slower than the general path".
* ``async``: gets and puts with 1, 16, 64, 256 commands in flight (our AsyncClient on asyncio; the
  official client, which has no asyncio API, on a thread pool of the same width).
* ``batch``: batch_read of 100 and 1,000 records with 5 bins (sync, async ``as_dict()``, numpy).
* ``import``: ``python -X importtime`` cumulative time of importing each client's top package.
* ``memory`` (only when named in ``--only``): our client's RSS over ``--mem-gets`` gets of
  ``--mem-keys`` distinct keys (set ``<--set>mem``, written once and reused by later runs), sampled
  every 5% of the gets; the bar is RSS flat within 10% after the first 5% (caches bounded).

Client CPU is measured with ``time.process_time`` in the process running the client (the server
runs in another process), so it is the client's own CPU, tend threads included; wall rate beside.
Most of a single-record command's CPU is the kernel's (socket calls, wake-ups), and on a small
machine where the client and a local server migrate between CPUs that part swings by 2x with
scheduling (the same code measured 13 or 30 us per get depending on what else the process ran).
So by default (``--pin auto``, 2+ CPUs) the client process is pinned to CPU 0 and a server this
script starts (or ``--server-pid``) to the other CPUs: each client then pays the same kernel path
and the ratios measure the clients. User and system CPU are also kept apart in the JSON.
Our client and the official one run in this process and take turns every ``--chunk`` ops (batch:
``--turns`` rounds); the original client (``--orig-python``, default ``/work/orig-venv/bin/python``
when present) runs this script as a worker subprocess once per round. ``--rounds`` rounds in all,
each giving one sample per case and client; the median is reported, so load changes fall on all
clients alike and the ratios are the figures to read.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import inspect
import json
import os
import platform
import random
import re
import resource
import select
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from typing import Any

SECTIONS = ("kv", "mix", "unique", "async", "batch", "import")
#: Sections run only when named in ``--only`` (long).
EXTRA_SECTIONS = ("memory",)
REAL_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "real-server")
ORIG_PYTHON = "/work/orig-venv/bin/python"
WIDTHS = (1, 16, 64, 256)
BATCH_SIZES = (100, 1000)
N_KEYS = 1000
#: ~100 bytes of bin data: 60-byte string, int, float, 2-char string (append target), 16-byte blob.
RECORD: dict[str, Any] = {"s": "x" * 60, "i": 1, "f": 1.5, "a": "ab", "b": b"\x01" * 16}
#: 5 bins per batch record, numpy-friendly (ints, float, fixed bytes).
BATCH_RECORD: dict[str, Any] = {"b0": 1, "b1": 2, "b2": 3, "b3": 4.5, "b4": b"\x02" * 16}
BATCH_DTYPE = [("b0", "i8"), ("b1", "i8"), ("b2", "i8"), ("b3", "f8"), ("b4", "S16")]
_SKIPPABLE = (NotImplementedError, AttributeError, ImportError, TypeError)

# --------------------------------------------------------------------------- workloads

_INT_BITS = (0, 6, 7, 8, 15, 16, 31, 32, 62, 63)


def _size(rng: random.Random) -> int:
    """A payload size from 0 to a few KB, small ones most often (log-uniform-ish)."""
    return 0 if rng.random() < 0.1 else min(4000, int(2 ** rng.uniform(0, 12)))


def _int(rng: random.Random) -> int:
    bits = rng.choice(_INT_BITS)
    v = rng.randrange(1 << bits) if bits else 0
    return -v - 1 if rng.random() < 0.3 else v


def _value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.choice(("int", "int", "str", "str", "bytes", "float", "list", "map") if depth == 0
                      else ("int", "str", "bytes", "float"))
    if kind == "int":
        return _int(rng)
    if kind == "float":
        return rng.uniform(-1e9, 1e9)
    if kind == "str":
        return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789 ", k=_size(rng)))
    if kind == "bytes":
        return rng.randbytes(_size(rng))
    n = min(64, _size(rng) // 32)
    if kind == "list":
        return [_value(rng, 1) for _ in range(n)]
    return {f"k{j}": _value(rng, 1) for j in range(n)}


def mix_record(seed_: int, i: int) -> dict[str, Any]:
    """Record ``i`` of the realistic mix: 2-20 bins (``n`` always an int, for ``operate``)."""
    rng = random.Random(seed_ * 1_000_003 + i)
    bins: dict[str, Any] = {"n": _int(rng) // 2}
    for j in range(rng.randint(1, 19)):
        bins[f"b{j}"] = _value(rng)
    return bins


def unique_record(i: int) -> dict[str, Any]:
    """Record ``i`` of the unique-shape stress: its reply is ``i`` bytes longer than record 0's."""
    return {"s": "u" * i}



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
    #: User-mode part of ``cpu_us`` (``getrusage``; kv/mix/unique only): the client's own code.
    user_us: list[float] = field(default_factory=list)

    def add(self, cpu_s: float, wall_s: float, n: int, user_s: float | None = None) -> None:
        self.cpu_us.append(cpu_s / n * 1e6)
        self.rate.append(n / wall_s if wall_s > 0 else float("inf"))
        if user_s is not None:
            self.user_us.append(user_s / n * 1e6)

    def as_json(self) -> dict[str, Any]:
        return {
            "section": self.section, "case": self.case, "client": self.client, "unit": self.unit,
            "cpu_us_per_unit": statistics.median(self.cpu_us), "per_s": statistics.median(self.rate),
            "cpu_us_samples": self.cpu_us, "per_s_samples": self.rate,
            "user_us_per_unit": statistics.median(self.user_us) if self.user_us else None,
            "user_us_samples": self.user_us,
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


def _pin_pid(pid: int, cpus: set[int]) -> bool:
    """Pin every thread of process ``pid`` to ``cpus``; False when not possible here."""
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        tids = [pid]
    done = False
    for tid in tids:
        with suppress(OSError):
            os.sched_setaffinity(tid, cpus)
            done = True
    return done


def pin(args: argparse.Namespace, server_pids: list[int]) -> str:
    """Apply ``--pin``: the client (this process, its workers) on CPU 0, the server elsewhere."""
    if args.pin == "off" or not hasattr(os, "sched_setaffinity"):
        return "not pinned"
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return "not pinned (one CPU)"
    client, rest = {cpus[0]}, set(cpus[1:])
    os.sched_setaffinity(0, client)
    pinned = [p for p in server_pids if _pin_pid(p, rest)]
    where = f"server pid {','.join(map(str, pinned))} on CPU {','.join(map(str, sorted(rest)))}" if pinned \
        else "server not pinned (not started by this script; see --server-pid)"
    return f"client pinned to CPU {cpus[0]}, {where}"


def real_pids(wd: str) -> list[int]:
    """Pids of the nodes ``start.sh`` started in ``wd``."""
    out = []
    for d in sorted(os.listdir(wd)):
        with suppress(OSError, ValueError), open(os.path.join(wd, d, "asd.pid")) as f:
            out.append(int(f.read().strip()))
    return out


def _ports_free(base: int) -> bool:
    for p in range(base, base + 4):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", p))
            except OSError:
                return False
    return True


def start_real(script_dir: str) -> tuple[str, str, int]:
    """Start a private one-node real server (``start.sh``) on free ports; return its dir and address."""
    rng = random.Random()
    for _ in range(50):
        port = rng.randrange(5000, 9000, 10)
        if _ports_free(port):
            break
    else:
        raise SystemExit("no free port for the real server")
    wd = tempfile.mkdtemp(prefix="bench-real-")
    out = subprocess.run([os.path.join(script_dir, "start.sh"), "--port", str(port), "--dir", wd],
                         capture_output=True, text=True, timeout=180)
    m = re.search(r"ready: (\S+):(\d+)", out.stdout)
    if out.returncode or not m:
        stop_real(script_dir, wd)
        raise SystemExit(f"real server did not start: {out.stdout}{out.stderr}")
    return wd, m.group(1), int(m.group(2))


def stop_real(script_dir: str, wd: str) -> None:
    subprocess.run([os.path.join(script_dir, "stop.sh"), "--dir", wd], capture_output=True, timeout=120)
    shutil.rmtree(wd, ignore_errors=True)


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
    #: ``operate`` of the realistic mix (incr ``n`` + read ``b0``).
    operate_mix: Callable[[Any], Any] | None = None
    #: A context manager entered around each of this lane's chunks (e.g. a cache bypass).
    wrap: Callable[[], Any] | None = None


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

    mix_ops = [{"op": ap.OPERATOR_INCR, "bin": "n", "val": 1}, {"op": ap.OPERATOR_READ, "bin": "b0"}]
    return SyncClient(label, c.get, lambda k: put(k, RECORD), lambda k: operate(k, ops),
                      (lambda keys: batch(keys).batch_records) if batch else None, batch_numpy,
                      found, c, lambda k: operate(k, mix_ops))


def ours_general(cl: SyncClient) -> SyncClient | None:
    """Our client with its single-record reply-shape cache bypassed (the general parser only)."""
    try:
        from aerospike_py._commands import record as rec
    except ImportError:
        return None
    if not (hasattr(rec, "_known_shape") and hasattr(rec, "decode_record")):
        return None

    @contextmanager
    def general() -> Any:
        saved = rec._known_shape, rec.decode_record
        rec._known_shape = rec.decode_record = lambda _: None
        try:
            yield
        finally:
            rec._known_shape, rec.decode_record = saved

    return dataclasses.replace(cl, name=f"{cl.name}-general", wrap=general)


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

    mix_ops = [oh.increment("n", 1), oh.read("b0")]
    return SyncClient("official", c.get, lambda k: put(k, RECORD), lambda k: operate(k, ops),
                      lambda keys: batch(keys).batch_records, None, found, c, lambda k: operate(k, mix_ops))


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


def mix_keys(args: argparse.Namespace) -> list:
    return [(args.namespace, args.set, f"m{i}") for i in range(args.mix_keys)]


def unique_keys(args: argparse.Namespace) -> list:
    return [(args.namespace, args.set, f"u{i}") for i in range(args.unique)]


def seed_workloads(put: Callable[[Any, dict], Any], args: argparse.Namespace) -> None:
    """Write the records of the mix and unique sections (once per run, by the main process)."""
    if "mix" in args.only:
        for i, k in enumerate(mix_keys(args)):
            put(k, mix_record(args.seed, i))
    if "unique" in args.only:
        for i, k in enumerate(unique_keys(args)):
            put(k, unique_record(i))


def run_mix(clients: list[SyncClient], args: argparse.Namespace, res: Results) -> None:
    keys = mix_keys(args)
    records = {k[2]: mix_record(args.seed, i) for i, k in enumerate(keys)}
    rng = random.Random(args.seed)
    seq = [rng.choice(keys) for _ in range(args.ops)]
    lanes = []
    for cl in clients:
        put = cl.raw.put
        lanes.append(dataclasses.replace(cl, put=lambda k, put=put: put(k, records[k[2]]),
                                         operate=cl.operate_mix))
    ours = next((c for c in lanes if c.name == args.label), None)
    general = ours_general(ours) if ours is not None and args.label == "ours" else None
    if general is not None:
        lanes.append(general)
    warm = seq[: max(1, min(2000, args.ops // 5))]
    for cl in lanes:
        with cl.wrap() if cl.wrap is not None else nullcontext():
            for fn in (cl.get, cl.put, cl.operate):
                _loop(fn, warm)
    for case in ("get", "put", "operate"):
        measure_interleaved(res, "mix", case, lanes, seq, args.chunk)


def run_unique(clients: list[SyncClient], label: str, args: argparse.Namespace, res: Results) -> None:
    keys = unique_keys(args)
    seq = keys[:]
    random.Random(args.seed).shuffle(seq)
    lanes = list(clients)
    ours = next((c for c in clients if c.name == label), None)
    general = ours_general(ours) if ours is not None and label == "ours" else None
    if general is not None:
        lanes.append(general)
    for cl in lanes:
        with cl.wrap() if cl.wrap is not None else nullcontext():
            _loop(cl.get, seq[:200])
    measure_interleaved(res, "unique", "get", lanes, seq, args.chunk)


def rss_bytes() -> int:
    """This process's resident set size now (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_memory(cl: SyncClient, args: argparse.Namespace, res: Results) -> None:
    """RSS over ``--mem-gets`` gets of ``--mem-keys`` distinct keys, each key tuple made afresh
    (as an application does), the keys visited in a scattered order (every key about equally often)."""
    ns, st, n, gets = args.namespace, args.set + "mem", args.mem_keys, args.mem_gets
    raw = cl.raw
    try:
        raw.get((ns, st, n - 1))  # written by an earlier run: reuse
    except Exception:  # noqa: BLE001 - not there (yet): write them all
        log(f"memory: writing {n:,} records to {ns}.{st} (once) ...")
        for i in range(n):
            raw.put((ns, st, i), {"v": i, "s": "m" * (i % 64)})
    step = 7919 if n % 7919 else 7907  # coprime with n: every key once per n gets
    get = raw.get
    every = max(1, gets // 20)
    samples: list[tuple[int, int]] = []
    gc.collect()
    rss0 = rss_bytes()
    c0, w0 = time.process_time(), time.perf_counter()
    j = 0
    while j < gets:
        for _ in range(min(every, gets - j)):
            get((ns, st, (j * step) % n))
            j += 1
        samples.append((j, rss_bytes()))
    c1, w1 = time.process_time(), time.perf_counter()
    res.get("memory", f"get of {n:,} keys", cl.name).add(c1 - c0, w1 - w0, gets)
    base = samples[0][1]
    peak, last = max(r for _, r in samples), samples[-1][1]
    growth = (peak - base) / base * 100
    res.note(f"memory: RSS {rss0 / 2**20:.1f} MiB before, {base / 2**20:.1f} MiB after {samples[0][0]:,} gets, "
             f"peak {peak / 2**20:.1f} MiB, last {last / 2**20:.1f} MiB after {j:,} gets of {n:,} keys: "
             f"{growth:+.1f}% after the first 5% ({'flat' if growth <= 10 else 'NOT flat'}, bar 10%); "
             "samples (gets, MiB): " + ", ".join(f"{g:,}:{r / 2**20:.1f}" for g, r in samples))


def measure_interleaved(res: Results, section: str, case: str, clients: list[SyncClient], seq: list,
                        chunk: int) -> None:
    """Run ``case`` over ``seq`` for every client, in alternating chunks of ``chunk`` ops.

    The clients take turns (order reversed every chunk), so a change in machine load during the
    run falls on all of them alike: the ratio between them is steadier than with back-to-back runs.
    Each client's chunks add up to one sample.
    """
    totals = {cl.name: [0.0, 0.0, 0.0] for cl in clients}
    gc.collect()
    for i, start in enumerate(range(0, len(seq), chunk)):
        part = seq[start : start + chunk]
        for cl in clients if i % 2 == 0 else clients[::-1]:
            key = (section, case, cl.name)
            if key in res.failed:
                continue
            fn = getattr(cl, case)
            u0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
            c0 = time.process_time()
            w0 = time.perf_counter()
            try:
                with cl.wrap() if cl.wrap is not None else nullcontext():
                    _loop(fn, part)
            except Exception as e:  # noqa: BLE001 - reported, the other cases go on
                res.failed.add(key)
                res.note(f"{section} {case}: {cl.name} failed ({type(e).__name__}: {e})")
                continue
            w1 = time.perf_counter()
            c1 = time.process_time()
            u1 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
            totals[cl.name][0] += c1 - c0
            totals[cl.name][1] += w1 - w0
            totals[cl.name][2] += u1 - u0
    for cl in clients:
        if (section, case, cl.name) not in res.failed:
            cpu, wall, user = totals[cl.name]
            res.get(section, case, cl.name).add(cpu, wall, len(seq), user)


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
            # Each width once before any measurement, as the official client's thread pools below:
            # its connections are opened here, not in the first measured case of its width (each
            # connection costs ~100 us of CPU: 192 of them, opened by "get x256", added ~6 us to
            # each of its 3,000 ops and nothing to "put x256" that followed).
            for w in args.widths:
                loop.run_until_complete(_ours_async_width(c, "get", warm, w))
        except Exception as e:  # noqa: BLE001 - missing feature or server error: reported, skipped
            res.note(f"async: our AsyncClient skipped ({type(e).__name__}: {e})")
            c = None
    pools = {w: ThreadPoolExecutor(w) for w in args.widths} if official else {}
    try:
        if official:
            for w, pool in pools.items():
                _threads_width(pool, official.get, warm, w)  # starts the threads (and opens their connections)
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


# --------------------------------------------------------------------------- original client, import


def run_orig_worker(python: str, host: str, port: int, args: argparse.Namespace, res: Results) -> None:
    """One round of this script under another interpreter whose ``aerospike_py`` is the original
    Rust-based package (same API); its samples are added to client ``original``."""
    only = [s for s in args.only if s != "import"]
    if not only:
        return
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        path = tmp.name
    cmd = [python, os.path.abspath(__file__), "--host", host, "--port", str(port), "--ops", str(args.ops),
           "--rounds", "1", "--keys", str(args.keys), "--only", ",".join(only), "--clients", "ours",
           "--label", "original", "--conns", str(args.conns), "--timeout", str(args.timeout), "--json", path,
           "--quiet", "--no-seed", "--orig-python", "", "--mix-keys", str(args.mix_keys), "--unique", str(args.unique),
           "--seed", str(args.seed), "--chunk", str(args.chunk), "--turns", str(args.turns),
           "--namespace", args.namespace, "--set", args.set,
           "--widths", ",".join(map(str, args.widths))]
    log("original client round ...")
    try:
        subprocess.run(cmd, check=True, env=_orig_env())
        with open(path) as f:
            data = json.load(f)
    except (subprocess.CalledProcessError, OSError, ValueError) as e:
        res.note(f"original: round skipped ({e})")
        return
    finally:
        with suppress(OSError):
            os.unlink(path)
    for r in data["results"]:
        out = res.get(r["section"], r["case"], "original", r["unit"])
        out.cpu_us += r["cpu_us_samples"]
        out.rate += r["per_s_samples"]
        out.user_us += r.get("user_us_samples") or []
    for n in data.get("notes", []):
        if f"original: {n}" not in res.notes:
            res.notes.append(f"original: {n}")


def _orig_env() -> dict[str, str]:
    """The environment of the original client's interpreter: without our PYTHONPATH."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


def import_us(python: str, module: str, env: dict[str, str] | None = None) -> float:
    """Cumulative microseconds of ``import module`` in a fresh interpreter (``-X importtime``)."""
    out = subprocess.run([python, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                         text=True, env=env, timeout=120, check=True)
    for line in reversed(out.stderr.splitlines()):
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == module:
            return float(parts[1])
    raise ValueError(f"no importtime line for {module}")


def run_import(args: argparse.Namespace, res: Results) -> None:
    """Import time of each client, taking turns (one sample each per round)."""
    import aerospike_py

    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(aerospike_py.__file__))
    lanes = [("ours", sys.executable, "aerospike_py", env)]
    if "official" in args.clients:
        lanes.append(("official", sys.executable, "aerospike", None))
    if args.orig_python:
        lanes.append(("original", args.orig_python, "aerospike_py", _orig_env()))
    for name, python, module, e in lanes:
        key = ("import", "import", name)
        if key in res.failed:
            continue
        try:
            us = import_us(python, module, e)
        except (subprocess.SubprocessError, OSError, ValueError) as ex:
            res.failed.add(key)
            res.note(f"import: {name} failed ({ex})")
            continue
        res.get("import", "import", name, "import").add(us / 1e6, us / 1e6, 1)


# --------------------------------------------------------------------------- report


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if v >= 100 else f"{v:.2f}"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def report(res: Results, label: str) -> str:
    clients = [c for c in (label, "official", "original", f"{label}-general")
               if any(k[2] == c for k in res.by_key)]
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
            mine, other = by.get(label), by.get(o)
            if mine is not None and other is not None and len(mine.cpu_us) == len(other.cpu_us) > 1:
                # Paired: the median of the rounds' own ratios (both clients took turns within each
                # round, so a round's load falls on both; the medians of each alone mix rounds).
                row += [_ratio(statistics.median(a / b for a, b in zip(mine.cpu_us, other.cpu_us, strict=True)), 1.0),
                        _ratio(statistics.median(a / b for a, b in zip(mine.rate, other.rate, strict=True)), 1.0)]
            else:
                row += [_ratio(ours[0], theirs[0]), _ratio(ours[1], theirs[1])]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(cell.rjust(w) if i > 1 else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
             for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _cpu_model() -> str:
    with suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def environment(args: argparse.Namespace, server: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "python": sys.version.split()[0], "platform": platform.platform(), "cpu": _cpu_model(),
        "cpus": os.cpu_count(), "loadavg": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "server": server, "ops": args.ops, "rounds": args.rounds, "chunk": args.chunk,
        "mix_keys": args.mix_keys, "unique": args.unique, "seed": args.seed,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with suppress(Exception):
        from importlib.metadata import version

        env["aerospike"] = version("aerospike")
    return env


def chart(res: Results, label: str, path: str, title: str) -> None:
    """A PNG: client CPU per unit of every case (log scale), one bar per client."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clients = [c for c in (label, "official", "original", f"{label}-general")
               if any(k[2] == c for k in res.by_key)]
    cases: dict[tuple[str, str], dict[str, float]] = {}
    for (section, case, client), r in res.by_key.items():
        if r.cpu_us:
            cases.setdefault((section, case), {})[client] = statistics.median(r.cpu_us)
    names = [f"{sec} {case}" for sec, case in cases]
    fig, ax = plt.subplots(figsize=(10, 0.1 * len(names) * len(clients) + 1.5))
    h = 0.8 / len(clients)
    for j, c in enumerate(clients):
        ys = [i + j * h for i in range(len(names))]
        ax.barh(ys, [cases[k].get(c, 0) for k in cases], height=h, label=c)
    ax.set_yticks([i + 0.4 - h / 2 for i in range(len(names))], names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("client CPU us per op / record (import: us); lower is better")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_results(res: Results, label: str, env: dict[str, Any], table: str, out_dir: str) -> None:
    """``results.json``, ``results.md`` (machine, load, table, notes) and ``chart.png`` in ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"environment": env, "notes": res.notes,
                   "results": [r.as_json() for r in res.by_key.values() if r.cpu_us]}, f, indent=1)
    load = f"load average {_load(env['loadavg_start'])} at the start, {_load(env['loadavg'])} at the end"
    md = [
        "# Benchmark results", "",
        f"- When: {env['time']}; server: {env['server']}",
        f"- Machine: {env['cpu']}, {env['cpus']} CPUs, {env['platform']}, Python {env['python']}",
        f"- CPUs: {env.get('pinning', 'not pinned')}.",
        f"- Load: {load}. The machine was shared with other jobs: absolute figures are noisy;",
        "  the ratios between clients are what matters (all clients take turns within each round,",
        "  so load changes fall on all alike).",
        f"- {env['rounds']} rounds, medians; {env['ops']} ops per sample; realistic mix of"
        f" {env['mix_keys']} keys (seed {env['seed']}); unique-shape stress over {env['unique']} keys.",
        f"- Clients: ours (aerospike_py, this tree), official `aerospike` {env.get('aerospike', '?')},"
        " original = Rust-based `aerospike-py` 0.14.4 (worker subprocess, one per round);"
        f" {label}-general = ours with the reply-shape cache bypassed.",
        "- CPU = client process time per op (per record for batch; import: cumulative us of"
        " `python -X importtime`); per s = wall rate. CPU ratio < 1 and per-s ratio > 1 favour ours.",
        "- Ratios are paired: the median over rounds of each round's ratio (the clients take turns"
        " within a round, so its load falls on both); the CPU columns are each client's own median.",
        "", "Command: `python bench/bench.py " + " ".join(env.get("argv", [])) + "`", "",
        "```", table, "```", "",
    ]
    md += [f"* {n}" for n in res.notes]
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    replot(out_dir, res, label, env)


def _load(avg: Any) -> str:
    return "/".join(f"{x:.0f}" for x in avg) if avg else "?"


def _load_results(out_dir: str) -> tuple[Results, dict[str, Any]]:
    with open(os.path.join(out_dir, "results.json")) as f:
        data = json.load(f)
    res = Results()
    res.notes = list(data.get("notes", []))
    for r in data["results"]:
        out = res.get(r["section"], r["case"], r["client"], r["unit"])
        out.cpu_us, out.rate = r["cpu_us_samples"], r["per_s_samples"]
        out.user_us = r.get("user_us_samples") or []
    return res, data["environment"]


def rereport(out_dir: str, label: str = "ours") -> None:
    """Rewrite ``results.md``, ``results.json`` and the chart in ``out_dir`` from its ``results.json``
    (after a change to how the table is computed)."""
    res, env = _load_results(out_dir)
    write_results(res, label, env, report(res, label), out_dir)


def replot(out_dir: str, res: Results | None = None, label: str = "ours", env: dict[str, Any] | None = None) -> None:
    """(Re)draw ``chart.png`` in ``out_dir``, from ``results.json`` there unless given the results."""
    if res is None or env is None:
        res, env = _load_results(out_dir)
    try:
        chart(res, label, os.path.join(out_dir, "chart.png"),
              f"client CPU per unit, median of {env['rounds']} rounds, {env['cpus']} CPUs,"
              f" load {_load(env.get('loadavg_start'))} -> {_load(env['loadavg'])}")
    except ImportError:
        log("chart skipped: matplotlib is not installed (pip install aerospike-purepy[bench])")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--real", action="store_true",
                    help="start a private real server (../shared/real-server/start.sh), stop it after")
    ap.add_argument("--real-dir", default=REAL_SERVER, help="where start.sh/stop.sh of the real server are")
    ap.add_argument("--host", help="server host (default: start the embedded server)")
    ap.add_argument("--port", type=int, default=3000)
    ap.add_argument("--namespace", default="test")
    ap.add_argument("--set", default="bench")
    ap.add_argument("--keys", type=int, default=N_KEYS, help="distinct keys cycled through by kv/async")
    ap.add_argument("--mix-keys", type=int, default=10000, help="keys of the realistic mix")
    ap.add_argument("--unique", type=int, default=4000, help="keys (= distinct reply lengths) of the unique stress")
    ap.add_argument("--seed", type=int, default=16, help="seed of the realistic mix")
    ap.add_argument("--mem-keys", type=int, default=1_000_000, help="memory: distinct keys")
    ap.add_argument("--mem-gets", type=int, default=2_000_000, help="memory: gets over them")
    ap.add_argument("--ops", type=int, default=20000, help="operations (or records) per measurement")
    ap.add_argument("--rounds", "--repeat", type=int, default=3, dest="rounds",
                    help="rounds, each giving one sample per case and client; the median is reported")
    ap.add_argument("--chunk", type=int, default=1000,
                    help="kv/mix/unique: the clients take turns every this many ops (steadier ratios)")
    ap.add_argument("--turns", type=int, default=10,
                    help="batch: rounds in which the sync/numpy/official runs take turns (steadier ratios)")
    ap.add_argument("--only", default=",".join(SECTIONS), help="sections: " + ",".join(SECTIONS))
    ap.add_argument("--widths", default=",".join(map(str, WIDTHS)), help="async commands in flight")
    ap.add_argument("--clients", default="ours,official", help="ours,official")
    ap.add_argument("--orig-python", "--rust-python", dest="orig_python",
                    default=ORIG_PYTHON if os.path.exists(ORIG_PYTHON) else None,
                    help="interpreter whose aerospike_py is the original Rust-based client ('' = none)")
    ap.add_argument("--conns", type=int, default=300, help="max_conns_per_node for every client")
    ap.add_argument("--timeout", type=int, default=10000,
                    help="total_timeout (ms) of every command: high widths queue on 2 cores")
    ap.add_argument("--pin", choices=("auto", "off"), default="auto",
                    help="auto: client on CPU 0, the server (started here or --server-pid) on the others")
    ap.add_argument("--server-pid", type=int, action="append", default=[],
                    help="pid of a local server to pin away from the client (repeatable)")
    ap.add_argument("--label", default="ours", help=argparse.SUPPRESS)
    ap.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-seed", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="write the results as JSON to this path")
    ap.add_argument("--results", help="directory for results.md, results.json and chart.png")
    ap.add_argument("--replot", metavar="DIR", help="only redraw DIR/chart.png from DIR/results.json")
    ap.add_argument("--rereport", metavar="DIR",
                    help="only rewrite DIR/results.md (and the chart) from DIR/results.json")
    args = ap.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.only = [s for s in args.only.split(",") if s]
    bad = set(args.only) - set(SECTIONS) - set(EXTRA_SECTIONS)
    if bad:
        ap.error(f"unknown sections {sorted(bad)}; choose from {SECTIONS + EXTRA_SECTIONS}")
    args.widths = [int(w) for w in args.widths.split(",") if w]
    args.clients = set(args.clients.split(","))
    args.orig_python = args.orig_python or None
    args.repeat = 1  # the sections run once per round
    return args


def run_round(clients: list[SyncClient], args: argparse.Namespace, res: Results) -> None:
    """Every section once, for the clients of this process."""
    ns, st = args.namespace, args.set
    keys = [(ns, st, f"k{i}") for i in range(args.keys)]
    official = next((c for c in clients if c.name == "official"), None)
    if "kv" in args.only:
        log("kv ...")
        run_kv(clients, keys, args, res)
    if "mix" in args.only:
        log("mix ...")
        run_mix(clients, args, res)
    if "unique" in args.only:
        log("unique ...")
        run_unique(clients, args.label, args, res)
    if "async" in args.only:
        log("async ...")
        run_async(official, args.label, keys, args, res)
    if "batch" in args.only:
        log("batch ...")
        run_batch(clients, args.label, [(ns, st, f"b{i}") for i in range(max(BATCH_SIZES))], args, res)
    if "memory" in args.only:
        ours = next((c for c in clients if c.name == args.label), None)
        if ours is not None:
            log("memory ...")
            run_memory(ours, args, res)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.replot:
        replot(args.replot)
        return 0
    if args.rereport:
        rereport(args.rereport)
        return 0
    res = Results()
    proc = None
    real_dir = None
    load0 = os.getloadavg() if hasattr(os, "getloadavg") else None
    if args.real:
        real_dir, host, port = start_real(args.real_dir)
        server = "real Aerospike (private node, started by this script)"
        log(f"real server in {real_dir} on {host}:{port}")
    elif args.host is None:
        proc, host, port = start_server()
        server = "embedded (own process)"
        log(f"embedded server pid {proc.pid} on {host}:{port}")
    else:
        host, port = args.host, args.port
        server = f"{host}:{port}"
    server_pids = list(args.server_pid)
    if proc is not None:
        server_pids.append(proc.pid)
    if real_dir is not None:
        server_pids += real_pids(real_dir)
    pinning = pin(args, server_pids) if args.label == "ours" else "inherited from the main process"
    log(pinning)
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
        if not args.no_seed and ({"mix", "unique"} & set(args.only)):
            log("seeding mix/unique records ...")
            seed_workloads(clients[0].raw.put, args)
        for r in range(args.rounds):
            log(f"round {r + 1}/{args.rounds}")
            run_round(clients, args, res)
            if args.orig_python:
                run_orig_worker(args.orig_python, host, port, args, res)
            if "import" in args.only:
                run_import(args, res)
        for cl in clients:
            with suppress(Exception):
                cl.raw.close()
        clients = []
    finally:
        for cl in clients:
            with suppress(Exception):
                cl.raw.close()
        if proc is not None:
            stop_server(proc)
        if real_dir is not None:
            stop_real(args.real_dir, real_dir)
    env = environment(args, server)
    env["loadavg_start"] = load0
    env["argv"] = args.argv
    env["pinning"] = pinning
    table = report(res, args.label)
    if not args.quiet:
        print(f"\nclient CPU microseconds per op/record (process_time of the client's process) and wall rate;"
              f" median of {args.rounds} rounds; {args.ops} ops per sample")
        print(f"NOTE: {env['cpus']} CPUs shared with other jobs (loadavg {load0} -> {env['loadavg']}): "
              "wall rates are noisy, CPU per op is the steadier figure; read the ratios."
              " Ratios: <1 CPU and >1 per s favour ours.\n")
        print(table)
        for n in res.notes:
            print(f"* {n}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "notes": res.notes,
                       "results": [r.as_json() for r in res.by_key.values() if r.cpu_us]}, f, indent=1)
    if args.results:
        write_results(res, args.label, env, table, args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
