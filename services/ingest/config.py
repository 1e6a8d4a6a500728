"""Ingest settings (env prefix `INGEST_`), read once by the app factory or the consumer's main."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import BackendSettings


class IngestSettings(BackendSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore", populate_by_name=True)

    listings_topic: str = Field(default="listings", description="Topic that carries listing upserts and tombstones.")
    consumer_group: str = Field(default="ingest-indexer", description="Consumer group of the indexing consumer.")
    batch_size: int = Field(default=500, ge=1, le=10_000, description="Most records indexed in one bulk write.")
    batch_timeout_s: float = Field(
        default=1.0, gt=0, le=60, description="Longest wait to fill a batch before indexing what arrived."
    )
    max_retries: int = Field(
        default=5, ge=0, le=100, description="Bulk-write retries (exponential back-off) before the consumer stops."
    )
    retry_base_s: float = Field(default=0.5, gt=0, description="First back-off delay; doubles on each retry.")
    metrics_port: int = Field(
        default=8083, ge=0, le=65535, description="Consumer's /healthz and /metrics port on 127.0.0.1 (0 = off)."
    )
    max_batch_items: int = Field(default=1000, ge=1, description="Most listings accepted in one POST /listings.")
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, description="Largest accepted request body.")
