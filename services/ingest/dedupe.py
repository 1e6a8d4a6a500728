"""De-duplication: several sources' records of one organisation become one listing.

A wrong merge hides an organisation from search, a missed one shows it twice; the first costs
more, so only near-certain pairings merge by themselves and the rest wait for a steward.

Each new record is compared with the stored members, rules strongest first:

1. `steward confirm`: a steward's decision always wins (and `split` forbids a pair for good);
2. `same register entry`, `same org-id`, then `same company|charity|society number`
   (`registry_keys.py`: an org-id's local part is its register's number; placeholders such as
   "N/A", "0" or "111111" are blanks, never keys), corroborated by a similar name (token-sort
   ratio of the distinctive words at or above `NUMBER_NAME_THRESHOLD`) and/or the same postcode
   district, since open data carries wrong numbers; a number that neither corroborates is no
   evidence at all;
3. `similar name within N km`: another source's record whose name scores at or above
   `name_threshold` within `max_km`.

Only a steward's confirm, a key with both a similar name and the same district, or a register
entry with either, merges. Two records verified by one register entry were both copied from that
register's extracts (UK-CAT's and the NI register's records of one NI charity), so a charity that
moved, or was renamed, is still one organisation; an entry whose name and place both disagree is
no evidence, like any key. Every weaker pairing (a key with one corroboration, a similar name
nearby) goes to the review queue (`merges review`) instead, with its rule and score; the score is
always the names' rapidfuzz token-sort ratio, 0-100. No rule ever merges or queues two records of
one source, nor a record into a cluster already holding one of its source: a register lists each
organisation once, so two records there are two organisations (two branches of a chain, say),
whatever the number says.
Each merge remembers the pair that made it and why (`merges list`).

Each cluster is indexed as one document whose id is the smallest member id (deterministic
whatever order records arrive in), folded with `sources.merge.merge` and carrying every
member's provenance. The state (members, registry keys, decisions, pairings, and the clusters
whose index document is not yet rewritten) lives behind `RegistryStorage` (a SQLite file, or
PostgreSQL at scale: `dedupe_storage.py`), written before the index so that a crash between the
two leaves "dirty" clusters that the next batch rewrites. Matching costs a few queries per
record only where there is something to compare (a key, a place with another source nearby).

Clusters are not re-derived when a member leaves: members that joined through it stay together.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from rapidfuzz import fuzz

from services.ingest.dedupe_storage import RegistryStorage, Sql, open_registry_storage
from services.ingest.registry_keys import ORG_ID, REGISTER_ENTRY, RegistryKey, registry_keys
from services.ingest.sources.merge import merge, name_tokens
from shared import json_codec
from shared.geo import distance_km
from shared.models import Listing, with_index_fields

Decision = Literal["confirm", "split"]
CELL_LAT, CELL_LON = 0.02, 0.03  # about 2 km either way across the UK
# With the same registry key, names this close corroborate the match.
NUMBER_NAME_THRESHOLD = 80
# The best pairings one record may add to the review queue: a chain's name near many branches
# would otherwise flood it.
QUEUED_PER_RECORD = 3
CONFIRMED = "steward confirm"


@dataclass
class ClusterWrites:
    """Index writes that bring the index in line with the clusters: replaced ids are deleted first."""

    upserts: dict[str, dict[str, Any]] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)
    stale: int = 0
    marked: dict[str, int] = field(default_factory=dict)  # dirty marks these writes settle: cluster -> seq


@dataclass(frozen=True)
class Evidence:
    """Why a record may be one organisation with the stored member `other` (in `cluster`):
    the rule that fired, the names' score (token-sort ratio, 0-100), and whether it is
    near-certain enough to merge without a steward."""

    other: str
    cluster: str
    rule: str
    score: float
    certain: bool


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    source: str


@dataclass(frozen=True)
class Pair:
    """Two members and the rule that paired them, as a steward reviews them."""

    a: Member
    b: Member
    rule: str
    score: float


@dataclass(frozen=True)
class MergedCluster:
    id: str
    members: list[Member]
    pairs: list[Pair]  # the pairings that merged them (none for clusters merged before they were kept)


def key_rule(kind: str, similar_name: bool, same_district: bool) -> str:
    """`same charity number + similar name + same district`: the key and what corroborated it."""
    found = [f"same {kind}" if kind in (ORG_ID, REGISTER_ENTRY) else f"same {kind} number"]
    return " + ".join(found + ["similar name"] * similar_name + ["same district"] * same_district)


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
        self._paired = True  # whether any pairing is stored; refreshed per batch
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
        found_at = datetime.now(UTC).isoformat()
        with self._storage.write() as conn:
            self._decided = conn.execute("SELECT 1 FROM decisions LIMIT 1").fetchone() is not None
            self._paired = conn.execute("SELECT 1 FROM pairings LIMIT 1").fetchone() is not None
            stored = self._stored(conn, [listing.id for listing in upserts])
            if self._paired:  # updated members are paired afresh: their evidence may have changed
                self._forget_pairings(conn, [listing.id for listing in upserts if listing.id in stored
                                             and stored[listing.id][1] <= listing.updated_at.isoformat()])
            for listing in upserts:
                written = self._upsert(conn, listing, stored.get(listing.id), found_at)
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
        for cluster, member in _select_in(
                conn, "SELECT cluster, id FROM members WHERE cluster IN ({marks}) ORDER BY cluster, id", clusters):
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
        return {i: (c, u) for i, c, u in _select_in(
            conn, "SELECT id, cluster, updated_at FROM members WHERE id IN ({marks})", ids)}

    def _forget_pairings(self, conn: Sql, ids: list[str]) -> None:
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            conn.execute(f"DELETE FROM pairings WHERE a IN ({marks}) OR b IN ({marks})", (*chunk, *chunk))

    def _upsert(self, conn: Sql, listing: Listing, row: tuple[str, str] | None, found_at: str
                ) -> tuple[str, dict[str, Any]] | None:
        """Store one member; returns its cluster and document, or None when a newer version is stored.

        `row` is the member's stored (cluster, updated_at), if any.
        """
        updated = listing.updated_at.isoformat()
        if row and row[1] > updated:
            return None
        key, keys = name_key(listing.name), registry_keys(listing)
        chosen, queued = self._resolve(conn, listing, key, keys)
        cluster = listing.id if chosen is None else min(chosen.cluster, listing.id)
        if chosen is not None and cluster != chosen.cluster:
            self._rename(conn, chosen.cluster, cluster)
        doc = listing.model_dump(mode="json")
        doc_json = json_codec.dumps(doc)  # one pydantic pass, not a serialisation and a parse
        lat, lon = (listing.location.lat, listing.location.lon) if listing.location else (None, None)
        cell = ":".join(map(str, _cell(lat, lon))) if lat is not None and lon is not None else None
        conn.execute("INSERT INTO members VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                     " cluster = excluded.cluster, source = excluded.source, updated_at = excluded.updated_at,"
                     " name_key = excluded.name_key, district = excluded.district, cell = excluded.cell,"
                     " lat = excluded.lat, lon = excluded.lon, doc = excluded.doc",
                     (listing.id, cluster, listing.source, updated, key, _district(listing), cell, lat, lon, doc_json))
        if row:
            conn.execute("DELETE FROM registry WHERE id = ?", (listing.id,))
        if keys:
            conn.executemany("INSERT INTO registry VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                             [(kind, number, listing.id) for kind, number in keys])
        self._pair(conn, listing.id, [(e, "merged") for e in [chosen] if e] + [(e, "queued") for e in queued],
                   found_at)
        self._sources.add(listing.source)
        if row and row[0] != cluster:
            self._recluster(conn, row[0])
        return cluster, doc

    def _pair(self, conn: Sql, member_id: str, pairings: list[tuple[Evidence, str]], found_at: str) -> None:
        """Remember why `member_id` merged (status `merged`) and what awaits review (`queued`)."""
        if pairings:
            conn.executemany(
                "INSERT INTO pairings VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (a, b) DO UPDATE SET rule = excluded.rule,"
                " score = excluded.score, status = excluded.status, found_at = excluded.found_at",
                [(*sorted((member_id, e.other)), e.rule, e.score, status, found_at) for e, status in pairings])
            self._paired = True

    def _delete(self, conn: Sql, member_id: str) -> None:
        row = conn.execute("SELECT cluster FROM members WHERE id = ?", (member_id,)).fetchone()
        conn.execute("DELETE FROM members WHERE id = ?", (member_id,))
        conn.execute("DELETE FROM registry WHERE id = ?", (member_id,))
        if self._paired:
            self._forget_pairings(conn, [member_id])
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

    def _resolve(self, conn: Sql, listing: Listing, key: str, keys: list[RegistryKey]
                 ) -> tuple[Evidence | None, list[Evidence]]:
        """The pairing that merges `listing` (None: a cluster of its own) and those to queue for review.

        Evidence comes strongest first; the first near-certain pairing into a cluster it may join
        wins, and every other pairing into another cluster it may join is queued.
        """
        split = {b for (b,) in conn.execute(
            "SELECT CASE WHEN a = ? THEN b ELSE a END FROM decisions WHERE decision = 'split' AND ? IN (a, b)",
            (listing.id, listing.id))} if self._decided else set()
        evidence = self._confirmed(conn, listing, key) if self._decided else []
        evidence += self._same_key(conn, listing, key, keys) + self._similar(conn, listing, key)
        chosen: Evidence | None = None
        queued: list[Evidence] = []
        for found in evidence:
            if chosen and len(queued) == QUEUED_PER_RECORD:
                break
            if found.other in split or (chosen and found.cluster == chosen.cluster) \
                    or any(found.other == q.other for q in queued) or not self._may_join(conn, found, listing, split):
                continue
            if found.certain and chosen is None:
                chosen = found
            elif found.rule != CONFIRMED and len(queued) < QUEUED_PER_RECORD:
                queued.append(found)
        return chosen, [q for q in queued if chosen is None or q.cluster != chosen.cluster]

    def _may_join(self, conn: Sql, found: Evidence, listing: Listing, split: set[str]) -> bool:
        """A cluster holding a member `listing` was split from never takes it; nor, unless a
        steward confirmed it, one already holding a record of its source."""
        if split and self._holds_any(conn, found.cluster, split):
            return False
        return found.rule == CONFIRMED or not self._has_source(conn, found.cluster, listing)

    def _confirmed(self, conn: Sql, listing: Listing, key: str) -> list[Evidence]:
        return [Evidence(other, cluster, CONFIRMED, fuzz.token_sort_ratio(key, other_key), True)
                for other, cluster, other_key in conn.execute(
                    "SELECT m.id, m.cluster, m.name_key FROM decisions d JOIN members m"
                    " ON m.id = CASE WHEN d.a = ? THEN d.b ELSE d.a END"
                    " WHERE d.decision = 'confirm' AND ? IN (d.a, d.b) AND m.id != ? ORDER BY m.id",
                    (listing.id, listing.id, listing.id))]

    def _same_key(self, conn: Sql, listing: Listing, key: str, keys: list[RegistryKey]) -> list[Evidence]:
        """Other sources' members holding one of `listing`'s registry keys, corroborated by a
        similar name and/or the postcode district: strongest key first, then near-certain first.

        Open data carries wrong numbers (in the sample, Co-operatives UK under Co-operatives
        London's company number, Locality's charity number on another charity): a number alone
        would merge unrelated organisations, and a wrong merge costs more than a missed one.
        """
        if not keys:
            return []
        rank = {k: i for i, k in enumerate(keys)}
        district = _district(listing)
        found = []
        for kind, number, other, cluster, other_district, other_key in conn.execute(
            "SELECT r.kind, r.number, m.id, m.cluster, m.district, m.name_key FROM registry r JOIN members m"
            " ON m.id = r.id WHERE (" + " OR ".join(["(r.kind = ? AND r.number = ?)"] * len(keys)) + ")"
            " AND r.id != ? AND m.source != ?", (*(part for k in keys for part in k), listing.id, listing.source)):
            score = fuzz.token_sort_ratio(key, other_key)
            similar, same_district = score >= NUMBER_NAME_THRESHOLD, bool(district) and district == other_district
            if similar or same_district:
                certain = (similar and same_district) or kind == REGISTER_ENTRY
                evidence = Evidence(other, cluster, key_rule(kind, similar, same_district), score, certain)
                found.append(((rank[(kind, number)], not evidence.certain, -score, other), evidence))
        return [evidence for _, evidence in sorted(found, key=lambda pair: pair[0])]

    def _similar(self, conn: Sql, listing: Listing, key: str) -> list[Evidence]:
        """Other sources' members with a similar name within `max_km`, best first: never near-certain
        (a name and a place are shared by a charity and its trading company, a club and its pub)."""
        if listing.location is None or self._sources <= {listing.source}:  # no other source to match
            return []
        here = (listing.location.lat, listing.location.lon)
        row, column = _cell(*here)
        cells = [f"{row + i}:{column + j}" for i in (-1, 0, 1) for j in (-1, 0, 1)]
        rule = f"similar name within {self.max_km:g} km"
        scored = []
        for other, cluster, other_key, lat, lon in conn.execute(
            f"SELECT id, cluster, name_key, lat, lon FROM members WHERE cell IN ({','.join('?' * len(cells))})"
            " AND source != ? AND id != ?", (*cells, listing.source, listing.id)):
            score = fuzz.token_sort_ratio(key, other_key, score_cutoff=self.name_threshold)  # 0 below it
            if score and distance_km(here, (lat, lon)) <= self.max_km:
                scored.append(((-score, other), Evidence(other, cluster, rule, score, False)))
        return [evidence for _, evidence in sorted(scored, key=lambda pair: pair[0])]

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
        """Remember that `a` and `b` are (confirm) or are not (split) one organisation; the pair
        leaves the review queue (re-clustering the republished members records the merge)."""
        first, second = sorted((a, b))
        with self._storage.write() as conn:
            conn.execute("INSERT INTO decisions VALUES (?, ?, ?, ?) ON CONFLICT (a, b) DO UPDATE SET"
                         " decision = excluded.decision, decided_at = excluded.decided_at",
                         (first, second, decision, decided_at or datetime.now(UTC).isoformat()))
            conn.execute("DELETE FROM pairings WHERE a = ? AND b = ?", (first, second))

    def decisions(self) -> list[tuple[str, str, str, str]]:
        with self._storage.read() as conn:
            return [tuple(r) for r in conn.execute("SELECT a, b, decision, decided_at FROM decisions ORDER BY a, b")]

    def merged(self, limit: int = 100) -> list[MergedCluster]:
        """Clusters with more than one member (the first `limit` by id), with the pairings that merged them."""
        with self._storage.read() as conn:
            rows = list(conn.execute(
                "SELECT cluster, id, source, doc FROM members WHERE cluster IN (SELECT cluster FROM members"
                " GROUP BY cluster HAVING count(*) > 1 ORDER BY cluster LIMIT ?) ORDER BY cluster, id", (limit,)))
            members = {member: Member(member, json_codec.loads(doc)["name"], source) for _, member, source, doc in rows}
            pairs = [Pair(members[a], members[b], rule, score) for a, b, rule, score in _select_in(
                conn, "SELECT a, b, rule, score FROM pairings WHERE status = 'merged' AND a IN ({marks})"
                " ORDER BY a, b", list(members)) if b in members]
        clusters: dict[str, MergedCluster] = {}
        for cluster, member, _, _ in rows:
            clusters.setdefault(cluster, MergedCluster(cluster, [], [])).members.append(members[member])
        cluster_of = {member: cluster for cluster, member, _, _ in rows}
        for pair in pairs:
            clusters[cluster_of[pair.a.id]].pairs.append(pair)
        return list(clusters.values())

    def review(self, limit: int = 100) -> list[Pair]:
        """The review queue, best score first: pairs short of near-certain, still in two clusters."""
        with self._storage.read() as conn:
            return [Pair(Member(a, json_codec.loads(a_doc)["name"], a_source),
                         Member(b, json_codec.loads(b_doc)["name"], b_source), rule, score)
                    for a, b, rule, score, a_source, a_doc, b_source, b_doc in conn.execute(
                        "SELECT p.a, p.b, p.rule, p.score, ma.source, ma.doc, mb.source, mb.doc FROM pairings p"
                        " JOIN members ma ON ma.id = p.a JOIN members mb ON mb.id = p.b"
                        " WHERE p.status = 'queued' AND ma.cluster != mb.cluster"
                        " ORDER BY p.score DESC, p.a, p.b LIMIT ?", (limit,))]

    def cluster_for_number(self, kind: str, number: str) -> str | None:
        """The cluster holding a registry number (normalised by `registry_keys.registry_number`), if listed."""
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


def _select_in(conn: Sql, sql: str, values: Sequence[str]) -> Iterator[Any]:
    """Rows of `sql` whose `{marks}` is filled with `values`, 500 at a time (bounded statements)."""
    for start in range(0, len(values), 500):
        chunk = values[start:start + 500]
        yield from conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)


def fold(cluster: str, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """One index document for a cluster's members (sorted by id), keeping every provenance entry,
    with the fields the index derives (`with_index_fields`)."""
    if len(docs) == 1:
        return with_index_fields(docs[0])
    merged = docs[0]
    for doc in docs[1:]:
        merged = merge(merged, doc)
    merged["id"] = cluster
    merged["provenance"] = [entry for doc in docs for entry in doc.get("provenance", [])]
    return with_index_fields(merged)
