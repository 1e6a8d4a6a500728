"""The judged benchmark: real Scottish and Welsh lots whose candidates were judged blind.

`data/judged-benchmark` (PROVENANCE.md there) holds 90 real lots, each the first lot of a
Public Contracts Scotland or Sell2Wales release, and about 23 graded candidates per lot (0 not
relevant, 1 plausible, 2 a credible bidder). A candidate is a listing id of the sample directory
or a charity's org-id. An organisation a lot's judges never saw is *unjudged*: the metrics here
count only judged results and report the unjudged share beside them, never treat it as 0.

The directory is the shipped default one (`data/sample/listings.jsonl`), which now holds the
UK-CAT and Northern Ireland register charities the pools' charities were drawn from; a charity is
named by its register org-id, found in the listing's `org_ids`.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.ingest.sources.charities import CHARITY_REGISTERS
from services.matcher.ocds import OcdsLot, parse_ocds
from shared.models import Listing
from shared.search.factory import open_search_index
from shared.search.port import SearchIndex

ROOT = Path(__file__).resolve().parents[2]
JUDGED = ROOT / "data" / "judged-benchmark"
OCDS_DIR = ROOT / "data" / "ocds"
SAMPLE = ROOT / "data" / "sample" / "listings.jsonl"
K = 10
RELEVANT = 1  # grade 1 (plausible: a buyer would shortlist it) or 2 (a credible bidder)


@dataclass(frozen=True)
class JudgedLot:
    key: str
    title: str
    nation: str
    release: dict[str, Any]
    """The lot's release with only this lot and its items, as the pools were drawn."""
    grades: Mapping[str, int]

    @property
    def has_relevant(self) -> bool:
        return any(g >= RELEVANT for g in self.grades.values())

    def parsed(self) -> OcdsLot:
        lots = parse_ocds(self.release, max_lots=1)
        return lots[0]


@dataclass(frozen=True)
class Answer:
    """A system's answer for one lot: candidate keys best first, and which of them it calls strong."""

    ranked: Sequence[str]
    strong: frozenset[str] = frozenset()
    recalled: frozenset[str] | None = None
    """Every candidate the system considered before ranking, when it can say (the matcher)."""


Ranker = Callable[[JudgedLot], Answer]


def single_lot_release(release: Mapping[str, Any], lot_id: str) -> dict[str, Any]:
    """The release cut down to one lot and the items that belong to it (or to every lot)."""
    tender = dict(release["tender"])
    tender["lots"] = [lot for lot in tender.get("lots", []) if str(lot.get("id")) == lot_id]
    tender["items"] = [
        item for item in tender.get("items", []) if str(item.get("relatedLot", lot_id)) == lot_id
    ]
    return {**release, "tender": tender}


