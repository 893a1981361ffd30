"""Prometheus histograms of the client, kept in plain Python (no dependency), and their text.

Two families, named and labelled as the original client names them (OpenTelemetry database
semantic conventions): ``db_client_operation_duration_seconds`` (one sample per operation) and
``db_client_internal_stage_seconds`` (opt-in stage timings). A series is a list of per-bucket
counts followed by the sum; the recording side (:mod:`._observe`) increments it under
:data:`LOCK`. :func:`exposition` renders the Prometheus text format (version 0.0.4).
"""

from __future__ import annotations

import math
import os
import threading
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

#: Guards every series update and every read of the families.
LOCK = threading.Lock()

OP_BUCKETS: tuple[float, ...] = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)
STAGE_BUCKETS: tuple[float, ...] = (
    0.000001, 0.000005, 0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1,
    0.5, 1.0,
)
OP_LABELS = ("db_system_name", "db_namespace", "db_collection_name", "db_operation_name", "error_type")
STAGE_LABELS = ("stage", "db_operation_name")


class Family:
    """One histogram metric: label values (a tuple) -> series ``[count per bucket..., +Inf, sum]``."""

    def __init__(self, name: str, help_text: str, label_names: tuple[str, ...], bounds: tuple[float, ...]) -> None:
        self.name = name
        self.help = help_text
        self.label_names = label_names
        self.bounds = bounds
        self.series: dict[tuple[str, ...], list[Any]] = {}

    def series_for(self, labels: tuple[str, ...]) -> list[Any]:
        """The series of ``labels`` (created empty on first use)."""
        s = self.series.get(labels)
        if s is None:
            with LOCK:
                s = self.series.setdefault(labels, [0] * (len(self.bounds) + 1) + [0.0])
        return s

    def observe(self, labels: tuple[str, ...], value: float) -> None:
        """Record one sample (the general path; hot paths keep the series and index it themselves)."""
        s = self.series_for(labels)
        i = bisect_left(self.bounds, value)
        with LOCK:
            s[i] += 1
            s[-1] += value

    def snapshot(self) -> list[tuple[tuple[str, ...], list[Any]]]:
        with LOCK:
            return [(k, list(v)) for k, v in self.series.items()]

    def clear(self) -> None:
        """Zero every series in place (cached references stay valid; label sets stay listed)."""
        with LOCK:
            for s in self.series.values():
                s[:-1] = [0] * (len(s) - 1)
                s[-1] = 0.0


OPERATIONS = Family(
    "db_client_operation_duration_seconds", "Duration of database client operations.", OP_LABELS, OP_BUCKETS,
)
STAGES = Family(
    "db_client_internal_stage_seconds",
    "Internal stage durations within a database operation (key_parse, io, parse, as_dict, ...).",
    STAGE_LABELS, STAGE_BUCKETS,
)
FAMILIES = (OPERATIONS, STAGES)


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


#: Whether operations are recorded (the original's default: on).
enabled = True
#: Whether internal stages are recorded (default off; env ``AEROSPIKE_PY_INTERNAL_METRICS``).
stages_enabled = _env_flag("AEROSPIKE_PY_INTERNAL_METRICS")


def _le(v: float) -> str:
    """A bucket bound as the original writes it: ``0.000001``, ``0.5``, ``1.0``, ``+Inf``."""
    if v == math.inf:
        return "+Inf"
    text = f"{v:.9f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _number(v: float) -> str:
    return str(v) if isinstance(v, int) else repr(float(v))


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: tuple[str, ...], le: str | None = None) -> str:
    parts = [f'le="{le}"'] if le is not None else []
    parts += [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    return "{" + ",".join(parts) + "}"


def family_lines(fam: Family) -> Iterator[str]:
    """The text lines of one family: HELP, TYPE, then per series ``_sum``, ``_count``, ``_bucket``s."""
    yield f"# HELP {fam.name} {fam.help.replace(chr(92), chr(92) * 2).replace(chr(10), chr(92) + 'n')}"
    yield f"# TYPE {fam.name} histogram"
    les = [_le(b) for b in fam.bounds] + ["+Inf"]
    for values, s in fam.snapshot():
        lbl = _labels(fam.label_names, values)
        counts = s[:-1]
        yield f"{fam.name}_sum{lbl} {_number(s[-1])}"
        yield f"{fam.name}_count{lbl} {sum(counts)}"
        acc = 0
        for le, c in zip(les, counts, strict=True):
            acc += c
            yield f"{fam.name}_bucket{_labels(fam.label_names, values, le)} {acc}"


def exposition() -> str:
    """Every family in the Prometheus text format, ending with ``# EOF`` as the original's does."""
    lines: list[str] = []
    for fam in FAMILIES:
        lines.extend(family_lines(fam))
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def reset() -> None:
    """Forget every recorded sample (tests, benchmarks)."""
    for fam in FAMILIES:
        fam.clear()


# --------------------------------------------------------------------------- prometheus_client


def collector() -> Any:
    """A ``prometheus_client`` collector that reports these families (needs ``prometheus_client``)."""
    from prometheus_client.core import HistogramMetricFamily

    class AerospikeCollector:
        def collect(self) -> Iterator[Any]:
            for fam in FAMILIES:
                out = HistogramMetricFamily(fam.name, fam.help, labels=list(fam.label_names))
                les = [_le(b) for b in fam.bounds] + ["+Inf"]
                for values, s in fam.snapshot():
                    acc, buckets = 0, []
                    for le, c in zip(les, s[:-1], strict=True):
                        acc += c
                        buckets.append((le, acc))
                    out.add_metric(list(values), buckets, s[-1])
                yield out

        def describe(self) -> list[Any]:
            return [HistogramMetricFamily(f.name, f.help, labels=list(f.label_names)) for f in FAMILIES]

    return AerospikeCollector()


__all__ = ["OPERATIONS", "STAGES", "LOCK", "Family", "exposition", "collector", "reset"]
