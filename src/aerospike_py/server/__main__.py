"""``python -m aerospike_py.server --host 127.0.0.1 --port 3000``: run the embedded server."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import signal
import sys

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
    ap.add_argument("--security", action="store_true",
                    help="require login (default user admin/admin), roles and privileges")
    ap.add_argument("--session-ttl", type=int, default=86400, help="session token lifetime (s)")
    ap.add_argument("--tls-cert", help="server certificate (PEM): the listener speaks TLS only")
    ap.add_argument("--tls-key", help="server private key (PEM)")
    ap.add_argument("--tls-cafile", help="CA of client certificates (mutual TLS, PKI login)")
    ap.add_argument("--tls-verify-client", action="store_true", help="require a client certificate")
    ap.add_argument("--tls-name", help="the name in the server certificate (sent in peers-tls-std)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    names = args.namespaces or ["test", "bar"]
    from .security import make_security, server_tls
    from .storage import Clock

    clock = Clock()
    security = make_security(args.security, clock, args.session_ttl)
    tls = server_tls({"certfile": args.tls_cert, "keyfile": args.tls_key, "cafile": args.tls_cafile,
                      "verify_client": args.tls_verify_client}) if args.tls_cert else None

    async def run() -> None:
        nodes = []
        if args.nodes > 1:
            from .cluster import EmbeddedClusterCore
            core = EmbeddedClusterCore(args.nodes, args.replication_factor, names, args.host, args.port,
                                       args.cluster_name, args.default_ttl, clock, None, security, tls,
                                       args.tls_name)
            await core.start()
            nodes = core.nodes
        else:
            node = ServerNode(args.host, args.port,
                              {n: Namespace(n, default_ttl=args.default_ttl) for n in names},
                              cluster_name=args.cluster_name, clock=clock, security=security, tls=tls,
                              tls_name=args.tls_name)
            await node.start()
            nodes = [node]
        for n in nodes:
            extra = (" (TLS)" if tls is not None else "") + (" (security: admin/admin)" if security else "")
            print(f"aerospike_py embedded server node {n.node_id} listening on {n.host}:{n.port}{extra}", flush=True)
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
    except OSError as e:  # one clear line, not a traceback (busy port, unknown host, ...)
        what = "is already in use" if e.errno == errno.EADDRINUSE else f"cannot be used: {e.strerror or e}"
        print(f"{ap.prog}: {args.host}:{args.port} {what}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
