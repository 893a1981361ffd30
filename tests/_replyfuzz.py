"""Reply fuzzing through every decoder path of the client, without a network in the loop.

A :class:`FuzzExecutor` stands in for the client's executor. First it *records*: the client runs
a catalogue of real calls (:data:`CALLS`: single-record reads/writes/operates, UDF apply, batch
reads/writes/operates/applies/removes, numpy batch reads, queries and scans in every sink, info,
index and job polls, admin queries) against an embedded server, and the executor keeps every
reply frame body each command parsed. Then it *replays*: each call runs again with one of its
recorded replies (or a reply a real server gave of the same kind, ``../shared/traces``) mutated,
fed straight to the command's parser as the real executor would feed it: parse failures become
the :class:`ProtocolError` the executors raise (``retry.malformed``), everything after the parser
(steps, result conversion, lazy batch decoding, numpy filling, record streams) runs for real.

Every input must end in a result or an :class:`AerospikeError` within a time bound: any other
exception, or a call slower than :data:`SLOW_S`, is a finding. The compressed-frame path
(``decompress_body``) and the tend-time info parsers (``parse_replicas``, ``parse_peers``) get
the same mutated inputs directly. Long run::

    PYTHONPATH=src python tests/_replyfuzz.py --inputs 1000000 --seed 0

tests/test_reply_fuzz.py runs a short seeded slice (and the socket-level fuzz, both clients).
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
import traceback
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aerospike_py as A
from aerospike_py import exp as E
from aerospike_py import hll_operations as H
from aerospike_py import list_operations as L
from aerospike_py import map_operations as M
from aerospike_py import predicates as P
from aerospike_py._commands.base import MORE
from aerospike_py._net.cluster import parse_peers
from aerospike_py._net.partitions import parse_replicas
from aerospike_py._net.retry import MALFORMED
from aerospike_py._wire.info import parse_info_response
from aerospike_py._wire.proto import ProtocolError, decompress_body
from aerospike_py.exception import AerospikeError, ClientError

NS, SET = "test", "replyfuzz"
SLOW_S = 2.0
BIG_MB = 64  # one input growing the peak resident memory by more is a finding
TRACES = Path(__file__).resolve().parents[2] / "shared" / "traces"
UDF_FILE = Path(__file__).parent / "udf" / "diffh_udf.lua"

Script = list[list[bytes]]  # per executor run: the frame bodies its parser is fed


def _keys(n: int, prefix: str = "k") -> list[tuple[str, str, Any]]:
    return [(NS, SET, f"{prefix}{i}") for i in range(n)]


RECORD = {"i": -7, "f": 2.5, "s": "héllo", "b": b"\x00\xff", "l": [1, "a", [2.5, b"x"], {"k": None}],
          "m": {"a": 1, "b": [True, False], 3: {"deep": [[[]]]}}, "t": True, "big": 2**62,
          "g": A.GeoJSON('{"type":"Point","coordinates":[1.5,2.5]}')}
OPS = [
    L.list_get_range("l", 0, 3), L.list_append("l2", 5), M.map_get_by_key("m", "b", A.MAP_RETURN_VALUE),
    M.map_get_by_rank_range("m", 0, 2, A.MAP_RETURN_KEY_VALUE), {"op": A.OPERATOR_READ, "bin": "f"},
    {"op": A.OPERATOR_INCR, "bin": "i", "val": 1}, H.hll_add("h", ["a", "b"], 8),
    E.exp_read("e", E.num_add(E.int_bin("i"), E.int_val(1)), 0),
]
POLICY = {"total_timeout": 5000, "socket_timeout": 5000, "max_retries": 0}


def _numpy_read(c: Any) -> Any:
    import numpy as np

    return c.batch_read(_keys(12), policy=POLICY, _dtype=np.dtype([("i", "i8"), ("f", "f8"), ("b", "S4")]))


def _query(c: Any, where: Any = None, sink: str = "results", **policy: Any) -> Any:
    q = c.query(NS, SET)
    if where is not None:
        q.where(where)
    pol = {**POLICY, **policy}
    if sink == "results":
        return q.results(pol)
    if sink == "foreach":
        out: list[Any] = []
        q.foreach(out.append, pol)
        return out
    with q.iterate(pol) as stream:
        return list(stream)


#: (name, call, needs): the calls whose replies are fuzzed; ``needs`` names an optional module.
CALLS: list[tuple[str, Callable[[Any], Any], str | None]] = [
    ("get", lambda c: c.get(_keys(1)[0], policy=POLICY), None),
    ("get-shape", lambda c: [c.get(k, policy=POLICY) for k in _keys(4)], None),
    ("select", lambda c: c.select(_keys(1)[0], ["s", "l", "zz"], policy=POLICY), None),
    ("exists", lambda c: c.exists(_keys(1)[0], policy=POLICY), None),
    ("put", lambda c: c.put(_keys(1, "w")[0], {"x": 1}, policy=POLICY), None),
    ("touch", lambda c: c.touch(_keys(1)[0], 100, policy=POLICY), None),
    ("operate", lambda c: c.operate(_keys(1)[0], OPS, policy=POLICY), None),
    ("operate-ordered", lambda c: c.operate_ordered(_keys(1)[0], OPS, policy=POLICY), None),
    ("apply", lambda c: c.apply(_keys(1)[0], "diffh_udf", "echo", [RECORD["l"], RECORD["m"]], policy=POLICY),
     "lupa"),
    ("batch-read", lambda c: c.batch_read(_keys(12) + [(NS, SET, "missing")], policy=POLICY), None),
    ("batch-read-bins", lambda c: c.batch_read(_keys(12), ["i", "s"], policy=POLICY), None),
    ("batch-read-meta", lambda c: c.batch_read(_keys(5), [], policy=POLICY), None),
    ("batch-dict", lambda c: c.batch_read(_keys(12), policy=POLICY).as_dict()
     if hasattr(c.batch_read(_keys(1), policy=POLICY), "as_dict") else None, None),
    ("batch-operate", lambda c: c.batch_operate(_keys(6), OPS[:5], policy=POLICY), None),
    ("batch-write", lambda c: c.batch_write([(k, {"w": j}) for j, k in enumerate(_keys(4, "bw"))],
                                            policy=POLICY), None),
    ("batch-remove", lambda c: c.batch_remove(_keys(3, "nope"), policy=POLICY), None),
    ("batch-apply", lambda c: c.batch_apply(_keys(4), "diffh_udf", "get", ["l"], policy=POLICY), "lupa"),
    ("numpy", _numpy_read, "numpy"),
    ("query", lambda c: _query(c, P.between("i", -10, 10)), None),
    ("query-foreach", lambda c: _query(c, P.equals("s", "héllo"), "foreach"), None),
    ("query-iterate", lambda c: _query(c, P.between("i", -10, 10), "iterate"), None),
    ("scan", lambda c: c.scan(NS, SET).results(POLICY), None),
    ("scan-pf", lambda c: _query(c, partition_filter=A.partition_filter_by_range(0, 2048)), None),
    ("scan-nobins", lambda c: _query(c, include_bin_data=False), None),
    ("info", lambda c: c.info_random_node("namespaces;build;statistics", policy={"timeout": 5000}), None),
    ("info-all", lambda c: c.info_all("sets/test", policy={"timeout": 5000}), None),
    ("udf-list", lambda c: c.udf_list(policy={"timeout": 5000}), None),
    ("index-create", lambda c: c.index_integer_create(NS, SET, "i", "replyfuzz_i2", policy={"timeout": 5000}),
     None),
    ("job-info", lambda c: c.job_info(c.query(NS, SET).execute_background([{"op": A.OPERATOR_TOUCH}]),
                                      policy={"timeout": 5000}), None),
    ("truncate", lambda c: c.truncate(NS, "replyfuzz_none", 0), None),
]
ADMIN_CALLS: list[tuple[str, Callable[[Any], Any], str | None]] = [
    ("admin-users", lambda c: c.admin_query_users_info(policy={"timeout": 5000}), None),
    ("admin-user", lambda c: c.admin_query_user_info("admin", policy={"timeout": 5000}), None),
    ("admin-roles", lambda c: c.admin_query_roles(policy={"timeout": 5000}), None),
    ("admin-role", lambda c: c.admin_query_role("fuzzrole", policy={"timeout": 5000}), None),
    ("admin-drop-role", lambda c: c.admin_drop_role("nosuchrole", policy={"timeout": 5000}), None),
]


class FuzzExecutor:
    """Records the reply bodies of real runs; then replays scripted (mutated) bodies instead."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.recording: Script | None = None
        self.requests: list[bytes] = []  # every request sent while recording (whole frames)
        self.script: Script | None = None  # None: pass through to the real executor
        self.i = 0

    def run(self, cmd: Any, target: Any = None, observed: float = 0.0) -> Any:
        if self.script is None and self.recording is None:
            return self.real.run(cmd, target, observed)
        if self.recording is not None:
            bodies: list[bytes] = []
            orig = cmd.parse

            def parse(c: Any, body: Any, node: str) -> Any:
                bodies.append(bytes(body))
                return orig(c, body, node)

            cmd.parse = parse
            self.requests.append(bytes(cmd.request))
            try:
                return self.real.run(cmd, target, observed)
            finally:
                cmd.parse = orig
                self.recording.append(bodies)
        frames = self.script[self.i] if self.i < len(self.script) else []
        self.i += 1
        result = MORE
        try:
            for body in frames:
                result = cmd.parse(cmd, body, "FUZZ")
                if result is not MORE:
                    return result
        except MemoryError:  # (a finding: the fuzz runs with a capped address space, see main)
            raise
        except (*MALFORMED, ProtocolError) as e:  # as the executors answer it (common.failure)
            raise ClientError(f"protocol error: {type(e).__name__}: {e}") from None
        raise ClientError("connection closed before the whole reply")


