"""A multi-node embedded cluster: N :class:`ServerNode` in one asyncio loop.

Partitions are split among the live nodes by rendezvous hashing (per partition, nodes sorted by a
hash of ``(node id, partition)``), the first ``replication_factor`` of that order holding the
partition as master and replicas. Every node keeps its own :class:`Namespace` storage with the
partitions it holds. Writes are applied on the master and copied to the replicas before the reply;
a command reaching a node that does not hold its partition is executed on the master (an
in-process proxy), so clients with a stale map still get correct answers.

Stopping, isolating or starting a node rebalances: new owners receive the partition from a
surviving holder (migration), nodes that no longer hold a partition drop it, and every live node's
partition and peers generations are bumped, as a real cluster does after migrations complete.

Nodes may be given racks (``racks=[1, 2, 2]``): the replicas of a partition are then placed on
racks other than the master's where the live nodes allow, and nodes answer ``rack-ids`` (what
rack-aware clients read), ``racks`` and ``rebalance-generation``.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from .._wire.constants import N_PARTITIONS
from .._wire.digest import partition_id
from .node import Fault, ServerNode
from .storage import Clock, Namespace

if TYPE_CHECKING:
    from . import _LoopThread
    from .security import Security

T = TypeVar("T")

_EMPTY_BITMAP = base64.b64encode(bytes(N_PARTITIONS // 8)).decode()


def _scores(node_id: str) -> list[int]:
    """Rendezvous weight of ``node_id`` for every partition."""
    base = node_id.encode()
    out = []
    for pid in range(N_PARTITIONS):
        h = hashlib.blake2b(base + pid.to_bytes(2, "little"), digest_size=8).digest()
        out.append(int.from_bytes(h, "big"))
    return out


def _b64_bitmap(pids: list[int]) -> str:
    bm = bytearray(N_PARTITIONS // 8)
    for p in pids:
        bm[p >> 3] |= 0x80 >> (p & 7)
    return base64.b64encode(bytes(bm)).decode()


def _pick_holders(order: list[ServerNode], rf: int) -> tuple[ServerNode, ...]:
    """The first ``rf`` nodes of ``order``, except that replicas go to racks not used yet first."""
    if rf <= 1 or len({_rack(n) for n in order}) <= 1:
        return tuple(order[:rf])
    picked = [order[0]]
    used = {_rack(order[0])}
    for n in order[1:]:
        if len(picked) < rf and _rack(n) not in used:
            picked.append(n)
            used.add(_rack(n))
    for n in order[1:]:
        if len(picked) < rf and n not in picked:
            picked.append(n)
    return tuple(picked)


def _rack(node: ServerNode) -> int:
    return getattr(node, "rack_id", 0)


def info_rack_ids(node: ServerNode, params: dict[str, str]) -> str:
    """``rack-ids``: ``ns:rack;...`` (this node's rack in each namespace)."""
    return ";".join(f"{ns}:{_rack(node)}" for ns in node.namespaces)


def info_racks(node: ServerNode, params: dict[str, str]) -> str:
    """``racks``: ``ns=NS:rack_R=NODE,NODE:rack_S=...;...`` over the live cluster members."""
    members = node.cluster.live_nodes() if node.cluster is not None else [node]
    by_rack: dict[int, list[str]] = {}
    for n in members:
        by_rack.setdefault(_rack(n), []).append(n.node_id)
    racks = ":".join(f"rack_{r}={','.join(ids)}" for r, ids in sorted(by_rack.items()))
    wanted = params.get("namespace")
    return ";".join(f"ns={ns}:{racks}" for ns in node.namespaces if wanted in (None, ns))


def info_rebalance_generation(node: ServerNode, params: dict[str, str]) -> str:
    return str(node.partition_generation)  # both move on every rebalance




def _forget(node: ServerNode) -> None:
    """Drop every record ``node`` holds."""
    for ns in node.namespaces.values():
        ns.clear()


class EmbeddedClusterCore:
    """Cluster state living on the server loop: membership, partition owners, replication, proxying.

    Every method runs on the loop thread (nodes call the hooks while handling requests).
    """

    def __init__(self, nodes: int = 3, replication_factor: int = 2, namespaces: Any = None,
                 host: str = "127.0.0.1", base_port: int = 0, cluster_name: str = "embedded",
                 default_ttl: int = 0, clock: Clock | None = None, racks: Any = None,
                 security: Any = None, tls: Any = None, tls_name: str | None = None) -> None:
        if nodes < 1:
            raise ValueError("a cluster needs at least one node")
        racks = list(racks) if racks is not None else [0] * nodes
        if len(racks) != nodes or any(isinstance(r, bool) or not isinstance(r, int) or r < 0 for r in racks):
            raise ValueError(f"racks must list one rack id (int >= 0) per node, got {racks!r}")
        if replication_factor < 1:
            raise ValueError("replication_factor must be >= 1")
        self.replication_factor = replication_factor
        self.clock: Clock = clock or Clock()
        if namespaces is None:
            namespaces = ["test", "bar"]
        if isinstance(namespaces, dict):
            templates = [(ns.name, ns.default_ttl, ns.max_record_size) for ns in namespaces.values()]
        else:
            templates = [(n, default_ttl, 1024 * 1024) for n in namespaces]
        self.nodes: list[ServerNode] = []
        for i in range(nodes):
            spaces = {name: Namespace(name, ttl, replication_factor, size) for name, ttl, size in templates}
            node = ServerNode(host, base_port + i if base_port else 0, spaces, f"BB9{i + 1:012X}",
                              cluster_name, self.clock, security, tls, tls_name)
            node.cluster = self
            node.rack_id = racks[i]  # type: ignore[attr-defined]
            self.nodes.append(node)
        scores = [_scores(n.node_id) for n in self.nodes]
        #: Per partition: every node, best rendezvous weight first (live ones are picked in order).
        self._order = [tuple(self.nodes[i] for i in sorted(range(nodes), key=lambda i: scores[i][pid], reverse=True))
                       for pid in range(N_PARTITIONS)]
        self.up: set[int] = set()  # indexes of live, reachable nodes
        self.isolated: set[int] = set()
        #: Per partition: the live holders, master first.
        self.owners: list[tuple[ServerNode, ...]] = [() for _ in range(N_PARTITIONS)]
        self._bitmaps: dict[int, list[str]] = {}
        self.proxied: Counter[str] = Counter()
        self.rebalances: int = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start every node and form the cluster."""
        for node in self.nodes:
            await node.start()
        self.up = set(range(len(self.nodes)))
        self.rebalance()

    async def stop(self) -> None:
        for node in self.nodes:
            await node.stop()
        self.up.clear()

    async def stop_node(self, i: int) -> None:
        """Stop node ``i`` (its port closes, its connections reset, its in-memory data is lost)."""
        node = self.nodes[i]
        self.up.discard(i)
        self.isolated.discard(i)
        node.clear_faults()
        await node.stop()
        _forget(node)
        self.rebalance()

    async def start_node(self, i: int) -> None:
        """Restart a stopped node (same port and node id) or heal an isolated one; it rejoins."""
        node = self.nodes[i]
        if i in self.isolated:
            self.isolated.discard(i)
            node.clear_faults()
            node.close_client_connections()  # they were stalled: no answer will ever come
            _forget(node)  # what it holds may be stale: it gets its partitions back by migration
        elif i not in self.up:
            await node.start()
        self.up.add(i)
        self.rebalance()

    def isolate_node(self, i: int) -> None:
        """Cut node ``i`` off: its peers drop it, and it never answers clients (packets lost)."""
        node = self.nodes[i]
        if i not in self.up:
            return
        self.up.discard(i)
        self.isolated.add(i)
        for conn in list(node.connections):
            conn.stalled = True
        node.inject_fault(Fault.STALL, lambda t, b: True, count=1 << 62)
        self.rebalance()

    # ------------------------------------------------------------------ partitions

    def live_nodes(self) -> list[ServerNode]:
        return [n for i, n in enumerate(self.nodes) if i in self.up]

    def rebalance(self) -> None:
        """Recompute partition owners among live nodes, migrate data, bump generations."""
        live = self.live_nodes()
        live_set = set(live)
        rf = min(self.replication_factor, len(live))
        old_owners = self.owners
        new_owners: list[tuple[ServerNode, ...]] = []
        names = list(self.nodes[0].namespaces)
        for pid in range(N_PARTITIONS):
            new = _pick_holders([n for n in self._order[pid] if n in live_set], rf)
            new_owners.append(new)
            if new == old_owners[pid]:
                continue
            old = [n for n in old_owners[pid] if n in live_set]
            src = old[0] if old else None
            for node in live:
                if node in new:
                    if node in old:
                        continue
                    for name in names:
                        ns = node.namespaces[name]
                        if src is None:
                            ns.replace_partition(pid, {})
                        else:
                            source = src.namespaces[name].partitions[pid]
                            ns.replace_partition(pid, {d: r.copy() for d, r in source.items()})
                else:
                    for name in names:
                        ns = node.namespaces[name]
                        if ns.partitions[pid]:
                            ns.replace_partition(pid, {})
        self.owners = new_owners
        self.rebalances += 1
        ranks: dict[int, list[list[int]]] = {id(n): [[] for _ in range(rf)] for n in live}
        for pid, owners in enumerate(new_owners):
            for rank, node in enumerate(owners):
                ranks[id(node)][rank].append(pid)
        self._bitmaps = {key: [_b64_bitmap(p) for p in per_rank] for key, per_rank in ranks.items()}
        for node in live:
            node.partition_generation += 1
            node.peers_generation += 1

    def master_partitions(self, node: ServerNode) -> list[int]:
        """Partitions ``node`` is master of (for scans/queries that must not repeat replicas)."""
        return [pid for pid, owners in enumerate(self.owners) if owners and owners[0] is node]

    # ------------------------------------------------------------------ node hooks

    def peers_of(self, node: ServerNode) -> list[ServerNode]:
        if node not in self.live_nodes():
            return []
        return [n for n in self.live_nodes() if n is not node]

    def replica_bitmaps(self, node: ServerNode, namespace: str) -> list[str]:
        maps = self._bitmaps.get(id(node))
        if maps is None or node not in self.live_nodes():
            return [_EMPTY_BITMAP]
        return maps

    def serving_node(self, node: ServerNode, pid: int, is_write: bool) -> ServerNode:
        """The node that executes a record command received by ``node`` (itself or the master)."""
        owners = self.owners[pid]
        if not owners or owners[0] is node or (not is_write and node in owners):
            return node
        self.proxied[node.node_id] += 1
        return owners[0]

    def replicate(self, node: ServerNode, namespace: str, digest: bytes, record: Any) -> None:
        """Copy a committed write (``record`` None: a delete) to the partition's other holders."""
        for holder in self.owners[partition_id(digest)]:
            if holder is node:
                continue
            ns = holder.namespaces[namespace]
            if record is None:
                ns.delete(digest)
            else:
                ns.put(record.copy())

    def truncate(self, namespace: str, set_name: str | None, before_ns: int) -> None:
        for node in self.nodes:
            ns = node.namespaces.get(namespace)
            if ns is not None:
                ns.truncate(set_name, before_ns)


class NodeAddress(NamedTuple):
    """Where one node of an :class:`EmbeddedCluster` listens."""

    host: str
    port: int
    node_id: str


class EmbeddedCluster:
    """A multi-node embedded cluster on a background thread (a context manager).

        with EmbeddedCluster(nodes=3, replication_factor=2, racks=[1, 2, 2]) as cluster:
            client = aerospike_py.client(cluster.config).connect()
            cluster.stop_node(1)     # survivors take over its partitions
            cluster.start_node(1)    # same port and node id; it rejoins
    """

    def __init__(self, nodes: int = 3, replication_factor: int = 2, namespaces: Any = None,
                 host: str = "127.0.0.1", base_port: int = 0, cluster_name: str = "embedded",
                 default_ttl: int = 0, racks: Any = None, security: Any = False, tls: Any = None,
                 tls_name: str | None = None, session_ttl: int = 86400) -> None:
        from .security import make_security, server_tls

        self.clock: Clock = Clock()
        #: The user database shared by every node when ``security`` is on.
        self.security: Security | None = make_security(security, self.clock, session_ttl)
        self._tls = tls
        self._tls_name = tls_name
        self.core: EmbeddedClusterCore = EmbeddedClusterCore(nodes, replication_factor, namespaces, host, base_port, cluster_name,
                                        default_ttl, self.clock, racks, self.security, server_tls(tls), tls_name)
        self.cluster_name = cluster_name
        self._loop: _LoopThread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> EmbeddedCluster:
        """Start every node on one background thread (no-op when started); returns the cluster."""
        if self._loop is None:
            from . import _LoopThread

            self._loop = _LoopThread("aerospike_py-cluster")
            self._loop.call(self.core.start())
        return self

    def stop(self) -> None:
        """Stop every node and end the thread (no-op when stopped)."""
        if self._loop is not None:
            self._loop.call(self.core.stop())
            self._loop.stop()
            self._loop = None

    def __enter__(self) -> EmbeddedCluster:
        """:meth:`start`; the ``with`` block ends with :meth:`stop`."""
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ------------------------------------------------------------------ views

    @property
    def nodes(self) -> list[NodeAddress]:
        """``(host, port, node_id)`` of every node, up or not, in index order."""
        return [NodeAddress(n.host, n.port, n.node_id) for n in self.core.nodes]

    @property
    def config(self) -> dict[str, Any]:
        """A client config listing every node as a seed (TLS and admin/admin when they are on)."""
        from .security import client_config

        return client_config([(n.host, n.port) for n in self.core.nodes], self.security, self._tls, self._tls_name)

    def _running(self) -> _LoopThread:
        assert self._loop is not None, "cluster not started"
        return self._loop

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the cluster's loop thread (safe access to server state)."""
        return self._running().run_sync(fn, *args)

    # ------------------------------------------------------------------ faults and membership

    def stop_node(self, i: int) -> None:
        """Stop node ``i`` as a crash would: its connections close, the survivors rebalance and
        take over its partitions (its data stays with it for :meth:`start_node`)."""
        self._running().call(self.core.stop_node(i))

    def start_node(self, i: int) -> None:
        """Start node ``i`` again on its port, with its node id; it rejoins and the cluster rebalances."""
        self._running().call(self.core.start_node(i))

    def isolate_node(self, i: int) -> None:
        """Cut node ``i`` off the network: the other nodes drop it (and rebalance) and it never
        answers clients again (their requests time out, as with lost packets)."""
        self.call(self.core.isolate_node, i)

    def inject_fault(self, i: int, fault: str, match: Any = None, count: int = 1) -> None:
        """Make node ``i`` fail its next ``count`` matching requests (see :class:`Fault`)."""
        self.call(self.core.nodes[i].inject_fault, fault, match, count)

    # ------------------------------------------------------------------ inspection

    def request_counts(self) -> list[int]:
        """Record commands (single keys and batch entries) each node has received from clients."""
        return self.call(lambda: [sum(n.partition_requests.values()) for n in self.core.nodes])

    def partition_request_counts(self) -> list[Counter[int]]:
        """Per node: record commands received per partition id."""
        return self.call(lambda: [Counter(n.partition_requests) for n in self.core.nodes])

    def reset_counts(self) -> None:
        """Zero every node's request counters (``requests``, ``partition_requests``)."""
        def _reset() -> None:
            for n in self.core.nodes:
                n.partition_requests.clear()
                n.requests = 0
            self.core.proxied.clear()

        self.call(_reset)

    def owners(self, namespace: str, pid: int) -> list[str]:
        """Node ids holding partition ``pid``, master first."""
        return self.call(lambda: [n.node_id for n in self.core.owners[pid]])

    def owner_map(self) -> list[list[str]]:
        """For every partition: the node ids holding it, master first."""
        return self.call(lambda: [[n.node_id for n in owners] for owners in self.core.owners])

    def clear(self) -> None:
        """Delete every record on every node."""

        def _clear() -> None:
            for n in self.core.nodes:
                for ns in n.namespaces.values():
                    ns.clear()

        self.call(_clear)


__all__ = ["EmbeddedCluster", "EmbeddedClusterCore", "NodeAddress"]
