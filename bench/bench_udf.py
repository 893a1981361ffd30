"""Benchmark: UDF calls of aerospike_py vs the official ``aerospike`` client, against a real server
(the original 0.14.4 has ``apply`` but no aggregation; ``--clients ours,official,original`` adds it
for ``apply``).

    python bench/bench_udf.py                              # 127.0.0.1:3000, 100,000 records
    python bench/bench_udf.py --records 100000 --rounds 5 --json out.json
    python bench/bench_udf.py --set me_bench --module me_bench   # own names on a shared server

Cases:

* ``apply``: ``apply(key, module, "one", [])`` of a trivial record UDF, ``--calls`` times in a row;
  figures per call;
* ``sum``: aggregation ``map(bin) : reduce(add)`` over every record of the set: the servers reduce
  per partition, the client reduces about 4096 values in Lua; figures per record;
* ``map``: aggregation ``map(bin)`` only: one value per record comes back, the client has no stage
  to run; figures per record.

Clients get a 30 s apply timeout (a loaded machine). Each client runs in its own worker process (connected once, warmed up by one run of each case);
rounds take turns between clients. Figures are medians over ``--rounds``: client CPU
(``time.process_time`` of the worker around the call, every thread included) and wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

SET = "agg_client_bench"
MODULE = "agg_bench"
CASES = ("apply", "sum", "map")
LUA = """
function one(rec) return 1 end
local function add(a, b) return a + b end
function sum(s, bin) return s : map(function(r) return r[bin] end) : reduce(add) end
function values(s, bin) return s : map(function(r) return r[bin] end) end
"""
FUNCTIONS = {"sum": "sum", "map": "values"}


def _ours(host: str, port: int, ns: str, lua_dir: str, calls: int) -> Any:
    import aerospike_py

    c = aerospike_py.client({"hosts": [(host, port)], "lua": {"user_path": lua_dir},
                             "policies": {"write": {"total_timeout": 30000}}}).connect()

    def run(case: str) -> int:
        if case == "apply":
            key = (ns, SET, 0)
            for _ in range(calls):
                c.apply(key, MODULE, "one", [])
            return calls
        q = c.query(ns, SET)
        q.apply(MODULE, FUNCTIONS[case], ["b0"])
        return len(q.results())

    return run


def _official(host: str, port: int, ns: str, lua_dir: str, calls: int) -> Any:
    import aerospike

    c = aerospike.client({"hosts": [(host, port)], "lua": {"user_path": lua_dir},
                          "policies": {"apply": {"total_timeout": 30000}}}).connect()

    def run(case: str) -> int:
        if case == "apply":
            key = (ns, SET, 0)
            for _ in range(calls):
                c.apply(key, MODULE, "one", [])
            return calls
        q = c.query(ns, SET)
        q.apply(MODULE, FUNCTIONS[case], ["b0"])
        return len(q.results())

    return run


def _original(host: str, port: int, ns: str, lua_dir: str, calls: int) -> Any:
    import aerospike_py

    c = aerospike_py.client({"hosts": [(host, port)], "policies": {"write": {"total_timeout": 30000}}}).connect()

    def run(case: str) -> int:
        if case != "apply":
            return 0  # no aggregation in the original
        key = (ns, SET, 0)
        policy = {"total_timeout": 30000, "socket_timeout": 30000}
        for _ in range(calls):
            c.apply(key, MODULE, "one", [], policy)
        return calls

    return run


def worker(kind: str, host: str, port: int, ns: str, lua_dir: str, calls: int) -> None:
    run = {"ours": _ours, "official": _official, "original": _original}[kind](host, port, ns, lua_dir, calls)
    for line in sys.stdin:
        case = line.strip()
        c0, t0 = time.process_time(), time.perf_counter()
        n = run(case)
        c1, t1 = time.process_time(), time.perf_counter()
        print(json.dumps({"cpu": c1 - c0, "wall": t1 - t0, "n": n}), flush=True)


class Worker:
    def __init__(self, kind: str, args: argparse.Namespace, lua_dir: str) -> None:
        env = dict(os.environ)
        python = sys.executable
        if kind == "original":
            python = args.orig_python
            env.pop("PYTHONPATH", None)
        else:
            src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
            env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
        self.proc = subprocess.Popen(
            [python, __file__, "--worker", kind, "--host", args.host, "--port", str(args.port),
             "--ns", args.ns, "--lua-dir", lua_dir, "--calls", str(args.calls), "--set", args.set,
             "--module", args.module],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def run(self, case: str) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(case + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


def load(args: argparse.Namespace, lua_dir: str) -> None:
    import aerospike_py

    c = aerospike_py.client({"hosts": [(args.host, args.port)]}).connect()
    c.udf_put(os.path.join(lua_dir, MODULE + ".lua"))
    for i in range(0 if args.no_load else args.records):
        c.put((args.ns, SET, i), {"b0": i, "one": 1, "b2": f"name-{i:015d}"})
    c.close()


def main() -> None:
    global SET, MODULE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=3000)
    ap.add_argument("--ns", default="test")
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--clients", default="ours,official")
    ap.add_argument("--calls", type=int, default=5000, help="apply calls per round")
    ap.add_argument("--orig-python", default="/work/orig-venv/bin/python")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--no-load", action="store_true", help="the records are already there (the module is put)")
    ap.add_argument("--json", default="")
    ap.add_argument("--set", default="agg_client_bench", help="the set of the records (a shared server: a name of your own)")
    ap.add_argument("--module", default="agg_bench", help="the UDF module's name (a shared server: a name of your own)")
    ap.add_argument("--worker", default="")
    ap.add_argument("--lua-dir", default="")
    args = ap.parse_args()
    SET, MODULE = args.set, args.module
    if args.worker:
        worker(args.worker, args.host, args.port, args.ns, args.lua_dir, args.calls)
        return
    with tempfile.TemporaryDirectory() as lua_dir:
        with open(os.path.join(lua_dir, MODULE + ".lua"), "w") as fh:
            fh.write(LUA)
        load(args, lua_dir)
        kinds = args.clients.split(",")
        cases = args.cases.split(",")
        workers = {k: Worker(k, args, lua_dir) for k in kinds}
        try:
            for w in workers.values():
                for case in cases:
                    w.run(case)  # warm-up
            samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for _ in range(args.rounds):
                for case in cases:
                    for k, w in workers.items():
                        samples.setdefault((k, case), []).append(w.run(case))
        finally:
            for w in workers.values():
                w.close()
    out = {}
    print(f"{'case':<6} {'client':<9} {'CPU us/unit':>12} {'wall ms':>9} {'values':>7}   (unit: call for apply, record else)")
    for case in cases:
        units = args.calls if case == "apply" else args.records
        for k in kinds:
            s = samples[(k, case)]
            if not s[-1]["n"] and case != "apply" and k == "original":
                continue
            cpu = statistics.median(x["cpu"] for x in s) / units * 1e6
            wall = statistics.median(x["wall"] for x in s) * 1e3
            out[f"{case}/{k}"] = {"cpu_us_per_unit": cpu, "wall_ms": wall, "values": s[-1]["n"]}
            print(f"{case:<6} {k:<9} {cpu:>12.3f} {wall:>9.1f} {s[-1]['n']:>7}")
        if f"{case}/ours" in out and f"{case}/official" in out:
            r = out[f"{case}/ours"]["cpu_us_per_unit"] / out[f"{case}/official"]["cpu_us_per_unit"]
            print(f"{case:<6} ours/official CPU: {r:.2f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"records": args.records, "calls": args.calls, "rounds": args.rounds, "results": out}, fh,
                  indent=1)


if __name__ == "__main__":
    main()
