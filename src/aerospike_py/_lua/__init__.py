"""The Lua 5.4 runtime of UDFs (``lupa``), shared by the embedded server (record and stream UDFs)
and the client (the final reduce of an aggregation runs locally, as the official clients do).

Lua 5.4 because the real server 8 embeds Lua 5.4 (its integers are 64-bit, ``//`` and bit
operators exist, and error messages read the same), so a module behaves here as it does there.
``lupa`` is an optional dependency (``pip install aerospike-purepy[lua]``).

What a module sees is built by ``runtime.lua``: the safe parts of the standard library (no
``io``, no ``os`` beyond time functions, no ``load``/``dofile``, ``require`` only of known
modules, no ``debug``), Aerospike's ``list``/``map``/``bytes``/``geojson`` types, ``record.*``,
``aerospike:*``, the ``trace/debug/info/warn`` loggers and the stream pipeline
(``map``/``filter``/``aggregate``/``reduce``/``groupby``). A call that runs past its time limit
fails with ``UDF Execution Timeout``; the Lua heap is bounded (``LuaEngine.max_memory``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from .._wire.values import GeoJSON

log = logging.getLogger("aerospike_py.lua")

_LOG_LEVELS = {1: logging.WARNING, 2: logging.INFO, 3: logging.DEBUG, 4: logging.DEBUG}
#: Stream stages of the server side and of the client side (``API.stages``).
SCOPE_SERVER = 1
SCOPE_CLIENT = 2


def lupa_available() -> bool:
    try:
        import lupa.lua54  # noqa: F401
    except ImportError:
        return False
    return True


def _deny_attributes(obj: Any, name: Any, setting: bool) -> Any:
    raise AttributeError("Python attributes are not reachable from a UDF")


class LuaEngine:
    """One Lua 5.4 state: the runtime, value conversion both ways, and calls under a time limit.
    Subclasses say where ``require`` finds module sources (:meth:`source`) and what time it is."""

    #: Bound of the Lua heap, bytes (a UDF that needs more fails "not enough memory").
    max_memory = 128 * 1024 * 1024
    #: Where ``info``/``warn``/``debug``/``trace`` of a module go.
    logger = log

    def __init__(self) -> None:
        from lupa import lua54

        self.lock: threading.RLock = threading.RLock()
        # types-lupa describes a runtime with a str encoding and few of LuaRuntime's arguments; this
        # one runs with encoding=None (Lua strings are bytes), so it is used without those types.
        runtime: Any = lua54.LuaRuntime
        self.rt: Any = runtime(encoding=None, unpack_returned_tuples=True, register_eval=False,
                               register_builtins=False, attribute_filter=_deny_attributes,
                               max_memory=self.max_memory)
        self.lua_type: Callable[[object], str | None] = lua54.lua_type
        self.deadline: float = 0.0
        host = self.rt.table_from({b"expired": self._expired, b"log": self._log, b"now_ms": self.now_ms,
                                   b"source": self._source})
        code = resources.files(__package__).joinpath("runtime.lua").read_bytes()
        #: The runtime's API table and the functions of it used per value (Lua functions: untyped).
        self.api: Any = self.rt.execute(code, host)
        self.kind: Any = self.api[b"kind"]
        self.new_list: Any = self.api[b"new_list"]
        self.new_map: Any = self.api[b"new_map"]
        self.map_set: Any = self.api[b"map_set"]
        self.new_bytes: Any = self.api[b"new_bytes"]
        self.new_geojson: Any = self.api[b"new_geojson"]

    # callbacks from Lua ---------------------------------------------------

    def _expired(self) -> bool:
        return time.monotonic() > self.deadline

    def _log(self, level: int, msg: bytes) -> None:
        self.logger.log(_LOG_LEVELS.get(level, logging.DEBUG), "%s", msg.decode(errors="replace"))

    def now_ms(self) -> int:
        return int(time.time() * 1000)

    def source(self, name: str) -> bytes | None:
        """The source of module ``name`` (without ``.lua``) for ``require``; None: not found."""
        return None

    def _source(self, name: bytes) -> bytes | None:
        return self.source(name.decode(errors="replace"))

    # modules -------------------------------------------------------------

    def load(self, content: bytes, chunkname: bytes, limit_ms: int) -> tuple[Any, str | None]:
        """A fresh sandboxed environment with the module's top level run in it: ``(env, None)``,
        or ``(None, error text)``."""
        env = self.api[b"new_env"]()
        self.deadline = time.monotonic() + limit_ms / 1000
        ok, err = self.api[b"load"](content, chunkname, env)
        if ok:
            return env, None
        return None, err.decode(errors="replace") if isinstance(err, bytes) else "(Null error message returned by lua)"

    # values ----------------------------------------------------------------

    def to_lua(self, v: Any) -> Any:
        t = type(v)
        if t is int or t is float or t is bool or v is None:
            return v
        if t is str:
            return v.encode()
        if t is GeoJSON:
            return self.new_geojson(v.encode())
        if isinstance(v, str):
            return v.encode()
        if isinstance(v, (bytes, bytearray)):
            return self.new_bytes(bytes(v), 4)
        if isinstance(v, (list, tuple)):
            return self.new_list(self.rt.table_from([self.to_lua(x) for x in v]), len(v))
        if isinstance(v, dict):
            m = self.new_map()
            for k, x in v.items():
                self.map_set(m, self.to_lua(k), self.to_lua(x))
            return m
        return None

    def from_lua(self, v: Any) -> Any:
        t = type(v)
        if t is int or t is float or t is bool or v is None:
            return v
        if t is bytes:
            return v.decode(errors="replace")
        if self.lua_type(v) != "table":
            return None
        k = self.kind(v)
        if k == 1:
            items = v[b"_v"]
            return [self.from_lua(items[i]) for i in range(1, v[b"_n"] + 1)]
        if k == 2:
            keys = v[b"_k"]
            return {self.from_lua(keys[nk]): self.from_lua(x) for nk, x in v[b"_m"].items()}
        if k == 3:
            return bytes(v[b"_s"])
        if k == 4:
            return GeoJSON(v[b"_s"].decode(errors="replace"))
        return None

    # calls -----------------------------------------------------------------

    def call(self, env: Any, function: str, rec: Any, args: list[Any], limit_ms: int) -> tuple[bool, Any]:
        """A record UDF call: ``(True, value)`` or ``(False, error)``."""
        self.deadline = time.monotonic() + limit_ms / 1000
        lua_args = self.rt.table_from([self.to_lua(a) for a in args])
        outcome: tuple[bool, Any] = self.api[b"call"](env, function.encode(), rec, lua_args, len(args))
        return outcome

    def stages(self, env: Any, function: str, scope: int, args: list[Any], limit_ms: int) -> tuple[bool, Any, int]:
        """The stream stages ``function(stream, *args)`` sets up for one side:
        ``(True, stages, count)`` or ``(False, error, 0)``."""
        self.deadline = time.monotonic() + limit_ms / 1000
        lua_args = self.rt.table_from([self.to_lua(a) for a in args])
        res = self.api[b"stages"](env, function.encode(), scope, lua_args, len(args))
        return (True, res[1], res[2]) if res[0] else (False, res[1], 0)

    def run_stages(self, stages: Any, values: Any, n: int, limit_ms: int) -> tuple[bool, Any]:
        """Run stages over a Lua table ``values[1..n]``: ``(True, [Lua values])`` or ``(False, error)``."""
        self.deadline = time.monotonic() + limit_ms / 1000
        res = self.api[b"run_stages"](stages, values, n)
        if not res[0]:
            return False, res[1]
        out = res[1]
        return True, [out[i] for i in range(1, res[2] + 1)]

    def error_text(self, err: Any) -> str:
        """A Lua error value as the server reports it."""
        if isinstance(err, bytes):
            return err.decode(errors="replace")
        v = self.from_lua(err)
        return v if isinstance(v, str) else "(Null error message returned by lua)"
