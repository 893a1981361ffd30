"""GeoJSON values of the embedded server: parsing as the real server does, and containment on the sphere.

Shapes: ``Point``, ``Polygon`` (first loop the shell, the rest holes), ``MultiPolygon``, ``AeroCircle``
(``[[lng, lat], radius_m]``), each bare or wrapped in a ``Feature``. Edges are great-circle arcs, as
on the real server (S2): a point is tested against a polygon in the gnomonic projection centred on
the polygon, where great circles are straight lines, so the planar test of ``shapely`` (an optional
server extra: ``pip install aerospike-purepy[geo]``) is exact on the sphere. Circles need no extra:
the great-circle distance decides. Polygons wider than a hemisphere are not supported.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: ``geo2dsphere-within-earth-radius-meters`` default of the real server.
EARTH_RADIUS_M = 6371000.0


class GeoError(ValueError):
    """Invalid GeoJSON (the real server's parse errors, same wording)."""


class GeoUnavailable(RuntimeError):
    """Polygon containment needs ``shapely`` (the ``geo`` extra)."""


def _shapely() -> Any:
    try:
        import shapely
    except ImportError:
        raise GeoUnavailable(
            "geo queries on polygons need the optional 'shapely' package on the server "
            "(pip install 'aerospike-purepy[geo]')") from None
    return shapely


def _unit(lng: float, lat: float) -> tuple[float, float, float]:
    la, lo = math.radians(lat), math.radians(lng)
    c = math.cos(la)
    return c * math.cos(lo), c * math.sin(lo), math.sin(la)


class Point:
    __slots__ = ("lng", "lat", "xyz")
    is_region = False

    def __init__(self, lng: float, lat: float) -> None:
        self.lng: float = lng
        self.lat: float = lat
        self.xyz: tuple[float, float, float] = _unit(lng, lat)


class Circle:
    __slots__ = ("center", "radius")
    is_region = True

    def __init__(self, center: Point, radius: float) -> None:
        self.center: Point = center
        self.radius: float = radius

    def contains(self, p: Point) -> bool:
        a, b = self.center.xyz, p.xyz
        # Angle between unit vectors (atan2 form: accurate for small and large angles).
        cx = a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]
        angle = math.atan2(math.sqrt(cx[0] ** 2 + cx[1] ** 2 + cx[2] ** 2), a[0] * b[0] + a[1] * b[1] + a[2] * b[2])
        return angle <= self.radius / EARTH_RADIUS_M


class Polygons:
    """One or more polygons (loops of points); tested in a gnomonic projection around their centre."""

    __slots__ = ("polygons", "center", "_shape", "_axes")
    is_region = True

    def __init__(self, polygons: list[list[list[Point]]]) -> None:
        self.polygons: list[list[list[Point]]] = polygons
        sx = sy = sz = 0.0
        for poly in polygons:
            for p in poly[0]:
                sx, sy, sz = sx + p.xyz[0], sy + p.xyz[1], sz + p.xyz[2]
        n = math.sqrt(sx * sx + sy * sy + sz * sz) or 1.0
        self.center: tuple[float, float, float] = (sx / n, sy / n, sz / n)
        self._shape: Any = None
        self._axes: Any = None

    def _project(self, xyz: tuple[float, float, float]) -> tuple[float, float] | None:
        c = self.center
        d = xyz[0] * c[0] + xyz[1] * c[1] + xyz[2] * c[2]
        if d <= 1e-12:
            return None  # on or beyond the horizon of the centre: outside any polygon we support
        u, v = self._axes
        return ((xyz[0] * u[0] + xyz[1] * u[1] + xyz[2] * u[2]) / d,
                (xyz[0] * v[0] + xyz[1] * v[1] + xyz[2] * v[2]) / d)

    def _build(self) -> Any:
        shapely = _shapely()
        c = self.center
        helper = (0.0, 0.0, 1.0) if abs(c[2]) < 0.9 else (1.0, 0.0, 0.0)
        u = (helper[1] * c[2] - helper[2] * c[1], helper[2] * c[0] - helper[0] * c[2],
             helper[0] * c[1] - helper[1] * c[0])
        nu = math.sqrt(u[0] ** 2 + u[1] ** 2 + u[2] ** 2)
        u = (u[0] / nu, u[1] / nu, u[2] / nu)
        v = (c[1] * u[2] - c[2] * u[1], c[2] * u[0] - c[0] * u[2], c[0] * u[1] - c[1] * u[0])
        self._axes = (u, v)
        shapes = []
        for poly in self.polygons:
            loops = []
            for loop in poly:
                pts = [self._project(p.xyz) for p in loop]
                if any(q is None for q in pts):
                    raise GeoError("polygon too large (more than a hemisphere)")
                loops.append(pts)
            shapes.append(shapely.Polygon(loops[0], loops[1:]))
        shape = shapes[0] if len(shapes) == 1 else shapely.MultiPolygon(shapes)
        shapely.prepare(shape)
        return shape

    def contains(self, p: Point) -> bool:
        if self._shape is None:
            self._shape = self._build()
        q = self._project(p.xyz)
        if q is None:
            return False
        shapely = _shapely()
        return bool(self._shape.covers(shapely.Point(q)))


