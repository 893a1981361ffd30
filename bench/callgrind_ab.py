"""Instructions per call of the client's hot paths, for A/B comparisons between two trees.

Runs ``get``, ``put`` or ``batch_read`` of 100 keys ``n`` times against a server (after a warm-up),
meant to run under callgrind twice, with ``n`` = 0 and ``n`` = N: the difference of the two
totals over N is the client's instructions per call (the server's work and the waits are not
counted; tending is switched off so no background thread adds work). Example::

    for n in 0 1000; do PYTHONHASHSEED=0 PYTHONPATH=TREE/src valgrind --tool=callgrind \\
        --callgrind-out-file=/dev/null python bench/callgrind_ab.py get $n 2>&1 | grep -E "Collected|^ok"; done

Usage: ``callgrind_ab.py {get,put,batch_read} N [host:port] [set]``.
"""

from __future__ import annotations

import sys

import aerospike_py


def main() -> None:
    op, n = sys.argv[1], int(sys.argv[2])
    host, port = (sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1:3000").split(":")
    set_name = sys.argv[4] if len(sys.argv) > 4 else "callgrind_ab"
    # Generous timeouts: under valgrind on a loaded machine a call may take seconds (a timed-out
    # run would count fewer calls than asked); no tending (a background thread's work varies).
    patient = {"total_timeout": 60000, "socket_timeout": 60000, "max_retries": 0}
    client = aerospike_py.client({"hosts": [(host, int(port))], "tend_interval": 10**9,
                                  "policies": {"read": patient, "write": patient, "batch": patient}}).connect()
    keys = [("test", set_name, i) for i in range(100)]
    bins = {"a": 1, "s": "x" * 16, "f": 1.5}
    for k in keys:
        client.put(k, bins)
    if op == "get":
        def call() -> None:
            client.get(keys[7])
    elif op == "put":
        def call() -> None:
            client.put(keys[7], bins)
    elif op == "batch_read":
        def call() -> None:
            client.batch_read(keys)
    else:
        raise SystemExit(f"unknown op {op!r}")
    for _ in range(50):  # warm-up: caches, pool, code paths
        call()
    for _ in range(n):
        call()
    client.close()
    print(f"ok {op} {n}")  # (a run that failed says so: its count is not comparable)


if __name__ == "__main__":
    main()
