"""A TCP proxy to a server that answers one armed request itself, with given bytes (tests only).

Requests pass through to the server and replies come back untouched, until :meth:`arm` is called:
the next request of that proto type is not forwarded; the client gets the armed bytes instead and
then end-of-stream (so a reply cut short fails at once instead of waiting for a deadline).
"""

from __future__ import annotations

import socket
import threading


class MutatingProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._armed: tuple[int, bytes] | None = None
        self.answered = 0  # armed replies sent
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self._listener.getsockname()[:2]
        self._closed = False
        threading.Thread(target=self._accept, name="mutating-proxy", daemon=True).start()

    @property
    def config(self) -> dict:
        return {"hosts": [(self.host, self.port)], "tend_interval": 3_600_000}

    def arm(self, ptype: int, reply: bytes) -> None:
        """Answer the next request of proto type ``ptype`` with ``reply``, then close that connection."""
        with self._lock:
            self._armed = (ptype, reply)

    def disarm(self) -> None:
        with self._lock:
            self._armed = None

    def close(self) -> None:
        self._closed = True
        self._listener.close()

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
            threading.Thread(target=self._requests, args=(client, server), daemon=True).start()
            threading.Thread(target=self._replies, args=(server, client), daemon=True).start()

    def _requests(self, client: socket.socket, server: socket.socket) -> None:
        buf = bytearray()
        try:
            while True:
                chunk = client.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= 8:
                    end = 8 + int.from_bytes(buf[2:8], "big")
                    if len(buf) < end:
                        break
                    frame = bytes(buf[:end])
                    del buf[:end]
                    with self._lock:
                        armed = self._armed
                        if armed is not None and armed[0] == frame[1]:
                            self._armed = None
                            self.answered += 1
                        else:
                            armed = None
                    if armed is None:
                        server.sendall(frame)
                        continue
                    client.sendall(armed[1])
                    # End-of-stream after it; the connection lives on until the client drops it.
                    client.shutdown(socket.SHUT_WR)
                    while client.recv(65536):
                        pass
                    return
        except OSError:
            pass
        finally:
            for s in (client, server):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def _replies(self, server: socket.socket, client: socket.socket) -> None:
        try:
            while True:
                chunk = server.recv(65536)
                if not chunk:
                    break
                client.sendall(chunk)
        except OSError:
            pass
