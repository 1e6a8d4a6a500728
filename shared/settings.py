"""Settings every service shares: where the backends are and how to log.

Each service subclasses `BackendSettings` with its own env prefix (`DIRECTORY_`, `MATCHER_`,
`INGEST_`); the backend URLs keep their unprefixed names so one environment configures all.
Settings are read once, in the app factory or the consumer's main, never at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.limits import MAX_BODY_BYTES
from shared.search.factory import sqlite_path


class BackendSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    search_url: str = Field(
        default="sqlite:///var/search.db",
        validation_alias="SEARCH_URL",
        description="Search index: sqlite:///path (embedded, default) or http(s)://host:9200 (Elasticsearch).",
    )
    events_url: str = Field(
        default="sqlite:///var/events.db",
        validation_alias="EVENTS_URL",
        description="Event log: sqlite:///path (embedded, default) or kafka://host:9092[,host:9092].",
    )
    index_prefix: str = Field(
        default="",
        validation_alias="INDEX_PREFIX",
        description="Prepended to every index name, so several deployments or test runs share a backend.",
    )
    topic_prefix: str = Field(
        default="",
        validation_alias="TOPIC_PREFIX",
        description="Prepended to every topic and consumer-group name, for the same reason.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        validation_alias="LOG_FORMAT",
        description="`json` in production (one object per line), `text` for people.",
    )
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL", description="Python logging level.")
    accounts_url: str = Field(
        default="sqlite:///var/accounts.db",
        validation_alias="ACCOUNTS_URL",
        description="Organisations and hashed API keys: sqlite:///path (one machine) or postgresql://… (one"
        " database every service of a deployment shares; see shared/accounts.py).",
    )
    targets_url: str = Field(
        default="",
        validation_alias="TARGETS_URL",
        description="Organisations' targets and pipelines of packages: sqlite:///path or postgresql://…;"
        " empty = the accounts store's URL.",
    )

    spend_url: str = Field(
        default="",
        validation_alias="SPEND_URL",
        description="Spend ledger store: sqlite:///path or postgresql://…; empty = spend.db beside the embedded"
        " event log (var/spend.db with Kafka).",
    )

    max_body_bytes: int = Field(
        default=MAX_BODY_BYTES, ge=1024, le=64 * 1024 * 1024,
        description="Largest request body the service reads (413 beyond): an OCDS upload and its form by default.",
    )

    def spend_location(self) -> str:
        """The spend store (a URL or a SQLite file): ingest writes it, the matcher's targets read it."""
        if self.spend_url:
            return self.spend_url
        name = f"{self.topic_prefix}spend.db"
        if urlparse(self.events_url).scheme == "sqlite":
            return str(Path(sqlite_path(self.events_url)).parent / name)
        return str(Path("var") / name)

    def targets_location(self) -> str:
        """The targets and pipelines store: its own URL, else beside the accounts (as before it had one)."""
        return self.targets_url or self.accounts_url

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
