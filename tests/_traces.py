"""Reading message frames out of the shared trace files (tests only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from _paths import require
from aerospike_py._wire import constants as W
from aerospike_py._wire.message import parse_fields, parse_header, parse_wire_ops


def trace_frames(trace: Path, prefix: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(request, reply) message frames of the steps of ``trace`` whose label starts with ``prefix``."""
    out, pending = [], None
    for line in require(trace).read_text().splitlines():
        d = json.loads(line)
        if d.get("type") != W.PROTO_TYPE_MESSAGE or not d.get("step", "").startswith(prefix):
            continue
        if d["dir"] == "c2s":
            pending = d
        elif pending is not None:
            out.append((pending, d))
            pending = None
    return out


def decode(frame: dict[str, Any]) -> tuple[Any, dict[int, bytes], list]:
    """(header, fields, wire ops) of a traced message frame."""
    body = bytes.fromhex(frame["hex"])[8:]
    h = parse_header(body)
    fields, off = parse_fields(body, 22, h.n_fields)
    return h, fields, parse_wire_ops(body, off, h.n_ops)[0]
