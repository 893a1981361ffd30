"""The sdist builds, holds what its tests need, and builds the wheel; the wheel installs into a fresh
virtual environment (no index: msgpack is lent from this environment) where the package imports,
its pytest plugin is registered and a client talks to the embedded server. The sdist's own tests
run from its unpacked tree: its API-surface tests and the quickstart; with
``AEROSPIKE_PY_SLOW_TESTS=1`` its whole suite (minutes)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SLOW = bool(os.environ.get("AEROSPIKE_PY_SLOW_TESTS"))

SMOKE = """
import importlib.metadata, sys
import aerospike_py
from aerospike_py.server import EmbeddedServer
assert aerospike_py.__file__.startswith(sys.prefix), aerospike_py.__file__
with EmbeddedServer() as srv, aerospike_py.client(srv.config).connect() as c:
    c.put(("test", "smoke", 1), {"a": 1, "l": [1, 2]})
    rec = c.get(("test", "smoke", 1))
    assert rec.bins == {"a": 1, "l": [1, 2]} and rec.meta.gen == 1, rec
eps = [e.value for e in importlib.metadata.entry_points(group="pytest11") if e.name == "aerospike_py"]
assert eps == ["aerospike_py.server.pytest_plugin"], eps
print("smoke ok", aerospike_py.__version__)
"""


def _needs_build_tools() -> None:
    if sys.platform == "win32":
        pytest.skip("the fresh venv is laid out for POSIX")
    if not (ROOT / "pyproject.toml").exists() or not (ROOT / "src").is_dir():
        pytest.skip("not a source tree")
    if importlib.util.find_spec("build") is None:
        pytest.skip("build is not installed")
    major = int(importlib.metadata.version("setuptools").split(".")[0])
    if major < 77:
        pytest.skip("setuptools>=77 is needed to build without isolation (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """``python -m build``: the sdist, then the wheel built from the unpacked sdist (of a copy of the
    tree: a build leaves ``*.egg-info`` and ``build/`` behind)."""
    _needs_build_tools()
    tree = tmp_path_factory.mktemp("tree") / "src-tree"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "site", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"))
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(tree)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


def _only(dist: Path, pattern: str) -> Path:
    found = list(dist.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def test_sdist_holds_sources_tests_and_docs(dist):
    with tarfile.open(_only(dist, "*.tar.gz")) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    for need in ("LICENSE", "README.md", "pyproject.toml", "mkdocs.yml", "docs/index.md", "docs/hooks.py",
                 "src/aerospike_py/py.typed", "src/aerospike_py/_client.pyi", "src/aerospike_py/_async_client.pyi",
                 "src/aerospike_py/_lua/runtime.lua", "tests/conftest.py", "tests/typing/usage.py",
                 "tests/udf/udf_lib.lua", "tools/gen_client_stubs.py", "examples/quickstart.py"):
        assert need in names, need
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_wheel_holds_the_package_and_its_type_information(dist):
    with zipfile.ZipFile(_only(dist, "*.whl")) as zf:
        names = set(zf.namelist())
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = zf.read(meta_name).decode()
        eps = zf.read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    for need in ("aerospike_py/__init__.py", "aerospike_py/py.typed", "aerospike_py/_client.pyi",
                 "aerospike_py/_async_client.pyi", "aerospike_py/_lua/runtime.lua",
                 "aerospike_py/server/pytest_plugin.py"):
        assert need in names, need
    assert not [n for n in names if n.startswith(("tests/", "docs/", "tools/"))]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "License-Expression: Apache-2.0" in meta and "Requires-Dist: msgpack" in meta
    assert "aerospike_py = aerospike_py.server.pytest_plugin" in eps


def _fresh_venv(path: Path) -> Path:
    venv.EnvBuilder(with_pip=False).create(path)  # this environment's pip installs into it (--python)
    py = path / "bin" / "python"
    # The only dependency, lent from this environment: a directory holding just msgpack, on a .pth.
    lent = path / "lent"
    lent.mkdir()
    spec = importlib.util.find_spec("msgpack")
    assert spec is not None and spec.submodule_search_locations
    (lent / "msgpack").symlink_to(Path(spec.submodule_search_locations[0]), target_is_directory=True)
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "lent.pth").write_text(str(lent) + "\n")
    return py


def test_wheel_installs_and_runs_in_a_fresh_venv(dist, tmp_path):
    py = _fresh_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-index",
                           "--no-deps", str(_only(dist, "*.whl"))], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run([str(py), "-c", SMOKE], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert done.returncode == 0 and "smoke ok" in done.stdout, done.stdout + done.stderr


def test_the_sdists_tests_run_from_its_tree(dist, tmp_path):
    with tarfile.open(_only(dist, "*.tar.gz")) as tf:
        tf.extractall(tmp_path, filter="data")
    tree = next(tmp_path.iterdir())
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    env.pop("AEROSPIKE_REAL", None)
    which = ["tests", "--ignore=tests/test_packaging.py"] if SLOW else ["tests/test_api_surface.py"]
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *which],
                          cwd=tree, capture_output=True, text=True, timeout=3600, env=env)
    assert done.returncode == 0 and " passed" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    done = subprocess.run([sys.executable, "examples/quickstart.py"], cwd=tree, capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0 and "done" in done.stdout, done.stdout + done.stderr
