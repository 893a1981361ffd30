"""Type information: the typed client facades match the runtime clients; the package and a typed
usage file of the whole API pass ``mypy --strict`` (a missing ``await`` is reported)."""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import aerospike_py

ROOT = Path(__file__).resolve().parents[1]
USAGE = ROOT / "tests" / "typing" / "usage.py"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_client_stubs", ROOT / "tools" / "gen_client_stubs.py")
    if spec is None or spec.loader is None:
        pytest.skip("tools/gen_client_stubs.py not available")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_stubs_match_the_runtime_signatures():
    gen = _generator()
    for path, text in gen.targets().items():
        assert path.read_text() == text, f"{path.name} is stale: run python tools/gen_client_stubs.py"


def test_every_operation_has_a_return_type():
    gen = _generator()
    for cls in (aerospike_py.Client, aerospike_py.AsyncClient):
        missing = [n for n in gen.public_operations(cls) if n not in gen.RETURNS and n != "connect"]
        assert not missing, f"add the return types of {missing} to RETURNS in tools/gen_client_stubs.py"


def test_async_stub_declares_coroutines_where_the_runtime_has_them():
    text = (ROOT / "src" / "aerospike_py" / "_async_client.pyi").read_text()
    for name in _generator().public_operations(aerospike_py.AsyncClient):
        is_coro = inspect.iscoroutinefunction(getattr(aerospike_py.AsyncClient, name))
        assert (f"    async def {name}(" in text) == is_coro, name


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed")
    env_src = str(ROOT / "src")
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--python-executable", sys.executable, *args],
                          capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "MYPYPATH": env_src},
                          timeout=600)


@pytest.fixture(scope="module")
def mypy_run(tmp_path_factory):
    """One ``mypy --strict`` run (it takes tens of seconds) over the package (its settings in
    pyproject.toml), the usage file and a missing-await file."""
    tmp = tmp_path_factory.mktemp("mypy")
    bad = tmp / "missing_await.py"
    bad.write_text("import aerospike_py\n\n\nasync def f(c: aerospike_py.AsyncClient) -> None:\n"
                   "    c.put(('test', 'demo', 1), {'a': 1})\n")
    return _mypy("--cache-dir", str(tmp / "cache"), "src/aerospike_py", str(USAGE), str(bad)), bad


def _errors(done: subprocess.CompletedProcess[str], prefix: str) -> list[str]:
    return [line for line in done.stdout.splitlines() if line.startswith(prefix) and ": error:" in line]


def test_package_passes_mypy_strict(mypy_run):
    done, _ = mypy_run
    assert "src/aerospike_py" in done.args and not _errors(done, "src"), done.stdout + done.stderr
    assert not done.stderr.strip(), done.stderr


def test_usage_file_passes_mypy_strict(mypy_run):
    done, _ = mypy_run
    assert not _errors(done, str(USAGE.relative_to(ROOT))) and not _errors(done, str(USAGE)), done.stdout


def test_mypy_flags_a_missing_await(mypy_run):
    done, bad = mypy_run
    flagged = _errors(done, str(bad))
    assert len(flagged) == 1 and "unused-coroutine" in flagged[0], done.stdout


def test_pyright_verifytypes_completeness(tmp_path):
    """``pyright --verifytypes``: at least 98% of the public symbols have known types."""
    if importlib.util.find_spec("pyright") is None:
        pytest.skip("pyright is not installed")
    if shutil.which("node") is None:
        pytest.skip("no Node.js on this machine (pyright would download one)")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    done = subprocess.run([sys.executable, "-m", "pyright", "--verifytypes", "aerospike_py", "--ignoreexternal",
                           "--outputjson"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    try:
        report = json.loads(done.stdout)["typeCompleteness"]
    except (ValueError, KeyError):
        pytest.fail(f"pyright gave no report: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    assert report["packageRootDirectory"] == str(ROOT / "src" / "aerospike_py")
    unknown = [s["name"] for s in report["symbols"] if s.get("isExported") and not s["isTypeKnown"]]
    assert report["completenessScore"] >= 0.98, f"{report['completenessScore']:.3f}: {unknown[:50]}"
