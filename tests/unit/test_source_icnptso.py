"""The ICNP/TSO code list: titles, the non-supplier groups and the inferred CPV links."""

from __future__ import annotations

from services.ingest.sources import icnptso
from shared import cpv


def test_every_linked_cpv_code_is_a_real_cpv_code_and_every_linked_group_exists() -> None:
    for code, cpv_codes in icnptso._CPV.items():
        assert icnptso.title(code), code
        for cpv_code in cpv_codes:
            assert cpv.is_known(cpv_code), (code, cpv_code)


def test_titles_read_sections_groups_and_sub_groups() -> None:
    assert icnptso.title("D") == "Social services"
    assert icnptso.title("d20") == "Child day-care services"
    assert icnptso.title("A19") == "Culture and arts not elsewhere classified"
    assert icnptso.title("Z99") is None and icnptso.title("") is None


def test_grant_makers_congregations_and_clubs_are_not_suppliers_but_caterers_are() -> None:
    assert icnptso.non_supplier("H10") == "grant-making foundation"
    assert icnptso.non_supplier("I10") == "religious congregation"
    assert icnptso.non_supplier("I90") is None  # faith-based services: the loader reads what else they do
    assert icnptso.non_supplier("G13") == "members' social club"
    assert icnptso.non_supplier("L30") is None
    assert icnptso.non_supplier("K21") is None
    assert icnptso.non_supplier(None) is None


def test_cpv_comes_from_the_sub_group_else_its_group_else_nothing() -> None:
    assert icnptso.cpv_for("D20") == ["85312110"]
    assert icnptso.cpv_for("D41") == ["80530000", "79611000"]
    assert icnptso.cpv_for("F20") == []
    assert icnptso.cpv_for("nonsense") == []


def test_housing_management_is_a_supplier_group_and_residents_associations_are_known_by_name() -> None:
    """F30 holds housing associations and supported-housing charities beside tenants' groups."""
    from services.ingest.sources.non_suppliers import by_name

    assert icnptso.non_supplier("F30") is None
    assert by_name("Oakwood Tenants and Residents Association") == "residents' or tenants' association"
    assert by_name("Kingdom Housing Association") is None
