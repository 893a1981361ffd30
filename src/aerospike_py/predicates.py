"""Secondary-index query predicates: pass one to ``Query.where()``.

Each helper returns a tuple whose first element names the kind, as the original client's do:
``("equals", bin, value)``, ``("between", bin, begin, end)``, ``("contains", bin, index_type,
value)``, ``("geo_within_geojson_region", bin, geojson)``, ``("geo_within_radius", bin, lat, lng,
radius)``, ``("geo_contains_geojson_point", bin, geojson)``. Beyond the original, every helper
takes ``ctx`` (a list of ``aerospike_py.cdt_ctx`` items) for an index on a nested element; the
tuple then carries a last ``{"ctx": [...]}`` element. Geo predicates work (the original raises
at query time). Values are checked by ``where()``, before anything is sent.

Usage::

    from aerospike_py import predicates as p
    query = client.query("test", "demo")
    query.where(p.between("age", 18, 65))
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "equals",
    "between",
    "contains",
    "range",
    "geo_within_geojson_region",
    "geo_within_radius",
    "geo_contains_geojson_point",
]

def _with_ctx(t: tuple[Any, ...], ctx: list[Any] | None) -> tuple[Any, ...]:
    return t if not ctx else (*t, {"ctx": list(ctx)})


def equals(bin_name: str, val: Any, ctx: list[Any] | None = None) -> tuple[Any, ...]:
    """Records whose indexed ``bin_name`` equals ``val`` (int, str or bytes)."""
    return _with_ctx(("equals", bin_name, val), ctx)


def between(bin_name: str, min_val: Any, max_val: Any, ctx: list[Any] | None = None) -> tuple[Any, ...]:
    """Records whose indexed integer ``bin_name`` is in ``min_val..max_val`` (inclusive)."""
    return _with_ctx(("between", bin_name, min_val, max_val), ctx)


def contains(bin_name: str, index_type: int, val: Any, ctx: list[Any] | None = None) -> tuple[Any, ...]:
    """Records whose list / map-key / map-value index (``INDEX_TYPE_*``) on ``bin_name`` holds ``val``."""
    return _with_ctx(("contains", bin_name, index_type, val), ctx)


def range(bin_name: str, index_type: int, min_val: int, max_val: int,  # noqa: A001 - the official name
          ctx: list[Any] | None = None) -> tuple[Any, ...]:
    """Like :func:`between` on a collection index (``INDEX_TYPE_*``), as the official client's ``range``."""
    return _with_ctx(("range", bin_name, index_type, min_val, max_val), ctx)


def geo_within_geojson_region(bin_name: str, geojson: str, ctx: list[Any] | None = None) -> tuple[Any, ...]:
    """Records whose GeoJSON ``bin_name`` lies within the region ``geojson`` (a Polygon/MultiPolygon)."""
    return _with_ctx(("geo_within_geojson_region", bin_name, geojson), ctx)


def geo_within_radius(bin_name: str, lat: float, lng: float, radius: float,
                      ctx: list[Any] | None = None) -> tuple[Any, ...]:
    """Records whose GeoJSON point ``bin_name`` is within ``radius`` metres of (``lat``, ``lng``)."""
    return _with_ctx(("geo_within_radius", bin_name, lat, lng, radius), ctx)


def geo_contains_geojson_point(bin_name: str, geojson: str, ctx: list[Any] | None = None) -> tuple[Any, ...]:
    """Records whose GeoJSON region ``bin_name`` contains the point ``geojson``."""
    return _with_ctx(("geo_contains_geojson_point", bin_name, geojson), ctx)



def __dir__() -> list[str]:
    return sorted(__all__)
