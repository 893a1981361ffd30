"""Collection operations of 10k/100k elements: the embedded server's time against a real server's.

    python bench/bench_cdt.py                          # embedded server only
    python bench/bench_cdt.py --host 127.0.0.1 --port 3000   # and a real server (own set names)

Each case writes a fresh record, then times one operate() of N elements (wall seconds, median of
``--repeat``). The embedded server runs in this process, so its figures include its own work.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import aerospike_py
from aerospike_py import list_operations as lop
from aerospike_py import map_operations as mop
from aerospike_py.exception import AerospikeError

ORDERED = {"list_order": aerospike_py.LIST_ORDERED, "write_flags": 0}
UNIQUE = {"write_flags": aerospike_py.LIST_WRITE_ADD_UNIQUE}


def cases(n: int) -> dict[str, Callable[[], list[dict[str, Any]]]]:
    items = list(range(n, 0, -1))
    return {
        f"ordered list_append_items {n}": lambda: [lop.list_append_items("l", items, ORDERED)],
        f"ADD_UNIQUE list_append_items {n}": lambda: [lop.list_append_items("l", items, UNIQUE)],
        f"map_put_items {n}": lambda: [mop.map_put_items("m", {i: i for i in items})],
        f"list_insert at index {n * 500}": lambda: [lop.list_insert("l", n * 500, 1)],
    }


def run(client: Any, set_name: str, sizes: list[int], repeat: int) -> dict[str, str]:
    """``{case: "seconds outcome"}``: median wall time of the operate() and what it answered."""
    out = {}
    for n in sizes:
        for name, ops in cases(n).items():
            times, outcome = [], "ok"
            for r in range(repeat):
                key = ("test", set_name, f"{name}-{r}")
                client.put(key, {"x": 1})
                t0 = time.perf_counter()
                try:
                    client.operate(key, ops(), policy={"total_timeout": 600_000, "socket_timeout": 600_000})
                except AerospikeError as e:
                    outcome = type(e).__name__
                times.append(time.perf_counter() - t0)
                client.remove(key)
            out[name] = f"{statistics.median(times):.4f} {outcome}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host")
    ap.add_argument("--port", type=int, default=3000)
    ap.add_argument("--set", default="bench_cdt")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, dict[str, str]] = {}
    from aerospike_py.server import EmbeddedServer

    with EmbeddedServer() as srv:
        # (no tending: an expensive op holds the in-process server, and a tend would time out)
        c = aerospike_py.client({**srv.config, "tend_interval": 3_600_000}).connect()
        results["embedded"] = run(c, args.set, sizes, args.repeat)
        c.close()
    if args.host:
        c = aerospike_py.client({"hosts": [(args.host, args.port)]}).connect()
        results["real"] = run(c, args.set, sizes, args.repeat)
        c.close()
    names = list(results["embedded"])
    print(f"{'case':40} " + " ".join(f"{k:>22}" for k in results))
    for name in names:
        print(f"{name:40} " + " ".join(f"{results[k].get(name, '-'):>22}" for k in results))


if __name__ == "__main__":
    main()
