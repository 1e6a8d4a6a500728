"""UK postcode parsing and the offline gazetteer over data/postcodes."""

from __future__ import annotations

import pytest

from shared.geo import (
    Gazetteer,
    InvalidPostcode,
    default_gazetteer,
    distance_km,
    is_outcode,
    normalise_postcode,
    outcode,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("bt133ru", "BT13 3RU"),
        (" BT13 3ru ", "BT13 3RU"),
        ("ec1a1bb", "EC1A 1BB"),
        ("W1A 1AA", "W1A 1AA"),
        ("gir0aa", "GIR 0AA"),
        ("M1 1AE", "M1 1AE"),
    ],
)
def test_normalise_postcode(raw: str, expected: str) -> None:
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize("raw", ["", "LS1", "QS1 1AA", "LS1 1CA", "12345", "LS1 4AP X"])
def test_invalid_postcode_has_readable_message(raw: str) -> None:
    with pytest.raises(InvalidPostcode, match="not a valid UK postcode"):
        normalise_postcode(raw)


def test_outcodes() -> None:
    assert is_outcode("ls1") and is_outcode("EC1A") and is_outcode("W1A")
    assert not is_outcode("LS1 4AP")
    assert outcode("bt133ru") == "BT13"


def test_locate_full_postcode_and_outcode() -> None:
    gazetteer = default_gazetteer()
    place = gazetteer.locate("BT13 3RU")
    assert place is not None
    assert place.precision == "district"
    assert place.region == "Northern Ireland"
    assert place.town == "Belfast"
    assert gazetteer.locate("bt13") == place


def test_district_without_coordinates_falls_back_to_area() -> None:
    place = default_gazetteer().locate("BT58 1AA")
    assert place is not None and place.precision == "area"
    assert place.region == "Northern Ireland"


def test_unknown_places_give_none() -> None:
    assert default_gazetteer().locate("GIR 0AA") is None


def test_regions_are_itl1_names() -> None:
    regions = default_gazetteer().regions()
    assert "North West" in regions and "Scotland" in regions and "Northern Ireland" in regions
    assert len(regions) == 12


def test_default_gazetteer_is_cached() -> None:
    assert default_gazetteer() is default_gazetteer()
    assert isinstance(default_gazetteer(), Gazetteer)


def test_distance_belfast_to_leeds() -> None:
    assert distance_km((54.6058, -5.95843), (53.7974, -1.55307)) == pytest.approx(300, abs=5)
