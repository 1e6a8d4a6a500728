"""`/consortia` shares one recall between a lot's requirements; its answers must be those of matching
every requirement on its own, as `/consortia` did before (one full `/match` per requirement)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app

from services.matcher.app import create_app
from services.matcher.brokers import ConsortiumRequest, build_consortia, near_misses, proposal_json
from services.matcher.consortia import SearchSettings
from services.matcher.matching import match, prepare
from services.matcher.recall_cache import RecallCache
from services.matcher.scoring import Match
from shared.models import Lot
from shared.search.factory import open_search_index
from shared.search.port import Near, SearchQuery
from shared.web import search_index, settings
from tests.factories import BRADFORD, LEEDS, MANCHESTER, directory, doc

YORK = (53.9590, -1.0815)
HARROGATE = (53.9921, -1.5418)
EXTRA = [
    doc(
        "t:cater-leeds",
        "Leeds Community Kitchen CIC",
        legal_form="cic",
        size_band="micro",
        description="Catering and meals for events, training young cooks.",
        services=["catering"],
        cpv_codes=["55520000"],
        impact_areas=["youth_employment"],
    ),
    doc(
        "t:cater-york",
        "York Catering Co-operative",
        at=YORK,
        legal_form="cooperative",
        size_band="small",
        description="Catering for schools and offices.",
        services=["catering"],
        cpv_codes=["55520000"],
    ),
    doc(
        "t:york-both",
        "York Green Kitchens",
        at=YORK,
        legal_form="cooperative",
        size_band="medium",
        description="Grounds maintenance, landscaping and catering.",
        services=["landscaping", "catering"],
        cpv_codes=["77314000", "55520000"],
        impact_areas=["environment"],
    ),
    doc(
        "t:clean-harrogate",
        "Harrogate Cleaning Collective",
        at=HARROGATE,
        legal_form="cooperative",
        description="Office cleaning and window cleaning.",
        cpv_codes=["90910000"],
    ),
    doc(
        "t:garden-manc",
        "Manchester Landscaping Trust",
        at=MANCHESTER,
        legal_form="charity",
        description="Landscaping and grounds maintenance.",
        cpv_codes=["77314000"],
    ),
    doc(
        "t:garden-bradford",
        "Bradford Grounds CIC",
        at=BRADFORD,
        legal_form="cic",
        description="Grounds maintenance for housing estates.",
        cpv_codes=["77310000"],
    ),
]
REQUESTS: list[dict[str, Any]] = [
    {
        "lot": {
            "title": "Community centre services",
            "postcode": "LS1 1UN",
            "radius_km": 60,
            "value_pence": 30_000_000,
        },
        "requirements": [
            {"id": "clean", "label": "Office cleaning", "cpv_codes": ["90910000"]},
            {"id": "garden", "label": "Grounds maintenance and landscaping", "cpv_codes": ["77314000"]},
            {"id": "cater", "label": "Catering for events", "cpv_codes": ["55520000"]},
        ],
    },
    {
        "lot": {"title": "Estate services", "postcode": "LS1", "radius_km": 25},
        "requirements": [{"label": "Cleaning"}, {"label": "Landscaping"}, {"label": "Market research"}],
        "max_members": 2,
    },
    {"lot": {"title": "Yorkshire lot", "region": "Yorkshire and The Humber", "cpv_codes": ["90910000", "55520000"]}},
    {
        "lot": {"title": "Beyond York", "location": {"lat": YORK[0], "lon": YORK[1]}, "radius_km": 100},
        "requirements": [
            {"label": "Catering", "cpv_codes": ["55520000"]},
            {"label": "Bicycle repair"},
            {"label": "Window cleaning"},
            {"label": "Grounds maintenance"},
        ],
        "max_members": 4,
    },
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    path: Path = tmp_path_factory.mktemp("shared-recall")
    url = f"sqlite:///{path}/search.db"
    index = open_search_index(url)
    index.ensure_index()
    assert not index.bulk_upsert([*directory(), *EXTRA]).failed
    index.close()
    app = create_app({"search_url": url, "events_url": f"sqlite:///{path}/e.db"})
    app.testing = True
    with app.app_context():
        yield app


def one_match_per_requirement(body: dict[str, Any]) -> dict[str, Any]:
    """The answer as `/consortia` computed it before the shared recall: every requirement prepared
    and matched against the index on its own, every member located by its own `get`."""
    req = ConsortiumRequest.model_validate(body)
    ext = current_app.extensions

    def match_lot(lot: Lot, limit: int) -> list[Match]:
        ctx = prepare(lot, settings().default_radius_km)
        pool = settings().candidate_pool
        return match(search_index(), ext["matcher_word_stats"], ctx, ext["matcher_model"], pool, limit)

    def locate(listing_id: str) -> tuple[float, float] | None:
        point = (search_index().get(listing_id) or {}).get("location")
        return (point["lat"], point["lon"]) if point else None

    cut_off = ext["matcher_model"].fit.possible
    place = prepare(req.lot, settings().default_radius_km).place.point
    answer = build_consortia(req, match_lot, locate, place, SearchSettings(min_match=cut_off))
    out = {
        "requirements": [{"id": r.id, "label": r.label} for r, _ in answer.requirements],
        "min_match": cut_off,
        "uncoverable": answer.uncoverable,
        "near_misses": near_misses(answer, cut_off),
        "method": answer.method,
        "proposals": [proposal_json(answer, p) for p in answer.proposals],
    }
    return json.loads(json.dumps(out))  # the same JSON types the endpoint answers with


@pytest.mark.parametrize("body", REQUESTS, ids=["three-parts", "words-only", "cpv-codes", "beam"])
def test_shared_recall_gives_the_proposals_of_one_match_per_requirement(app: Flask, body: dict[str, Any]) -> None:
    response = app.test_client().post("/consortia", json=body)
    assert response.status_code == 200, response.json
    assert response.json["proposals"], "the constructed case should have proposals to compare"
    assert response.json == one_match_per_requirement(body)


def test_members_are_located_from_recalled_documents_without_asking_again(app: Flask) -> None:
    shared = RecallCache(search_index())
    shared.search(SearchQuery(near=Near(YORK[0], YORK[1], 5), sort="distance", limit=5))
    assert shared.location("t:york-both") == YORK
    assert shared.location("t:clean-leeds") == LEEDS  # not recalled: asked of the index
    assert shared.location("t:nowhere") is None and shared.location("t:absent") is None
