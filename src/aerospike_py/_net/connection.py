"""A blocking socket connection that sends a request and reads whole frames.

Timeouts are applied with ``SO_RCVTIMEO``/``SO_SNDTIMEO`` on a blocking socket where the platform
has them, so a request costs one ``send`` and (usually) one ``recv`` system call: no ``poll``.
"""

from __future__ import annotations

import select
import socket
import struct
import sys
import time
from typing import TYPE_CHECKING

from .._wire.proto import ProtocolError, check_proto_header, decompress_body

if TYPE_CHECKING:
    import ssl

_RECV_SIZE = 1 << 16
#: The largest reply frame accepted (as the C client: 128 MiB); a larger header is a protocol error.
MAX_REPLY_BODY = 128 * 1024 * 1024
_unpack_q = struct.Struct(">Q").unpack_from
_HAS_SO_TIMEO = sys.platform.startswith(("linux", "darwin", "freebsd"))
_TIMEVAL = struct.Struct("@ll")
_monotonic = time.monotonic


class ConnectionTimeout(Exception):
    """A socket operation ran out of time."""


class QueueTimeout(ConnectionTimeout):
    """No pooled connection became free in time (the wait in line, not a socket operation)."""


class ConnectionClosed(Exception):
    """The peer closed the connection."""


def open_socket(host: str, port: int, timeout_s: float, tls: ssl.SSLContext | None = None,
                tls_name: str | None = None) -> socket.socket:
    """Connect a TCP socket (TCP_NODELAY), optionally wrapped in TLS."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
    except TimeoutError:
        raise ConnectionTimeout(f"connect to {host}:{port} timed out") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls is not None:
        sock = tls.wrap_socket(sock, server_hostname=tls_name or host)
    return sock


class Connection:
    """One socket to one node, with a small read buffer for frames that arrive together."""

    __slots__ = ("sock", "rest", "timeout_ms", "last_used", "native_timeo", "address", "poller")

    def __init__(self, sock: socket.socket, address: str = "") -> None:
        self.sock = sock
        self.rest = b""
        self.timeout_ms = -1
        self.last_used = _monotonic()
        self.address = address
        ssl = sys.modules.get("ssl")  # imported when TLS is configured: no TLS socket without it
        self.native_timeo = _HAS_SO_TIMEO and (ssl is None or not isinstance(sock, ssl.SSLSocket))
        if self.native_timeo:
            sock.settimeout(None)
        self.poller = None
        if hasattr(select, "poll"):
            self.poller = select.poll()
            self.poller.register(sock.fileno(), select.POLLIN)

    @classmethod
    def open(cls, host: str, port: int, timeout_s: float, tls: ssl.SSLContext | None = None,
             tls_name: str | None = None) -> Connection:
        return cls(open_socket(host, port, timeout_s, tls, tls_name), f"{host}:{port}")

    def is_stale(self) -> bool:
        """Whether an idle pooled connection is unusable (closed or reset by the peer, or holding
        unexpected bytes): one non-blocking poll, as a healthy idle connection has nothing to read.

        Checked before reuse, so that a connection the server closed while idle is replaced
        without re-sending a request that may already have been applied.
        """
        if self.rest:
            return True
        try:
            if self.poller is not None:
                return bool(self.poller.poll(0))
            return bool(select.select([self.sock], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    def set_timeout(self, ms: int) -> None:
        """Bound each send/recv to ``ms`` milliseconds (0: no bound)."""
        if ms == self.timeout_ms:
            return
        self.timeout_ms = ms
        if self.native_timeo:
            tv = _TIMEVAL.pack(ms // 1000, (ms % 1000) * 1000)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
        else:
            self.sock.settimeout(ms / 1000 if ms else None)

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (BlockingIOError, TimeoutError):
            raise ConnectionTimeout("send timed out") from None

    def _recv(self, deadline: float = 0.0) -> bytes:
        """One ``recv``; with a ``deadline`` (monotonic s), never blocking past it."""
        if deadline:
            left_ms = int((deadline - _monotonic()) * 1000)
            if left_ms <= 0:
                raise ConnectionTimeout("read timed out")
            ms = self.timeout_ms
            # Shrink the socket's bound as the deadline nears (in steps: few setsockopt calls).
            if not ms or left_ms < ms - (ms >> 3):
                self.set_timeout(max(left_ms, 1))
        try:
            data = self.sock.recv(_RECV_SIZE)
        except (BlockingIOError, TimeoutError):
            raise ConnectionTimeout("read timed out") from None
        if not data:
            raise ConnectionClosed("connection closed by peer")
        return data

    def read_frame(self, deadline: float = 0.0) -> tuple[int, memoryview]:
        """Read one whole frame by ``deadline`` (monotonic s, 0: none); return ``(proto_type, body)``
        (compressed frames inflated). On failure the bytes read so far stay in :attr:`rest`."""
        data = self.rest
        if len(data) < 8:
            try:
                while len(data) < 8:
                    data += self._recv(deadline)
            finally:
                self.rest = data
        v = _unpack_q(data, 0)[0]
        ptype = (v >> 48) & 0xFF
        length = v & 0xFFFFFFFFFFFF
        if v >> 56 != 2 or not 1 <= ptype <= 4 or length > MAX_REPLY_BODY:
            check_proto_header(data[:8], MAX_REPLY_BODY)  # raises the precise ProtocolError
        total = 8 + length
        if len(data) < total:
            parts = [data]
            have = len(data)
            try:
                while have < total:
                    chunk = self._recv(deadline)
                    parts.append(chunk)
                    have += len(chunk)
            finally:
                data = self.rest = b"".join(parts)
        if len(data) > total:
            self.rest = data[total:]
        else:
            self.rest = b""
        body = memoryview(data)[8:total]
        if ptype == 4:
            ptype, inner = decompress_body(body, MAX_REPLY_BODY)
            body = memoryview(inner)
        return ptype, body

    def request(self, data: bytes, deadline: float = 0.0) -> tuple[int, memoryview]:
        self.send(data)
        return self.read_frame(deadline)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


__all__ = ["Connection", "ConnectionClosed", "ConnectionTimeout", "ProtocolError", "open_socket"]
