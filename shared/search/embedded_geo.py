"""Geo for the embedded index: the `_geo` R*Tree selects what lies in a radius's bounding box,
numpy refines that to exact great-circle distances on the snapshot's (double precision) points.

The R*Tree stores each point as a degenerate box (its 32-bit corners rounded outwards, so a point
is never missed) with the exact coordinates as auxiliary columns, from which snapshots read them.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Sequence

import numpy as np

from shared.search.embedded_snapshot import BoolArray, FloatArray, IntArray, Snapshot, ints
from shared.search.port import Near

# The mean radius Elasticsearch uses for `arc` distances, so both backends cut radii alike.
EARTH_RADIUS_KM = 6371.0088
# Padding of the bounding box (degrees), so float rounding never drops a point on the circle.
BOX_PAD_DEG = 1e-6
# Up to this many candidates, exact distances to each beat an R*Tree box read (~50 ns a point
# against ~1 ms a box at 131,000 listings).
MEASURE_DIRECTLY = 5_000


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


def within_radius(
    conn: sqlite3.Connection, table: str, snapshot: Snapshot, near: Near, base: BoolArray
) -> tuple[BoolArray, FloatArray]:
    """The documents of `base` within `near`'s radius, and km to each of them (NaN elsewhere).

    When `base` is already small (text that few listings hold), measuring to each of its documents
    costs less than asking the R*Tree for the whole box (a millisecond or more in a city), and
    gives the same answer: the box only ever narrows what is then measured exactly.
    """
    selected = np.flatnonzero(base)
    if len(selected) <= MEASURE_DIRECTLY:
        dist = np.full(snapshot.size, np.nan)
        dist[selected] = _km(snapshot, near, selected)
        # NaN compares false, so documents outside the box stay out.
        return dist <= (near.radius_km or 0.0), dist
    inside, area_dist = _area(conn, table, snapshot, near)
    dist = np.where(base, area_dist, np.nan)
    return inside & base, dist


AREAS_KEPT = 8
"""Radius areas remembered per snapshot: the queries of one lot (its codes, its words, the
nearest), of a package's lots and of a consortium's requirements all ask for one area, and a
buyer pages through the same one; each costs about 1 MB at 131,000 listings."""


def _area(conn: sqlite3.Connection, table: str, snapshot: Snapshot, near: Near) -> tuple[BoolArray, FloatArray]:
    """Every document within the radius, and km to each document of its bounding box (NaN
    elsewhere), read through the R*Tree once per snapshot and area."""
    key = (near.lat, near.lon, near.radius_km or 0.0)
    found = snapshot.areas.get(key)
    if found is None:
        boxed = _in_box(conn, table, near)
        boxed = boxed[boxed < snapshot.size]
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
    lat, lon = np.radians(snapshot.lat[docs]), np.radians(snapshot.lon[docs])
    lat0, lon0 = math.radians(near.lat), math.radians(near.lon)
    h = np.sin((lat - lat0) / 2) ** 2 + math.cos(lat0) * np.cos(lat) * np.sin((lon - lon0) / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return result


def _in_box(conn: sqlite3.Connection, table: str, near: Near) -> IntArray:
    """Documents whose point lies in the bounding box of the radius's spherical cap (R*Tree)."""
    angle = (near.radius_km or 0.0) / EARTH_RADIUS_KM
    dlat = math.degrees(angle) + BOX_PAD_DEG
    sql = f"SELECT group_concat(doc) FROM {table} WHERE max_lat >= ? AND min_lat <= ? AND max_lon >= ? AND min_lon <= ?"
    parts = [
        ints(conn.execute(sql, (near.lat - dlat, near.lat + dlat, low, high)).fetchone()[0])
        for low, high in _lon_ranges(near.lat, near.lon, angle)
    ]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


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
