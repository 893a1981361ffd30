"""Benchmark: what metrics and tracing cost per operation (client CPU), in one run.

    python bench/bench_observability.py                          # embedded server in its own process
    python bench/bench_observability.py --host 127.0.0.1 --port 3000 --ops 20000
    python bench/bench_observability.py --json out.json

Cases: sync ``get`` and ``put`` of a ~100-byte record, and async ``get`` with 16 commands in flight.
Modes, which take turns every ``--chunk`` operations so that a change of machine load falls on all
of them alike:

* ``off``: metrics and tracing disabled (the cost of the disabled hooks only);
* ``metrics``: ``db_client_operation_duration_seconds`` recorded (the default of the API);
* ``tracing``: metrics off, one OpenTelemetry span per operation (SDK tracer provider, batch span
  processor, an exporter that drops the spans: the export itself is not counted);
* ``both``: metrics and tracing.

Client CPU is ``time.process_time`` of this process (the server runs elsewhere), taken over one
chunk of a mode and divided by its operations; a figure is the median over all turns of
``--repeat`` runs, and a ratio the median of the per-turn ratios against ``off`` (robust to load
changes on a shared machine). Run it against an older tree (without the observability API) to
get the ``off`` figures before the hooks existed: modes that need the API are then skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from typing import Any

import aerospike_py

RECORD: dict[str, Any] = {"s": "x" * 60, "i": 1, "f": 1.5, "a": "ab", "b": b"\x01" * 16}
MODES = ("off", "metrics", "tracing", "both")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def start_server() -> tuple[subprocess.Popen, str, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "aerospike_py.server", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    host, _, port = line.rpartition(" ")[2].rpartition(":")
    return proc, host, int(port)


class Modes:
    """Switches metrics and tracing on and off (absent API: only ``off`` is available)."""

    def __init__(self) -> None:
        self.has_metrics = hasattr(aerospike_py, "set_metrics_enabled")
        self.provider = None
        self.tracing_ok = False
        if hasattr(aerospike_py, "init_tracing"):
            try:
                from opentelemetry.sdk.trace import TracerProvider
                from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

                class Drop(SpanExporter):
                    def export(self, spans: Any) -> SpanExportResult:
                        return SpanExportResult.SUCCESS

                self.provider = TracerProvider()
                self.provider.add_span_processor(BatchSpanProcessor(Drop()))
                self.tracing_ok = True
            except ImportError:
                log("tracing modes skipped: opentelemetry-sdk is not installed")

    def available(self) -> list[str]:
        out = ["off"]
        if self.has_metrics:
            out.append("metrics")
        if self.tracing_ok:
            out += ["tracing", "both"] if self.has_metrics else ["tracing"]
        return out

    def set(self, mode: str) -> None:
        if self.has_metrics:
            aerospike_py.set_metrics_enabled(mode in ("metrics", "both"))
        if self.tracing_ok:
            if mode in ("tracing", "both"):
                aerospike_py.init_tracing(tracer_provider=self.provider)
            else:
                aerospike_py.shutdown_tracing()


def run_sync(c: Any, case: str, keys: list, modes: Modes, names: list[str], chunk: int) -> list[dict[str, float]]:
    """One sample per turn: ``{mode: cpu us/op}`` of each mode's chunk in that turn."""
    fn = c.get if case == "get" else (lambda k: c.put(k, RECORD))
    turns = []
    for start in range(0, len(keys), chunk):
        part = keys[start:start + chunk]
        turn = {}
        for m in names:
            modes.set(m)
            c0 = time.process_time()
            for k in part:
                fn(k)
            turn[m] = (time.process_time() - c0) / len(part) * 1e6
        turns.append(turn)
    return turns


async def _async_gets(c: Any, keys: list, width: int) -> None:
    async def worker(part: list) -> None:
        for k in part:
            await c.get(k)

    await asyncio.gather(*(worker(keys[i::width]) for i in range(width)))


def run_async(cfg: dict[str, Any], keys: list, modes: Modes, names: list[str], chunk: int,
              width: int) -> list[dict[str, float]]:
    async def main() -> list[dict[str, float]]:
        c = await aerospike_py.async_client(cfg).connect()
        try:
            turns = []
            for start in range(0, len(keys), chunk):
                part = keys[start:start + chunk]
                turn = {}
                for m in names:
                    modes.set(m)
                    c0 = time.process_time()
                    await _async_gets(c, part, width)
                    turn[m] = (time.process_time() - c0) / len(part) * 1e6
                turns.append(turn)
            return turns
        finally:
            await c.close()

    return asyncio.run(main())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host")
    ap.add_argument("--port", type=int, default=3000)
    ap.add_argument("--namespace", default="test")
    ap.add_argument("--set", default="obs_bench")
    ap.add_argument("--ops", type=int, default=20000, help="operations per mode and case in one run")
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--width", type=int, default=16, help="async commands in flight")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--json")
    args = ap.parse_args()

    proc = None
    if args.host is None:
        proc, host, port = start_server()
    else:
        host, port = args.host, args.port
    # Generous timeouts: on a busy shared machine a 1 s default can expire and end the run.
    cfg = {"hosts": [(host, port)], "policies": {"read": {"total_timeout": 10000, "max_retries": 2},
                                                 "write": {"total_timeout": 10000, "max_retries": 2}}}
    modes = Modes()
    names = [m for m in modes.available() if m in args.modes.split(",")]
    log(f"aerospike_py from {aerospike_py.__file__}; server {host}:{port}; modes {names}")
    keys = [(args.namespace, args.set, i) for i in range(1000)]
    seq = [keys[i % len(keys)] for i in range(args.ops)]
    samples: dict[str, list[dict[str, float]]] = {}
    try:
        c = aerospike_py.client(cfg).connect()
        try:
            for k in keys:
                c.put(k, RECORD)
            for _ in range(args.repeat):
                for case in ("get", "put"):
                    samples.setdefault(case, []).extend(run_sync(c, case, seq, modes, names, args.chunk))
                samples.setdefault(f"async get x{args.width}", []).extend(
                    run_async(cfg, seq, modes, names, args.chunk, args.width))
        finally:
            modes.set("off")
            if modes.has_metrics:
                aerospike_py.set_metrics_enabled(True)
            c.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()

    rows = []
    print(f"{'case':<16}{'mode':<10}{'cpu us/op':>10}{'vs off':>9}   (medians over {args.repeat} x turns)")
    for case, turns in samples.items():
        for m in names:
            med = statistics.median(t[m] for t in turns)
            ratio = statistics.median(t[m] / t["off"] for t in turns)
            rows.append({"case": case, "mode": m, "cpu_us": med, "ratio": ratio, "turns": len(turns)})
            print(f"{case:<16}{m:<10}{med:>10.2f}{ratio:>9.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