Shape = Point | Circle | Polygons


def _number(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise GeoError(f"{what} not numeric value")
    return float(v)


def _point(coord: Any) -> Point:
    if coord is None:
        raise GeoError("missing coordinates")
    if not isinstance(coord, list):
        raise GeoError("coordinates are not array")
    if len(coord) != 2:
        raise GeoError(f"expected 2 coordinates, saw {len(coord)}")
    lng = _number(coord[0], "longitude")
    lat = _number(coord[1], "latitude")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0):
        raise GeoError("invalid latitude-longitude")
    return Point(lng, lat)


def _loop(vertices: Any) -> list[Point]:
    if vertices is None:
        raise GeoError("missing vertices")
    if not isinstance(vertices, list):
        raise GeoError("vertices are not array")
    pts: list[Point] = []
    for v in vertices:
        p = _point(v)
        if not pts or pts[-1].xyz != p.xyz:  # repeated vertices are dropped
            pts.append(p)
    if len(pts) < 4:
        raise GeoError("loop contains less than 4 points")
    if pts[0].xyz != pts[-1].xyz:
        raise GeoError("loop not closed")
    return pts[:-1]


def _polygon(body: Any) -> list[list[Point]]:
    if body is None:
        raise GeoError("missing polygon body")
    if not isinstance(body, list):
        raise GeoError("polygon body is not array")
    return [_loop(loop) for loop in body]


def _coords(obj: dict[Any, Any]) -> Any:
    c = obj.get("coordinates")
    if c is None:
        raise GeoError("missing coordinates")
    if not isinstance(c, list):
        raise GeoError("coordinates are not array")
    return c


def _geometry(obj: dict[Any, Any], kind: str, what: str = "top-level type") -> Shape:
    """The shape of a geometry object of type ``kind`` (``what`` names the type in the error)."""
    if kind == "Point":
        return _point(obj.get("coordinates"))
    if kind == "Polygon":
        return Polygons([_polygon(_coords(obj))])
    if kind == "MultiPolygon":
        return Polygons([_polygon(p) for p in _coords(obj)])
    if kind == "AeroCircle":
        c = _coords(obj)
        if len(c) != 2:
            raise GeoError("malformed circle coordinate array")
        center = _point(c[0])
        return Circle(center, _number(c[1], "radius"))
    raise GeoError(f"unknown {what}: {kind}")


def parse(text: str | bytes) -> Shape:
    """A GeoJSON text as a shape (raises :class:`GeoError` with the real server's wording)."""
    try:
        obj = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise GeoError(f"failed to parse geojson: {e}") from None
    if not isinstance(obj, dict):
        raise GeoError("top level geojson element not object")
    kind = obj.get("type")
    if kind is None:
        raise GeoError("missing top-level type in geojson element")
    if not isinstance(kind, str):
        raise GeoError("top-level type is not string")
    if kind == "Feature":
        geom = obj.get("geometry")
        if geom is None:
            raise GeoError("missing geometry element")
        if not isinstance(geom, dict):
            raise GeoError("geometry is not object")
        gkind = geom.get("type")
        if gkind is None:
            raise GeoError("missing geometry type")
        if not isinstance(gkind, str):
            raise GeoError("geometry type is not string")
        return _geometry(geom, gkind, "geometry type")
    return _geometry(obj, kind)


_CHECKED: dict[bytes, bool] = {}


def check_particle(value: bytes) -> None:
    """Refuse a GeoJSON bin value that does not parse, as the real server does (result 160)."""
    ok = _CHECKED.get(value)
    if ok is None:
        n = int.from_bytes(value[1:3], "big") if len(value) >= 3 else 0
        try:
            parse(value[3 + 8 * n:])
            ok = True
        except GeoError:
            ok = False
        if len(_CHECKED) > 10_000:
            _CHECKED.clear()
        _CHECKED[value] = ok
    if not ok:
        from .errors import GEO_INVALID_GEOJSON, ResultError

        raise ResultError(GEO_INVALID_GEOJSON, "invalid GeoJSON")


def matches(candidate: Shape, query: Shape) -> bool:
    """Whether a stored shape answers a geo query: a point inside the query region, or (for a query
    point) a stored region containing it."""
    if isinstance(query, Point):
        return not isinstance(candidate, Point) and candidate.contains(query)
    if isinstance(candidate, Point):
        return query.contains(candidate)
    return False
