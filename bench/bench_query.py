"""Benchmark: queries and scans of aerospike_py vs the official ``aerospike`` client vs the original
Rust-based aerospike-py 0.14.4, against a real server.

    python bench/bench_query.py                                  # 127.0.0.1:3000, 100,000 records
    python bench/bench_query.py --host H --port P --records 100000 --rounds 5
    python bench/bench_query.py --orig-python /work/orig-venv/bin/python --json out.json

Cases (each returns every record of the set, 5 bins: 2 ints, a 20-char string, a float, 16 bytes):

* ``scan``: query without predicate, ``results()``;
* ``index``: ``where(between(b0, 0, N-1))`` on an integer index, ``results()``;
* ``scan-stream``: the scan consumed one record at a time (ours ``iterate()``, the others
  ``foreach``), so results are never all in memory.

Each client runs in its own worker process (connected once, warmed up by one run of each case)
that takes cases on stdin; the rounds take turns between clients, so load changes fall on all
alike. Figures are medians over ``--rounds``: client CPU per record (``time.process_time`` of the
worker around the call: every thread of the client, Rust and C threads included) and records/s
(wall), and each worker's peak RSS.

``--memory N`` instead loads N small records (2 bins) and reports the peak RSS of a fresh process
that streams them with ``iterate()`` (two ``record_queue_size`` values) and of one that collects
them with ``results()``: streaming stays near the process's size after connecting, whatever N.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

SET = "query_client_bench"
INDEX = "query_client_bench_b0"
CASES = ("scan", "index", "scan-stream")


def record(i: int) -> dict[str, Any]:
    return {"b0": i, "b1": i * 7, "b2": f"name-{i:015d}", "b3": i / 3, "b4": b"\x05" * 16}


# --------------------------------------------------------------------------- workers


def _ours(host: str, port: int, ns: str) -> Any:
    import aerospike_py
    from aerospike_py import predicates as p

    c = aerospike_py.client({"hosts": [(host, port)]}).connect()

    def run(case: str, n: int) -> int:
        q = c.query(ns, SET)
        if case == "index":
            q.where(p.between("b0", 0, n - 1))
        if case == "scan-stream":
            k = 0
            for _ in q.iterate():
                k += 1
            return k
        return len(q.results())

    return run


def _official(host: str, port: int, ns: str) -> Any:
    import aerospike
    from aerospike import predicates as p

    c = aerospike.client({"hosts": [(host, port)]}).connect()

    def run(case: str, n: int) -> int:
        q = c.query(ns, SET)
        if case == "index":
            q.where(p.between("b0", 0, n - 1))
        if case == "scan-stream":
            count = [0]

            def cb(rec: Any) -> None:
                count[0] += 1

            q.foreach(cb)
            return count[0]
        return len(q.results())

    return run


def _original(host: str, port: int, ns: str) -> Any:
    import aerospike_py
    from aerospike_py import predicates as p

    c = aerospike_py.client({"hosts": [(host, port)]}).connect()

    def run(case: str, n: int) -> int:
        q = c.query(ns, SET)
        if case == "index":
            q.where(p.between("b0", 0, n - 1))
        if case == "scan-stream":
            count = [0]

            def cb(rec: Any) -> None:
                count[0] += 1

            q.foreach(cb)
            return count[0]
        return len(q.results())

    return run


MEM_SET = "query_client_mem"


def memory_worker(host: str, port: int, ns: str, mode: str, queue_size: int) -> None:
    """Stream (``iterate``) or collect (``results``) the memory set; print peak RSS before/after."""
    import aerospike_py

    c = aerospike_py.client({"hosts": [(host, port)]}).connect()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    q = c.query(ns, MEM_SET)
    if mode == "iterate":
        n = 0
        for _ in q.iterate({"record_queue_size": queue_size}):
            n += 1
    else:
        n = len(q.results())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"mode": mode, "n": n, "base_mb": base / 1024, "peak_mb": peak / 1024}), flush=True)


def memory(args: argparse.Namespace) -> None:
    """Peak RSS of a process streaming ``--memory`` small records, against one collecting them."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    import aerospike_py

    c = aerospike_py.client({"hosts": [(args.host, args.port)]}).connect()
    have = len(c.query(args.ns, MEM_SET).results({"include_bin_data": False}))
    if have != args.memory:
        c.truncate(args.ns, MEM_SET)
        for i in range(0, args.memory, 5000):
            c.batch_write([((args.ns, MEM_SET, j), {"i": j, "s": "abcdefgh"})
                           for j in range(i, min(i + 5000, args.memory))], policy={"total_timeout": 60000})
    c.close()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    for mode in ("iterate", "results"):
        for qs in ((1024, 5000) if mode == "iterate" else (0,)):
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-worker", mode, "--host",
                                  args.host, "--port", str(args.port), "--ns", args.ns, "--queue", str(qs)],
                                 capture_output=True, text=True, env=env, check=True).stdout
            r = json.loads(out)
            print(f"{mode:<8} record_queue_size={qs:<5} records={r['n']:,} RSS after connect {r['base_mb']:.0f} MB, "
                  f"peak {r['peak_mb']:.0f} MB")


