"""``import aerospike_py`` is light: the heavy parts load on first use, and every top-level name
still resolves (to the same object as its home module's), for programs and for type checkers."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import aerospike_py

HEAVY = ("asyncio", "numpy", "ssl", "logging", "http.server", "typing", "aerospike_py.server",
         "aerospike_py._async_client", "aerospike_py._client")
#: What the sync client (created, not connected) must still not need.
SYNC_NEVER = ("asyncio", "numpy", "ssl", "http.server", "aerospike_py.server", "aerospike_py._async_client")


def _loaded_after(code: str, names: tuple[str, ...]) -> list[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps([m for m in {list(names)!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_loads_nothing_heavy():
    assert _loaded_after("import aerospike_py", HEAVY) == []


def test_sync_client_does_not_load_asyncio_numpy_ssl():
    code = ("import aerospike_py\n"
            "c = aerospike_py.client({'hosts': [('127.0.0.1', 3000)]})\n"
            "from aerospike_py import list_operations, exception, exp\n")
    assert _loaded_after(code, SYNC_NEVER) == []


def test_every_top_level_name_resolves_in_a_fresh_interpreter():
    code = ("import aerospike_py as a\n"
            "names = [*a.__all__, *a._COMPAT_NAMES]\n"
            "missing = [n for n in names if getattr(a, n, None) is None]\n"
            "assert not missing, missing\n"
            "from aerospike_py import *  # noqa\n"
            "from aerospike_py._async_client import AsyncClient\n"
            "from aerospike_py.exception import _IndexError\n"
            "assert a.AsyncClient is AsyncClient and a.IndexError is _IndexError\n"
            "import aerospike_py.list_operations as lo\n"
            "assert a.list_operations is lo\n"
            "import logging\n"
            "assert a.logger is logging.getLogger('aerospike_py') and a.logger.handlers\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_type_checking_imports_match_the_lazy_table():
    """The ``if TYPE_CHECKING:`` imports (what type checkers see) name exactly the lazily loaded
    names, from the same modules."""
    tree = ast.parse(Path(aerospike_py.__file__).read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    seen: dict[str, tuple[str, str]] = {}
    submodules = set()
    for node in block.body:
        assert isinstance(node, ast.ImportFrom), ast.dump(node)
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if module == ".":
                submodules.add(alias.name)
            elif module not in ("typing", "._logging"):
                seen[alias.asname or alias.name] = (module, alias.name)
    assert seen == aerospike_py._LAZY
    assert submodules == set(aerospike_py._SUBMODULES)
