"""Every real OCDS sample release either yields lots ready to match or errors naming JSON paths."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from services.matcher.matching import prepare
from services.matcher.ocds import is_ocds, parse_ocds
from services.matcher.places import LotError
from shared.errors import InvalidInput

DATA = Path(__file__).resolve().parents[2] / "data" / "ocds"
SAMPLES = [
    "pcs_scotland_tender_releases_2019.json",
    "sell2wales_tender_releases_2025.json",
    "armenia_sample_releases.json",
    "ukraine_sample_releases.json",
]
PATH = re.compile(r"^(releases\[\d+\]\.)?(tender|parties\[\d+\])(\.[A-Za-z]+(\[\d+\])?)*$")



@cache
def _releases(name: str) -> list[dict[str, Any]]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))["releases"]  # type: ignore[no-any-return]


def _outcome(release: dict[str, Any]) -> tuple[int, list[str]]:
    """(lots ready to match, error paths): exactly one of them is non-empty."""
    try:
        lots = parse_ocds(release, max_lots=100)
    except InvalidInput as exc:
        return 0, [e.field for e in exc.errors]
    errors: list[str] = []
    for entry in lots:
        if entry.lot is None:
            errors += [e.field for e in entry.errors]
            continue
        try:
            prepare(entry.lot, 50, entry.place_source)
        except LotError as exc:
            errors.append(entry.source(exc.field))
    return (0, errors) if errors else (len(lots), [])


@pytest.mark.parametrize("name", SAMPLES)
def test_every_release_yields_lots_or_path_naming_errors(name: str) -> None:
    for i, release in enumerate(_releases(name)):
        assert is_ocds(release)
        count, errors = _outcome(release)
        assert bool(count) != bool(errors), f"release {i}"
        assert all(PATH.match(path) for path in errors), (i, errors)


@pytest.mark.parametrize("name", SAMPLES[:2])
def test_every_uk_tender_matches(name: str) -> None:
    outcomes = [_outcome(r) for r in _releases(name)]
    assert [errors for count, errors in outcomes if not count] == []


@pytest.mark.parametrize("name", SAMPLES[:2])
def test_every_uk_lot_is_placed_below_its_nation_or_says_why_not(name: str) -> None:
    """Scottish and Welsh lots give NUTS3 codes and places in words: most are placed at a point;
    every one says where its place came from."""
    lots = [lot for release in _releases(name) for lot in parse_ocds(release, max_lots=100)]
    assert all(lot.lot is not None and lot.place_source for lot in lots)
    placed = [lot for lot in lots if lot.lot is not None and lot.lot.location is not None]
    assert len(placed) >= 0.6 * len(lots)  # measured: PCS 90%, Sell2Wales 68% (the rest give only UKL)


def test_lots_carry_items_cpv_and_are_placed_by_their_description() -> None:
    lots = parse_ocds(_releases(SAMPLES[0])[0], max_lots=100)
    assert [(e.path, e.key, e.lot.cpv_codes, e.lot.region) for e in lots if e.lot] == [
        ("tender.lots[0]", "ocds-r6ebe6-0000581860#1", ["50711000"], "Scotland")
    ]
    assert lots[0].place_source == "delivery description 'North Glasgow': Glasgow"
    assert lots[0].source("region") == "tender.items[0].deliveryAddresses[0].region"
    assert lots[0].source("location") == "tender.items[0].deliveryLocation.description"


def test_a_package_keeps_usable_lots_beside_unusable_ones() -> None:
    package = {"releases": _releases(SAMPLES[2])[:3]}
    lots = parse_ocds(package, max_lots=100)
    unusable = [e for lot in lots for e in lot.errors]
    assert "releases[1].tender" in {e.field for e in unusable}
    with pytest.raises(InvalidInput) as err:
        parse_ocds({"releases": _releases(SAMPLES[0])}, max_lots=10)
    assert err.value.errors[0].field == "releases"


def test_foreign_postcodes_are_reported_at_their_path() -> None:
    ukraine = _releases(SAMPLES[3])
    count, errors = _outcome(ukraine[0])
    assert count == 0 and errors[0].endswith("deliveryAddress.postalCode")


def test_tender_without_lots_is_one_lot_and_values_become_pence() -> None:
    release = {
        "tender": {
            "title": "Grounds maintenance",
            "value": {"amount": 1200.5, "currency": "GBP"},
            "items": [
                {
                    "classification": {"scheme": "CPV", "id": "77314000-4"},
                    "deliveryLocation": {"geometry": {"type": "Point", "coordinates": [-1.55, 53.8]}},
                }
            ],
        }
    }
    [entry] = parse_ocds(release, max_lots=10)
    assert entry.path == "tender"
    assert entry.lot.cpv_codes == ["77314000"]
    assert entry.lot.value_pence == 120050
    assert entry.lot.location is not None and entry.lot.location.lat == 53.8


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"releases": []}, "releases"),
        ({"releases": [3]}, "releases[0]"),
        ({"tender": {"lots": "x"}}, "tender.lots"),
        ({"tender": {"lots": [{"title": "no id"}]}}, "tender.lots[0].id"),
        (
            {"tender": {"items": [{"classification": {"scheme": "CPV", "id": "123"}}]}},
            "tender.items[0].classification.id",
        ),
        (
            {"tender": {"items": [{"deliveryAddresses": [{"region": "Mars"}]}]}},
            "tender.items[0].deliveryAddresses[0].region",
        ),
    ],
)
def test_malformed_bodies_name_the_path(body: dict[str, Any], path: str) -> None:
    try:
        errors = [e.field for lot in parse_ocds(body, max_lots=10) for e in lot.errors]
    except InvalidInput as err:
        errors = [e.field for e in err.errors]
    assert path in errors


def _contracts_finder(**tender: Any) -> dict[str, Any]:
    """A release shaped as Contracts Finder publishes them: the CPV code at tender.classification,
    items with only a country or a nation, the buyer's address in parties."""
    return {
        "ocid": "ocds-b5fd17-0001",
        "buyer": {"id": "GB-SRS-1", "name": "Leeds City Council"},
        "parties": [
            {"id": "GB-SRS-1", "roles": ["buyer"], "address": {"postalCode": "LS1 1UR", "countryName": "England"}}
        ],
        "tender": {
            "title": "IT staffing",
            "classification": {"scheme": "CPV", "id": "72000000", "description": "IT services"},
            "additionalClassifications": [{"scheme": "CPV", "id": "79620000"}],
            **tender,
        },
    }


