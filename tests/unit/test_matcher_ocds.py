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
PATH = re.compile(r"^(releases\[\d+\]\.)?tender(\.[A-Za-z]+(\[\d+\])?)*$")



@cache
def _releases(name: str) -> list[dict[str, Any]]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))["releases"]  # type: ignore[no-any-return]


def _outcome(release: dict[str, Any]) -> tuple[int, list[str]]:
    """(lots ready to match, error paths): exactly one of them is non-empty."""
    try:
        lots = parse_ocds(release, max_lots=100)
    except InvalidInput as exc:
        return 0, [e.field for e in exc.errors]
    errors = []
    for entry in lots:
        try:
            prepare(entry.lot, 50)
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
def test_uk_tenders_nearly_all_match(name: str) -> None:
    outcomes = [_outcome(r) for r in _releases(name)]
    assert sum(1 for count, _ in outcomes if count) >= 89


def test_lots_carry_items_cpv_and_nuts_region() -> None:
    lots = parse_ocds(_releases(SAMPLES[0])[0], max_lots=100)
    assert [(e.path, e.lot.id, e.lot.cpv_codes, e.lot.region) for e in lots] == [
        ("tender.lots[0]", "1", ["50711000"], "Scotland")
    ]
    assert lots[0].source("region") == "tender.items[0].deliveryAddresses[0].region"


def test_a_package_names_the_release_and_counts_lots() -> None:
    package = {"releases": _releases(SAMPLES[2])[:3]}
    with pytest.raises(InvalidInput) as err:
        parse_ocds(package, max_lots=100)
    assert {e.field for e in err.value.errors} >= {"releases[1].tender"}
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
    with pytest.raises(InvalidInput) as err:
        parse_ocds(body, max_lots=10)
    assert path in {e.field for e in err.value.errors}
