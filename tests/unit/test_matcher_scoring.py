"""Matcher features, hard filters, reasons and ordering on constructed listings (no index, no web)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.matcher.features import (
    FEATURES,
    Candidate,
    LotContext,
    cpv_overlap,
    distance,
    passes_hard_filters,
    service_area,
    size_fit,
    social_value,
)
from services.matcher.matching import prepare
from services.matcher.model import DEFAULT_MODEL_FILE, ScoringModel
from services.matcher.places import NATIONAL, LotError, Place, region_name
from services.matcher.scoring import rank
from services.matcher.supplier import Supplier, supplier
from services.matcher.text import LotWords, WordStatistics, cosine, query_vector
from shared.models import Listing, Lot
from shared.search.port import SearchQuery
from tests.factories import doc

LEEDS = (53.7974, -1.55307)
SHIPPED = ScoringModel.load(DEFAULT_MODEL_FILE)


def listing(suffix: str, **fields: Any) -> Listing:
    base: dict[str, Any] = {
        "id": f"test:{suffix}",
        "name": f"Enterprise {suffix}",
        "source": "test",
        "updated_at": datetime(2024, 1, 1, tzinfo=UTC),
    }
    return Listing(**(base | fields))


def context(radius_km: float = 20, region: str | None = "Yorkshire and The Humber", **lot: Any) -> LotContext:
    fields: dict[str, Any] = {"title": "Office cleaning", "location": {"lat": LEEDS[0], "lon": LEEDS[1]}}
    return LotContext(lot=Lot(**(fields | lot)), place=Place(LEEDS, region), radius_km=radius_km)


def view(item: Listing) -> Supplier:
    found = supplier(item.index_document())
    assert found is not None
    return found


class CountingIndex:
    """Just enough of a SearchIndex for word statistics: counts from a fixed table."""

    def __init__(self, total: int, counts: dict[str, int]) -> None:
        self.total, self.counts, self.asked = total, counts, 0

    def count(self, query: SearchQuery | None = None) -> int:
        self.asked += 1
        return self.total if query is None else self.counts.get(query.text or "", 0)


def cand(item: Listing, km: float | None = None) -> Candidate:
    return Candidate(view(item), km)


def test_cpv_overlap_prefers_the_lots_own_branch_then_the_deeper_shared_one() -> None:
    ctx = context(cpv_codes=["90911000"])
    assert cpv_overlap(ctx, cand(listing("a", cpv_codes=["90911000"]))) == 1.0
    assert cpv_overlap(ctx, cand(listing("b", cpv_codes=["90911200"]))) == 1.0  # under the lot's code
    assert cpv_overlap(ctx, cand(listing("c", cpv_codes=["90911200", "90913000"]))) == 1.0  # best pair
    assert cpv_overlap(ctx, cand(listing("d", cpv_codes=["90910000"]))) == 0.6  # broader: same class
    assert cpv_overlap(ctx, cand(listing("e", cpv_codes=["90913000"]))) == 0.6  # same class
    assert cpv_overlap(ctx, cand(listing("f", cpv_codes=["90920000"]))) == 0.4  # same group
    assert cpv_overlap(ctx, cand(listing("g", cpv_codes=["90500000"]))) == 0.2  # same division
    assert cpv_overlap(ctx, cand(listing("h", cpv_codes=["45000000"]))) == 0.0
    assert cpv_overlap(context(cpv_codes=["80000000"]), cand(listing("i", cpv_codes=["85000000"]))) == 0.0


def test_distance_decays_with_the_radius_and_falls_back_to_region() -> None:
    ctx = context(radius_km=20)
    assert distance(ctx, cand(listing("a"), km=0)) == 1.0
    assert distance(ctx, cand(listing("b"), km=10)) == pytest.approx(math.exp(-1))
    assert distance(ctx, cand(listing("c"), km=5)) > distance(ctx, cand(listing("d"), km=15))
    region_only = LotContext(Lot(title="x", region="Scotland"), Place(None, "Scotland"), 20)
    assert distance(region_only, cand(listing("e", region="Scotland"))) == 0.5
    assert distance(region_only, cand(listing("f", region="Wales"))) == 0.0


def test_service_area_respects_declarations() -> None:
    ctx = context()
    assert service_area(ctx, cand(listing("a", service_area={"national": True}), km=400)) == 1.0
    assert service_area(ctx, cand(listing("b", service_area={"regions": ["Yorkshire and The Humber"]}))) == 1.0
    assert service_area(ctx, cand(listing("c", service_area={"radius_km": 10}), km=5)) == 1.0
    assert service_area(ctx, cand(listing("d", service_area={"radius_km": 10}), km=15)) == 0.0
    assert service_area(ctx, cand(listing("e"), km=15)) == 0.5


def test_social_value_is_coverage_of_the_buyers_priorities() -> None:
    ctx = context(social_value_priorities=["employment", "environment"])
    assert social_value(ctx, cand(listing("a", impact_areas=["employment", "housing"]))) == 0.5
    assert social_value(ctx, cand(listing("b", impact_areas=["employment", "environment"]))) == 1.0
    assert social_value(context(), cand(listing("c", impact_areas=["employment"]))) == 0.0


def test_text_similarity_weighs_rare_words_and_ignores_stop_words() -> None:
    index = CountingIndex(1000, {"cleaning": 10, "office": 100, "services": 500})
    stats = WordStatistics()
    lot = query_vector(index, stats, LotWords(head=["office", "cleaning", "services"], opening=[]))
    assert lot["cleaning"] > lot["office"] > lot["services"]
    assert sum(v * v for v in lot.values()) == pytest.approx(1.0)
    assert cosine(lot, "Commercial office cleaning and window cleaning") > 0.5
    assert 0.5 > cosine(lot, "Catering services for events") > 0.0
    assert cosine(lot, "the and of") == 0.0
    assert cosine(lot, "") == 0.0
    asked = index.asked
    query_vector(index, stats, LotWords(head=["cleaning"], opening=[]))
    assert index.asked == asked  # counts are cached per process


def test_what_a_classification_label_excludes_is_not_the_suppliers_work() -> None:
    lot = query_vector(CountingIndex(1000, {"motor": 30, "vehicles": 20, "cleaning": 10}), WordStatistics(),
                       LotWords(head=["motor", "vehicles", "cleaning"], opening=[]))  # fmt: skip
    shop = view(listing("shop", services=["Retail trade, except of motor vehicles and motorcycles"]))
    care = view(listing("care", services=["Social work activities without accommodation for the elderly"]))
    assert cosine(lot, shop.text) == 0.0
    assert "accommodation" not in care.text and "elderly" in care.text
    garage = view(listing("garage", services=["Motor vehicles cleaning and valeting"]))
    assert cosine(lot, garage.text) > 0.5


def test_size_fit_penalises_lots_too_big_for_the_supplier() -> None:
    lot_of = {"value_pence": 100_000_000}  # £1m
    assert size_fit(context(**lot_of), cand(listing("a", size_band="micro"))) == pytest.approx(0.25)
    assert size_fit(context(**lot_of), cand(listing("b", size_band="small"))) == 1.0
    assert size_fit(context(**lot_of), cand(listing("c"))) == 1.0  # size unknown
    assert size_fit(context(), cand(listing("d", size_band="micro"))) == 1.0  # value unknown


def test_cpv_is_inferred_from_sic_only_when_a_listing_gives_none() -> None:
    cleaner = view(listing("a", sic_codes=["81210"]))
    assert cleaner.cpv_codes == ("90910000",) and cleaner.cpv_inferred
    given = view(listing("b", sic_codes=["81210"], cpv_codes=["90911000"]))
    assert given.cpv_codes == ("90911000",) and not given.cpv_inferred
    assert cpv_overlap(context(cpv_codes=["90910000"]), Candidate(cleaner, None)) == 0.85  # a class-level lot code


def test_hard_filters_need_every_certification_and_one_of_the_legal_forms() -> None:
    lot = Lot(
        title="x",
        region="Wales",
        required_certifications=["Living Wage employer"],
        required_legal_forms=["cic", "cooperative"],
    )
    ok = listing("a", legal_form="cic", certifications=["living wage employer", "B Corp"])
    assert passes_hard_filters(lot, view(ok))
    assert not passes_hard_filters(lot, view(listing("b", legal_form="cic")))
    assert not passes_hard_filters(
        lot, view(listing("c", legal_form="charity", certifications=["Living Wage employer"]))
    )


def test_ranking_puts_the_known_best_answer_first_and_explains_it() -> None:
    ctx = context(
        radius_km=30,
        title="Office cleaning",
        description="Daily cleaning of council offices",
        cpv_codes=["90910000"],
        social_value_priorities=["employment"],
    )
    best = listing(
        "best",
        name="Clean Start CIC",
        description="Office cleaning that employs people leaving long-term unemployment",
        services=["office cleaning"],
        cpv_codes=["90919200"],
        impact_areas=["employment"],
    )
    far = best.model_copy(update={"id": "test:far"})  # the same supplier, further away
    unrelated = listing("cafe", name="Community Cafe", description="Cafe and catering", impact_areas=["food"])
    ctx = replace(ctx, vector=query_vector(CountingIndex(100, {}), WordStatistics(), LotWords.of(ctx.lot)))
    pool = [(view(unrelated), 1.0), (view(far), 28.0), (view(best), 4.2)]
    matches = rank(ctx, pool, SHIPPED, limit=10)
    assert [m.supplier.id for m in matches] == ["test:best", "test:far", "test:cafe"]
    top = matches[0]
    assert top.score == pytest.approx(sum(f.contribution for f in top.features.values()), abs=1e-3)
    assert set(top.features) == set(FEATURES)
    assert top.reason == (
        "4.2 km away; delivers office cleaning services (CPV 90919200); impact: employment, "
        "matching your 'employment' priority"
    )
    assert len(rank(ctx, pool, SHIPPED, limit=1)) == 1


def test_model_weights_cover_every_feature_and_files_must_match(tmp_path: Path) -> None:
    assert set(SHIPPED.weights) == set(FEATURES)
    assert sum(SHIPPED.weights.values()) == pytest.approx(1.0, abs=0.005)  # rounded to 3 places
    good = tmp_path / "model.json"
    ScoringModel("2", dict(SHIPPED.weights)).save(good, {"method": "test"})
    assert ScoringModel.load(good).version == "2"
    assert json.loads(good.read_text())["features"] == list(FEATURES)
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps({"version": "0", "features": ["distance"], "weights": {"distance": 1}}))
    with pytest.raises(ValueError):
        ScoringModel.load(bad)


def test_region_names_come_from_nuts_codes_or_names() -> None:
    assert region_name("UKM93") == "Scotland"
    assert region_name("ukl18") == "Wales"
    assert region_name("UK") == NATIONAL
    assert region_name("yorkshire and the humber") == "Yorkshire and The Humber"
    assert region_name("Київ") is None
    assert region_name("UKZ1") is None


def test_prepare_locates_postcodes_and_rejects_unknown_ones() -> None:
    ctx = prepare(Lot(title="x", postcode="ls14ap", social_value_priorities=["Health and wellbeing"]), 25)
    assert ctx.lot.postcode == "LS1 4AP"
    assert ctx.place.point == pytest.approx(LEEDS)
    assert ctx.lot.region == "Yorkshire and The Humber"
    assert ctx.radius_km == 25  # the model's default radius does not override the service's
    assert ctx.lot.social_value_priorities == ["health_and_wellbeing"]
    assert prepare(Lot(title="x", postcode="LS1", radius_km=5), 25).radius_km == 5
    for lot, field in [
        (Lot(title="x", postcode="ZZ99 9ZZ"), "postcode"),
        (Lot(title="x", postcode="not one"), "postcode"),
        (Lot(title="x", region="Atlantis"), "region"),
        (Lot(title="x", region="Wales", social_value_priorities=["fun"]), "social_value_priorities.0"),
    ]:
        with pytest.raises(LotError) as err:
            prepare(lot, 25)
        assert err.value.field == field


def test_a_supplier_says_which_registers_currently_list_it_and_whether_its_cpv_was_inferred() -> None:
    document = doc("charity:GB-SC-SC1", "Highland Care", cpv_codes=["85311100"], cpv_inferred=True, verified=[
        {"registry": "GB-SC", "identifier": "GB-SC-SC000001", "status": "registered charity", "as_of": "2024-05"},
        {"registry": "GB-COH", "identifier": "GB-COH-SC000001", "status": "company", "as_of": "2020-01",
         "current": False},
    ])
    found = supplier(document)
    assert found is not None
    assert found.verified == ("registered charity, OSCR (Scottish Charity Regulator), 2024-05",)
    assert found.cpv_inferred
