"""Nodes, seeds, peers, the partition map and the tend loop (a daemon thread).

The cluster view is shared by the sync and async executors: tending uses its own blocking
connection per node on a background thread, never the connections that carry commands.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from .._logging import get_logger
from .._wire.info import info_error, pack_info_request, parse_info_response
from .._wire.proto import ProtocolError
from ..exception import (
    AerospikeError,
    ClusterError,
    _error_from_result_code,
    _InvalidArgType,
    _InvalidArgValue,
)
from .auth import Auth, login_sync, relogin_sync
from .connection import Connection, ConnectionClosed, ConnectionTimeout
from .partitions import PartitionTable, parse_replicas
from .tls import tls_context

if TYPE_CHECKING:
    from .async_pool import AsyncPool

log = get_logger(__name__)
_monotonic = time.monotonic


class Node:
    """One server node: its address, name and connection pools (sync deque; async pool set lazily)."""

    def __init__(self, name: str, host: str, port: int, cluster: Cluster) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.address = f"{host}:{port}"
        self.cluster = cluster
        self.tls_name: str | None = None  # the name its TLS certificate must carry
        self.idle: deque[Connection] = deque()
        self.conn_count = 0
        self.lock = threading.Lock()
        self.tend_conn: Connection | None = None
        self.failures = 0
        self.partition_generation = -1
        self.peers_generation = -1
        self.active = True
        self.async_pool: AsyncPool | None = None
        self.features: set[str] = set()
        #: Background drains finished (timeout_delay), for tests and tools.
        self.drains = 0
        self.drain_done = threading.Condition()
        self.peer_names: set[str] = set()  # names of the nodes this node lists as its peers
        self.racks: dict[str, int] = {}  # rack id per namespace (``rack-ids``), when rack aware
        self.rebalance_generation = -1
        # Statistics (client.stats()): command connections opened and closed (sync and async
        # pools), network failures (timeouts apart), retried attempts, commands that waited in line.
        self.conns_created = 0
        self.conns_closed = 0
        self.errors = 0
        self.timeouts = 0
        self.retries = 0
        self.queue_waits = 0

    def __repr__(self) -> str:
        return f"Node({self.name} {self.address})"

    # -- sync pool ----------------------------------------------------------------------

    def get_connection(self, timeout_s: float) -> tuple[Connection, bool]:
        """An idle connection (``True``: it came from the pool) or a new one."""
        idle = self.idle
        idle_timeout = self.cluster.idle_timeout_s
        while idle:
            try:
                conn = idle.pop()
            except IndexError:
                break
            if (idle_timeout and _monotonic() - conn.last_used > idle_timeout) or conn.is_stale():
                self.close_connection(conn)
                continue
            return conn, True
        with self.lock:
            if self.conn_count >= self.cluster.max_conns_per_node:
                from ..exception import ClientError

                raise ClientError(
                    f"no more connections to node {self.name} ({self.address}): "
                    f"max_conns_per_node={self.cluster.max_conns_per_node} in use",
                    code=-7,
                    node=self.name,
                )
            self.conn_count += 1
        try:
            conn = self.cluster.open_connection(self.host, self.port, timeout_s, self.tls_name)
        except BaseException as e:
            with self.lock:
                self.conn_count -= 1
            log.debug("node %s: connection to %s failed: %s", self.name, self.address, e)
            raise
        self.conns_created += 1
        log.debug("node %s: connection %d opened to %s", self.name, self.conn_count, self.address)
        return conn, False

    def put_connection(self, conn: Connection) -> None:
        conn.last_used = _monotonic()
        if self.active:
            self.idle.append(conn)
        else:
            self.close_connection(conn)

    def drain_or_close(self, conn: Connection, delay_ms: int) -> None:
        """After a timed-out request whose reply has not started: give the late reply ``delay_ms``
        to arrive (read and dropped on a background thread), then pool the connection; else close it.
        """
        if delay_ms <= 0 or not self.active or conn.rest:
            self.close_connection(conn)
            return
        threading.Thread(target=self._drain, args=(conn, delay_ms), name="aerospike_py-drain", daemon=True).start()

    def _drain(self, conn: Connection, delay_ms: int) -> None:
        ok = False
        try:
            conn.set_timeout(delay_ms)
            conn.read_frame(_monotonic() + delay_ms / 1000)
            ok = not conn.rest
        except Exception:  # noqa: BLE001 - any failure: the connection is not reusable
            ok = False
        if ok:
            self.put_connection(conn)
        else:
            self.close_connection(conn)
        with self.drain_done:
            self.drains += 1
            self.drain_done.notify_all()

    def close_connection(self, conn: Connection) -> None:
        conn.close()
        with self.lock:
            self.conn_count -= 1
            self.conns_closed += 1
        log.debug("node %s: connection closed (%d open)", self.name, self.conn_count)

    def stats(self) -> dict[str, Any]:
        """This node's connection and failure counters (sync and async pools together)."""
        pool = self.async_pool
        a_open, a_idle = (pool.count, len(pool.idle)) if pool is not None and not pool.closed else (0, 0)
        open_ = self.conn_count + a_open
        idle = len(self.idle) + a_idle
        return {
            "name": self.name,
            "address": self.address,
            "active": self.active,
            "connections": {"open": open_, "in_use": max(0, open_ - idle), "in_pool": idle,
                            "created": self.conns_created, "closed": self.conns_closed},
            "errors": self.errors,
            "timeouts": self.timeouts,
            "retries": self.retries,
            "queue_waits": self.queue_waits,
        }

    def close(self) -> None:
        self.active = False
        while self.idle:
            try:
                self.close_connection(self.idle.pop())
            except IndexError:
                break
        if self.tend_conn is not None:
            self.tend_conn.close()
            self.tend_conn = None
        if self.async_pool is not None:
            self.async_pool.close()

    # -- info on the tend connection --------------------------------------------------------

    def relogin(self, timeout_s: float) -> None:
        """A fresh session token from a LOGIN on the tend connection (opened, and so logged in,
        when there is none)."""
        auth = self.cluster.auth
        if auth is None:
            return
        conn = self.tend_conn
        if conn is None:
            self.tend_conn = self.cluster.open_connection(self.host, self.port, timeout_s, self.tls_name)
            return
        try:
            relogin_sync(auth, conn, self.address, timeout_s)
        except (OSError, ConnectionClosed, ConnectionTimeout, ProtocolError):
            conn.close()  # a dead tend connection: a new one logs in as it opens
            self.tend_conn = None
            self.tend_conn = self.cluster.open_connection(self.host, self.port, timeout_s, self.tls_name)
        except BaseException:
            conn.close()
            self.tend_conn = None
            raise

    def info(self, *commands: str, timeout_s: float = 1.0) -> dict[str, str]:
        """Blocking info request on this node's tend connection. Answered "not authenticated"
        (the node no longer holds the connection's session), it logs in afresh and asks once more."""
        answer = self._info(commands, timeout_s)
        if self.cluster.auth is not None and any(v.startswith("ERROR:80") for v in answer.values()):
            self.cluster.auth.forget(self.address)
            self.relogin(timeout_s)
            answer = self._info(commands, timeout_s)
        return answer

    def _info(self, commands: tuple[str, ...], timeout_s: float) -> dict[str, str]:
        conn = self.tend_conn
        if conn is None:
            conn = self.tend_conn = self.cluster.open_connection(self.host, self.port, timeout_s, self.tls_name)
        conn.set_timeout(max(1, int(timeout_s * 1000)))
        try:
            ptype, body = conn.request(pack_info_request(*commands), _monotonic() + timeout_s)
        except BaseException:
            conn.close()
            self.tend_conn = None
            raise
        return parse_info_response(body, commands)


