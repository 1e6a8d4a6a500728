"""De-duplication: several sources' records of one organisation become one listing.

Rules, strongest first: a steward's decision (confirm or split a pair) always wins; the same
Companies House, charity or society number is the same organisation when the postcode district
or the name corroborates it (open data carries wrong numbers); otherwise a record from
another source whose name is similar (rapidfuzz token-sort ratio on the distinctive words, at
or above `name_threshold`) and whose location is within `max_km` is taken as the same.
Fuzzy matching never merges two records of one source: a source lists each organisation once,
so two similar names there are two organisations (two branches of a chain, say).

Each cluster is indexed as one document whose id is the smallest member id (deterministic
whatever order records arrive in), folded with `sources.merge.merge` and carrying every
member's provenance. The state (members, registry numbers, decisions, and the clusters whose
index document is not yet rewritten) lives behind `RegistryStorage` (a SQLite file, or
PostgreSQL at scale: `dedupe_storage.py`), written before the index so that a crash between the
two leaves "dirty" clusters that the next batch rewrites.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from rapidfuzz import fuzz

from services.ingest.dedupe_storage import RegistryStorage, Sql, open_registry_storage
from services.ingest.sources.merge import merge, name_tokens
from shared import json_codec
from shared.geo import distance_km
from shared.models import Listing

Decision = Literal["confirm", "split"]
CELL_LAT, CELL_LON = 0.02, 0.03  # about 2 km either way across the UK
# With the same registry number, names this close (or the same postcode district) confirm the match.
NUMBER_NAME_THRESHOLD = 80

_REGISTRY_FIELDS = (("company", "company_number"), ("charity", "charity_number"), ("society", "society_number"))


@dataclass
class ClusterWrites:
    """Index writes that bring the index in line with the clusters: replaced ids are deleted first."""

    upserts: dict[str, dict[str, Any]] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)
    stale: int = 0
    marked: dict[str, int] = field(default_factory=dict)  # dirty marks these writes settle: cluster -> seq


def registry_number(kind: str, value: str) -> str:
    """Companies House numbers are 8 characters with leading zeros, which sources often drop."""
    cleaned = value.strip().upper().replace(" ", "")
    return cleaned.zfill(8) if kind == "company" and cleaned.isdigit() else cleaned


def name_key(name: str) -> str:
    return " ".join(sorted(name_tokens(name)))


def _district(listing: Listing) -> str | None:
    """The postcode district (outcode), for corroborating a registry-number match."""
    return listing.postcode.split(" ")[0] if listing.postcode else None


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / CELL_LAT), math.floor(lon / CELL_LON)


class OrganisationRegistry:
    """The de-duplication state; one instance per consumer process."""

    def __init__(self, location: str | Path, name_threshold: float = 90, max_km: float = 2.0) -> None:
        """`location`: a SQLite file (a path or `sqlite:///path`) or a `postgresql://` URL."""
        self._storage: RegistryStorage = open_registry_storage(location)
        self.name_threshold, self.max_km = name_threshold, max_km
        self._decided = True  # whether any steward decision exists; refreshed per batch
        with self._storage.read() as conn:
            self._sources = {s for (s,) in conn.execute("SELECT DISTINCT source FROM members")}

    def close(self) -> None:
        self._storage.close()

    # -- the consumer's side -----------------------------------------------------------------

    def apply(self, upserts: Iterable[Listing], deletes: Iterable[str]) -> ClusterWrites:
        """Store a batch's members and return the index writes for every dirty cluster."""
        stale = 0
        fresh: dict[str, dict[str, Any]] = {}
        touched: set[str] = set()
        upserts = list(upserts)
        with self._storage.write() as conn:
            self._decided = conn.execute("SELECT 1 FROM decisions LIMIT 1").fetchone() is not None
            stored = self._stored(conn, [listing.id for listing in upserts])
            for listing in upserts:
                written = self._upsert(conn, listing, stored.get(listing.id))
                if written is None:
                    stale += 1
                else:
                    touched.add(written[0])
                    fresh[listing.id] = written[1]
            for member_id in deletes:
                self._delete(conn, member_id)
        writes = self.pending(fresh, touched)
        writes.stale = stale
        return writes

    def pending(self, fresh: dict[str, dict[str, Any]] | None = None, touched: Iterable[str] = ()) -> ClusterWrites:
        """The index writes for the clusters a batch touched and those marked dirty: a fold of the
        members, or a delete when none is left.

        Only side effects (a cluster that lost or renamed members) are marked dirty on disk: a
        replayed batch recomputes the clusters of its own records anyway. `fresh` holds documents
        validated moments ago, so the common case (a cluster of one) needs no JSON decoding.
        """
        fresh = fresh or {}
        writes = ClusterWrites()
        dirty: dict[str, int] = {}
        with self._storage.read() as conn:
            for cluster, replace, seq in conn.execute("SELECT cluster, replace, seq FROM dirty"):
                dirty[cluster], writes.marked[cluster] = replace, seq
            for cluster in touched:
                dirty.setdefault(cluster, 0)
            members = self._members(conn, list(dirty))
            for cluster, replace in dirty.items():
                ids = members.get(cluster, [])
                if not ids or replace:
                    writes.deletes.append(cluster)
                if ids:
                    docs = [fresh[i] if i in fresh else self._doc(conn, i) for i in ids]
                    writes.upserts[cluster] = fold(cluster, docs)
        return writes

    def _members(self, conn: Sql, clusters: list[str]) -> dict[str, list[str]]:
        """cluster -> its member ids in order, a few queries per batch rather than one per cluster."""
        found: dict[str, list[str]] = {}
        for start in range(0, len(clusters), 500):
            chunk = clusters[start:start + 500]
            for cluster, member in conn.execute(
                f"SELECT cluster, id FROM members WHERE cluster IN ({','.join('?' * len(chunk))}) ORDER BY cluster, id",
                chunk,
            ):
                found.setdefault(cluster, []).append(member)
        return found

    def _doc(self, conn: Sql, member_id: str) -> dict[str, Any]:
        row = conn.execute("SELECT doc FROM members WHERE id = ?", (member_id,)).fetchone()
        return dict(json_codec.loads(row[0]))

    def done(self, writes: ClusterWrites) -> None:
        """Forget the dirty marks `writes` settled, once the index holds them.

        A mark set again after `writes` were computed (the consumer prepares the next batch while
        it writes this one) has a newer seq and stays, so its cluster is written again.
        """
        if writes.marked:
            with self._storage.write() as conn:
                conn.executemany("DELETE FROM dirty WHERE cluster = ? AND seq = ?", list(writes.marked.items()))

    def _stored(self, conn: Sql, ids: list[str]) -> dict[str, tuple[str, str]]:
        """id -> (cluster, updated_at) of the members already stored, in a few queries per batch."""
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found.update((i, (c, u)) for i, c, u in conn.execute(
                f"SELECT id, cluster, updated_at FROM members WHERE id IN ({','.join('?' * len(chunk))})", chunk))
        return found

    def _upsert(self, conn: Sql, listing: Listing, row: tuple[str, str] | None
                ) -> tuple[str, dict[str, Any]] | None:
        """Store one member; returns its cluster and document, or None when a newer version is stored.

        `row` is the member's stored (cluster, updated_at), if any.
        """
        updated = listing.updated_at.isoformat()
        if row and row[1] > updated:
            return None
        key = name_key(listing.name)
        target = self._resolve(conn, listing, key)
        cluster = listing.id if target is None else min(target, listing.id)
        if target is not None and cluster != target:
            self._rename(conn, target, cluster)
        doc_json = listing.model_dump_json()
        lat, lon = (listing.location.lat, listing.location.lon) if listing.location else (None, None)
        cell = ":".join(map(str, _cell(lat, lon))) if lat is not None and lon is not None else None
        conn.execute("INSERT INTO members VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                     " cluster = excluded.cluster, source = excluded.source, updated_at = excluded.updated_at,"
                     " name_key = excluded.name_key, district = excluded.district, cell = excluded.cell,"
                     " lat = excluded.lat, lon = excluded.lon, doc = excluded.doc",
                     (listing.id, cluster, listing.source, updated, key, _district(listing), cell, lat, lon, doc_json))
        if row:
            conn.execute("DELETE FROM registry WHERE id = ?", (listing.id,))
        numbers = [(kind, registry_number(kind, value), listing.id)
                   for kind, attr in _REGISTRY_FIELDS if (value := getattr(listing, attr))]
        if numbers:
            conn.executemany("INSERT INTO registry VALUES (?, ?, ?) ON CONFLICT DO NOTHING", numbers)
        self._sources.add(listing.source)
        if row and row[0] != cluster:
            self._recluster(conn, row[0])
        return cluster, json_codec.loads(doc_json)  # cheaper than a second pydantic serialisation

    def _delete(self, conn: Sql, member_id: str) -> None:
        row = conn.execute("SELECT cluster FROM members WHERE id = ?", (member_id,)).fetchone()
        conn.execute("DELETE FROM members WHERE id = ?", (member_id,))
        conn.execute("DELETE FROM registry WHERE id = ?", (member_id,))
        self._recluster(conn, row[0] if row else member_id)

    def _recluster(self, conn: Sql, cluster: str) -> None:
        """A member left `cluster`: the rest keep the smallest remaining id; the old document goes."""
        remaining = conn.execute("SELECT min(id) FROM members WHERE cluster = ?", (cluster,)).fetchone()[0]
        self._dirty(conn, cluster, replace=True)
        if remaining is not None and remaining != cluster:
            self._rename(conn, cluster, remaining)

    def _rename(self, conn: Sql, old: str, new: str) -> None:
        conn.execute("UPDATE members SET cluster = ? WHERE cluster = ?", (new, old))
        self._dirty(conn, old, replace=True)
        self._dirty(conn, new, replace=True)

    def _dirty(self, conn: Sql, cluster: str, replace: bool) -> None:
        """Mark a cluster for rewriting; every mark gets a seq above any standing one."""
        conn.execute("INSERT INTO dirty VALUES (?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM dirty))"
                     " ON CONFLICT (cluster) DO UPDATE SET replace = CASE WHEN excluded.replace > dirty.replace"
                     " THEN excluded.replace ELSE dirty.replace END, seq = excluded.seq", (cluster, int(replace)))

    # -- matching ------------------------------------------------------------------------------

    def _resolve(self, conn: Sql, listing: Listing, key: str) -> str | None:
        """The cluster `listing` belongs to, or None for a cluster of its own."""
        split = {b for (b,) in conn.execute(
            "SELECT CASE WHEN a = ? THEN b ELSE a END FROM decisions WHERE decision = 'split' AND ? IN (a, b)",
            (listing.id, listing.id))} if self._decided else set()
        confirmed = self._confirmed(conn, listing) if self._decided else []
        for candidates in (confirmed, self._same_number(conn, listing, key), self._similar(conn, listing, key)):
            for cluster in candidates:
                if not split or not self._holds_any(conn, cluster, split):
                    return cluster
        return None

    def _confirmed(self, conn: Sql, listing: Listing) -> list[str]:
        return [c for (c,) in conn.execute(
            "SELECT m.cluster FROM decisions d JOIN members m ON m.id = CASE WHEN d.a = ? THEN d.b ELSE d.a END"
            " WHERE d.decision = 'confirm' AND ? IN (d.a, d.b) AND m.id != ?",
            (listing.id, listing.id, listing.id))]

    def _same_number(self, conn: Sql, listing: Listing, key: str) -> list[str]:
        """Clusters holding the same registry number, corroborated by the postcode district or the name.

        Open data carries wrong numbers (in the sample, Co-operatives UK under Co-operatives
        London's company number, Locality's charity number on another charity): a number alone
        would merge unrelated organisations, and a wrong merge costs more than a missed one.
        """
        district = _district(listing)
        found: list[str] = []
        for kind, attr in _REGISTRY_FIELDS:
            value = getattr(listing, attr)
            if value:
                found += [c for c, other_district, other_key in conn.execute(
                    "SELECT m.cluster, m.district, m.name_key FROM registry r JOIN members m ON m.id = r.id"
                    " WHERE r.kind = ? AND r.number = ? AND r.id != ? ORDER BY m.cluster",
                    (kind, registry_number(kind, value), listing.id))
                    if (district and district == other_district)
                    or fuzz.token_sort_ratio(key, other_key) >= NUMBER_NAME_THRESHOLD]
        return found

    def _similar(self, conn: Sql, listing: Listing, key: str) -> list[str]:
        """Clusters of other sources' members with a similar name within `max_km`, best first."""
        if listing.location is None or self._sources <= {listing.source}:  # no other source to match
            return []
        here = (listing.location.lat, listing.location.lon)
        row, column = _cell(*here)
        cells = [f"{row + i}:{column + j}" for i in (-1, 0, 1) for j in (-1, 0, 1)]
        scored = []
        for cluster, other_key, lat, lon in conn.execute(
            f"SELECT cluster, name_key, lat, lon FROM members WHERE cell IN ({','.join('?' * len(cells))})"
            " AND source != ? AND id != ?", (*cells, listing.source, listing.id)):
            score = fuzz.token_sort_ratio(key, other_key)
            if score >= self.name_threshold and distance_km(here, (lat, lon)) <= self.max_km:
                scored.append((-score, cluster))
        return [cluster for _, cluster in sorted(scored) if not self._has_source(conn, cluster, listing)]

    def _has_source(self, conn: Sql, cluster: str, listing: Listing) -> bool:
        """True when another record of `listing`'s source is already in `cluster`."""
        return conn.execute("SELECT 1 FROM members WHERE cluster = ? AND source = ? AND id != ?",
                            (cluster, listing.source, listing.id)).fetchone() is not None

    def _holds_any(self, conn: Sql, cluster: str, ids: set[str]) -> bool:
        marks = ",".join("?" * len(ids))
        return conn.execute(f"SELECT 1 FROM members WHERE cluster = ? AND id IN ({marks})",
                            (cluster, *ids)).fetchone() is not None

    # -- the steward's side --------------------------------------------------------------------

    def decide(self, a: str, b: str, decision: Decision, decided_at: str | None = None) -> None:
        """Remember that `a` and `b` are (confirm) or are not (split) one organisation."""
        first, second = sorted((a, b))
        with self._storage.write() as conn:
            conn.execute("INSERT INTO decisions VALUES (?, ?, ?, ?) ON CONFLICT (a, b) DO UPDATE SET"
                         " decision = excluded.decision, decided_at = excluded.decided_at",
                         (first, second, decision, decided_at or datetime.now(UTC).isoformat()))

    def decisions(self) -> list[tuple[str, str, str, str]]:
        with self._storage.read() as conn:
            return [tuple(r) for r in conn.execute("SELECT a, b, decision, decided_at FROM decisions ORDER BY a, b")]

    def merged(self, limit: int = 100) -> dict[str, list[tuple[str, str]]]:
        """Clusters with more than one member: cluster id -> [(member id, source)]."""
        with self._storage.read() as conn:
            rows = list(conn.execute(
                "SELECT cluster, id, source FROM members WHERE cluster IN (SELECT cluster FROM members"
                " GROUP BY cluster HAVING count(*) > 1 ORDER BY cluster LIMIT ?) ORDER BY cluster, id", (limit,)))
        out: dict[str, list[tuple[str, str]]] = {}
        for cluster, member, source in rows:
            out.setdefault(cluster, []).append((member, source))
        return out

    def cluster_for_number(self, kind: str, number: str) -> str | None:
        """The cluster holding a registry number (normalised by `registry_number`), if listed."""
        with self._storage.read() as conn:
            row = conn.execute(
                "SELECT m.cluster FROM registry r JOIN members m ON m.id = r.id WHERE r.kind = ? AND r.number = ?"
                " ORDER BY m.cluster LIMIT 1", (kind, number)).fetchone()
        return None if row is None else str(row[0])

    def member_docs(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        """Stored members of the clusters holding `ids`: what to republish after a decision."""
        wanted = list(ids)
        marks = ",".join("?" * len(wanted))
        with self._storage.read() as conn:
            return [json_codec.loads(d) for (d,) in conn.execute(
                f"SELECT doc FROM members WHERE cluster IN (SELECT cluster FROM members WHERE id IN ({marks}))"
                " ORDER BY id", wanted)]


def fold(cluster: str, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """One index document for a cluster's members (sorted by id), keeping every provenance entry."""
    if len(docs) == 1:
        return docs[0]
    merged = docs[0]
    for doc in docs[1:]:
        merged = merge(merged, doc)
    merged["id"] = cluster
    merged["provenance"] = [entry for doc in docs for entry in doc.get("provenance", [])]
    return merged
