"""Instructions per AsyncClient get/put at a given width, for A/B comparisons between two trees.

Runs ``get`` or ``put`` of 1,000 keys with ``WIDTH`` commands in flight (after a warm-up at that
width, so the connections are open), ``N`` in all; meant to run under callgrind with ``N`` = 0
and ``N`` = 3000: the difference of the two totals over 3000 is the client's instructions per
operation (the server's work and the waits are not counted; tending is off). Example::

    for n in 0 3000; do PYTHONHASHSEED=0 PYTHONPATH=TREE/src valgrind --tool=callgrind \\
        --callgrind-out-file=/dev/null python bench/callgrind_async.py get 64 $n 2>&1 | grep -E "Collected|^ok"; done

Run natively it prints the CPU (user, system) per operation of the measured part, ``REPS`` times.
Environment: ``CONNS`` (max_conns_per_node, default 300: below the width, commands queue),
``WARMW`` (width of the warm-up), ``NOMETRICS=1`` (metrics off), ``ASYNC_AB_HOST`` (host:port).

Usage: ``callgrind_async.py {get,put} WIDTH N [set]``.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
from typing import Any

import aerospike_py


def main() -> None:
    op, width, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    set_name = sys.argv[4] if len(sys.argv) > 4 else "callgrind_async"
    warmw = int(os.environ.get("WARMW", width))
    if os.environ.get("NOMETRICS"):
        aerospike_py.set_metrics_enabled(False)
    host, port = os.environ.get("ASYNC_AB_HOST", "127.0.0.1:3000").split(":")
    # Generous timeouts: under valgrind on a loaded machine a connect or a call may take seconds.
    patient = {"total_timeout": 60000, "socket_timeout": 60000, "max_retries": 0}
    cfg = {"hosts": [(host, int(port))], "tend_interval": 10**9, "timeout": 60000,
           "max_conns_per_node": int(os.environ.get("CONNS", 300)), "policies": {"read": patient, "write": patient}}
    keys = [("test", set_name, i) for i in range(1000)]
    bins = {"a": 1, "s": "x" * 16, "f": 1.5}

    async def run() -> list[tuple[Any, Any]]:
        c = await aerospike_py.AsyncClient(cfg).connect()

        async def at_width(case: str, seq: list, w: int) -> None:
            async def worker(part: list) -> None:
                if case == "get":
                    for k in part:
                        await c.get(k)
                else:
                    for k in part:
                        await c.put(k, bins)

            await asyncio.gather(*(worker(seq[i::w]) for i in range(w)))

        await at_width("put", keys, warmw)
        await at_width(op, keys, warmw)
        seq = [keys[i % len(keys)] for i in range(n)]
        out = []
        for _ in range(int(os.environ.get("REPS", 1))):
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            if n:
                await at_width(op, seq, width)
            out.append((r0, resource.getrusage(resource.RUSAGE_SELF)))
        await c.close()
        return out

    for r0, r1 in asyncio.run(run()):
        k = max(n, 1) / 1e6
        user, system = (r1.ru_utime - r0.ru_utime) / k, (r1.ru_stime - r0.ru_stime) / k
        print(f"ok {op} x{width} {n} cpu/op={user + system:.2f}us user {user:.2f} sys {system:.2f}")


if __name__ == "__main__":
    main()
