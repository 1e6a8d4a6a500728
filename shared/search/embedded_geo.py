"""Great-circle distances and radius masks over a snapshot's point columns (numpy, no SQL)."""

from __future__ import annotations

import math

import numpy as np

from shared.search.embedded_snapshot import BoolArray, FloatArray, Snapshot
from shared.search.port import Near

# The mean radius Elasticsearch uses for `arc` distances, so both backends cut radii alike.
EARTH_RADIUS_KM = 6371.0088


def distances(snapshot: Snapshot, near: Near, mask: BoolArray) -> FloatArray:
    """km from `near` to every document in `mask` (NaN elsewhere and for documents without a point).

    With a radius, a bounding box first keeps the trigonometry to the few documents near the
    point, and documents beyond the radius are left out of the returned mask's NaNs too.
    """
    if near.radius_km is not None:
        mask = mask & _box(snapshot, near)
    docs = np.flatnonzero(mask)
    lat, lon = np.radians(snapshot.lat[docs]), np.radians(snapshot.lon[docs])
    lat0, lon0 = math.radians(near.lat), math.radians(near.lon)
    h = np.sin((lat - lat0) / 2) ** 2 + math.cos(lat0) * np.cos(lat) * np.sin((lon - lon0) / 2) ** 2
    out = np.full(snapshot.size, np.nan)
    out[docs] = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return out


def within(dist: FloatArray, near: Near) -> BoolArray:
    """Documents whose distance is known and inside the radius (NaN compares false)."""
    return dist <= (near.radius_km if near.radius_km is not None else np.inf)


def _box(snapshot: Snapshot, near: Near) -> BoolArray:
    """The box around the radius's cap, padded for float rounding; exact distances follow."""
    angle = (near.radius_km or 0.0) / EARTH_RADIUS_KM
    dlat = math.degrees(angle) + 1e-6
    lat, lon = snapshot.lat, snapshot.lon
    box = (lat >= near.lat - dlat) & (lat <= near.lat + dlat)
    lon_ok = np.zeros(snapshot.size, dtype=bool)
    for low, high in _lon_ranges(near.lat, near.lon, angle):
        lon_ok |= (lon >= low) & (lon <= high)
    return box & lon_ok


def _lon_ranges(lat_deg: float, lon: float, angle: float) -> list[tuple[float, float]]:
    """Longitude intervals of a spherical cap's bounding box (J. P. Matuschek), split at ±180°."""
    lat = math.radians(lat_deg)
    if angle >= math.pi or abs(lat) + angle >= math.pi / 2:
        return [(-180.0, 180.0)]  # the cap reaches a pole
    dlon = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(lat)))) + 1e-6
    low, high = lon - dlon, lon + dlon
    if low < -180:
        return [(low + 360, 180.0), (-180.0, high)]
    if high > 180:
        return [(low, 180.0), (-180.0, high - 360)]
    return [(low, high)]
