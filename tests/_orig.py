"""aerospike-py 0.14.4 (the original) in its own interpreter, for differential tests.

``AEROSPIKE_PY_ORIG_PYTHON`` names a Python that has ``aerospike-py`` installed (default: the
``orig-venv`` next to the project); tests using it skip when there is none.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ORIG_PYTHON = Path(os.environ.get("AEROSPIKE_PY_ORIG_PYTHON",
                                  Path(__file__).resolve().parents[2] / "orig-venv" / "bin" / "python"))


def run_original(script: str, hosts: list[tuple[str, int]]) -> object:
    """Run ``script`` under the original with ``c`` a client connected to ``hosts``; ``script``
    assigns ``out``, a JSON-able value (tuples become lists), which is returned."""
    if not ORIG_PYTHON.exists():
        pytest.skip(f"no aerospike-py 0.14.4 interpreter at {ORIG_PYTHON}")
    code = ("import json, aerospike_py\n"
            "from aerospike_py import list_operations as lo, map_operations as mo\n"
            f"c = aerospike_py.client({{'hosts': {hosts!r}}}).connect()\n"
            f"{script}\n"
            "print(json.dumps(out))\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # not our source tree
    done = subprocess.run([str(ORIG_PYTHON), "-c", code], capture_output=True, text=True, timeout=60, env=env)
    if done.returncode:
        raise AssertionError(f"the original failed:\n{done.stderr}")
    return json.loads(done.stdout)


def jsonable(v: object) -> object:
    """``v`` as it comes back from :func:`run_original` (a JSON round trip)."""
    return json.loads(json.dumps(v))