def worker(kind: str, host: str, port: int, ns: str) -> None:
    """Serve cases from stdin: ``case n`` -> one JSON line ``{cpu, wall, n, rss_kb}``."""
    run = {"ours": _ours, "official": _official, "original": _original}[kind](host, port, ns)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        case, n = line.split()
        t0, c0 = time.perf_counter(), time.process_time()
        got = run(case, int(n))
        c1, t1 = time.process_time(), time.perf_counter()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"cpu": c1 - c0, "wall": t1 - t0, "n": got, "rss_kb": rss}), flush=True)


class Worker:
    def __init__(self, kind: str, python: str, args: argparse.Namespace) -> None:
        env = dict(os.environ)
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
        if kind == "ours":
            env["PYTHONPATH"] = os.path.abspath(src) + os.pathsep + env.get("PYTHONPATH", "")
        else:
            env.pop("PYTHONPATH", None)
        self.kind = kind
        self.proc = subprocess.Popen(
            [python, os.path.abspath(__file__), "--worker", kind, "--host", args.host, "--port", str(args.port),
             "--ns", args.ns], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self._read()

    def _read(self) -> dict[str, Any]:
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError(f"worker {self.kind} died")
        return json.loads(line)

    def run(self, case: str, n: int) -> dict[str, Any]:
        self.proc.stdin.write(f"{case} {n}\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return self._read()

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait(timeout=30)


# --------------------------------------------------------------------------- driver


def load(args: argparse.Namespace) -> None:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    import aerospike_py

    c = aerospike_py.client({"hosts": [(args.host, args.port)]}).connect()
    try:
        have = len(c.query(args.ns, SET).results({"include_bin_data": False}))
        if have != args.records:
            c.truncate(args.ns, SET)
            step = 1000
            for i in range(0, args.records, step):
                recs = [((args.ns, SET, j), record(j)) for j in range(i, min(i + step, args.records))]
                c.batch_write(recs, policy={"total_timeout": 30000})
        c.index_integer_create(args.ns, SET, "b0", INDEX)
    finally:
        c.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=3000)
    ap.add_argument("--ns", default="test")
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--orig-python", default="/work/orig-venv/bin/python")
    ap.add_argument("--clients", default="ours,official,original")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--json", default="")
    ap.add_argument("--worker", default="")
    ap.add_argument("--memory", type=int, default=0,
                    help="instead: peak RSS streaming this many small records (iterate vs results)")
    ap.add_argument("--memory-worker", default="")
    ap.add_argument("--queue", type=int, default=1024)
    args = ap.parse_args()
    if args.memory_worker:
        memory_worker(args.host, args.port, args.ns, args.memory_worker, args.queue)
        return
    if args.memory:
        memory(args)
        return
    if args.worker:
        worker(args.worker, args.host, args.port, args.ns)
        return
    load(args)
    pythons = {"ours": sys.executable, "official": sys.executable, "original": args.orig_python}
    kinds = [k for k in args.clients.split(",") if k]
    cases = [c for c in args.cases.split(",") if c]
    workers = {}
    for k in kinds:
        if k == "original" and not os.path.exists(pythons[k]):
            print(f"skipping the original client: {pythons[k]} not found", file=sys.stderr)
            continue
        workers[k] = Worker(k, pythons[k], args)
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for w in workers.values():  # warm-up: one run of each case
        for case in cases:
            r = w.run(case, args.records)
            if r["n"] != args.records:
                raise SystemExit(f"{w.kind} {case}: got {r['n']} records, expected {args.records}")
    for rnd in range(args.rounds):
        order = list(workers.values())
        order = order[rnd % len(order):] + order[:rnd % len(order)]
        for case in cases:
            for w in order:
                samples.setdefault((case, w.kind), []).append(w.run(case, args.records))
        print(f"round {rnd + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    for w in workers.values():
        w.close()
    out: dict[str, Any] = {"records": args.records, "rounds": args.rounds, "results": {}}
    print(f"\n{args.records:,} records of 5 bins, medians of {args.rounds} rounds (client CPU per record, "
          f"records/s, worker peak RSS)")
    print(f"{'case':<12} {'client':<9} {'CPU us/rec':>11} {'rec/s':>11} {'RSS MB':>8}   vs official   vs original")
    for case in cases:
        med = {}
        for k in workers:
            s = samples[(case, k)]
            cpu = statistics.median(x["cpu"] / x["n"] * 1e6 for x in s)
            rate = statistics.median(x["n"] / x["wall"] for x in s)
            rss = max(x["rss_kb"] for x in s) / 1024
            med[k] = (cpu, rate, rss)
        for k, (cpu, rate, rss) in med.items():
            vs = []
            for other in ("official", "original"):
                if other in med and other != k:
                    vs.append(f"cpu x{cpu / med[other][0]:.2f} rate x{rate / med[other][1]:.2f}")
                else:
                    vs.append("")
            print(f"{case:<12} {k:<9} {cpu:>11.2f} {rate:>11,.0f} {rss:>8.0f}   {vs[0]:<22} {vs[1]}")
            out["results"].setdefault(case, {})[k] = {"cpu_us_per_record": cpu, "records_per_s": rate,
                                                      "peak_rss_mb": rss}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
