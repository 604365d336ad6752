"""Incident places on a map, drawn server-side as SVG from bundled Natural Earth boundaries.

No tile server and no script: the page works offline and behind any firewall. The
boundaries are world-atlas's ``countries-50m.json`` (Natural Earth 1:50m, public
domain; world-atlas ISC), a TopoJSON file decoded here once per process, lazily. The
projection is equirectangular, zoomed to the places that matter: those within
``CORE_KM`` of their median point, so a report that also mentions Moscow and Brussels
still shows the border towns it is about (the far places are listed, not drawn).
"""

from __future__ import annotations

import gzip
import json
import math
from array import array
from dataclasses import dataclass
from functools import cache
from importlib import resources
from statistics import median

CORE_KM = 800.0
MIN_SPAN_DEG = 4.0      # never zoom closer than this (degrees of latitude): neighbours stay in view
PAD = 0.35              # margin around the places, as a share of their spread


@dataclass(frozen=True)
class Country:
    name: str
    rings: tuple[array, ...]                       # lon, lat interleaved
    bbox: tuple[float, float, float, float]       # west, south, east, north


@dataclass(frozen=True)
class Marker:
    x: float
    y: float
    label: str
    incident_id: int | None
    severity: str


@dataclass(frozen=True)
class MapPicture:
    width: int
    height: int
    countries: list[tuple[str, str]]   # (name, SVG path data)
    labels: list[tuple[str, float, float]]  # country names at the middle of their visible part
    markers: list[Marker]
    outside: list[str]                 # places with coordinates that fall outside the view
    bounds: tuple[float, float, float, float]


@dataclass(frozen=True)
class MapPlace:
    name: str
    lat: float
    lon: float
    incident_id: int | None = None
    severity: str = "low"


@cache
def world() -> tuple[Country, ...]:
    """Country outlines from the bundled TopoJSON (about 80,000 points; decoded once)."""
    raw = resources.files("pipeline.web").joinpath("data/countries-50m.json.gz").read_bytes()
    return decode_topojson(json.loads(gzip.decompress(raw)), "countries")


def decode_topojson(topology: dict, object_name: str) -> tuple[Country, ...]:
    """Polygons of one TopoJSON object: arcs are delta-encoded and quantized, shared by neighbours."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = array("d")
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.extend((x * sx + tx, y * sy + ty))
        arcs.append(points)
    out = []
    for geometry in topology["objects"][object_name]["geometries"]:
        polygons = geometry.get("arcs") or []
        if geometry.get("type") == "Polygon":
            polygons = [polygons]
        rings = tuple(_ring(arcs, indexes) for polygon in polygons for indexes in polygon)
        if rings:
            name = str((geometry.get("properties") or {}).get("name") or geometry.get("id") or "")
            out.append(Country(name, rings, _bbox(rings)))
    return tuple(out)


def _ring(arcs: list[array], indexes: list[int]) -> array:
    ring = array("d")
    for n, index in enumerate(indexes):
        arc = arcs[index] if index >= 0 else _reversed(arcs[~index])
        ring.extend(arc if n == 0 else arc[2:])  # consecutive arcs share their joining point
    return ring


def _reversed(arc: array) -> array:
    out = array("d")
    for i in range(len(arc) - 2, -1, -2):
        out.extend((arc[i], arc[i + 1]))
    return out


def _bbox(rings: tuple[array, ...]) -> tuple[float, float, float, float]:
    lons = [v for ring in rings for v in ring[0::2]]
    lats = [v for ring in rings for v in ring[1::2]]
    return min(lons), min(lats), max(lons), max(lats)


def km_between(a: MapPlace, b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def core(places: list[MapPlace]) -> list[MapPlace]:
    """The places within CORE_KM of the median point: what the view is zoomed to."""
    if not places:
        return []
    middle = (median(p.lat for p in places), median(p.lon for p in places))
    return [p for p in places if km_between(p, middle) <= CORE_KM] or places[:1]


def view_bounds(places: list[MapPlace], width: int, height: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) around ``places``, padded, with the picture's aspect ratio."""
    if not places:
        return -180.0, -60.0, 180.0, 85.0
    west, east = min(p.lon for p in places), max(p.lon for p in places)
    south, north = min(p.lat for p in places), max(p.lat for p in places)
    kx = max(0.2, math.cos(math.radians((south + north) / 2)))  # a degree of longitude is shorter up north
    span_y = max((north - south) * (1 + 2 * PAD), MIN_SPAN_DEG)
    span_x = max((east - west) * (1 + 2 * PAD), MIN_SPAN_DEG / kx)
    if span_x * kx / span_y < width / height:
        span_x = span_y * width / height / kx
    else:
        span_y = span_x * kx * height / width
    mid_x, mid_y = (west + east) / 2, (south + north) / 2
    return mid_x - span_x / 2, mid_y - span_y / 2, mid_x + span_x / 2, mid_y + span_y / 2


