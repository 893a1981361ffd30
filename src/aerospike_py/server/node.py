"""One embedded server node: an asyncio TCP server speaking the Aerospike protocol."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from .._wire.admin import pack_admin
from .._wire.constants import N_PARTITIONS, PROTO_TYPE_ADMIN, PROTO_TYPE_INFO, PROTO_TYPE_MESSAGE
from .._wire.info import pack_info_response
from .._wire.proto import PROTO_HEADER, ProtocolError, check_proto_header
from . import errors as E
from .handler import Frames, handle_message, reply
from .info import _ALL_BITMAP, answer
from .query import Paced
from .security import info_frames
from .storage import Clock, Namespace

if TYPE_CHECKING:
    from .cluster import EmbeddedClusterCore

log: logging.Logger = logging.getLogger("aerospike_py.server")

class Fault:
    """What the server does instead of answering normally (fault injection for tests)."""

    DROP = "drop"  # close the connection without answering
    HALF = "half"  # send part of the answer, then close
    GARBAGE = "garbage"  # answer with bytes that are not a frame
    STALL = "stall"  # never answer (the connection stays open)
    BAD_VERSION = "bad_version"  # a frame with a wrong proto version
    DELAY = "delay:"  # "delay:<ms>": answer correctly, but only after <ms> milliseconds
    TRICKLE = "trickle:"  # "trickle:<ms>": answer correctly, one byte every <ms> milliseconds
    HALF_CLOSE = "half_close"  # shut the sending side (the client reads end-of-stream), no answer
    ANSWER = "answer:"  # "answer:<code>": run the request, but answer result code <code> (no bins)


_unpack_proto = PROTO_HEADER.unpack_from
_SIZE_MASK = (1 << 48) - 1
_MAX_BODY = 128 * 1024 * 1024
#: The top 16 bits (version, type) of valid proto headers.
_GOOD_HEADS = frozenset((2 << 8) | t for t in (1, 2, 3, 4))
#: Receive buffer of a connection (grown for a larger frame, shrunk back once it is handled).
_BUF_SIZE = 64 * 1024
#: Work a reply made as it is written may do before the loop serves others (seconds).
_SLICE_S = 0.005
SECURITY_NOT_SUPPORTED = 51


class _Connection(asyncio.BufferedProtocol):
    """One client connection. Bytes are received into a buffer the connection keeps (no allocation
    per read); every whole frame in it is handled, an incomplete one waits for more bytes.

    No connection holds the loop or the memory for the others, as on a real server: while the
    client does not read its replies (the transport's buffer is over its high-water mark), its
    requests are neither read nor handled; a reply made as it is written (an iterator of frames,
    a big scan) is written a slice at a time, yielding to the loop between slices, and the
    connection's next request waits for it."""

    #: Set by ``connection_made``, before any other callback.
    transport: asyncio.Transport

    def __init__(self, node: ServerNode) -> None:
        self.node = node
        self.buf = bytearray(_BUF_SIZE)
        self.view = memoryview(self.buf)
        self.start = 0  # first byte of ``buf`` not handled yet
        self.have = 0  # bytes received into ``buf``
        self.need = 8  # size of the incomplete frame at ``start`` (8: its header is incomplete)
        self.stalled = False
        self.user: str | None = None  # the authenticated user (security on)
        self.revocation = 0  # Security.revocations of the user when it authenticated
        self.session_expires = 0.0  # server time its session ends (then it answers 80)
        self.rps_hold: Any = None  # the quota reservation of the scan being admitted (security)
        self.pending: set[Callable[[], None]] = set()  # on_sent of paced replies still being written
        self.blocked = False  # the client is not reading its replies (pause_writing)
        self.streaming: Iterator[bytes] | None = None  # a reply being made as it is written
        self.reading = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream server's transports are Transports
        self.node.connections.add(self)
        self.node.client_connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.node.connections.discard(self)
        self.node.client_connections -= 1
        for done in list(self.pending):  # a scan cut off ends too
            self._finish(done)

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.have >= len(self.buf):
            self._make_room()
        return self.view[self.have :]

    def _make_room(self) -> None:
        """Move the incomplete frame to the front of the buffer, growing it if the frame needs more."""
        pending = bytes(self.view[self.start : self.have])
        if self.need > len(self.buf) or len(pending) >= len(self.buf):
            # Grow towards the frame's size as its bytes arrive (doubling), never to what its
            # header merely announces: eight headers announcing 128 MiB cost nothing.
            size = min(self.need, max(2 * len(self.buf), len(pending) + _BUF_SIZE))
            self.buf = bytearray(max(size, len(pending) + _BUF_SIZE))
            self.view = memoryview(self.buf)
        self.buf[: len(pending)] = pending
        self.start, self.have = 0, len(pending)

    def pause_writing(self) -> None:
        self.blocked = True
        self._update_reading()

    def resume_writing(self) -> None:
        self.blocked = False
        if self.streaming is not None:
            self._pump()
        else:
            self._update_reading()
            self.buffer_updated(0)  # requests read before the pause

    def _update_reading(self) -> None:
        """Read from the socket only while requests can be handled (backpressure)."""
        want = not self.blocked and self.streaming is None
        t = self.transport
        if want != self.reading and t is not None and not t.is_closing():
            self.reading = want
            t.resume_reading() if want else t.pause_reading()

    def _pump(self) -> None:
        """Write the next slice of the reply being made: up to the transport's high-water mark or
        :data:`_SLICE_S` of work, then yield to the loop (or wait for the client to read)."""
        t = self.transport
        frames = self.streaming
        if frames is None:
            return
        if t is None or t.is_closing():
            self.streaming = None
            return
        until = time.monotonic() + _SLICE_S
        try:
            for frame in frames:
                t.write(frame)
                if self.blocked:
                    return  # resume_writing pumps again
                if time.monotonic() >= until:
                    asyncio.get_running_loop().call_soon(self._pump)
                    return
        except Exception as e:  # noqa: BLE001 - a failing reply must not kill the server
            log.debug("closing connection: reply failed: %r", e, exc_info=True)
            self.streaming = None
            t.close()
            return
        self.streaming = None
        self._update_reading()
        self.buffer_updated(0)  # requests that arrived meanwhile

    def buffer_updated(self, nbytes: int) -> None:
        if self.stalled:
            self.start = self.have = 0
            return
        have = self.have = self.have + nbytes
        buf, view = self.buf, self.view
        pos = self.start
        while have - pos >= 8:
            if self.blocked or self.streaming is not None:
                self.need = 8
                return  # handled once the client reads / the reply is written
            (v,) = _unpack_proto(buf, pos)
            length = v & _SIZE_MASK
            if (v >> 48) not in _GOOD_HEADS or length > _MAX_BODY:
                try:
                    check_proto_header(bytes(view[pos : pos + 8]), max_body=_MAX_BODY)
                except ProtocolError as e:
                    log.debug("closing connection: %s", e)
                self.transport.close()
                return
            end = pos + 8 + length
            if end > have:
                self.need = end - pos
                break
            body = bytes(view[pos + 8 : end])
            pos = self.start = end
            if not self._handle((v >> 48) & 0xFF, body):
                return
        else:
            self.need = 8
        if pos == have:
            self.start = self.have = 0
            if len(buf) > _BUF_SIZE:
                self.buf = bytearray(_BUF_SIZE)
                self.view = memoryview(self.buf)
        elif pos + self.need > len(buf):
            self._make_room()

    def _handle(self, ptype: int, body: bytes) -> bool:
        node = self.node
        if node._faults:
            fault = node.take_fault(ptype, body)
            if fault is not None:
                return self._apply_fault(fault, ptype, body)
        frames = node.process(ptype, body, self)
        if not isinstance(frames, list):  # made as it is written
            self.streaming = iter(frames)
            self._update_reading()
            asyncio.get_running_loop().call_soon(self._pump)  # (not from inside buffer_updated)
            return True
        if frames:
            interval = getattr(frames, "interval", 0.0)
            if interval:  # paced (a query's records_per_second): frames go out one by one
                self.transport.write(frames[0])
                later = asyncio.get_running_loop().call_later
                last = len(frames) - 1
                for i, frame in enumerate(frames[1:last], 1):
                    later(i * interval, self._late_write, frame)
                done: Callable[[], None] | None = getattr(frames, "on_sent", None)
                if done is not None:
                    self.pending.add(done)
                later(last * interval, self._late_write, frames[last], done)
                return True
            self.transport.write(frames[0]) if len(frames) == 1 else self.transport.writelines(frames)
        return True

    def _late_write(self, data: bytes, done: Callable[[], None] | None = None) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
        if done is not None:
            self._finish(done)

    def _finish(self, done: Callable[[], None]) -> None:
        if done in self.pending:
            self.pending.discard(done)
            done()

    @staticmethod
    def _sent(frames: Frames) -> list[bytes]:
        """Frames written at once (faults): a streamed reply is made now, a paced reply's
        ``on_sent`` is due now."""
        done = getattr(frames, "on_sent", None)
        made = frames if isinstance(frames, list) else list(frames)
        if done is not None:
            done()
        return made

    def _trickle(self, data: bytes, every_s: float) -> None:
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data[:1])
            asyncio.get_running_loop().call_later(every_s, self._trickle, data[1:], every_s)

    def _apply_fault(self, fault: str, ptype: int, body: bytes) -> bool:
        t = self.transport
        if fault == Fault.DROP:
            t.close()
            return False
        if fault == Fault.STALL:
            self.stalled = True
            return False
        if fault == Fault.GARBAGE:
            t.write(b"\x07\x09garbage-that-is-not-a-frame\x00\x01")
            return True
        if fault == Fault.BAD_VERSION:
            t.write(PROTO_HEADER.pack((9 << 56) | (3 << 48) | 22) + b"\x00" * 22)
            return True
        if fault.startswith(Fault.DELAY):
            data = b"".join(self._sent(self.node.process(ptype, body, self)))
            asyncio.get_running_loop().call_later(int(fault[len(Fault.DELAY):]) / 1000, self._late_write, data)
            return True
        if fault.startswith(Fault.TRICKLE):
            data = b"".join(self._sent(self.node.process(ptype, body, self)))
            self._trickle(data, int(fault[len(Fault.TRICKLE):]) / 1000)
            return True
        if fault.startswith(Fault.ANSWER):
            self._sent(self.node.process(ptype, body, self))
            t.write(reply(int(fault[len(Fault.ANSWER):])))
            return True
        if fault == Fault.HALF_CLOSE:
            if t.can_write_eof():
                t.write_eof()
            self.stalled = True
            return False
        if fault == Fault.HALF:
            data = b"".join(self._sent(self.node.process(ptype, body, self)))
            t.write(data[: max(1, len(data) // 2)])
            t.close()
            return False
        raise ValueError(f"unknown fault {fault!r}")


class ServerNode:
    """State and behaviour of one node. Runs inside an asyncio loop (see :class:`EmbeddedServer`)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        namespaces: dict[str, Namespace] | list[str] | None = None,
        node_id: str | None = None,
        cluster_name: str = "embedded",
        clock: Clock | None = None,
        security: Any = None,
        tls: ssl.SSLContext | None = None,
        tls_name: str | None = None,
    ) -> None:
        from .registry import install  # (it imports the handler modules, which import this one)

        install()
        self.host: str = host
        self.port: int = port
        if namespaces is None:
            namespaces = ["test", "bar"]
        if isinstance(namespaces, (list, tuple)):
            namespaces = {n: Namespace(n) for n in namespaces}
        self.namespaces: dict[str, Namespace] = dict(namespaces)
        self.node_id: str = node_id or ""
        self.cluster_name = cluster_name
        self.clock: Clock = clock or Clock()
        self.partition_generation = 1
        self.peers_generation = 1
        self.client_connections = 0
        self.requests: int = 0
        self.partition_requests: Counter[int] = Counter()
        self.connections: set[_Connection] = set()
        self.started: float = time.monotonic()
        self.cluster: EmbeddedClusterCore | None = None  # set when part of an EmbeddedCluster
        self._faults: list[tuple[Callable[[int, bytes], bool], str, int]] = []
        self._server: asyncio.base_events.Server | None = None
        #: Registered UDF modules by file name (``server.udf.UdfModule``).
        self.udfs: dict[str, Any] = {}
        #: A :class:`~aerospike_py.server.security.Security` when security is on.
        self.security = security
        #: Server-side SSL context: the listener speaks TLS only (``tls_name``: the certificate's name).
        self.tls = tls
        self.tls_name = tls_name
        self.current_conn: Any = None  # the connection whose request is being handled
        self.extensions: dict[str, Any] = {}

    # ------------------------------------------------------------------ network

    async def start(self) -> None:
        """Listen on ``host:port`` (port 0: a free one, then in ``port``); name the node if unnamed."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), self.host, self.port, reuse_address=True,
                                                ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        if not self.node_id:
            self.node_id = f"BB9{self.port:05X}{id(self) & 0xFFFFFF:06X}"[:15].upper()

    async def stop(self) -> None:
        """Stop listening and drop every client connection."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for c in list(self.connections):
            if c.transport is not None:
                c.transport.abort()
        self.connections.clear()

    def close_client_connections(self) -> None:
        """Drop every client connection (the listener stays): clients see their connections reset."""
        for c in list(self.connections):
            if c.transport is not None:
                c.transport.abort()

    # ------------------------------------------------------------------ faults

    def inject_fault(self, fault: str, match: Callable[[int, bytes], bool] | None = None, count: int = 1) -> None:
        """Apply ``fault`` to the next ``count`` requests (that ``match(proto_type, body)``)."""
        self._faults.append((match or (lambda t, b: t == PROTO_TYPE_MESSAGE), fault, count))

    def clear_faults(self) -> None:
        """Forget the faults not yet applied."""
        self._faults.clear()

    def take_fault(self, ptype: int, body: bytes) -> str | None:
        """The fault to apply to this request (counted down), or None."""
        if not self._faults:
            return None
        for i, (match, fault, count) in enumerate(self._faults):
            if match(ptype, body):
                if count <= 1:
                    del self._faults[i]
                else:
                    self._faults[i] = (match, fault, count - 1)
                return fault
        return None

    # ------------------------------------------------------------------ requests

    def process(self, ptype: int, body: bytes, conn: Any) -> Frames:
        """The reply frames of one request of proto type ``ptype`` on ``conn`` (messages, info, admin)."""
        self.requests += 1
        sec = self.security
        if ptype == PROTO_TYPE_MESSAGE:
            if sec is not None:
                try:
                    code = sec.check_message(conn, body)
                except Exception as e:  # noqa: BLE001 - a malformed request is a parameter error
                    log.debug("bad request: %r", e, exc_info=True)
                    code = E.PARAMETER
                if code:
                    return [reply(code, info3=1)]
            self.current_conn = conn
            try:
                frames = handle_message(self, body)
            except Exception as e:  # noqa: BLE001 - a bad request must not kill the server
                log.debug("bad request: %r", e, exc_info=True)
                frames = [reply(E.PARAMETER, info3=1)]
            hold = getattr(conn, "rps_hold", None)
            if hold is not None:  # an admitted scan/query: its rate is reserved while it runs
                conn.rps_hold = None
                release = partial(sec.release, hold)
                if isinstance(frames, Paced):
                    frames.on_sent = release
                else:
                    release()
            return frames
        if ptype == PROTO_TYPE_INFO:
            commands = [c for c in body.decode(errors="replace").split("\n") if c]
            if not commands:
                commands = ["node", "build", "edition", "version"]
            if sec is not None:
                return [info_frames(sec, conn, commands, lambda c: answer(self, c))]
            return [pack_info_response([(c, answer(self, c)) for c in commands])]
        if ptype == PROTO_TYPE_ADMIN:
            if sec is not None:
                answer_frames: list[bytes] = sec.handle_admin(self, conn, body)
                return answer_frames
            return [pack_admin(0, (), SECURITY_NOT_SUPPORTED)]  # as Community Edition answers
        if ptype == 4:
            # CE rejects compressed requests (observed: result 25), without inflating them.
            return [reply(E.ENTERPRISE_ONLY)]
        return []

    def count_request(self, pid: int) -> None:
        """Count a request for partition ``pid`` (per-partition statistics)."""
        self.partition_requests[pid] += 1

    def on_write(self, ns: Namespace, digest: bytes, record: Any) -> None:
        """Called after every committed write/delete (replication hook for clusters)."""
        if self.cluster is not None:
            self.cluster.replicate(self, ns.name, digest, record)

    def truncate(self, namespace: str, set_name: str | None, before_ns: int) -> None:
        """Truncate a set (or the namespace) before ``before_ns``, on every node of the cluster."""
        if self.cluster is not None:
            self.cluster.truncate(namespace, set_name, before_ns)
        else:
            self.namespaces[namespace].truncate(set_name, before_ns)

    # ------------------------------------------------------------------ cluster view

    def peers(self) -> list[ServerNode]:
        """The other nodes of this node's cluster (none when alone)."""
        return self.cluster.peers_of(self) if self.cluster is not None else []

    def cluster_size(self) -> int:
        """How many nodes the cluster has, this one included."""
        return 1 + len(self.peers())

    def replica_bitmaps(self, namespace: str) -> list[str]:
        """Per replica, the base64 bitmap of the partitions this node holds (the ``replicas`` info answer)."""
        if self.cluster is not None:
            return self.cluster.replica_bitmaps(self, namespace)
        return [_ALL_BITMAP]

    def uptime(self) -> int:
        """Seconds since the node was made."""
        return int(time.monotonic() - self.started)


assert N_PARTITIONS == 4096
