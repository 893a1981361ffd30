"""A seeded slice of tests/_requestfuzz.py: mutated real requests (the client's own and those of
``../shared/traces``) sent to the embedded server get well-formed answers or a closed connection,
quickly, never an exception out of the server, and other clients are still served."""

from __future__ import annotations

import os
import random

from _requestfuzz import Findings, run_direct, run_sockets, setup


def test_mutated_requests_direct_and_over_sockets() -> None:
    nodes, corpus, frames = setup()
    f = Findings()
    run_direct(nodes, corpus, random.Random(2026), int(os.environ.get("AEROSPIKE_PY_FUZZ_REQUESTS", "4000")), f)
    assert f.clean, f.summary()
    assert f.answered > f.n // 2  # most mutated frames reach a handler (not refused by their header)
    g = Findings()
    run_sockets(frames, random.Random(2026), 60, g)
    assert g.clean, g.summary()