def test_contracts_finder_codes_at_tender_level_reach_every_lot() -> None:
    [entry] = parse_ocds(_contracts_finder(items=[{"id": "1"}]), max_lots=10)
    assert entry.lot is not None and entry.lot.cpv_codes == ["72000000", "79620000"]


@pytest.mark.parametrize(
    ("items", "place_source", "region"),
    [
        ([{"id": "1", "deliveryAddresses": [{"region": "England"}]}], "region England", "England"),
        ([{"id": "1", "deliveryAddresses": [{"countryName": "United Kingdom"}]}], "the whole UK", "United Kingdom"),
        ([{"id": "1"}], "buyer address (assumed)", None),
    ],
)
def test_nations_the_uk_and_the_buyers_address_place_a_lot(
    items: list[dict[str, Any]], place_source: str, region: str | None
) -> None:
    [entry] = parse_ocds(_contracts_finder(items=items), max_lots=10)
    assert entry.lot is not None and entry.place_source == place_source
    ctx = prepare(entry.lot, 50, entry.place_source)
    assert ctx.place.region == (region or "Yorkshire and The Humber")
    assert (ctx.place.point is not None) == (region is None)


def test_an_itl_code_places_a_lot_at_its_area() -> None:
    release = {"tender": {"title": "Taxis", "items": [{"deliveryAddresses": [{"region": "TLM50"}]}]}}
    [entry] = parse_ocds(release, max_lots=10)
    assert entry.lot is not None and entry.lot.location is not None
    assert round(entry.lot.location.lat) == 57  # Aberdeen, not the middle of Scotland
    assert entry.place_source is not None and entry.place_source.startswith("NUTS TLM50")


def test_lot_keys_are_unique_across_a_package() -> None:
    a = {"ocid": "ocds-x-1", "tender": {"lots": [{"id": "1", "title": "Drainage"}], "items": [
        {"relatedLot": "1", "deliveryAddresses": [{"postalCode": "LS9 8AA"}]}]}}
    b = {**a, "tender": {**a["tender"], "lots": [{"id": "1", "title": "Grass cutting"}]}}
    keys = [lot.key for lot in parse_ocds({"releases": [a, b]}, max_lots=10)]
    assert keys == ["ocds-x-1#1", "ocds-x-1#1~2"]
