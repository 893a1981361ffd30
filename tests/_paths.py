"""Where the shared reference material lives (``../shared`` from the project root)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("AEROSPIKE_PY_SHARED", Path(__file__).resolve().parents[2] / "shared"))
TRACES = SHARED / "traces"
REFERENCE = SHARED / "reference"


def require(path: Path) -> Path:
    """``path``, or skip the calling test when the shared material is not on this machine."""
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path
