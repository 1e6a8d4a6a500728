"""An in-process, columnar copy of what the embedded index filters, facets and sorts on.

Counting and faceting tens of thousands of matches row by row in SQL costs 100+ ms; the same work
on numpy arrays indexed by document number costs a few. Each process keeps one `Snapshot` of the
`_docs` points and the `_terms` (field, value) pairs, tagged with the change-log sequence number
it reflects. A query first brings the snapshot up to the sequence its read transaction sees:
it re-reads only the documents named in the change log since then (or everything, after many
changes), so writers never have to know that readers cache anything.

Snapshots are never modified once published: an update builds new arrays and swaps the reference,
so threads reading an older snapshot are never disturbed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np
import numpy.typing as npt

# Beyond this many changed documents, reading everything again is cheaper than patching.
PATCH_LIMIT = 20_000

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
T = TypeVar("T", bound=np.generic)


@dataclass(frozen=True)
class Tables:
    """Quoted table names of one index."""

    docs: str
    terms: str
    changes: str


@dataclass(frozen=True)
class FieldColumn:
    """One keyword field as (document, value code) pairs; `values[code]` is the value text."""

    docs: IntArray
    codes: IntArray
    values: tuple[str, ...]

    def matching(self, wanted: Sequence[str], size: int, prefix: bool = False) -> BoolArray:
        """Documents with any of the wanted values (or values starting with one, for prefixes)."""
        if prefix:
            hits = [c for c, v in enumerate(self.values) if any(v.startswith(w) for w in wanted)]
        else:
            lookup = set(wanted)
            hits = [c for c, v in enumerate(self.values) if v in lookup]
        mask = np.zeros(size, dtype=bool)
        if hits:
            mask[self.docs[np.isin(self.codes, hits)]] = True
        return mask

    def counts(self, mask: BoolArray) -> list[tuple[str, int]]:
        """(value, documents) within `mask`, most frequent first, ties by value; zeros left out."""
        tally = np.bincount(self.codes[mask[self.docs]], minlength=len(self.values))
        found = [(self.values[c], int(n)) for c, n in enumerate(tally) if n]
        return sorted(found, key=lambda pair: (-pair[1], pair[0]))


@dataclass(frozen=True)
class Snapshot:
    """Documents by their SQLite rowid: `alive[doc]`, `lat[doc]`/`lon[doc]` (NaN without a point),
    and one `FieldColumn` per term field number. Orders are computed on first use."""

    seq: int
    alive: BoolArray
    lat: FloatArray
    lon: FloatArray
    fields: tuple[FieldColumn, ...]
    _orders: dict[str, IntArray] = field(default_factory=dict, compare=False)

    @property
    def size(self) -> int:
        return int(self.alive.shape[0])

    def rank(self, conn: sqlite3.Connection, tables: Tables, order: str) -> IntArray:
        """Each document's position in `order` ("id" or "name"), read from SQL once per snapshot."""
        ranks = self._orders.get(order)
        if ranks is None:
            sql = {
                "id": f"SELECT doc FROM {tables.docs} ORDER BY id",
                "name": f"SELECT doc FROM {tables.docs} ORDER BY sort_key IS NULL, sort_key, id",
            }[order]
            docs = np.fromiter((row[0] for row in conn.execute(sql)), dtype=np.int64)
            ranks = np.full(self.size, np.iinfo(np.int64).max, dtype=np.int64)
            ranks[docs[docs < self.size]] = np.arange(len(docs))[docs < self.size]
            self._orders[order] = ranks
        return ranks


def current_seq(conn: sqlite3.Connection, tables: Tables) -> int:
    return int(conn.execute(f"SELECT ifnull(max(seq), 0) FROM {tables.changes}").fetchone()[0])