def install(client: Any) -> FuzzExecutor:
    fx = FuzzExecutor(client._executor)
    client._executor = fx
    client._run = fx.run
    return fx


def record(client: Any, fx: FuzzExecutor, call: Callable[[Any], Any]) -> Script:
    fx.recording = []
    try:
        call(client)
    except AerospikeError:  # an error answer is a reply like any other
        pass
    finally:
        script, fx.recording = fx.recording, None
    return script


# ----------------------------------------------------------------------------- traced replies


def traced_answers() -> dict[str, list[list[bytes]]]:
    """Real server answers by kind ("single", "batch", "stream", "info"): each a list of frame bodies."""
    out: dict[str, list[list[bytes]]] = {"single": [], "batch": [], "stream": [], "info": []}
    if not TRACES.exists():
        return out
    for path in sorted(TRACES.glob("*.jsonl")):
        current: dict[int, list[bytes]] = {}
        kinds: dict[int, str] = {}
        for line in path.read_text().splitlines():
            d = json.loads(line)
            if "dir" not in d or "hex" not in d:
                continue
            conn = d.get("conn", 0)
            frame = bytes.fromhex(d["hex"])
            if d["dir"] == "c2s":
                if current.get(conn):
                    out[kinds[conn]].append(current[conn])
                current[conn] = []
                step = d.get("step", "")
                kinds[conn] = ("info" if d.get("type") == 1 else "batch" if "batch" in step
                               else "stream" if ("query" in step or "scan" in step) else "single")
            elif conn in current:
                current[conn].append(frame[8:])
        for conn, frames in current.items():
            if frames:
                out[kinds[conn]].append(frames)
    return out


