"""``python -m aerospike_py.server --host 127.0.0.1 --port 3000``: run the embedded server."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from . import _load_extensions
from .node import ServerNode
from .storage import Namespace


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m aerospike_py.server", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=3000, help="0 picks a free port")
    ap.add_argument("--namespace", action="append", dest="namespaces", help="namespace (repeatable)")
    ap.add_argument("--default-ttl", type=int, default=0)
    ap.add_argument("--cluster-name", default="embedded")
    ap.add_argument("--nodes", type=int, default=1, help="number of nodes (ports port..port+n-1)")
    ap.add_argument("--replication-factor", type=int, default=1)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    _load_extensions()
    names = args.namespaces or ["test", "bar"]

    async def run() -> None:
        nodes = []
        if args.nodes > 1:
            try:
                from .cluster import EmbeddedClusterCore
            except ImportError:
                print("multi-node mode is not available in this build", file=sys.stderr)
                raise SystemExit(2) from None
            core = EmbeddedClusterCore(args.nodes, args.replication_factor, names, args.host, args.port,
                                       args.cluster_name, args.default_ttl)
            await core.start()
            nodes = core.nodes
        else:
            node = ServerNode(args.host, args.port,
                              {n: Namespace(n, default_ttl=args.default_ttl) for n in names},
                              cluster_name=args.cluster_name)
            await node.start()
            nodes = [node]
        for n in nodes:
            print(f"aerospike_py embedded server node {n.node_id} listening on {n.host}:{n.port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        await stop.wait()
        for n in nodes:
            await n.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
