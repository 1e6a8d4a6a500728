"""Build `data/sample/listings.jsonl`, the sample directory, from the extracts in `data/sources/`.

    python -m services.ingest.sources.build_sample

The output is deterministic (sorted by id; `updated_at` is each source's edition date) so that
rebuilding gives a byte-identical file and a diff shows only real data changes. Every line is
validated as a `Listing`; counts per source and the reasons rows were skipped are printed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from shared.geo import Gazetteer, default_gazetteer
from shared.models import Listing

from . import coopsuk, oxford, threesixtygiving, workerscoop
from .common import RawListing, Skipped
from .merge import CoopIndex, merge

REPO_ROOT = Path(__file__).resolve().parents[3]
SOURCES_DIR = REPO_ROOT / "data" / "sources"
Record = TypeVar("Record")

OUTPUT = REPO_ROOT / "data" / "sample" / "listings.jsonl"

COOPSUK_FILE = SOURCES_DIR / "coopsuk" / "coops_uk_standard_Q2-2023_with_postcode_geo.csv"
WORKERSCOOP_FILE = SOURCES_DIR / "workerscoop" / "workers_coop_2023-06-23.csv"
OXFORD_FILE = SOURCES_DIR / "oxford" / "owned_by_oxford_survey_2019-08-28_orgfields.csv"
POWERTOCHANGE_FILE = SOURCES_DIR / "powertochange" / "power_to_change_grants_flat.csv"


class Report:
    """Per-source tallies: records read, listed, merged into another record, skipped (by reason)."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = {}

    def add(self, source: str, outcome: str) -> None:
        self.counts.setdefault(source, Counter())[outcome] += 1

    def lines(self) -> list[str]:
        return [
            f"{source}: " + ", ".join(f"{outcome} {n}" for outcome, n in sorted(counts.items()))
            for source, counts in self.counts.items()
        ]


def _convert(
    source: str,
    records: Iterable[Record],
    convert: Callable[[Record, Gazetteer], RawListing],
    gazetteer: Gazetteer,
    report: Report,
) -> list[RawListing]:
    """Run one adapter over its records, tallying what was read and skipped."""
    listings = []
    for record in records:
        report.add(source, "read")
        try:
            listings.append(convert(record, gazetteer))
        except Skipped as skipped:
            report.add(source, f"skipped ({skipped.reason})")
    return listings


def _fold(directory: dict[str, RawListing], listing: RawListing, target: str | None, report: Report) -> None:
    """Add a listing under its own id, or merge it into the record `target` names."""
    key = target or listing["id"]
    if key in directory:
        directory[key] = merge(directory[key], listing)
        report.add(listing["source"], "merged into an existing listing")
    else:
        directory[key] = listing


def build(gazetteer: Gazetteer, report: Report) -> list[Listing]:
    """All sample listings, validated, sorted by id."""
    directory: dict[str, RawListing] = {}
    coops = _convert("coopsuk", coopsuk.read(COOPSUK_FILE), coopsuk.to_listing, gazetteer, report)
    coops += _convert(
        "workerscoop", coopsuk.read(WORKERSCOOP_FILE), workerscoop.to_listing, gazetteer, report
    )
    for listing in coops:
        _fold(directory, listing, None, report)
    index = CoopIndex(directory.values())
    others = _convert("oxford", oxford.read(OXFORD_FILE), oxford.to_listing, gazetteer, report)
    others += _convert(
        "powertochange",
        threesixtygiving.read_by_recipient(POWERTOCHANGE_FILE).values(),
        threesixtygiving.to_listing,
        gazetteer,
        report,
    )
    for listing in others:
        _fold(directory, listing, index.match(listing), report)
    return _validated(directory, report)


def _validated(directory: dict[str, RawListing], report: Report) -> list[Listing]:
    valid = []
    for key in sorted(directory):
        try:
            valid.append(Listing.model_validate(directory[key]))
        except ValidationError as error:
            first = error.errors()[0]
            report.add(
                directory[key]["source"], f"invalid ({'.'.join(map(str, first['loc']))}: {first['msg']})"
            )
    return valid


def write(listings: list[Listing], path: Path = OUTPUT) -> None:
    """One compact JSON object per line, leaving out fields that hold their defaults."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for listing in listings:
            fh.write(listing.model_dump_json(exclude_defaults=True) + "\n")


def main() -> None:
    report = Report()
    listings = build(default_gazetteer(), report)
    write(listings)
    print("\n".join(report.lines()))
    by_source = Counter(listing.source for listing in listings)
    per_source = dict(sorted(by_source.items()))
    print(f"wrote {len(listings)} listings to {OUTPUT.relative_to(REPO_ROOT)}: {per_source}")


if __name__ == "__main__":
    main()