def judged_lots() -> list[JudgedLot]:
    grades: dict[str, dict[str, int]] = defaultdict(dict)
    for line in (JUDGED / "judgements.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        grades[row["lot"]][row["candidate"]] = int(row["grade"])
    releases: dict[str, dict[str, Any]] = {}
    out = []
    for line in (JUDGED / "lots.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        name = Path(row["file"]).name
        if name not in releases:
            data = json.loads((OCDS_DIR / name).read_text(encoding="utf-8"))
            releases.update({r["ocid"]: r for r in data["releases"]})
        release = single_lot_release(releases[row["ocid"]], str(row["lot_id"]))
        out.append(JudgedLot(row["lot"], row["title"], row["nation"], release, grades[row["lot"]]))
    return out


def directory_listings() -> list[Listing]:
    """The default directory as built."""
    return [Listing.model_validate_json(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


def candidate_key(listing: Listing) -> str:
    """How the judgements name a listing: a charity by its register org-id, anything else by its id."""
    return next((o for o in listing.org_ids if o.startswith(CHARITY_REGISTERS)), listing.id)


@contextmanager
def judged_index() -> Iterator[tuple[SearchIndex, dict[str, str]]]:
    """The benchmark directory in a throw-away embedded index, and listing id -> candidate key."""
    listings = directory_listings()
    keys = {listing.id: candidate_key(listing) for listing in listings}
    with tempfile.TemporaryDirectory() as tmp:
        index = open_search_index(f"sqlite:///{Path(tmp) / 'judged.db'}")
        index.ensure_index()
        docs = [listing.index_document() for listing in listings]
        for start in range(0, len(docs), 1000):
            assert not index.bulk_upsert(docs[start : start + 1000]).failed
        index.refresh()
        try:
            yield index, keys
        finally:
            index.close()


@dataclass(frozen=True)
class Scores:
    p_at_10: float
    unjudged_share: float
    success: tuple[int, int]
    strong_judged: int
    strong_relevant: int
    honest_none: tuple[int, int]
    answered: int
    in_recall: int | None = None
    """Lots with a relevant candidate that recall found at all (success@10's ceiling)."""

    @property
    def strong_precision(self) -> float | None:
        return self.strong_relevant / self.strong_judged if self.strong_judged else None


def score(lots: Sequence[JudgedLot], answers: Sequence[Answer]) -> Scores:
    """P@10 (mean over lots with a judged result in the top 10 of relevant / judged), the unjudged
    share of all top-10 results, success@10 (lots with a relevant candidate whose top 10 holds one),
    precision of `strong` (judged strong results that are relevant) and honest none (lots with no
    relevant candidate whose answer calls nothing strong)."""
    precisions, returned, unjudged = [], 0, 0
    success, with_relevant, honest, without = 0, 0, 0, 0
    strong_judged = strong_relevant = 0
    in_recall = 0 if all(a.recalled is not None for a in answers) else None
    for lot, answer in zip(lots, answers, strict=True):
        top = list(answer.ranked[:K])
        judged = [key for key in top if key in lot.grades]
        hits = [key for key in judged if lot.grades[key] >= RELEVANT]
        returned += len(top)
        unjudged += len(top) - len(judged)
        if judged:
            precisions.append(len(hits) / len(judged))
        if lot.has_relevant:
            with_relevant += 1
            success += bool(hits)
            if in_recall is not None:
                in_recall += any(lot.grades.get(key, 0) >= RELEVANT for key in answer.recalled or ())
        else:
            without += 1
            honest += not (answer.strong & set(top))
        for key in answer.strong & set(top):
            if key in lot.grades:
                strong_judged += 1
                strong_relevant += lot.grades[key] >= RELEVANT
    return Scores(
        p_at_10=statistics.fmean(precisions) if precisions else 0.0,
        unjudged_share=unjudged / returned if returned else 0.0,
        success=(success, with_relevant),
        strong_judged=strong_judged,
        strong_relevant=strong_relevant,
        honest_none=(honest, without),
        answered=sum(bool(a.ranked) for a in answers),
        in_recall=in_recall,
    )


def table(rows: Mapping[str, Scores]) -> str:
    """The judged results as the README quotes them."""
    head = (
        f"{'system':22} {'P@10':>6} {'unjudged':>9} {'success@10':>12} {'strong prec.':>14} "
        f"{'honest none':>12} {'in recall':>10}"
    )
    lines = [head]
    for name, s in rows.items():
        ok, of = s.success
        hn, hof = s.honest_none
        strong = "-"
        if s.strong_precision is not None:
            strong = f"{s.strong_precision:.2f} ({s.strong_relevant}/{s.strong_judged})"
        recalled = "-" if s.in_recall is None else f"{s.in_recall}/{of}"
        lines.append(
            f"{name:22} {s.p_at_10:6.3f} {s.unjudged_share:9.0%} {f'{ok}/{of} {ok / of:.2f}':>12} "
            f"{strong:>14} {f'{hn}/{hof} {hn / hof:.2f}':>12} {recalled:>10}"
        )
    return "\n".join(lines)
