"""The pytest plugin's fixtures (isolation of data, clock and faults; the async client; several
xdist workers) and the server CLI's answer to a busy port. The plugin runs in a child pytest."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")

USER_TESTS = '''
import asyncio

K = ("test", "plugin", "k")


def test_a_leaves_state_behind(aerospike_server, aerospike_client):
    aerospike_client.put(K, {"a": 1})
    aerospike_server.clock.advance(100)
    aerospike_server.inject_fault("drop")


def test_b_starts_clean(aerospike_server, aerospike_client):
    assert aerospike_server.clock.offset == 0
    assert aerospike_client.exists(K).meta is None
    aerospike_client.put(K, {"a": 2})  # no injected fault is pending


def test_c_async_client(aerospike_async_client):
    async def main():
        c = await aerospike_async_client.connect()
        await c.put(K, {"a": 3})
        assert (await c.get(K)).bins == {"a": 3}
        await c.close()

    asyncio.run(main())


def test_d_async_client_left_open(aerospike_async_client):
    async def main():
        c = await aerospike_async_client.connect()
        assert (await c.exists(K)).meta is None  # the previous test's record is gone

    asyncio.run(main())


def test_e_after_async(aerospike_client):
    assert aerospike_client.exists(K).meta is None
'''


def _run_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # The plugin comes in through its pytest11 entry point (the package is installed).
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path / "test_user.py"), *args],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)


def test_fixtures_isolate_each_test(tmp_path):
    done = _run_pytest(tmp_path, "-p", "no:randomly")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout


def test_fixtures_work_with_xdist(tmp_path):
    if importlib.util.find_spec("xdist") is None:
        pytest.skip("pytest-xdist is not installed")
    # Each worker has its own server; the tests that depend on their order run on one worker.
    done = _run_pytest(tmp_path, "-n", "2", "--dist", "loadfile")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout


def test_cli_busy_port_is_one_clear_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": SRC}
        done = subprocess.run([sys.executable, "-m", "aerospike_py.server", "--port", str(port)],
                              capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == f"python -m aerospike_py.server: 127.0.0.1:{port} is already in use"
    assert "Traceback" not in done.stderr
