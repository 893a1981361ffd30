"""Run one test body on the sync Client and on the AsyncClient (tests only)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import aerospike_py
from aerospike_py import AsyncClient

#: Connect/info and command deadlines (ms) for calls that are not testing a timeout: generous,
#: so that a slow or loaded machine cannot fail them.
GENEROUS_MS = 15000


def generous(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` (changed in place) with generous connect, info and default command timeouts;
    values it already has win."""
    config.setdefault("timeout", GENEROUS_MS)
    policies = config.setdefault("policies", {})
    for kind in ("read", "write", "batch"):
        policies.setdefault(kind, {}).setdefault("total_timeout", GENEROUS_MS)
    for kind in ("admin", "info"):
        policies.setdefault(kind, {}).setdefault("timeout", GENEROUS_MS)
    return config


class Blocking:
    """An AsyncClient seen through the sync Client's interface (for running sync test bodies)."""

    def __init__(self, client: AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self.aclient = client
        self.loop = loop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.aclient, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            out = self.loop.run_until_complete(attr(*args, **kwargs))
            return self if out is self.aclient else out

        return call

    def __enter__(self) -> Blocking:
        assert self.loop.run_until_complete(self.aclient.__aenter__()) is self.aclient
        return self

    def __exit__(self, *exc: Any) -> bool:
        return self.loop.run_until_complete(self.aclient.__aexit__(*exc))


def make_client(kind: str, config: dict, loop: asyncio.AbstractEventLoop) -> Any:
    """An unconnected client of ``kind`` ("sync" or "async"; the latter wrapped in :class:`Blocking`)."""
    if kind == "sync":
        return aerospike_py.client(config)
    return Blocking(aerospike_py.async_client(config), loop)


def official_generous(config: dict[str, Any]) -> dict[str, Any]:
    """The same generous deadlines in the official client's config terms (values it has win)."""
    config.setdefault("connect_timeout", GENEROUS_MS)
    policies = config.setdefault("policies", {})
    for kind in ("read", "write", "operate", "remove", "apply", "batch"):
        policies.setdefault(kind, {}).setdefault("total_timeout", GENEROUS_MS)
    policies.setdefault("info", {}).setdefault("timeout", GENEROUS_MS)
    return config
