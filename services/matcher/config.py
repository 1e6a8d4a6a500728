"""Matcher settings: read once in `create_app`, from `MATCHER_*` variables (backends unprefixed)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.limits import MAX_LOTS, MAX_RADIUS_KM
from shared.settings import BackendSettings


class MatcherSettings(BackendSettings):
    model_config = SettingsConfigDict(env_prefix="MATCHER_", extra="ignore", populate_by_name=True)

    candidate_pool: int = Field(
        default=100,
        ge=10,
        le=2000,
        description="Most listings the nearest and the CPV recall queries each bring back for re-ranking "
        "(the text queries share as many); bigger finds more but costs time on every request.",
    )
    default_radius_km: float = Field(
        default=50,
        gt=0,
        le=MAX_RADIUS_KM,
        description="Search radius around the delivery place when a lot gives none (OCDS lots never do).",
    )
    max_lots: int = Field(
        default=MAX_LOTS,
        ge=1,
        le=MAX_LOTS,
        description="Most lots one request may match; larger OCDS packages are refused with 422 so that "
        "one request cannot hold a worker for minutes.",
    )
    weights_file: Path | None = Field(
        default=None,
        description="JSON model file {version, features, weights}; unset uses the shipped "
        "services/matcher/model.json (learned on the relevance benchmark, see bench/quality). "
        "A file whose features differ from the code's is refused at start-up.",
    )