def load(conn: sqlite3.Connection, tables: Tables, field_count: int, seq: int) -> Snapshot:
    """Read every document; call inside the read transaction that saw `seq`."""
    docs_text, lats, lons = conn.execute(
        f"SELECT group_concat(doc), group_concat(ifnull(lat, 'nan')), group_concat(ifnull(lon, 'nan'))"
        f" FROM {tables.docs}"
    ).fetchone()
    docs = _ints(docs_text)
    size = int(docs.max()) + 1 if len(docs) else 1
    alive = np.zeros(size, dtype=bool)
    alive[docs] = True
    lat, lon = np.full(size, np.nan), np.full(size, np.nan)
    lat[docs], lon[docs] = _floats(lats), _floats(lons)
    grouped: list[list[tuple[str, str]]] = [[] for _ in range(field_count)]
    for number, value, members in conn.execute(
        f"SELECT field, value, group_concat(doc) FROM {tables.terms} GROUP BY field, value"
    ):
        grouped[number].append((value, members))
    fields = tuple(_column(groups) for groups in grouped)
    return Snapshot(seq=seq, alive=alive, lat=lat, lon=lon, fields=fields)


def advance(conn: sqlite3.Connection, tables: Tables, old: Snapshot, seq: int) -> Snapshot:
    """`old` brought up to `seq` by re-reading the documents changed since `old.seq`."""
    changed = _ints(
        conn.execute(
            f"SELECT group_concat(doc) FROM (SELECT DISTINCT doc FROM {tables.changes} WHERE seq > ?)", (old.seq,)
        ).fetchone()[0]
    )
    oldest = conn.execute(f"SELECT min(seq) FROM {tables.changes}").fetchone()[0]
    if len(changed) > PATCH_LIMIT or oldest is None or oldest > old.seq + 1:
        return load(conn, tables, len(old.fields), seq)
    size = max(old.size, int(changed.max()) + 1 if len(changed) else 0)
    alive, lat, lon = _grown(old.alive, size, False), _grown(old.lat, size, np.nan), _grown(old.lon, size, np.nan)
    touched = np.zeros(size, dtype=bool)
    touched[changed] = True
    alive[changed] = False
    marks = ",".join(str(int(d)) for d in changed)
    for doc, d_lat, d_lon in conn.execute(f"SELECT doc, lat, lon FROM {tables.docs} WHERE doc IN ({marks})"):
        alive[doc] = True
        lat[doc] = np.nan if d_lat is None else d_lat
        lon[doc] = np.nan if d_lon is None else d_lon
    added: list[list[tuple[int, str]]] = [[] for _ in old.fields]
    for doc, number, value in conn.execute(f"SELECT doc, field, value FROM {tables.terms} WHERE doc IN ({marks})"):
        added[number].append((doc, value))
    fields = tuple(_patched(col, touched, new) for col, new in zip(old.fields, added, strict=True))
    return replace(old, seq=seq, alive=alive, lat=lat, lon=lon, fields=fields, _orders={})


def _column(groups: list[tuple[str, str]]) -> FieldColumn:
    if not groups:
        return FieldColumn(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), ())
    members = [_ints(text) for _, text in groups]
    codes = np.repeat(np.arange(len(groups), dtype=np.int64), [len(m) for m in members])
    return FieldColumn(np.concatenate(members), codes, tuple(value for value, _ in groups))


def _patched(column: FieldColumn, touched: BoolArray, added: list[tuple[int, str]]) -> FieldColumn:
    """Drop the touched documents' pairs, then add their current ones (new values get new codes)."""
    keep = ~touched[column.docs]
    values = list(column.values)
    codes = {value: code for code, value in enumerate(values)}
    for _, value in added:
        if value not in codes:
            codes[value] = len(values)
            values.append(value)
    new_docs = np.fromiter((doc for doc, _ in added), dtype=np.int64, count=len(added))
    new_codes = np.fromiter((codes[value] for _, value in added), dtype=np.int64, count=len(added))
    return FieldColumn(
        np.concatenate([column.docs[keep], new_docs]), np.concatenate([column.codes[keep], new_codes]), tuple(values)
    )


def _grown(array: npt.NDArray[T], size: int, fill: object) -> npt.NDArray[T]:
    """A copy of `array` lengthened to `size` with `fill` (snapshots are never changed in place)."""
    out = np.full(size, fill, dtype=array.dtype)
    out[: array.shape[0]] = array
    return out


def _ints(text: str | None) -> IntArray:
    return np.array(text.split(","), dtype=np.int64) if text else np.zeros(0, dtype=np.int64)


def _floats(text: str | None) -> FloatArray:
    return np.array(text.split(","), dtype=np.float64) if text else np.zeros(0, dtype=np.float64)
