"""A FastAPI service on aerospike_py's AsyncClient, with Prometheus metrics and health checks.

    pip install 'aerospike-purepy[prometheus]' fastapi uvicorn
    AEROSPIKE_HOST=127.0.0.1 AEROSPIKE_PORT=3000 uvicorn --factory examples.fastapi_app:create_app

* the ``AsyncClient`` is created and connected in the lifespan and closed on shutdown;
* ``PUT/GET/DELETE /records/{namespace}/{set}/{key}`` write, read and delete a record (JSON bins);
  a missing record is a 404;
* ``GET /metrics``: the client's metrics (``aerospike_py.get_metrics()``) followed by the app's own
  ``prometheus_client`` metrics, one scrape for both;
* ``GET /health``: a real round trip to the cluster (``ping``), 503 when it fails;
* ``GET /stats``: ``client.stats()`` (connections, errors, retries per node).

Tracing: call ``aerospike_py.init_tracing()`` at startup (OTLP exporter configured by the
``OTEL_*`` variables) and each operation becomes a span under the request's span.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from prometheus_client import CollectorRegistry, Counter, generate_latest

import aerospike_py


def create_app(config: dict[str, Any] | None = None) -> FastAPI:
    """The service for the cluster of ``config`` (default: ``AEROSPIKE_HOST``/``AEROSPIKE_PORT``)."""
    if config is None:
        config = {"hosts": [(os.environ.get("AEROSPIKE_HOST", "127.0.0.1"),
                             int(os.environ.get("AEROSPIKE_PORT", "3000")))]}
    registry = CollectorRegistry()  # the app's own metrics
    requests = Counter("app_requests", "HTTP requests handled, by route.", ["route"], registry=registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = await aerospike_py.async_client(config).connect()
        app.state.aerospike = client
        try:
            yield
        finally:
            await client.close()

    app = FastAPI(title="aerospike_py example", lifespan=lifespan)

    def db(request: Request) -> aerospike_py.AsyncClient:
        return request.app.state.aerospike

    @app.put("/records/{namespace}/{set_name}/{key}")
    async def put_record(namespace: str, set_name: str, key: str, bins: dict[str, Any],
                         client: aerospike_py.AsyncClient = Depends(db)) -> dict[str, Any]:
        requests.labels("put").inc()
        await client.put((namespace, set_name, key), bins)
        return {"stored": key}

    @app.get("/records/{namespace}/{set_name}/{key}")
    async def get_record(namespace: str, set_name: str, key: str,
                         client: aerospike_py.AsyncClient = Depends(db)) -> dict[str, Any]:
        requests.labels("get").inc()
        try:
            record = await client.get((namespace, set_name, key))
        except aerospike_py.RecordNotFound:
            raise HTTPException(status_code=404, detail="record not found") from None
        return {"bins": record.bins, "generation": record.meta.gen, "ttl": record.meta.ttl}

    @app.delete("/records/{namespace}/{set_name}/{key}")
    async def delete_record(namespace: str, set_name: str, key: str,
                            client: aerospike_py.AsyncClient = Depends(db)) -> dict[str, Any]:
        requests.labels("delete").inc()
        try:
            await client.remove((namespace, set_name, key))
        except aerospike_py.RecordNotFound:
            raise HTTPException(status_code=404, detail="record not found") from None
        return {"deleted": key}

    @app.get("/metrics")
    async def metrics() -> Response:
        body = aerospike_py.get_metrics() + generate_latest(registry).decode()
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/health")
    async def health(client: aerospike_py.AsyncClient = Depends(db)) -> dict[str, str]:
        if not await client.ping():
            raise HTTPException(status_code=503, detail="cluster unreachable")
        return {"status": "ok"}

    @app.get("/stats")
    async def stats(client: aerospike_py.AsyncClient = Depends(db)) -> dict[str, Any]:
        return client.stats()

    return app