def kind_of(name: str) -> str:
    if name.startswith(("batch", "numpy")):
        return "batch"
    if name.startswith(("query", "scan", "job")):
        return "stream"
    if name.startswith(("info", "udf", "index", "truncate")):
        return "info"
    return "single"


# ----------------------------------------------------------------------------- mutations

_SPECIAL = [0, 1, 0x7F, 0x80, 0xC0, 0xC1, 0xC4, 0xC7, 0xD9, 0xDC, 0xDD, 0xDE, 0xDF, 0x90, 0x9F, 0x80, 0x8F,
            0xA0, 0xBF, 0xFF, 0x13, 0x14, 0x03, 0x04, 0x16]
_BIG = [0, 1, 2, 7, 8, 21, 22, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


def mutate(r: random.Random, data: bytes) -> bytes:
    """One mutated copy of a frame body (1-4 mutations, message- and msgpack-aware)."""
    d = bytearray(data)
    for _ in range(r.randint(1, 4)):
        n = len(d)
        k = r.randrange(11)
        if k == 0 and n:
            del d[r.randrange(n):]
        elif k == 1 and n:
            i = r.randrange(n)
            d[i] ^= 1 << r.randrange(8)
        elif k == 2 and n:
            d[r.randrange(n)] = r.choice(_SPECIAL)
        elif k == 3:
            i = r.randint(0, n)
            d[i:i] = bytes(r.randrange(256) for _ in range(r.randint(1, 16)))
        elif k == 4 and n >= 4:  # a 1/2/4-byte count or size somewhere
            w = r.choice([1, 2, 4])
            i = r.randrange(max(1, n - w + 1))
            v = r.choice(_BIG) + r.choice([0, 0, 1, -1])
            d[i:i + w] = (v % (1 << (8 * w))).to_bytes(w, "big")
        elif k == 5 and n >= 22:  # message header: info bits, result, counts
            i = r.choice([1, 2, 3, 5, 18, 19, 20, 21])
            d[i] = r.choice([0, 1, 2, 0x7F, 0xFF, r.randrange(256)])
        elif k == 6 and n:  # duplicate a slice
            i = r.randrange(n)
            j = min(n, i + r.randint(1, 64))
            d[j:j] = d[i:j]
        elif k == 7 and n:  # remove a slice
            i = r.randrange(n)
            del d[i:i + r.randint(1, 32)]
        elif k == 8:  # deep msgpack nesting
            i = r.randint(0, n)
            d[i:i] = bytes([r.choice([0x91, 0x81])]) * r.choice([50, 600, 5000])
        elif k == 9 and n:  # a byte with all of its neighbours' likely roles: particle type 1..26
            d[r.randrange(n)] = r.randint(0, 26)
        elif n:
            i = r.randrange(n)
            d[i] = r.randrange(256)
    return bytes(d)


def mutate_answer(r: random.Random, frames: list[bytes]) -> list[bytes]:
    """A mutated multi-frame answer: one or more frames mutated, sometimes frames dropped/repeated."""
    out = list(frames)
    if not out:
        return [mutate(r, b"")]
    c = r.random()
    if c < 0.1 and len(out) > 1:
        out = out[: r.randrange(1, len(out))]
    elif c < 0.15:
        out.append(out[r.randrange(len(out))])
    for _ in range(r.choice([1, 1, 1, 2])):
        i = r.randrange(len(out))
        out[i] = mutate(r, out[i])
    return out


# ----------------------------------------------------------------------------- running


class Findings:
    def __init__(self) -> None:
        self.n = 0
        self.typed = 0
        self.ok = 0
        self.untyped: dict[str, list[Any]] = {}
        self.slow: list[tuple[str, float, bytes]] = []

    def bad(self, name: str, exc: BaseException, data: Any) -> None:
        tb = traceback.extract_tb(exc.__traceback__)
        sig = f"{name}: {type(exc).__name__}: {tb[-1][:3] if tb else str(exc)[:40]}"
        lst = self.untyped.setdefault(sig, [])
        if len(lst) < 3:
            lst.append((repr(exc)[:300], data, "".join(traceback.format_exception(exc))[-2000:]))

    def summary(self) -> str:
        lines = [f"{self.n} inputs: {self.ok} results, {self.typed} AerospikeError, "
                 f"{sum(len(v) for v in self.untyped.values())}+ untyped ({len(self.untyped)} kinds), "
                 f"{len(self.slow)} slow (> {SLOW_S} s)"]
        for sig, cases in self.untyped.items():
            lines.append(f"  UNTYPED {sig}\n    {cases[0][0]}\n{cases[0][2]}")
        for name, dt, _ in self.slow[:10]:
            lines.append(f"  SLOW {name}: {dt:.1f} s")
        return "\n".join(lines)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(f: Findings, name: str, data: Any, fn: Callable[[], Any]) -> None:
    f.n += 1
    t0 = time.monotonic()
    peak = _rss_mb()
    try:
        fn()
        f.ok += 1
    except AerospikeError:
        f.typed += 1
    except Exception as e:  # noqa: BLE001 - what the fuzz is looking for
        f.bad(name, e, data)
    dt = time.monotonic() - t0
    if dt > SLOW_S:
        f.slow.append((name, dt, data))
    grown = _rss_mb() - peak
    if grown > BIG_MB:  # one reply made the client allocate that much more than ever before
        f.bad(name, MemoryError(f"peak memory grew by {grown:.0f} MB on one reply"), data)


def _decoder_inputs(r: random.Random, frames: list[bytes], infos: list[str]) -> list[tuple[str, Callable[[], Any], Any]]:
    """Direct decoders: a compressed frame and the tend-time info parsers."""
    out: list[tuple[str, Callable[[], Any], Any]] = []
    body = r.choice(frames)
    inner = (len(body) + 8).to_bytes(8, "big") + zlib.compress(len(body).to_bytes(8, "big") + body)
    comp = mutate(r, inner) if r.random() < 0.8 else inner

    def inflate() -> None:
        try:
            decompress_body(comp, 1 << 20)
        except ProtocolError:
            raise ClientError("bad compressed frame") from None

    out.append(("decompress", inflate, comp))
    text = r.choice(infos)
    bad = mutate(r, text.encode()).decode("utf-8", "replace")

    def tend() -> None:
        try:
            parse_replicas(bad)
            parse_peers(bad)
            parse_info_response(bad.encode())
        except MALFORMED as e:
            raise ClientError(f"bad info answer: {e}") from None

    out.append(("tend-info", tend, bad))
    return out


class Fuzzer:
    """The recorded corpus of one embedded server and a run loop over it."""

    def __init__(self) -> None:
        from aerospike_py.server import EmbeddedServer

        self.srv = EmbeddedServer().start()
        self.asrv = EmbeddedServer(security=True).start()
        self.client = A.client({**self.srv.config, "tend_interval": 3_600_000}).connect()
        self.admin = A.client({**self.asrv.config, "tend_interval": 3_600_000}).connect("admin", "admin")
        c = self.client
        for k in _keys(12):
            c.put(k, RECORD)
        c.index_integer_create(NS, SET, "i", "replyfuzz_i")
        c.index_string_create(NS, SET, "s", "replyfuzz_s")
        have = {"lupa": _has("lupa"), "numpy": _has("numpy"), None: True}
        if have["lupa"]:
            c.udf_put(str(UDF_FILE))
        self.admin.admin_create_role("fuzzrole", [{"code": A.PRIV_READ, "ns": "test", "set": ""}])
        self.fx = install(c)
        self.afx = install(self.admin)
        self.cases: list[tuple[str, Any, FuzzExecutor, Callable[[Any], Any], Script]] = []
        for calls, client, fx in ((CALLS, c, self.fx), (ADMIN_CALLS, self.admin, self.afx)):
            for name, call, needs in calls:
                if not have[needs]:
                    continue
                script = record(client, fx, call)
                if name == "index-create":
                    client.index_remove(NS, "replyfuzz_i2")
                if script:
                    self.cases.append((name, client, fx, call, script))
        self.weights = [self._weight(*case) for case in self.cases]
        self.traced = traced_answers()
        self.infos = [b.decode("utf-8", "replace") for a in self.traced["info"] for b in a] or ["replicas\t"]
        self.frames = [b for *_, s in self.cases for run in s for b in run]

    @staticmethod
    def _weight(name: str, client: Any, fx: FuzzExecutor, call: Callable[[Any], Any], script: Script) -> float:
        """Cheap calls more often: 1 for a call replayed in under 2 ms, down to 0.1 (queries set up
        4096 partitions each time)."""
        fx.script, fx.i = [list(x) for x in script], 0
        t0 = time.perf_counter()
        try:
            call(client)
        except AerospikeError:
            pass
        finally:
            fx.script = None
        return max(0.1, min(1.0, 0.002 / max(time.perf_counter() - t0, 1e-9)))

    def close(self) -> None:
        for c in (self.client, self.admin):
            c._executor = c._executor.real
            c._run = c._executor.run
            c.close()
        self.srv.stop()
        self.asrv.stop()

    def run(self, seed: int, inputs: int, findings: Findings | None = None) -> Findings:
        f = findings or Findings()
        r = random.Random(seed)
        done = 0
        while done < inputs:
            name, client, fx, call, script = r.choices(self.cases, self.weights)[0]
            if r.random() < 0.1:
                for dname, fn, data in _decoder_inputs(r, self.frames, self.infos):
                    _timed(f, dname, data, fn)
                    done += 1
                continue
            runs = [list(x) for x in script]
            i = r.randrange(len(runs))
            traced = self.traced.get(kind_of(name))
            if traced and r.random() < 0.3:
                runs[i] = list(r.choice(traced))
            runs[i] = mutate_answer(r, runs[i])
            if r.random() < 0.05:
                runs = runs[:i + 1]
            fx.script, fx.i = runs, 0
            _timed(f, name, runs, lambda call=call, client=client: call(client))
            fx.script = None
            done += 1
        return f


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def main(argv: list[str]) -> int:
    import argparse
    import faulthandler

    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk", type=int, default=20_000)
    ap.add_argument("--memory-mb", type=int, default=3072, help="address-space cap")
    a = ap.parse_args(argv)
    faulthandler.dump_traceback_later(600, exit=True)  # a hang shows where it is (reset per chunk)
    # A reply must never make the client allocate what it merely announces: cap the address
    # space, so such an attempt is a MemoryError (a finding) instead of the machine's memory.
    resource.setrlimit(resource.RLIMIT_AS, (a.memory_mb << 20, resource.RLIM_INFINITY))
    fz = Fuzzer()
    f = Findings()
    t0 = time.time()
    for k, start in enumerate(range(0, a.inputs, a.chunk)):
        faulthandler.dump_traceback_later(600, exit=True)
        fz.run(a.seed * 1_000_003 + k, min(a.chunk, a.inputs - start), f)
        print(f"... {f.n} inputs, {len(f.untyped)} untyped kinds, {len(f.slow)} slow, "
              f"{time.time() - t0:.0f} s", flush=True)
    fz.close()
    print(f.summary())
    return 1 if f.untyped or f.slow else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