def draw(places: list[MapPlace], countries: tuple[Country, ...], width: int = 960, height: int = 560) -> MapPicture:
    """Project boundaries and places into a ``width`` x ``height`` picture (pure)."""
    bounds = view_bounds(core(places), width, height)
    west, south, east, north = bounds
    sx, sy = width / (east - west), height / (north - south)

    def project(lon: float, lat: float) -> tuple[float, float]:
        return (lon - west) * sx, (north - lat) * sy

    paths, labels = [], []
    for country in countries:
        cw, cs, ce, cn = country.bbox
        if ce < west or cw > east or cn < south or cs > north:
            continue
        data = "".join(_path(ring, project, bounds) for ring in country.rings)
        if data:
            paths.append((country.name, data))
            spot = _label_spot(country, project, width, height)
            if spot is not None:
                labels.append((country.name, *spot))
    markers, outside = [], []
    for place in places:
        if west <= place.lon <= east and south <= place.lat <= north:
            x, y = project(place.lon, place.lat)
            markers.append(Marker(round(x, 1), round(y, 1), place.name, place.incident_id, place.severity))
        elif place.name not in outside:
            outside.append(place.name)
    return MapPicture(width, height, paths, labels, markers, outside, bounds)


def _label_spot(country: Country, project, width: int, height: int) -> tuple[float, float] | None:
    """The mean of the country's outline points inside the picture, when enough of it shows."""
    xs, ys = [], []
    for ring in country.rings:
        for lon, lat in zip(ring[0::2], ring[1::2]):
            x, y = project(lon, lat)
            if 40 <= x <= width - 40 and 15 <= y <= height - 15:
                xs.append(x)
                ys.append(y)
    if len(xs) < 8 or max(xs) - min(xs) < 60:
        return None
    return round(sum(xs) / len(xs), 1), round(sum(ys) / len(ys), 1)


def _path(ring: array, project, bounds: tuple[float, float, float, float]) -> str:
    """One ring as SVG path data, skipping points less than a pixel apart (the view decides detail)."""
    lons, lats = ring[0::2], ring[1::2]
    west, south, east, north = bounds
    if max(lons) < west or min(lons) > east or max(lats) < south or min(lats) > north:
        return ""
    (x0, y0), (x1, y1) = project(min(lons), min(lats)), project(max(lons), max(lats))
    if abs(x1 - x0) < 2 and abs(y1 - y0) < 2:  # an islet smaller than two pixels: invisible anyway
        return ""
    out, last = [], None
    coarse = (east - west) > 60  # whole continents: a pixel is finer than the data anyway
    for lon, lat in zip(lons, lats):
        x, y = project(lon, lat)
        if last is not None and abs(x - last[0]) < 1.2 and abs(y - last[1]) < 1.2:
            continue
        out.append(f"{x:.0f},{y:.0f}" if coarse else f"{x:.1f},{y:.1f}")
        last = (x, y)
    return "M" + "L".join(out) + "Z" if len(out) >= 3 else ""