def parse_peers(value: str, default_port: int = 3000) -> tuple[int, list[tuple[str, list[tuple[str, int]]]]]:
    """``peers-clear-std`` -> ``(generation, [(node_name, [(host, port), ...]), ...])``."""
    gen, peers = parse_peers_tls(value, default_port)
    return gen, [(name, hosts) for name, _, hosts in peers]


def parse_peers_tls(value: str, default_port: int = 3000) -> tuple[int, list[tuple[str, str, list[tuple[str, int]]]]]:
    """``peers-*`` -> ``(generation, [(node_name, tls_name, [(host, port), ...]), ...])``."""
    value = value.strip()
    m = re.match(r"^(\d+),(\d*),\[(.*)\]$", value)
    if not m:
        return -1, []
    gen = int(m.group(1))
    port = int(m.group(2)) if m.group(2) else default_port
    peers = []
    for pm in re.finditer(r"\[([^,\[\]]*),([^,\[\]]*),\[([^\]]*)\]\]", m.group(3)):
        name = pm.group(1)
        hosts = []
        for h in pm.group(3).split(","):
            h = h.strip()
            if not h:
                continue
            if h.startswith("["):  # [ipv6]:port
                addr, _, rest = h[1:].partition("]")
                p = int(rest[1:]) if rest.startswith(":") else port
            elif h.count(":") == 1:
                addr, _, ps = h.partition(":")
                p = int(ps)
            else:
                addr, p = h, port
            hosts.append((addr, p))
        peers.append((name, pm.group(2), hosts))
    return gen, peers


