"""Ingest settings (env prefix `INGEST_`), read once by the app factory or the consumer's main."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.search.factory import sqlite_path
from shared.settings import BackendSettings


class IngestSettings(BackendSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore", populate_by_name=True)

    listings_topic: str = Field(default="listings", description="Topic that carries listing upserts and tombstones.")
    consumer_group: str = Field(default="ingest-indexer", description="Consumer group of the indexing consumer.")
    batch_size: int = Field(default=500, ge=1, le=10_000, description="Most records indexed in one bulk write.")
    batch_timeout_s: float = Field(
        default=1.0, gt=0, le=60, description="Longest wait to fill a batch before indexing what arrived."
    )
    prepare_worker: bool = Field(
        default=True,
        description="Prepare listings (validate, geocode, de-duplicate) in a worker process while the consumer"
        " writes the batch before: a second core, about 1.4 times the throughput; false = one process.",
    )
    prepare_ahead: int = Field(
        default=2, ge=1, le=8,
        description="Batches the worker process may prepare ahead of the one being written (each holds up to"
        " batch_size records in memory); with 1 the two processes took turns whenever a write ran long.",
    )
    max_retries: int = Field(
        default=5, ge=0, le=100, description="Bulk-write retries (exponential back-off) before the consumer stops."
    )
    retry_base_s: float = Field(default=0.5, gt=0, description="First back-off delay; doubles on each retry.")
    metrics_port: int = Field(
        default=8083, ge=0, le=65535, description="Consumer's /healthz and /metrics port on 127.0.0.1 (0 = off)."
    )
    stall_after_s: float = Field(
        default=300, gt=0,
        description="The consumer's /healthz answers 503 (stalled) after this long without committing a batch"
        " while records wait (lag > 0).",
    )
    max_batch_items: int = Field(default=1000, ge=1, description="Most listings accepted in one POST /listings.")
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, description="Largest accepted request body.")
    spend_topic: str = Field(default="spend", description="Topic that carries spend records.")
    spend_consumer_group: str = Field(
        default="ingest-spend",
        description="Consumer group for spend; its own, since Kafka rebalances a group whose members"
        " subscribe to different topics every time one joins.",
    )
    relink_interval_s: float = Field(
        default=60, ge=0,
        description="Least time between passes that link waiting spend again after listings were indexed"
        " (spend whose supplier was unlisted or only suggested); 0 = never.",
    )
    max_invalid_share: float = Field(
        default=0.5, gt=0, le=1,
        description="Stop the consumer (exit 3) when more than this share of the last `invalid_window` records"
        " was invalid: that many rejects means the code is broken, not the data.",
    )
    invalid_window: int = Field(default=1000, ge=10, description="Records the invalid share is measured over.")
    state_url: str = Field(
        default="",
        validation_alias=AliasChoices("STATE_URL", "INGEST_STATE_PATH"),
        description="De-duplication clusters and steward decisions: sqlite:///path (or a path) or postgresql://…;"
        " empty = beside the embedded event log, or var/<topic prefix>ingest-state.db with Kafka.",
    )
    dedupe_name_threshold: float = Field(
        default=90, ge=50, le=100,
        description="rapidfuzz token-sort ratio at or above which two nearby names go to the merge review queue.",
    )
    dedupe_max_km: float = Field(
        default=2.0, ge=0, le=50,
        description="Furthest apart two records with similar names may be and still be queued for review.",
    )
    postcode_table: str = Field(
        default="", description="Optional CSV of full postcodes (postcode,lat,lon) for postcode-precise geocoding."
    )
    geocoder: str = Field(
        default="",
        description="Optional geopy service (e.g. nominatim) for street addresses; empty = off (no network).",
    )

    def state_location(self) -> str:
        """Where the ingest state lives (a URL or a SQLite file): explicit, or beside the embedded log
        it is derived from (named by topic prefix, since deployments sharing a log file share its directory)."""
        if self.state_url:
            return self.state_url
        name = f"{self.topic_prefix}ingest-state.db"
        if urlparse(self.events_url).scheme == "sqlite":
            return str(Path(sqlite_path(self.events_url)).parent / name)
        return str(Path("var") / name)
