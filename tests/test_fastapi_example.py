"""The FastAPI example service (examples/fastapi_app.py) through httpx against the embedded server."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
pytest.importorskip("prometheus_client")
with warnings.catch_warnings():  # starlette's notice about its httpx-based test client
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402


def load_example():
    spec = importlib.util.spec_from_file_location("fastapi_app", Path(__file__).resolve().parents[1] / "examples" / "fastapi_app.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_crud_metrics_health_and_stats(server):
    app = load_example().create_app(server.config)
    with TestClient(app) as http:
        assert http.get("/health").json() == {"status": "ok"}
        assert http.put("/records/test/obs_fastapi/u1", json={"name": "Ann", "age": 7}).status_code == 200
        r = http.get("/records/test/obs_fastapi/u1")
        assert r.status_code == 200
        assert r.json()["bins"] == {"name": "Ann", "age": 7} and r.json()["generation"] == 1
        assert http.get("/records/test/obs_fastapi/nobody").status_code == 404
        assert http.delete("/records/test/obs_fastapi/u1").status_code == 200
        assert http.delete("/records/test/obs_fastapi/u1").status_code == 404
        m = http.get("/metrics")
        assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
        fams = {f.name: f for f in text_string_to_metric_families(m.text)}
        ops = {(s.labels["db_operation_name"], s.labels["error_type"]): s.value
               for s in fams["db_client_operation_duration_seconds"].samples
               if s.name.endswith("_count") and s.labels["db_collection_name"] == "obs_fastapi"}
        assert ops == {("put", ""): 1, ("get", ""): 1, ("get", "KeyNotFoundError"): 1, ("delete", ""): 1,
                       ("delete", "KeyNotFoundError"): 1}
        app_requests = {s.labels["route"]: s.value for s in fams["app_requests"].samples
                        if s.name == "app_requests_total"}
        assert app_requests == {"put": 1, "get": 2, "delete": 2}
        (node,) = http.get("/stats").json()["nodes"]
        assert node["connections"]["created"] >= 1
