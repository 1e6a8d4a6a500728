"""Builders for test data: every test makes its own listings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.models import Listing
from shared.search.factory import open_search_index

BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)

# Real places, so distances are meaningful: Leeds city centre and its neighbours.
LEEDS = (53.7997, -1.5492)
BRADFORD = (53.7950, -1.7594)  # ~14 km west of Leeds
MANCHESTER = (53.4808, -2.2426)  # ~58 km south-west of Leeds
BELFAST = (54.5973, -5.9301)


def listing(id: str, name: str, *, at: tuple[float, float] | None = LEEDS, minutes: int = 0, **fields: Any) -> Listing:
    """A valid listing; `minutes` offsets `updated_at` so tests can order versions."""
    data: dict[str, Any] = {
        "id": id,
        "name": name,
        "source": "test",
        "updated_at": BASE_TIME + timedelta(minutes=minutes),
        **fields,
    }
    if at is not None:
        data["location"] = {"lat": at[0], "lon": at[1]}
    return Listing.model_validate(data)


def doc(id: str, name: str, **kwargs: Any) -> dict[str, Any]:
    return listing(id, name, **kwargs).index_document()


def directory() -> list[dict[str, Any]]:
    """A small directory with known answers for the contract tests."""
    return [
        doc("t:clean-leeds", "Sparkle Cleaning CIC", legal_form="cic",
            description="Office cleaning and window cleaning, employing ex-offenders.",
            services=["office cleaning", "window cleaning"], cpv_codes=["90910000"],
            categories=["cleaning"], impact_areas=["reducing_reoffending", "employment"],
            region="Yorkshire and The Humber"),
        doc("t:clean-bradford", "Bradford Cleaners Co-operative", at=BRADFORD, legal_form="cooperative",
            description="Commercial cleaning services for councils and housing associations.",
            services=["commercial cleaning"], cpv_codes=["90911200"], categories=["cleaning"],
            impact_areas=["employment"], region="Yorkshire and The Humber"),
        doc("t:bikes-manc", "Bicycle Doctor", at=MANCHESTER, legal_form="cooperative",
            description="Selling and repairing bicycles of all kinds.", services=["bicycle repair"],
            cpv_codes=["50000000"], categories=["retail"], impact_areas=["environment"],
            region="North West"),
        doc("t:garden-leeds", "Green Spaces Training", legal_form="charity",
            description="Grounds maintenance and landscaping delivered by young trainees.",
            services=["grounds maintenance"], cpv_codes=["77314000"], categories=["environment"],
            impact_areas=["youth_employment", "training", "environment"],
            region="Yorkshire and The Humber"),
        doc("t:research-belfast", "Insight Research Cooperative", at=BELFAST, legal_form="cooperative",
            description="Market research by blind and partially sighted researchers.",
            services=["market research"], cpv_codes=["79310000"], categories=["research"],
            impact_areas=["disability_inclusion"], region="Northern Ireland"),
        doc("t:nowhere", "Anywhere Online Cleaning Advice", at=None, legal_form="other",
            description="Cleaning advice delivered online.", categories=["cleaning"], region=None),
    ]


def indexed(url: str, documents: list[dict[str, Any]], prefix: str = "test_") -> str:
    """An index at `url` holding `documents`, written, refreshed and closed: the services under test
    open it themselves. Returns `url`."""
    index = open_search_index(url, prefix=prefix)
    index.ensure_index()
    assert not index.bulk_upsert(documents).failed
    index.refresh()
    index.close()
    return url