def parse_rack_ids(value: str) -> dict[str, int]:
    """``rack-ids`` -> ``{namespace: rack id}`` (``test:1;bar:1``; malformed items are skipped)."""
    out: dict[str, int] = {}
    for item in value.strip().split(";"):
        ns, sep, rack = item.rpartition(":")
        ns = ns.strip()
        if sep and ns:
            try:
                out[ns] = int(rack)
            except ValueError:
                continue
    return out


def rack_config(config: dict[str, Any]) -> tuple[bool, tuple[int, ...]]:
    """``(rack_aware, rack ids by preference)`` from ``rack_aware``, ``rack_id`` and ``rack_ids``.

    Rack awareness is on when ``rack_aware`` is true, or when it is absent and a rack is given;
    ``rack_aware`` without a rack means rack 0, as in the other Aerospike clients.
    """
    ids = config.get("rack_ids")
    if ids is None:
        rid = config.get("rack_id")
        ids = [] if rid is None else [rid]
    if not isinstance(ids, (list, tuple)) or any(isinstance(r, bool) or not isinstance(r, int) or r < 0
                                                 for r in ids):
        raise _InvalidArgValue(f"config 'rack_id'/'rack_ids' must be ints >= 0, got {ids!r}")
    aware = config.get("rack_aware")
    if aware is not None and not isinstance(aware, bool):
        raise _InvalidArgType(f"config 'rack_aware' must be a bool, got {aware!r}")
    if aware is None:
        aware = bool(ids)
    return aware, (tuple(ids) or (0,)) if aware else ()


def parse_seed(h: Any) -> tuple[str, int, str | None]:
    """A seed as ``(host, port, tls_name)``: a ``(host, port[, tls_name])`` tuple, or a
    ``"host:port"`` / ``"host:tls_name:port"`` string."""
    if isinstance(h, (tuple, list)):
        if len(h) == 3:
            if h[2] is not None and not isinstance(h[2], str):
                raise _InvalidArgValue(f"bad host {h!r}: the TLS name must be a str")
            return h[0], int(h[1]), h[2] or None
    elif isinstance(h, str) and not h.startswith("[") and h.count(":") == 2:
        addr, name, p = h.split(":")
        return addr, int(p), name or None
    return (*parse_host(h), None)


def parse_host(h: Any) -> tuple[str, int]:
    """A seed as ``(host, port)`` from a tuple or a ``"host:port"`` string (port 3000 by default)."""
    if isinstance(h, (tuple, list)):
        if len(h) < 1 or not isinstance(h[0], str):
            raise _InvalidArgValue(f"bad host {h!r}")
        port = int(h[1]) if len(h) > 1 else 3000
        return h[0], port
    if isinstance(h, str):
        if h.startswith("["):
            addr, _, rest = h[1:].partition("]")
            return addr, int(rest[1:]) if rest.startswith(":") else 3000
        if h.count(":") == 1:
            addr, _, p = h.partition(":")
            return addr, int(p)
        return h, 3000
    raise _InvalidArgValue(f"bad host {h!r}")


