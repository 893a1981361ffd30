"""A real Aerospike server for differential tests (skipped when none is available).

Resolution order:

* ``AEROSPIKE_REAL=host:port`` (cluster: ``AEROSPIKE_REAL_CLUSTER=host:port``): use that server,
  never start or stop it;
* else, when ``../shared/real-server/start.sh`` exists, start a private one on a free port base
  (its own directory under /tmp) for the test session and stop it at the end;
* else skip.

Tests that write to the real server use their own set names, so that several sessions (or a user's
own server) are not disturbed.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import subprocess
from dataclasses import dataclass, field

import pytest

from _paths import SHARED

REAL_DIR = SHARED / "real-server"


@dataclass
class RealServer:
    """Where a real server (or cluster) listens."""

    hosts: list[tuple[str, int]]
    started: bool = False
    base: int = 0
    workdir: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, object]:
        from _clients import generous

        return generous({"hosts": list(self.hosts)})

    @property
    def host(self) -> str:
        return self.hosts[0][0]

    @property
    def port(self) -> int:
        return self.hosts[0][1]

    def node_stop(self, i: int) -> None:
        """Stop node ``i`` of a cluster this module started."""
        subprocess.run([str(REAL_DIR / "node.sh"), "stop", str(i), "--dir", self.workdir], check=True,
                       capture_output=True, timeout=60)

    def node_start(self, i: int) -> None:
        subprocess.run([str(REAL_DIR / "node.sh"), "start", str(i), "--dir", self.workdir], check=True,
                       capture_output=True, timeout=60)


def _parse(spec: str) -> list[tuple[str, int]]:
    out = []
    for part in spec.split(","):
        host, _, port = part.strip().rpartition(":")
        out.append((host or "127.0.0.1", int(port)))
    return out


def _free_base(nodes: int) -> int:
    """A port base whose ports base+10*i+0..3 are all free."""
    rnd = random.Random()
    for _ in range(200):
        base = rnd.randrange(20000, 40000, 40)
        ok = True
        for i in range(nodes):
            for off in range(4):
                with socket.socket() as s:
                    try:
                        s.bind(("127.0.0.1", base + 10 * i + off))
                    except OSError:
                        ok = False
                        break
            if not ok:
                break
        if ok:
            return base
    raise RuntimeError("no free port base for a real server")


def start_real(nodes: int = 1) -> RealServer | None:
    """Start a private real server/cluster, or None when the binary is not on this machine."""
    script = REAL_DIR / "start.sh"
    if not script.exists():
        return None
    base = _free_base(nodes)
    workdir = f"/tmp/aerospike-real-test-{os.getpid()}-{base}"
    proc = subprocess.run([str(script), "--nodes", str(nodes), "--port", str(base), "--dir", workdir],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        subprocess.run([str(REAL_DIR / "stop.sh"), "--dir", workdir], capture_output=True, timeout=60)
        return None
    hosts = [("127.0.0.1", base + 10 * i) for i in range(nodes)]
    return RealServer(hosts, started=True, base=base, workdir=workdir)


def stop_real(srv: RealServer) -> None:
    if srv.started:
        subprocess.run([str(REAL_DIR / "stop.sh"), "--dir", srv.workdir], capture_output=True, timeout=120)


def _take_slot(nodes: int):
    """An exclusive slot (an open, locked file) for one more private server of ``nodes`` nodes, or None.

    A real node takes about 1 GB of memory: test sessions running side by side on one machine share
    ``AEROSPIKE_REAL_SLOTS`` slots (default 2) per cluster size instead of each starting its own.
    """
    slots = int(os.environ.get("AEROSPIKE_REAL_SLOTS", "2"))
    os.makedirs("/tmp/aerospike-real-slots", exist_ok=True)
    for i in range(slots):
        f = open(f"/tmp/aerospike-real-slots/{nodes}-{i}.lock", "w")  # noqa: SIM115 (held for the session)
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        return f
    return None


def real_server_fixture(nodes: int, env: str):
    """Body of a session fixture yielding a RealServer (or skipping)."""
    spec = os.environ.get(env)
    if spec:
        yield RealServer(_parse(spec))
        return
    if not (REAL_DIR / "start.sh").exists():
        pytest.skip("no real Aerospike server (set AEROSPIKE_REAL or provide ../shared/real-server)")
    slot = _take_slot(nodes)
    if slot is None:
        pytest.skip(f"every private real-server slot for {nodes} node(s) is busy (AEROSPIKE_REAL_SLOTS)")
    try:
        srv = start_real(nodes)
        if srv is None:
            pytest.skip("the real server in ../shared/real-server did not start")
        try:
            yield srv
        finally:
            stop_real(srv)
    finally:
        slot.close()
