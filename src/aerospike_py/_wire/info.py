"""Info protocol (proto type 1): newline-separated commands, tab-separated answers."""

from __future__ import annotations

from collections.abc import Sequence

from .constants import PROTO_TYPE_INFO
from .proto import pack_proto_header


def pack_info_request(*commands: str) -> bytes:
    """A frame asking the given info commands (none: the server's default set)."""
    body = "".join(c + "\n" for c in commands).encode()
    return pack_proto_header(PROTO_TYPE_INFO, len(body)) + body


def parse_info_response(body: bytes | memoryview, commands: Sequence[str] = ()) -> dict[str, str]:
    """``{command: value}`` from an info reply body.

    A server that refuses the whole request answers one ``ERROR:<code>:<text>`` line without
    command names (a node with security: ``ERROR:80:not authenticated`` on a connection that has
    not logged in): each of ``commands`` missing from the reply gets that error as its value.
    """
    out: dict[str, str] = {}
    refusal = None
    for line in bytes(body).decode(errors="replace").split("\n"):
        if not line:
            continue
        name, sep, value = line.partition("\t")
        if not sep and name.startswith("ERROR:"):
            refusal = name
        out[name] = value if sep else ""
    if refusal is not None:
        for c in commands:
            out.setdefault(c, refusal)
    return out


def pack_info_response(pairs: dict[str, str] | list[tuple[str, str]]) -> bytes:
    """A frame answering info commands (server side)."""
    items = pairs.items() if isinstance(pairs, dict) else pairs
    body = "".join(f"{k}\t{v}\n" for k, v in items).encode()
    return pack_proto_header(PROTO_TYPE_INFO, len(body)) + body


def info_error(value: str) -> tuple[int, str] | None:
    """``(code, text)`` when an info value is an error (``ERROR:<code>:<text>`` or ``FAIL:...``)."""
    if value.startswith(("ERROR", "FAIL", "error")):
        parts = value.split(":", 2)
        code = 1
        if len(parts) > 1:
            try:
                code = int(parts[1])
            except ValueError:
                code = 1
        return code, parts[2] if len(parts) > 2 else value
    return None
