"""Quickstart: start the embedded server, connect, write and read a record, print what happened.

Run: ``python examples/quickstart.py`` (or point it at a real cluster: ``--host H --port P``).
"""

from __future__ import annotations

import argparse

import aerospike_py
from aerospike_py.server import EmbeddedServer


def demo(config: dict) -> None:
    with aerospike_py.client(config).connect() as c:
        print(f"connected to nodes {c.get_node_names()}")
        key = ("test", "demo", "user1")
        c.put(key, {"name": "Alice", "age": 30, "tags": ["a", "b"], "m": {"x": 1.5}})
        print("put   ", key)
        rec = c.get(key)
        _, meta, bins = rec
        print(f"get    gen={meta.gen} ttl={meta.ttl} bins={bins}")
        c.increment(key, "age", 1)
        rec = c.operate(key, [{"op": aerospike_py.OPERATOR_APPEND, "bin": "name", "val": "!"},
                              {"op": aerospike_py.OPERATOR_READ, "bin": "name"},
                              {"op": aerospike_py.OPERATOR_READ, "bin": "age"}])
        print(f"operate -> {rec.bins}")
        try:
            c.put(key, {"x": 1}, policy={"exists": aerospike_py.POLICY_EXISTS_CREATE_ONLY})
        except aerospike_py.RecordExistsError as e:
            print(f"create-only on an existing record raised {type(e).__name__}: {e}")
        c.remove(key)
        print(f"remove -> exists: {c.exists(key).meta is not None}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host")
    ap.add_argument("--port", type=int, default=3000)
    args = ap.parse_args()
    if args.host:
        demo({"hosts": [(args.host, args.port)]})
        return
    with EmbeddedServer() as srv:
        print(f"embedded server listening on {srv.host}:{srv.port}")
        demo(srv.config)
    print("done")


if __name__ == "__main__":
    main()
