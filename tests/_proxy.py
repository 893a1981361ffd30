"""A byte-transparent TCP proxy that records the Aerospike frames passing through it (tests only).

Every client -> server frame is recorded *before* it is forwarded, so once a client call has
returned, its request is in :attr:`FrameProxy.frames` without any waiting.
"""

from __future__ import annotations

import socket
import threading
from typing import NamedTuple


class Frame(NamedTuple):
    conn: int
    direction: str  # "c2s" or "s2c"
    ptype: int
    data: bytes  # the whole frame, proto header included


class FrameProxy:
    """Forward ``127.0.0.1:<port>`` to ``target`` and record each frame in both directions."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.frames: list[Frame] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self._listener.getsockname()[:2]
        self._sockets: list[socket.socket] = []
        self._n_conns = 0
        self._closed = False
        threading.Thread(target=self._accept, name="frame-proxy", daemon=True).start()

    @property
    def config(self) -> dict:
        return {"hosts": [(self.host, self.port)]}

    def clear(self) -> None:
        with self._lock:
            self.frames.clear()

    def requests(self, ptype: int = 3) -> list[bytes]:
        """Client -> server frames of one proto type, in arrival order."""
        with self._lock:
            return [f.data for f in self.frames if f.direction == "c2s" and f.ptype == ptype]

    def replies(self, ptype: int = 3) -> list[bytes]:
        with self._lock:
            return [f.data for f in self.frames if f.direction == "s2c" and f.ptype == ptype]

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        with self._lock:
            socks = list(self._sockets)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def __enter__(self) -> FrameProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            for s in (client, server):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._n_conns += 1
                conn = self._n_conns
                self._sockets += [client, server]
            for src, dst, direction in ((client, server, "c2s"), (server, client, "s2c")):
                threading.Thread(target=self._pump, args=(conn, src, dst, direction), daemon=True).start()

    def _pump(self, conn: int, src: socket.socket, dst: socket.socket, direction: str) -> None:
        buf = bytearray()
        try:
            while True:
                chunk = src.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= 8:
                    end = 8 + int.from_bytes(buf[2:8], "big")
                    if len(buf) < end:
                        break
                    with self._lock:
                        self.frames.append(Frame(conn, direction, buf[1], bytes(buf[:end])))
                    del buf[:end]
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
