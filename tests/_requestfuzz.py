"""Request fuzzing of the embedded server: mutated real requests must get an answer or a closed
connection, quickly, and leave the server serving.

The corpus: every request frame our client sends for the calls of :mod:`_replyfuzz` (single-record
reads/writes/operates, UDF calls, batches, queries, scans, info, index and job commands, admin
commands on a server with security) and every request a real client sent (``../shared/traces``).

* :func:`run_direct` feeds mutated frames to a server node's request entry point
  (``ServerNode.process``, what a connection calls for each whole frame) without sockets: each
  must return well-formed reply frames (a proto header whose length is the body's) within
  :data:`SLOW_S`, never raise; a frame the connection would refuse by its header (bad
  version/type, over 128 MiB) counts as closed. The node's data are reset every few thousand
  inputs (mutated writes accumulate).
* :func:`run_sockets` sends mutated frames over real connections to a running server (cut
  short, announcing more than they send, closing mid-frame), and checks after each round that
  a well-behaved client is still served within a time bound.

Long run::

    PYTHONPATH=src python tests/_requestfuzz.py --inputs 1000000 --sockets 20000 --seed 0
"""

from __future__ import annotations

import json
import random
import resource
import socket
import sys
import time
import traceback
from typing import Any

import aerospike_py as A
from _replyfuzz import ADMIN_CALLS, CALLS, TRACES, UDF_FILE, _has, install, mutate, record
from aerospike_py._wire.admin import hash_password, login_request
from aerospike_py._wire.proto import check_proto_header
from aerospike_py.exception import AerospikeError

SLOW_S = 2.0
_MAX_BODY = 128 * 1024 * 1024
_GOOD_HEADS = frozenset((2 << 8) | t for t in (1, 2, 3, 4))
_RESET_EVERY = 5000


class _Transport:
    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


class FakeConn:
    """What ``ServerNode.process`` needs of a connection."""

    def __init__(self) -> None:
        self.transport = _Transport()
        self.user: str | None = None
        self.revocation = 0
        self.stalled = False


def golden_requests() -> tuple[list[bytes], list[bytes]]:
    """(data requests, admin-server requests): the frames our client sends for the fuzz calls."""
    from aerospike_py.server import EmbeddedServer

    srv = EmbeddedServer().start()
    asrv = EmbeddedServer(security=True).start()
    try:
        c = A.client({**srv.config, "tend_interval": 3_600_000}).connect()
        adm = A.client({**asrv.config, "tend_interval": 3_600_000}).connect("admin", "admin")
        fx, afx = install(c), install(adm)
        setup = [("udf-put", lambda c: c.udf_put(str(UDF_FILE)), "lupa"),
                 ("put", lambda c: [c.put((("test", "replyfuzz", f"k{i}")), {"i": i, "s": "héllo", "l": [i, "a"],
                                                                             "m": {"a": i}}) for i in range(12)],
                  None),
                 ("index", lambda c: (c.index_integer_create("test", "replyfuzz", "i", "replyfuzz_i"),
                                      c.index_string_create("test", "replyfuzz", "s", "replyfuzz_s")), None)]
        have = {"lupa": _has("lupa"), "numpy": _has("numpy"), None: True}
        for calls, client, x in ((setup + CALLS, c, fx), (ADMIN_CALLS, adm, afx)):
            for _name, call, needs in calls:
                if have[needs]:
                    record(client, x, call)
        for client, x in ((c, fx), (adm, afx)):
            client._executor, client._run = x.real, x.real.run
            client.close()
        return fx.requests, afx.requests
    finally:
        srv.stop()
        asrv.stop()


def traced_requests() -> list[bytes]:
    out = []
    if TRACES.exists():
        for path in sorted(TRACES.glob("*.jsonl")):
            for line in path.read_text().splitlines():
                d = json.loads(line)
                if d.get("dir") == "c2s" and "hex" in d:
                    out.append(bytes.fromhex(d["hex"]))
    return out


def mutate_frame(r: random.Random, frame: bytes) -> bytes:
    """A mutated request frame: mostly its body, now and then its proto header too."""
    c = r.random()
    if c < 0.85:
        body = mutate(r, frame[8:])
        if r.random() < 0.9:  # a header that announces the mutated body's real length
            return frame[:2] + len(body).to_bytes(6, "big") + body
        return frame[:8] + body
    return mutate(r, frame)


