"""The 8-byte proto header that frames every message, and compressed frames."""

from __future__ import annotations

import struct
import zlib

from .constants import MAX_PROTO_BODY, PROTO_TYPE_COMPRESSED, PROTO_VERSION

PROTO_HEADER = struct.Struct(">Q")
_SIZE_MASK = (1 << 48) - 1


class ProtocolError(Exception):
    """Bytes that do not follow the protocol."""


def pack_proto_header(ptype: int, length: int) -> bytes:
    """Header for a body of ``length`` bytes."""
    if length > MAX_PROTO_BODY:
        raise ProtocolError(f"message too large: {length} bytes")
    return PROTO_HEADER.pack((PROTO_VERSION << 56) | (ptype << 48) | length)


def parse_proto_header(header: bytes | memoryview) -> tuple[int, int, int]:
    """``(version, type, body_length)`` of an 8-byte header."""
    (v,) = PROTO_HEADER.unpack(header)
    return v >> 56, (v >> 48) & 0xFF, v & _SIZE_MASK


def check_proto_header(header: bytes | memoryview, max_body: int = 1 << 31) -> tuple[int, int]:
    """Validate a header; return ``(type, body_length)``."""
    (v,) = PROTO_HEADER.unpack(header)
    version = v >> 56
    ptype = (v >> 48) & 0xFF
    length = v & _SIZE_MASK
    if version != PROTO_VERSION:
        raise ProtocolError(f"bad proto version {version} (header {bytes(header).hex()})")
    if ptype not in (1, 2, 3, 4):
        raise ProtocolError(f"unknown proto type {ptype}")
    if length > max_body:
        raise ProtocolError(f"frame too large: {length} bytes")
    return ptype, length


def decompress_body(body: bytes | memoryview, limit: int = 128 * 1024 * 1024) -> tuple[int, bytes]:
    """Inflate a compressed (type 4) body; return the inner ``(type, body)``.

    Inflates at most ``limit`` bytes of inner frame: a body announcing or inflating to more is a
    :class:`ProtocolError` (no more than the limit is ever allocated).
    """
    if len(body) < 8:
        raise ProtocolError("compressed frame too short")
    expected = int.from_bytes(body[:8], "big")
    if expected > limit + 8:
        raise ProtocolError(f"compressed frame announces {expected} bytes (limit {limit})")
    inflater = zlib.decompressobj()
    try:
        inner = inflater.decompress(body[8:], expected + 1)
    except zlib.error as e:
        raise ProtocolError(f"bad compressed frame: {e}") from None
    if len(inner) != expected or not inflater.eof:
        raise ProtocolError(f"compressed frame does not inflate to the {expected} bytes it announces")
    if len(inner) < 8:
        raise ProtocolError("compressed frame holds no header")
    ptype, length = check_proto_header(inner[:8], limit)
    if ptype == PROTO_TYPE_COMPRESSED or length != len(inner) - 8:
        raise ProtocolError("bad frame inside compressed frame")
    return ptype, inner[8:]


def compress_frame(ptype: int, body: bytes, level: int = 6) -> bytes:
    """Wrap a frame in a compressed (type 4) frame."""
    inner = pack_proto_header(ptype, len(body)) + body
    payload = len(inner).to_bytes(8, "big") + zlib.compress(inner, level)
    return pack_proto_header(PROTO_TYPE_COMPRESSED, len(payload)) + payload
