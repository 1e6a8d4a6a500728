"""Build `data/sample/listings.jsonl`, the sample directory, from the extracts in `data/sources/`.

    python -m services.ingest.sources.build_sample

The output is deterministic (sorted by id; `updated_at` is each source's edition date) so that
rebuilding gives a byte-identical file and a diff shows only real data changes. Every line is
validated as a `Listing`; counts per source and the reasons rows were skipped are printed, with
how many listings each source leads and how many of those have a location (by precision), which
`data/sample/PROVENANCE.md` quotes.

Charities are one listing per org-id: UK-CAT's two files and the Northern Ireland register meet
under it and are merged (`merge.merge` unites their org-ids, verifications and licences). The
listing keeps the first file's id: UK-CAT's `charity:GB-NIC-100016` when UK-CAT lists the charity,
else the register's own `ccni:GB-NIC-100016`, which is what `load --format ccni` writes, so a
newer NI extract loaded later updates those listings rather than adding a second copy.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from shared.geo import Gazetteer, default_gazetteer
from shared.models import Listing

from . import ccni, coopsuk, oxford, threesixtygiving, ukcat, workerscoop
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
UKCAT_FILES = (SOURCES_DIR / "ukcat" / "sample.csv", SOURCES_DIR / "ukcat" / "top2000.csv")
CCNI_FILE = SOURCES_DIR / "ccni" / "ni-roc-2020-06-30.csv"
Convert = Callable[[dict[str, str], Gazetteer], RawListing]


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


def placed_lines(listings: list[Listing]) -> list[str]:
    """Per leading source (and overall): listings, how many have a location, by precision."""
    groups: dict[str, list[Listing]] = {"all": listings}
    for listing in listings:
        groups.setdefault(listing.source, []).append(listing)
    lines = []
    for source, group in sorted(groups.items(), key=lambda item: (item[0] == "all", item[0])):
        located = sum(listing.location is not None for listing in group)
        precision = Counter(listing.geo_precision for listing in group)
        lines.append(
            f"{source}: listed {len(group)}, with a location {located} ({located / len(group):.1%}); "
            + ", ".join(f"{name} {n}" for name, n in sorted(precision.items()))
        )
    return lines


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


def _fold(
    directory: dict[str, RawListing], listing: RawListing, target: str | None, report: Report, label: str = ""
) -> None:
    """Add a listing under its own id, or merge it into the record `target` names."""
    key = target or listing["id"]
    if key in directory:
        directory[key] = merge(directory[key], listing)
        report.add(label or listing["source"], "merged into an existing listing")
    else:
        directory[key] = listing


def once_per_org_id(convert: Convert) -> Convert:
    """`convert` for a UK-CAT file's rows, skipping a charity's second classification: sample.csv
    classified 98 charities in two batches, independently, and one listing keeps the first."""
    seen: set[str] = set()

    def first_row_only(row: dict[str, str], gazetteer: Gazetteer) -> RawListing:
        key = row["org_id"].strip()
        if key in seen:
            raise Skipped("charity classified again in a later batch (first row kept)")
        seen.add(key)
        return convert(row, gazetteer)

    return first_row_only


def excludes_everywhere(reason: str) -> bool:
    """A reason that holds for the charity whichever file describes it: a non-supplier rule, or
    UK-CAT's newest register status (inactive, gone; from top2000.csv's 2026 refresh). The NI
    register's removals (2020) are older than UK-CAT's extracts and exclude only their own row."""
    return reason.startswith("not a supplier") or reason in (ukcat.INACTIVE, ukcat.GONE)


def _charities(directory: dict[str, RawListing], gazetteer: Gazetteer, report: Report) -> None:
    """UK-CAT's files, then the NI register, folded one listing per charity org-id.

    A charity one source's rule excludes stays out even when another source lists it (UK-CAT
    calls a church a congregation that the NI register's lists alone would keep), so the
    directory never depends on which file happened to describe an organisation.
    """
    inputs: list[tuple[str, Iterable[dict[str, str]], Convert, Callable[[dict[str, str]], str]]] = [
        (f"ukcat {path.name}", coopsuk.read(path), once_per_org_id(ukcat.to_listing), lambda r: r["org_id"].strip())
        for path in UKCAT_FILES  # plain UTF-8 CSVs, read like the Digital Commons files
    ]
    inputs.append(("ccni", ccni.read(CCNI_FILE), ccni.to_listing, ccni.org_id))
    excluded: dict[str, str] = {}
    kept: list[tuple[str, RawListing]] = []
    for label, rows, convert, org_id in inputs:
        for row in rows:
            report.add(label, "read")
            try:
                kept.append((label, convert(row, gazetteer)))
            except Skipped as skipped:
                report.add(label, f"skipped ({skipped.reason})")
                if excludes_everywhere(skipped.reason):
                    excluded.setdefault(org_id(row), skipped.reason)
    for label, listing in kept:
        reason = excluded.get(listing["org_ids"][0])
        if reason:
            report.add(label, f"skipped (another file: {reason})")
        else:
            key = f"org-id {listing['org_ids'][0]}"
            first = directory.get(key)
            _fold(directory, listing, key, report, label)
            if first is not None:  # the id's own source, whichever record leads the merge: loading
                directory[key]["source"] = first["source"]  # that source again then updates it


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
    _charities(directory, gazetteer, report)
    return _validated(directory, report)


def _validated(directory: dict[str, RawListing], report: Report) -> list[Listing]:
    valid = []
    for key in sorted(directory, key=lambda k: (directory[k]["id"], k)):  # charities are keyed by org-id
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
    print("\n".join(placed_lines(listings)))
    by_source = Counter(listing.source for listing in listings)
    per_source = dict(sorted(by_source.items()))
    print(f"wrote {len(listings)} listings to {OUTPUT.relative_to(REPO_ROOT)}: {per_source}")


if __name__ == "__main__":
    main()