class Findings:
    def __init__(self) -> None:
        self.n = self.answered = self.closed = self.incomplete = 0
        self.crashes: dict[str, list[Any]] = {}
        self.bad_replies: list[tuple[str, bytes]] = []
        self.slow: list[tuple[float, bytes]] = []
        self.unserved: list[str] = []

    def crash(self, e: BaseException, data: bytes) -> None:
        sig = f"{type(e).__name__}: {traceback.extract_tb(e.__traceback__)[-1][:3]}"
        lst = self.crashes.setdefault(sig, [])
        if len(lst) < 3:
            lst.append((repr(e)[:300], data[:2000], "".join(traceback.format_exception(e))[-2500:]))

    def summary(self) -> str:
        lines = [f"{self.n} inputs: {self.answered} answered, {self.closed} closed by header, "
                 f"{self.incomplete} incomplete (would wait for more bytes), {len(self.crashes)} crash kinds, "
                 f"{len(self.bad_replies)} malformed replies, {len(self.slow)} slow (> {SLOW_S} s), "
                 f"{len(self.unserved)} times another client was not served"]
        for sig, cases in self.crashes.items():
            lines.append(f"  CRASH {sig}\n    {cases[0][0]}\n    input {cases[0][1][:200].hex()}\n{cases[0][2]}")
        for why, data in self.bad_replies[:5]:
            lines.append(f"  BAD REPLY {why}: input {data[:200].hex()}")
        for dt, data in self.slow[:5]:
            lines.append(f"  SLOW {dt:.1f} s: input {data[:300].hex()}")
        for u in self.unserved[:5]:
            lines.append(f"  UNSERVED {u}")
        return "\n".join(lines)

    @property
    def clean(self) -> bool:
        return not (self.crashes or self.bad_replies or self.slow or self.unserved)


def _check_reply(frames: list[bytes], ptype: int) -> str | None:
    """Why the reply is not well-formed (None when it is): each element holds whole frames."""
    if not frames:
        return "no answer"
    for chunk in frames:
        off = 0
        while off < len(chunk):
            if len(chunk) - off < 8:
                return "short frame"
            rtype, length = check_proto_header(chunk[off : off + 8])
            if off + 8 + length > len(chunk):
                return f"frame length {length} past the reply's end"
            if rtype == 3 and length < 22:
                return "message shorter than its header"
            off += 8 + length
    return None


class Node:
    """A server node driven directly (no listener, no event loop)."""

    def __init__(self, security: bool, golden: list[bytes]) -> None:
        from aerospike_py.server import EmbeddedServer

        self.security = security
        self.golden = golden
        self.srv = EmbeddedServer(security=security)
        self.node = self.srv.node
        self.conn = FakeConn()
        if security:
            self.login()
        for frame in golden:  # the state the recorded calls expect (records, indexes, UDF)
            self.process(frame)

    def login(self) -> None:
        req = login_request(0, "admin", hash_password("admin"), None)
        self.node.process(2, req[8:], self.conn)

    def process(self, frame: bytes) -> list[bytes]:
        v = int.from_bytes(frame[:8], "big")
        return self.node.process((v >> 48) & 0xFF, frame[8:], self.conn)


