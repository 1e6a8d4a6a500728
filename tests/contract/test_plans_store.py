"""Targets and pipelines: the plans port's contract, on SQLite and on PostgreSQL (`state_location`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from services.matcher.spend.store import OrganisationPlans, PackageBody, TargetBody, open_organisation_plans


@pytest.fixture
def plans(state_location: str) -> Iterator[OrganisationPlans]:
    plans = open_organisation_plans(state_location)
    yield plans
    plans.close()


def target(name: str, amount_pence: int = 1_000_000) -> TargetBody:
    return TargetBody(name=name, start=date(2025, 4, 1), end=date(2026, 3, 31), amount_pence=amount_pence)


def package(title: str, value_pence: int) -> PackageBody:
    return PackageBody.model_validate({"lot": {"title": title, "description": "Weekly", "postcode": "LS1 1UN"},
                                       "value_pence": value_pence,
                                       "expected_on": "2025-09-01", "ends_on": "2026-08-31"})


def test_targets_are_per_organisation_in_id_order_and_replaced_by_id(plans: OrganisationPlans) -> None:
    plans.put("targets", "org_a", "b", target("B"))
    plans.put("targets", "org_a", "B", target("upper"))
    plans.put("targets", "org_a", "a", target("A"))
    plans.put("targets", "org_b", "a", target("theirs"))
    plans.put("targets", "org_a", "a", target("A again", 5))
    assert list(plans.targets("org_a")) == ["B", "a", "b"]  # code-point order on both backends
    assert plans.get_target("org_a", "a") == target("A again", 5)
    assert plans.get_target("org_b", "b") is None and plans.targets("org_c") == {}


def test_packages_keep_their_lot_and_delete_reports_what_it_did(plans: OrganisationPlans) -> None:
    plans.put("pipeline", "org_a", "p1", package("Grounds maintenance", 10**12))
    assert plans.packages("org_a") == {"p1": package("Grounds maintenance", 10**12)}
    assert plans.packages("org_a")["p1"].value_within(date(2025, 9, 1), date(2025, 9, 1)) == 10**12 // 365
    assert plans.delete("pipeline", "org_a", "p1") and not plans.delete("pipeline", "org_a", "p1")
    assert not plans.delete("targets", "org_a", "p1") and plans.packages("org_a") == {}


def test_a_second_store_on_the_same_location_sees_what_the_first_wrote(state_location: str) -> None:
    first, second = open_organisation_plans(state_location), open_organisation_plans(state_location)
    try:
        first.put("targets", "org_a", "t", target("Pledge"))
        assert second.targets("org_a") == {"t": target("Pledge")}
    finally:
        first.close()
        second.close()
