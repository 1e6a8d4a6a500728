"""Targets and the pipeline of upcoming packages, per organisation.

A port (`OrganisationPlans`) with two adapters chosen by `TARGETS_URL` (by default the accounts
store's URL, where they lived before they had one; `open_organisation_plans`): a SQLite file, or
PostgreSQL (`store_postgres.py`) shared by every matcher process of a deployment. The same few
rows per organisation, written by people, read with the organisation's keys. Each row keeps its
JSON model so that a field added later needs no migration.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.limits import MAX_PERIOD_DAYS, BoundedDate, Pence
from shared.models import Lot
from shared.sqlite import ThreadConnections, sqlite_file
from shared.store_urls import is_postgres_url

_SCHEMA = """
CREATE TABLE IF NOT EXISTS targets (
    organisation_id TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (organisation_id, id));
CREATE TABLE IF NOT EXISTS pipeline (
    organisation_id TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (organisation_id, id));
"""
Kind = Literal["targets", "pipeline"]


class TargetBody(BaseModel):
    """A pledge: an amount, a share of addressable spend, or both, over a period, optionally for one
    category or region only."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    start: BoundedDate
    end: BoundedDate
    amount_pence: Pence | None = None
    percentage: float | None = Field(default=None, gt=0, le=100)
    category: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _sound(self) -> TargetBody:
        if self.end < self.start:
            raise ValueError("end is before start")
        if (self.end - self.start).days > MAX_PERIOD_DAYS:
            raise ValueError(f"the period is longer than {MAX_PERIOD_DAYS} days")
        if self.amount_pence is None and self.percentage is None:
            raise ValueError("give amount_pence, percentage, or both")
        return self


class PackageBody(BaseModel):
    """An upcoming package of work: a lot the organisation will place, with its value and dates.

    A package delivered over a time (`ends_on`) is paid for evenly over it, so only the share of
    its value that falls inside a target's period counts towards that target."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    lot: Lot
    value_pence: Pence
    expected_on: BoundedDate = Field(description="When the package is placed and its delivery starts.")
    ends_on: BoundedDate | None = Field(
        default=None, description="When its delivery ends (default: the day it starts)."
    )

    @model_validator(mode="after")
    def _sound(self) -> PackageBody:
        if self.ends_on is not None and self.ends_on < self.expected_on:
            raise ValueError("ends_on is before expected_on")
        return self

    def value_within(self, start: date, end: date) -> int:
        """The share of the value paid between start and end (inclusive), by days, in whole pence."""
        last = self.ends_on or self.expected_on
        days = (last - self.expected_on).days + 1
        overlap = (min(last, end) - max(self.expected_on, start)).days + 1
        return self.value_pence * max(overlap, 0) // days


class OrganisationPlans(Protocol):
    """Each organisation's targets and packages, by id within the organisation."""

    def put(self, kind: Kind, organisation_id: str, item_id: str, body: BaseModel) -> None:
        """Store a target or package, replacing one with the same id."""

    def get_target(self, organisation_id: str, target_id: str) -> TargetBody | None: ...

    def targets(self, organisation_id: str) -> dict[str, TargetBody]:
        """The organisation's targets by id, in id order."""

    def packages(self, organisation_id: str) -> dict[str, PackageBody]:
        """The organisation's pipeline by id, in id order."""

    def delete(self, kind: Kind, organisation_id: str, item_id: str) -> bool:
        """False when there was no such item."""

    def close(self) -> None: ...


def open_organisation_plans(location: str) -> OrganisationPlans:
    """The adapter `location` names: `postgresql://…`, else a SQLite file (`sqlite:///path` or a path)."""
    if is_postgres_url(location):
        from services.matcher.spend.store_postgres import PostgresOrganisationPlans  # psycopg where used

        return PostgresOrganisationPlans(location)
    return SqliteOrganisationPlans(Path(sqlite_file(location)))


class SqliteOrganisationPlans:
    """Plans in a SQLite file (the accounts file by default)."""

    def __init__(self, path: Path) -> None:
        self._conns = ThreadConnections(str(path), "FULL")
        self._conn().executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        return self._conns.get()

    def put(self, kind: Kind, organisation_id: str, item_id: str, body: BaseModel) -> None:
        self._conn().execute(f"INSERT OR REPLACE INTO {kind} VALUES (?, ?, ?)",
                             (organisation_id, item_id, body.model_dump_json()))

    def get_target(self, organisation_id: str, target_id: str) -> TargetBody | None:
        row = self._row("targets", organisation_id, target_id)
        return None if row is None else TargetBody.model_validate_json(row)

    def targets(self, organisation_id: str) -> dict[str, TargetBody]:
        return {i: TargetBody.model_validate_json(b) for i, b in self._rows("targets", organisation_id)}

    def packages(self, organisation_id: str) -> dict[str, PackageBody]:
        return {i: PackageBody.model_validate_json(b) for i, b in self._rows("pipeline", organisation_id)}

    def delete(self, kind: Kind, organisation_id: str, item_id: str) -> bool:
        cursor = self._conn().execute(f"DELETE FROM {kind} WHERE organisation_id = ? AND id = ?",
                                      (organisation_id, item_id))
        return cursor.rowcount == 1

    def _row(self, kind: Kind, organisation_id: str, item_id: str) -> str | None:
        row = self._conn().execute(f"SELECT body FROM {kind} WHERE organisation_id = ? AND id = ?",
                                   (organisation_id, item_id)).fetchone()
        return None if row is None else str(row[0])

    def _rows(self, kind: Kind, organisation_id: str) -> list[tuple[str, str]]:
        return self._conn().execute(f"SELECT id, body FROM {kind} WHERE organisation_id = ? ORDER BY id",
                                    (organisation_id,)).fetchall()

    def close(self) -> None:
        self._conns.close_all()
