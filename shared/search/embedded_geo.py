"""Geo for the embedded index: the `_geo` R*Tree stores the points, and a radius query selects
what lies in its bounding box from the snapshot's points in latitude order, then refines that to
exact great-circle distances on the (double precision) points.

The R*Tree stores each point as a degenerate box (its 32-bit corners rounded outwards) with the
exact coordinates as auxiliary columns, from which snapshots read them. Asking the R*Tree for a
city's box cost a millisecond at 131,000 listings (a B-tree walk and every document number as
text); the same box from the snapshot is two binary searches and a comparison per point of the
latitude band, tens of microseconds.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence

import numpy as np

from shared.search.embedded_snapshot import BoolArray, FloatArray, IntArray, Snapshot
from shared.search.port import Near

# The mean radius Elasticsearch uses for `arc` distances, so both backends cut radii alike.
EARTH_RADIUS_KM = 6371.0088
# Padding of the bounding box (degrees), so float rounding never drops a point on the circle.
BOX_PAD_DEG = 1e-6
# Up to this many candidates, exact distances to each (~60 ns a point) beat selecting the box
# first (0.05-0.2 ms for a city at 131,000 listings: two binary searches, then a comparison per
# point of its latitude band).
MEASURE_DIRECTLY = 2_000


def create_sql(table: str) -> str:
    return (
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {table}"
        " USING rtree(doc, min_lat, max_lat, min_lon, max_lon, +lat REAL, +lon REAL)"
    )


def insert_many(conn: sqlite3.Connection, table: str, points: Sequence[tuple[int, tuple[float, float]]]) -> None:
    """Index documents' points (old entries, if any, were removed with their other entries)."""
    conn.executemany(
        f"INSERT INTO {table} (doc, min_lat, max_lat, min_lon, max_lon, lat, lon) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(doc, lat, lat, lon, lon, lat, lon) for doc, (lat, lon) in points],
    )


def within_radius(snapshot: Snapshot, near: Near, base: BoolArray) -> tuple[BoolArray, FloatArray]:
    """The documents of `base` within `near`'s radius, and km to each of them (NaN elsewhere).

    When `base` is already small (text that few listings hold), measuring to each of its documents
    costs less than selecting the whole box first, and gives the same answer: the box only ever
    narrows what is then measured exactly.
    """
    if np.count_nonzero(base) <= MEASURE_DIRECTLY:
        candidates = np.flatnonzero(base)
        dist = np.full(snapshot.size, np.nan)
        dist[candidates] = _km(snapshot, near, candidates)
        # NaN compares false, so documents outside the box stay out.
        return dist <= (near.radius_km or 0.0), dist
    inside, area_dist = _area(snapshot, near)
    return inside & base, np.where(base, area_dist, np.nan)


AREAS_KEPT = 8
"""Radius areas remembered per snapshot: the queries of one lot (its codes, its words, the
nearest), of a package's lots and of a consortium's requirements all ask for one area, and a
buyer pages through the same one; each costs about 1 MB at 131,000 listings, and measuring a
city's 50,000 points again would cost milliseconds each time."""


def _area(snapshot: Snapshot, near: Near) -> tuple[BoolArray, FloatArray]:
    """Every live document within the radius, and km to each document of its bounding box (NaN
    elsewhere), measured once per snapshot and area."""
    key = (near.lat, near.lon, near.radius_km or 0.0)
    found = snapshot.areas.get(key)
    if found is None:
        boxed = _in_box(snapshot, near)
        boxed = boxed[snapshot.alive[boxed]]
        dist = np.full(snapshot.size, np.nan)
        dist[boxed] = _km(snapshot, near, boxed)
        found = (dist <= key[2], dist)
        if len(snapshot.areas) >= AREAS_KEPT:
            snapshot.areas.clear()
        snapshot.areas[key] = found
    return found


def distances(snapshot: Snapshot, near: Near, mask: BoolArray) -> FloatArray:
    """km from `near` to every document in `mask` (NaN elsewhere and for documents without a
    point). No selection happens here, so no index is needed: one pass over the snapshot."""
    docs = np.flatnonzero(mask)
    out = np.full(snapshot.size, np.nan)
    out[docs] = _km(snapshot, near, docs)
    return out


def _km(snapshot: Snapshot, near: Near, docs: IntArray) -> FloatArray:
    """Haversine distances in km (NaN for documents without a point)."""
    lats, lons, cosines = snapshot.in_radians
    lat, lon, cos_lat = lats[docs], lons[docs], cosines[docs]
    lat0, lon0 = math.radians(near.lat), math.radians(near.lon)
    h = np.sin((lat - lat0) / 2) ** 2 + math.cos(lat0) * cos_lat * np.sin((lon - lon0) / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return result


def _in_box(snapshot: Snapshot, near: Near) -> IntArray:
    """Documents whose point lies in the bounding box of the radius's spherical cap."""
    angle = (near.radius_km or 0.0) / EARTH_RADIUS_KM
    dlat = math.degrees(angle) + BOX_PAD_DEG
    docs, lats, lons = snapshot.by_latitude
    band = slice(np.searchsorted(lats, near.lat - dlat, "left"), np.searchsorted(lats, near.lat + dlat, "right"))
    lon = lons[band]
    inside = np.zeros(len(lon), dtype=bool)
    for low, high in _lon_ranges(near.lat, near.lon, angle):
        inside |= (lon >= low) & (lon <= high)
    result: IntArray = docs[band][inside]
    return result


def _lon_ranges(lat_deg: float, lon: float, angle: float) -> list[tuple[float, float]]:
    """Longitude intervals of a spherical cap's bounding box (J. P. Matuschek), split at ±180°."""
    lat = math.radians(lat_deg)
    if angle >= math.pi or abs(lat) + angle >= math.pi / 2:
        return [(-180.0, 180.0)]  # the cap reaches a pole
    dlon = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(lat)))) + BOX_PAD_DEG
    low, high = lon - dlon, lon + dlon
    if low < -180:
        return [(low + 360, 180.0), (-180.0, high)]
    if high > 180:
        return [(low, 180.0), (-180.0, high - 360)]
    return [(low, high)]