class _NodeRenamed(ClusterError):
    """A node's address now answers with another node name (the node was replaced)."""


class _TendWork:
    """What one tend's node poll found: peers announced, nodes whose partition maps or racks
    changed."""

    __slots__ = ("new_peers", "refresh", "rack_refresh")

    def __init__(self) -> None:
        self.new_peers: list[tuple[str, str, list[tuple[str, int]]]] = []
        self.refresh: list[Node] = []
        self.rack_refresh: list[Node] = []


class Cluster:
    """The client's view of the cluster: nodes by name, partition tables, tending."""

    def __init__(self, config: dict[str, Any]) -> None:
        hosts = config.get("hosts")
        if not hosts or not isinstance(hosts, (list, tuple)):
            raise _InvalidArgValue("config 'hosts' must be a non-empty list of (host, port)")
        seeds = [parse_seed(h) for h in hosts]
        self.seeds = [(h, p) for h, p, _ in seeds]
        self.seed_tls_names = {(h, p): n for h, p, n in seeds if n}
        self.cluster_name = config.get("cluster_name") or None
        self.connect_timeout_s = config.get("timeout", 1000) / 1000
        idle = config.get("idle_timeout", 55000)
        self.idle_timeout_s = (idle / 1000) if idle else 0
        self.max_conns_per_node = int(config.get("max_conns_per_node", 100))
        self.queue_timeout_ms = int(config.get("operation_queue_timeout_ms", 0) or 0)
        self.min_conns_per_node = int(config.get("min_conns_per_node", 0))
        self.tend_interval_s = max(0.01, config.get("tend_interval", 1000) / 1000)
        self.use_alternate = bool(config.get("use_services_alternate", False))
        self.tls = config.get("_tls_context") or tls_context(config.get("tls"))
        self.tls_name = config.get("_tls_name")
        self.auth: Auth | None = Auth.from_config(config)
        self.rack_aware, self.rack_ids = rack_config(config)
        #: Why each seed failed on the last attempt to (re)connect through the seeds.
        self.seed_errors: list[str] = []
        #: A server's own refusal (e.g. a login refused) met while seeding.
        self.seed_refusal: AerospikeError | None = None
        self.nodes: dict[str, Node] = {}
        self.node_list: list[Node] = []
        self.tables: dict[str, PartitionTable] = {}
        self.fail_limit = 5
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tend_lock = threading.Lock()
        self.tend_count = 0
        self.tend_event = threading.Condition()

    # ------------------------------------------------------------------ connections

    def open_connection(self, host: str, port: int, timeout_s: float, tls_name: str | None = None) -> Connection:
        """A new connection, TLS-wrapped when configured, and authenticated when the client logs in."""
        timeout_s = timeout_s or self.connect_timeout_s
        conn = Connection.open(host, port, timeout_s, self.tls, tls_name or self.tls_name)
        if self.auth is not None:
            try:
                login_sync(self.auth, conn, conn.address, timeout_s)
            except BaseException:
                conn.close()
                raise
        return conn

    # ------------------------------------------------------------------ lifecycle

    def connect(self) -> None:
        """Find the nodes behind the seeds and load the partition map; start tending."""
        self._seed()
        if not self.nodes:
            if self.seed_refusal is not None:
                raise self.seed_refusal  # the servers refused the login: say so, not "no seed"
            raise ClusterError("could not connect to any seed: " + "; ".join(self.seed_errors), code=-11)
        self.tend()
        self._warm()
        self._thread = threading.Thread(target=self._tend_loop, name="aerospike_py-tend", daemon=True)
        self._thread.start()
        log.debug("connected: %d node(s) %s", len(self.node_list), [n.name for n in self.node_list])

    def stats(self) -> dict[str, Any]:
        """Cluster statistics: tend cycles and each node's :meth:`Node.stats`."""
        return {"cluster_name": self.cluster_name, "tend_count": self.tend_count,
                "nodes": [n.stats() for n in list(self.node_list)]}

    def _seed(self) -> None:
        """Probe every seed, adding the nodes that answer; failures go to :attr:`seed_errors`."""
        errors = []
        self.seed_refusal = None
        for host, port in self.seeds:
            try:
                self._add_seed(host, port)
            except AerospikeError as e:
                log.debug("seed %s:%d failed: %s", host, port, e)
                if not isinstance(e, ClusterError) and self.seed_refusal is None:
                    self.seed_refusal = e
                errors.append(f"{host}:{port}: {e or type(e).__name__}")
            except Exception as e:  # noqa: BLE001 - every seed failure is reported together
                log.debug("seed %s:%d failed: %s", host, port, e)
                errors.append(f"{host}:{port}: {e or type(e).__name__}")
        self.seed_errors = errors

    def _warm(self) -> None:
        for node in self.node_list:
            self._warm_node(node)

    def _warm_node(self, node: Node) -> None:
        """Open connections to ``node`` until its pool holds ``min_conns_per_node``."""
        while node.conn_count < self.min_conns_per_node:
            with node.lock:  # a new connection each time (get_connection would reuse the idle one)
                node.conn_count += 1
            try:
                conn = self.open_connection(node.host, node.port, self.connect_timeout_s, node.tls_name)
            except BaseException:
                with node.lock:
                    node.conn_count -= 1
                raise
            node.conns_created += 1
            node.put_connection(conn)

    def close(self) -> None:
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=5)
        self._thread = None
        for node in list(self.node_list):
            node.close()
        self.nodes = {}
        self.node_list = []

    # ------------------------------------------------------------------ discovery

    def _probe(self, host: str, port: int, tls_name: str | None = None) -> tuple[Node, dict[str, str]]:
        node = Node("", host, port, self)
        node.tls_name = tls_name or self.seed_tls_names.get((host, port))
        try:
            info = node.info("node", "features", "cluster-name", "partition-generation",
                             timeout_s=self.connect_timeout_s)
        except BaseException:
            node.close()
            raise
        name = info.get("node", "")
        err = info_error(name) if name else None
        if err is not None and err[0] == 80:
            node.close()
            raise _error_from_result_code(80, f"{host}:{port} requires authentication: set config 'user' and "
                                             "'password' (or auth_mode AUTH_PKI)")
        if not name or err:
            node.close()
            raise ClusterError(f"{host}:{port} did not report a node name", code=-11)
        cname = info.get("cluster-name", "")
        if self.cluster_name and cname != self.cluster_name:
            node.close()
            raise ClusterError(
                f"node {name} at {host}:{port} belongs to cluster {cname!r}, expected {self.cluster_name!r}",
                code=-11,
            )
        node.name = name
        node.features = set(info.get("features", "").split(";"))
        return node, info

    def _add_seed(self, host: str, port: int) -> None:
        node, _ = self._probe(host, port)
        if node.name in self.nodes:
            node.close()
            return
        self._add_node(node)

    def _add_node(self, node: Node) -> None:
        self.nodes[node.name] = node
        self.node_list = list(self.nodes.values())
        log.debug("node %s added at %s", node.name, node.address)

    def _remove_node(self, node: Node) -> None:
        self.nodes.pop(node.name, None)
        self.node_list = list(self.nodes.values())
        for table in self.tables.values():
            table.remove_node(node)
        node.close()
        log.info("node %s (%s) removed", node.name, node.address)

    def _peers_command(self) -> str:
        if self.tls is not None:
            return "peers-tls-alt" if self.use_alternate else "peers-tls-std"
        return "peers-clear-alt" if self.use_alternate else "peers-clear-std"

    # ------------------------------------------------------------------ tending

    def tend(self) -> None:
        """One tend cycle: node health, peers, partition maps."""
        with self._tend_lock:
            self._tend_once()
        with self.tend_event:
            self.tend_count += 1
            self.tend_event.notify_all()

    def _tend_once(self) -> None:
        """One tend, in phases (as the Go client's tender): poll every node, drop the failed ones,
        add the peers they announce, read the partition maps and racks that changed, reseed."""
        work = _TendWork()
        self._poll_nodes(work)
        self._drop_failed_nodes()
        self._add_peers(work)
        self._refresh_partitions(work.refresh)
        for node in work.rack_refresh:
            self._refresh_racks(node)
        if not self.nodes:
            self._reseed()

    def _poll_nodes(self, work: _TendWork) -> None:
        """Ask each node for its name and generations; note what changed in ``work``."""
        peers_cmd = self._peers_command()
        commands: tuple[str, ...] = ("node", "peers-generation", "partition-generation")
        if self.rack_aware:
            commands += ("rebalance-generation",)
        for node in list(self.node_list):
            try:
                if self.auth is not None and self.auth.expiring(node.address):
                    node.relogin(self.connect_timeout_s)  # a fresh token before this one expires
                info = node.info(*commands, timeout_s=self.connect_timeout_s)
                if info.get("node") != node.name:
                    raise _NodeRenamed(f"node at {node.address} now reports name {info.get('node')!r}")
                node.failures = 0
                pg = int(info.get("peers-generation", "-1") or -1)
                if pg != node.peers_generation:
                    pinfo = node.info(peers_cmd, timeout_s=self.connect_timeout_s)
                    _, peers = parse_peers_tls(pinfo.get(peers_cmd, ""))
                    work.new_peers.extend(peers)
                    node.peer_names = {name for name, _, _ in peers}
                    node.peers_generation = pg
                gen = int(info.get("partition-generation", "-1") or -1)
                if gen != node.partition_generation:
                    log.debug("tend: node %s partition generation %d -> %d", node.name, node.partition_generation, gen)
                    work.refresh.append(node)
                    node.partition_generation = gen
                if self.rack_aware and info.get("rebalance-generation") != str(node.rebalance_generation):
                    work.rack_refresh.append(node)
            except (OSError, ConnectionClosed, ConnectionTimeout, AerospikeError, ValueError) as e:
                node.failures += 1
                log.debug("tend of node %s failed (%d): %s", node.name, node.failures, e)
                if isinstance(e, _NodeRenamed):
                    node.failures = self.fail_limit

    def _drop_failed_nodes(self) -> None:
        """A failing node is dropped at once when no answering node lists it as a peer any more
        (the cluster has excluded it), else after ``fail_limit`` consecutive failed tends."""
        answering = [n for n in self.node_list if not n.failures]
        referenced = set().union(*(n.peer_names for n in answering))
        for node in list(self.node_list):
            if node.failures and (node.failures >= self.fail_limit
                                  or (answering and node.name not in referenced)):
                self._remove_node(node)

    def _add_peers(self, work: _TendWork) -> None:
        """Connect to the announced peers not known yet (first reachable address each)."""
        for name, tls_name, hosts in work.new_peers:
            if name in self.nodes:
                continue
            for host, port in hosts:
                try:
                    node, _ = self._probe(host, port, tls_name or None)
                except Exception as e:  # noqa: BLE001
                    log.debug("peer %s at %s:%d unreachable: %s", name, host, port, e)
                    continue
                if node.name in self.nodes:
                    node.close()
                else:
                    self._add_node(node)
                    work.refresh.append(node)
                    node.partition_generation = -1
                    if self.rack_aware:
                        work.rack_refresh.append(node)
                    try:
                        self._warm_node(node)
                    except Exception as e:  # noqa: BLE001 - commands open connections on demand
                        log.debug("warming node %s failed: %s", node.name, e)
                break

    def _refresh_partitions(self, nodes: list[Node]) -> None:
        """Read the partition maps (``replicas``) of ``nodes`` into the tables."""
        for node in nodes:
            try:
                info = node.info("replicas", "partition-generation", timeout_s=self.connect_timeout_s)
            except (OSError, ConnectionClosed, ConnectionTimeout) as e:
                node.partition_generation = -1
                log.debug("replicas of node %s failed: %s", node.name, e)
                continue
            try:
                node.partition_generation = int(info.get("partition-generation", "-1"))
            except ValueError:
                node.partition_generation = -1
            for ns, (regime, bitmaps) in parse_replicas(info.get("replicas", "")).items():
                table = self.tables.get(ns)
                if table is None:
                    table = self.tables[ns] = PartitionTable(ns, len(bitmaps))
                if regime < table.regime:
                    continue
                table.update(node, regime, bitmaps)

    def _reseed(self) -> None:
        """Every node is gone: start again from the seeds, reading everything afresh."""
        self._seed()
        for n in self.node_list:
            n.partition_generation = -1
            n.peers_generation = -1
            n.rebalance_generation = -1

    def _refresh_racks(self, node: Node) -> None:
        """Read ``node``'s rack per namespace (``rack-ids``, with the ``rebalance-generation`` it
        belongs to); on failure the racks are read again on the next tend."""
        try:
            info = node.info("rebalance-generation", "rack-ids", timeout_s=self.connect_timeout_s)
            gen = int(info.get("rebalance-generation", "-1"))
        except (OSError, ConnectionClosed, ConnectionTimeout, ValueError) as e:
            node.rebalance_generation = -1
            log.debug("rack-ids of node %s failed: %s", node.name, e)
            return
        value = info.get("rack-ids", "")
        node.racks = {} if info_error(value) else parse_rack_ids(value)
        node.rebalance_generation = gen

    def _tend_loop(self) -> None:
        while not self._stop.wait(self.tend_interval_s):
            try:
                self.tend()
            except Exception:  # noqa: BLE001 - the tend thread must survive anything
                log.exception("tend cycle failed")

    def wait_tends(self, n: int, timeout: float = 10.0) -> bool:
        """Block until ``n`` more tend cycles have completed (for tests and tools)."""
        with self.tend_event:
            target = self.tend_count + n
            return self.tend_event.wait_for(lambda: self.tend_count >= target, timeout)

    # ------------------------------------------------------------------ routing

    def node_for(self, namespace: str, pid: int, is_write: bool, replica: int, attempt: int) -> Node:
        """The node to send a keyed command to on this attempt."""
        table = self.tables.get(namespace)
        if table is not None:
            reps = table.replicas
            n = len(reps)
            # Writes and MASTER: the master, another holder only when the map has no live master
            # (the server proxies). SEQUENCE (and PREFER_RACK when not rack aware): each retry of
            # a read moves one replica further.
            if replica == 2 and self.rack_aware and not is_write:
                ids = self.rack_ids
                if attempt == 0 and len(ids) == 1:  # the common case, without building lists
                    rid = ids[0]
                    for arr in reps:
                        node = arr[pid]
                        if node is not None and node.active and node.racks.get(namespace) == rid:
                            return node
                node = self._rack_node(namespace, [arr[pid] for arr in reps], attempt)
                if node is not None:
                    return node
            start = 0 if is_write or replica == 0 else attempt % n
            for i in range(n):
                node = reps[(start + i) % n][pid]
                if node is not None and node.active:
                    return node
        return self.random_node()

    def _rack_node(self, namespace: str, holders: list[Node | None], attempt: int) -> Node | None:
        """PREFER_RACK: the live holders on the client's racks first (in the order of
        ``rack_ids``, then replica order), then the others in replica order; each retry moves one
        further along that order."""
        live = [n for n in holders if n is not None and n.active]
        if not live:
            return None
        ids = self.rack_ids
        local = sorted((n for n in live if n.racks.get(namespace, -1) in ids),
                       key=lambda n: ids.index(n.racks[namespace]))
        if local:
            live = local + [n for n in live if n not in local]
        return live[attempt % len(live)]

    def random_node(self) -> Node:
        nodes = self.node_list
        if not nodes:
            tried = "; ".join(self.seed_errors) or ", ".join(f"{h}:{p}" for h, p in self.seeds)
            raise ClusterError(f"no nodes available in the cluster; seeds tried: {tried}", code=-11)
        return nodes[0] if len(nodes) == 1 else random.choice(nodes)
