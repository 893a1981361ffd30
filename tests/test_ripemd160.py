"""Tests for the pure-Python RIPEMD-160 fallback."""

from __future__ import annotations

import hashlib
import os
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aerospike_py._wire._ripemd160 import ripemd160

# Test vectors from the RIPEMD-160 paper (Dobbertin, Bosselaers, Preneel, 1996), appendix B.
VECTORS: list[tuple[bytes, str]] = [
    (b"", "9c1185a5c5e9fc54612808977ee8f548b2258d31"),
    (b"a", "0bdc9d2d256b3ee9daae347be6f4dc835a467ffe"),
    (b"abc", "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"),
    (b"message digest", "5d0689ef49d2fae572b881b123a85ffa21595f36"),
    (b"abcdefghijklmnopqrstuvwxyz", "f71c27109c692c1b56bbdceb5b9d2865b3708dbc"),
    (
        b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
        "12a053384a9c0c88e405a06c27dcf49ada62eb2b",
    ),
    (
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "b0e20b6e3116640286ed3a87a5713079b21f5189",
    ),
    (b"1234567890" * 8, "9b752e45573d4b39f4dbd3323cab82bf63326bfb"),
]

MILLION_A_DIGEST = "52783243c1697bdbe16d37f97f68f08325dc1528"


def _hashlib_has_ripemd160() -> bool:
    try:
        hashlib.new("ripemd160")
    except (ValueError, TypeError):
        return False
    return True


HAS_HASHLIB_RIPEMD160 = _hashlib_has_ripemd160()


@pytest.mark.parametrize(("message", "expected"), VECTORS, ids=[repr(m[:16]) for m, _ in VECTORS])
def test_paper_vectors(message: bytes, expected: str) -> None:
    digest = ripemd160(message)
    assert isinstance(digest, bytes)
    assert len(digest) == 20
    assert digest.hex() == expected


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_accepts_bytes_like(wrap: type) -> None:
    message, expected = VECTORS[3]
    assert ripemd160(wrap(message)).hex() == expected


def test_padding_boundaries_match_hashlib() -> None:
    # Lengths around the 55/56/64-byte padding boundaries, deterministic content.
    if not HAS_HASHLIB_RIPEMD160:
        pytest.skip("hashlib has no ripemd160 (OpenSSL 3 without the legacy provider)")
    for n in (54, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129):
        data = bytes((i * 7 + 3) & 0xFF for i in range(n))
        assert ripemd160(data) == hashlib.new("ripemd160", data).digest(), n


def test_one_million_a() -> None:
    """Paper vector for 10**6 times "a"; skipped when projected to take over 2 s.

    Set ``AEROSPIKE_PY_SLOW_TESTS=1`` to force it.
    """
    total = 1_000_000
    if not os.environ.get("AEROSPIKE_PY_SLOW_TESTS"):
        probe = 1 << 15
        start = time.perf_counter()
        ripemd160(b"a" * probe)
        projected = (time.perf_counter() - start) * total / probe
        if projected > 2.0:
            pytest.skip(f"slow: projected {projected:.1f}s (set AEROSPIKE_PY_SLOW_TESTS=1 to run)")
    assert ripemd160(b"a" * total).hex() == MILLION_A_DIGEST


@pytest.mark.skipif(not HAS_HASHLIB_RIPEMD160, reason="hashlib has no ripemd160")
@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=300))
def test_matches_hashlib(data: bytes) -> None:
    assert ripemd160(data) == hashlib.new("ripemd160", data).digest()