def run_direct(nodes: list[Node], corpus: list[tuple[int, bytes]], r: random.Random, inputs: int,
               f: Findings) -> None:
    """``inputs`` mutated frames through ``ServerNode.process``; node i gets corpus entries (i, frame)."""
    base_rss = _rss_mb()
    for k in range(inputs):
        if k and k % _RESET_EVERY == 0:
            for i, nd in enumerate(nodes):
                nodes[i] = Node(nd.security, nd.golden)
            if _rss_mb() - base_rss > 1024:
                f.unserved.append(f"resident memory grew by {_rss_mb() - base_rss:.0f} MB")
        which, frame = r.choice(corpus)
        nd = nodes[which]
        data = mutate_frame(r, frame)
        f.n += 1
        if len(data) < 8:
            f.incomplete += 1
            continue
        v = int.from_bytes(data[:8], "big")
        length = v & ((1 << 48) - 1)
        if (v >> 48) not in _GOOD_HEADS or length > _MAX_BODY:
            f.closed += 1
            continue
        if len(data) - 8 < length:
            f.incomplete += 1
            continue
        body = data[8 : 8 + length]
        ptype = (v >> 48) & 0xFF
        t0 = time.monotonic()
        try:
            frames = nd.node.process(ptype, body, nd.conn)
        except Exception as e:  # noqa: BLE001 - what the fuzz looks for
            f.crash(e, data)
            continue
        dt = time.monotonic() - t0
        if dt > SLOW_S:
            f.slow.append((dt, data))
        why = _check_reply(frames, ptype)
        if why is not None and not (why == "no answer" and ptype == 2 and not nd.security):
            f.bad_replies.append((why, data))
        else:
            f.answered += 1
        if nd.security and nd.conn.user is None:  # a mutated login/authenticate logged it out
            nd.login()


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_sockets(corpus: list[bytes], r: random.Random, inputs: int, f: Findings) -> None:
    """Mutated frames over real connections to a running server; another client checks it serves."""
    from aerospike_py.server import EmbeddedServer

    with EmbeddedServer() as srv:
        host, port = srv.config["hosts"][0]
        good = A.client({**srv.config, "tend_interval": 3_600_000}).connect()
        good.put(("test", "reqfuzz", "probe"), {"a": 1})
        open_socks: list[socket.socket] = []
        for k in range(inputs):
            frame = r.choice(corpus)
            data = mutate_frame(r, frame)
            f.n += 1
            s = socket.create_connection((host, port), timeout=5)
            try:
                how = r.random()
                if how < 0.15 and len(data) > 9:  # cut mid-frame, then close
                    s.sendall(data[: r.randrange(1, len(data))])
                    f.incomplete += 1
                    continue
                if how < 0.2:  # announce much more than is sent, keep the connection open
                    s.sendall(data[:2] + (r.choice([1 << 20, 1 << 27, _MAX_BODY])).to_bytes(6, "big") + data[8:])
                    open_socks.append(s)
                    s = None  # type: ignore[assignment]
                    f.incomplete += 1
                    continue
                s.sendall(data)
                t0 = time.monotonic()
                got = _read_answer(s)
                dt = time.monotonic() - t0
                if got is None:
                    f.closed += 1
                elif got == b"":
                    f.incomplete += 1  # no answer (e.g. a frame the header says is longer)
                else:
                    f.answered += 1
                if dt > SLOW_S:
                    f.slow.append((dt, data))
            except OSError:
                f.closed += 1
            finally:
                if s is not None:
                    s.close()
            if len(open_socks) > 16:
                for x in open_socks:
                    x.close()
                open_socks.clear()
            if k % 50 == 0:
                t0 = time.monotonic()
                try:
                    assert good.get(("test", "reqfuzz", "probe"), policy={"total_timeout": 5000}).bins == {"a": 1}
                except (AerospikeError, AssertionError) as e:
                    f.unserved.append(f"after input {k}: {e!r}")
                if time.monotonic() - t0 > SLOW_S:
                    f.unserved.append(f"after input {k}: a get took {time.monotonic() - t0:.1f} s")
        for x in open_socks:
            x.close()
        good.close()


def _read_answer(s: socket.socket) -> bytes | None:
    """The first whole frame answered (b"": none within the timeout; None: connection closed)."""
    s.settimeout(0.5)
    buf = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return None if not buf else buf
            buf += chunk
            if len(buf) >= 8 and len(buf) >= 8 + (int.from_bytes(buf[:8], "big") & ((1 << 48) - 1)):
                return buf
    except TimeoutError:
        return b""
    except ConnectionResetError:
        return None


def setup() -> tuple[list[Node], list[tuple[int, bytes]], list[bytes]]:
    data_reqs, admin_reqs = golden_requests()
    traced = traced_requests()
    nodes = [Node(False, data_reqs), Node(True, admin_reqs)]
    corpus = [(0, x) for x in data_reqs + traced] + [(1, x) for x in admin_reqs + data_reqs[:20]]
    return nodes, corpus, data_reqs + traced


def main(argv: list[str]) -> int:
    import argparse
    import faulthandler

    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", type=int, default=100_000, help="direct inputs")
    ap.add_argument("--sockets", type=int, default=2_000, help="socket-level inputs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk", type=int, default=50_000)
    a = ap.parse_args(argv)
    faulthandler.dump_traceback_later(300, repeat=True)
    nodes, corpus, frames = setup()
    f = Findings()
    t0 = time.time()
    for k, start in enumerate(range(0, a.inputs, a.chunk)):
        run_direct(nodes, corpus, random.Random(a.seed * 1_000_003 + k), min(a.chunk, a.inputs - start), f)
        print(f"... direct {f.n} inputs, {len(f.crashes)} crash kinds, {len(f.slow)} slow, "
              f"{time.time() - t0:.0f} s", flush=True)
    print("direct:", f.summary(), flush=True)
    g = Findings()
    run_sockets(frames, random.Random(a.seed), a.sockets, g)
    print("sockets:", g.summary())
    return 0 if f.clean and g.clean else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
