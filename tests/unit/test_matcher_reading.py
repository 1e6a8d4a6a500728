"""How the matcher reads a lot before it searches: places in words, NUTS/ITL areas, remote work,
CPV codes from a title, and fit in words."""

from __future__ import annotations

import pytest

from services.matcher.matching import prepare
from services.matcher.model import FitThresholds
from services.matcher.place_names import NamedPlace, find_place, nuts_area
from services.matcher.text import LotWords, place_words
from services.matcher.work import is_remote
from shared.cpv import codes_named_by
from shared.models import Lot


@pytest.mark.parametrize(
    ("text", "nation", "place"),
    [
        ("North Glasgow", "Scotland", "Glasgow"),
        ("Angus Council Area", "Scotland", "Angus"),
        ("Robert Gordon University, Garthdee Campus, Aberdeen", "Scotland", "Aberdeen"),
        ("The main place of performance is Neath Port Talbot", "Wales", "Neath Port Talbot"),
        ("Newport", "Wales", "Newport"),
    ],
)
def test_places_written_in_words_are_found_in_their_nation(text: str, nation: str, place: str) -> None:
    found = find_place(text, nation)
    assert isinstance(found, NamedPlace) and found.name == place and found.nation == nation


def test_a_postcode_in_the_description_wins_and_lost_line_breaks_are_read() -> None:
    assert find_place("Registers of Scotlandrn Meadowbank Housern 153 London Roadrn Edinburghrn EH8 7AU") == (
        "EH8 7AU",
        pytest.approx((55.95, -3.17), abs=0.05),
    )


@pytest.mark.parametrize("text", ["Various locations throughout the area", "Street cleaning", "Throughout Scotland."])
def test_common_words_are_not_places(text: str) -> None:
    assert find_place(text, "Scotland") is None


def test_nuts_and_itl_codes_fall_back_to_the_area_the_table_holds() -> None:
    aberdeen = nuts_area("UKM50")
    assert aberdeen is not None and aberdeen.point is not None and round(aberdeen.point[0]) == 57
    west_yorkshire = nuts_area("TLE42")  # an English NUTS3 (ITL) code: its NUTS2 parent
    assert west_yorkshire is not None and west_yorkshire.code == "UKE4"
    assert nuts_area("XX1") is None


def test_place_names_leave_the_lots_words() -> None:
    lot = Lot(title="Edinburgh Bus Station passenger information signs", postcode="EH1")
    assert "edinburgh" in place_words(lot.title)
    assert "edinburgh" not in LotWords.of(lot).head and "signs" in LotWords.of(lot).head


@pytest.mark.parametrize(
    ("lot", "remote"),
    [
        (Lot(title="QS cost consultancy", cpv_codes=["71324000"], region="Scotland"), True),
        (Lot(title="Security guarding", cpv_codes=["79710000"], region="Scotland"), False),
        (Lot(title="Evaluation of the action plan", region="Wales"), True),
        (Lot(title="Office cleaning", region="Wales"), False),
    ],
)
def test_remote_work_is_told_by_its_codes_or_its_title(lot: Lot, remote: bool) -> None:
    assert is_remote(lot) is remote


def test_a_lot_without_codes_gets_them_from_its_title_and_says_so() -> None:
    assert codes_named_by("Office cleaning") == ["90919200"]
    assert codes_named_by("Community transport for older people") == []
    ctx = prepare(Lot(title="Taxi services for school pupils", postcode="AB10"), 50)
    assert ctx.lot.cpv_codes == ["60120000"] and ctx.cpv_source == "read from the title"
    assert prepare(Lot(title="Taxis", cpv_codes=["60120000"], postcode="AB10"), 50).cpv_source == "given"


def test_a_radius_the_buyer_did_not_set_bounds_what_is_near_not_what_recall_sees() -> None:
    assert prepare(Lot(title="Cleaning", postcode="LS1"), 50).search_radius_km == 150
    assert prepare(Lot(title="Cleaning", postcode="LS1", radius_km=20), 50).search_radius_km == 20


@pytest.mark.parametrize(
    ("score", "text", "codes", "near", "fit"),
    [
        (0.5, 0.3, 1.0, True, "strong"),
        (0.5, 0.3, 1.0, False, "possible"),  # the right work, beyond the radius
        (0.5, 0.3, 0.4, True, "possible"),  # the words without the codes
        (0.3, 0.0, 0.0, True, "weak"),  # near, and nothing else
        (0.1, 0.1, 0.0, True, "weak"),
    ],
)
def test_fit_needs_both_the_words_and_the_codes_for_strong(
    score: float, text: float, codes: float, near: bool, fit: str
) -> None:
    assert FitThresholds().level(score, text, codes, near) == fit
