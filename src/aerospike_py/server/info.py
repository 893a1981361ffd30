"""Info commands answered by the embedded server."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._wire.constants import N_PARTITIONS

if TYPE_CHECKING:
    from .node import ServerNode

BUILD = "8.1.2.0"
_ALL_BITMAP = base64.b64encode(b"\xff" * (N_PARTITIONS // 8)).decode()

#: Extra info handlers by command name (``sindex-create``, ``udf-put``...): ``(server, params) -> str``.
#: Filled from :data:`.registry.INFO`.
INFO_HANDLERS: dict[str, Callable[[Any, dict[str, str]], str]] = {}


def parse_params(text: str) -> dict[str, str]:
    """``a=1;b=2`` -> ``{"a": "1", "b": "2"}``."""
    out = {}
    for part in text.split(";"):
        if not part:
            continue
        k, _, v = part.partition("=")
        out[k.strip()] = v
    return out


def cluster_key(node: Any) -> str:
    """A 12-hex-digit key of the cluster's current membership (changes when it changes)."""
    members = sorted(p.node_id for p in (node, *node.peers()))
    text = ",".join(members) + f"/{node.cluster.rebalances if node.cluster is not None else 0}"
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest().upper()


def answer(server: Any, command: str) -> str:
    """The value for one info command (errors as ``ERROR:<code>:<text>``)."""
    name, _, arg = command.partition(":")
    if "/" in name and not arg:
        name, _, arg = name.partition("/")
        slash = True
    else:
        slash = False
    handler = INFO_HANDLERS.get(name)
    if handler is not None:
        return handler(server, parse_params(arg))
    node: ServerNode = server
    if name == "node":
        return node.node_id
    if name in ("build", "version"):
        return BUILD if name == "build" else f"Aerospike Community Edition build {BUILD}"
    if name == "edition":
        return "Aerospike Community Edition"
    if name == "cluster-name":
        return node.cluster_name
    if name == "features":
        return ("batch-any;batch-index;blob-bits;cdt-list;cdt-map;cluster-stable;float;geo;"
                "sindex-exists;peers;pipelining;pquery;pscans;query-show;relaxed-sc;replicas;"
                "replicas-all;replicas-master;truncate-namespace;udf")
    if name == "partitions":
        return str(N_PARTITIONS)
    if name == "cluster-stable":  # the cluster key when the cluster has the asked size (no migrations here)
        p = parse_params(arg)
        if "size" in p and p["size"] != str(node.cluster_size()):
            return "ERROR:7:cluster not specified size"
        if "namespace" in p and p["namespace"] not in node.namespaces:
            return "ERROR:20:namespace not found on node"
        return cluster_key(node)
    if name == "namespaces":
        return ";".join(node.namespaces)
    if name == "partition-generation":
        return str(node.partition_generation)
    if name == "peers-generation":
        return str(node.peers_generation)
    if name in ("peers-clear-std", "peers-clear-alt", "peers-tls-std", "peers-tls-alt"):
        if ("tls" in name) != (node.tls is not None):
            return f"{node.peers_generation},3000,[]"  # the listener speaks one of the two
        peers = ",".join(f"[{p.node_id},{p.tls_name or '' if p.tls else ''},[{p.host}:{p.port}]]"
                         for p in node.peers())
        return f"{node.peers_generation},3000,[{peers}]"  # (3000: the default port, as real servers say)
    if name in ("service", "service-clear-std", "service-clear-alt", "services", "services-alumni",
                "services-alternate"):
        if name.startswith("service-") or name == "service":
            return f"{node.host}:{node.port}"
        return ";".join(f"{p.host}:{p.port}" for p in node.peers())
    if name in ("replicas", "replicas-all", "replicas-master"):
        parts = []
        for ns in node.namespaces.values():
            bitmaps = node.replica_bitmaps(ns.name)
            if name == "replicas-master":
                parts.append(f"{ns.name}:{bitmaps[0]}")
            elif name == "replicas-all":
                parts.append(f"{ns.name}:{len(bitmaps)},{','.join(bitmaps)}")
            else:
                parts.append(f"{ns.name}:0,{len(bitmaps)},{','.join(bitmaps)}")
        return ";".join(parts)
    if name == "statistics":
        objects = sum(ns.count() for ns in node.namespaces.values())
        return (f"cluster_size={node.cluster_size()};objects={objects};client_connections="
                f"{node.client_connections};uptime={node.uptime()};requests={node.requests}")
    if name == "namespace" and (arg or slash):
        found = node.namespaces.get(arg)
        if found is None:
            return "ERROR:20:namespace not found"
        return (f"objects={found.count()};replication-factor={found.replication_factor};"
                f"default-ttl={found.default_ttl};nsup-period=10;storage-engine=memory;"
                f"max-record-size={found.max_record_size}")
    if name == "sets":
        parts = []
        for ns in node.namespaces.values():
            for s, n in sorted(ns.set_names().items()):
                if s:
                    parts.append(f"ns={ns.name}:set={s}:objects={n}:tombstones=0:truncate_lut=0")
        return ";".join(parts) + (";" if parts else "")
    if name == "bins":
        return ";".join(f"{ns}:bin_names=0,bin_names_quota=65535" for ns in node.namespaces)
    if name == "user-agent-set":
        return "ok"
    if name in ("truncate", "truncate-namespace"):
        p = parse_params(arg)
        target = node.namespaces.get(p.get("namespace", ""))
        if target is None:
            return "ERROR:20:namespace not found"
        set_name = p.get("set") if name == "truncate" else None
        if name == "truncate" and not set_name:
            return "ERROR:4:missing set"
        lut = p.get("lut")
        try:
            before = int(lut) if lut else node.clock.nanos()
        except ValueError:
            return "ERROR:4:bad lut"
        if before > node.clock.nanos() + 10**9 * 3600 * 24:
            return "ERROR:4:lut is in the future"
        node.truncate(target.name, set_name, before)
        return "ok"
    if name == "status":
        return "ok"
    return f"ERROR:4:unrecognized command {name}"
