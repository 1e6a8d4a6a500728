"""Every charity the judged benchmark names is in the default directory, found by its org-id,
unless a stated supplier rule excludes it (and then no credible bidder is lost)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from services.ingest.sources import build_sample, ccni
from services.ingest.sources.formats import FORMATS
from shared.models import Listing

ROOT = Path(__file__).resolve().parents[2]
JUDGEMENTS = ROOT / "data" / "judged-benchmark" / "judgements.jsonl"
CREDIBLE = 2


@lru_cache(maxsize=1)
def best_grades() -> dict[str, int]:
    grades: dict[str, int] = {}
    for line in JUDGEMENTS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        grades[row["candidate"]] = max(grades.get(row["candidate"], 0), int(row["grade"]))
    return grades


def _directory() -> list[Listing]:
    return [Listing.model_validate_json(line) for line in build_sample.OUTPUT.read_text(encoding="utf-8").splitlines()]


def _excluded_by_a_rule() -> dict[str, str]:
    """org-id -> the stated rule that keeps it out, from the loaders themselves."""
    reasons: dict[str, str] = {}
    for path in build_sample.UKCAT_FILES:
        for record in FORMATS["ukcat"](path, None):
            if record.skipped and build_sample.excludes_everywhere(record.skipped):
                reasons.setdefault(record.raw["org_id"].strip(), record.skipped)
    for record in FORMATS["ccni"](build_sample.CCNI_FILE, None):
        if record.skipped and build_sample.excludes_everywhere(record.skipped):
            reasons.setdefault(ccni.org_id(record.raw), record.skipped)
    return reasons


def test_every_judged_candidate_is_listed_or_excluded_by_a_stated_rule() -> None:
    listings = _directory()
    org_ids = {org_id for listing in listings for org_id in listing.org_ids}
    ids = {listing.id for listing in listings}
    charities = {c for c in best_grades() if c.startswith("GB-")}
    missing = charities - org_ids
    excluded = _excluded_by_a_rule()
    assert len(charities) == 575
    assert sorted(missing - excluded.keys()) == []
    assert [c for c in missing if best_grades()[c] >= CREDIBLE] == []
    assert sorted(c for c in best_grades() if not c.startswith("GB-") and c not in ids) == []
