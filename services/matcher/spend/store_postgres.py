"""Targets and pipelines in PostgreSQL (`TARGETS_URL`, or `ACCOUNTS_URL`, `=postgresql://…`),
shared by every matcher process of a deployment. Ids sort by code point, as in SQLite."""

from __future__ import annotations

from pydantic import BaseModel

from services.matcher.spend.store import Kind, PackageBody, TargetBody
from shared.postgres import PostgresDatabase

MIGRATIONS = (
    """
    CREATE TABLE targets (organisation_id TEXT COLLATE "C" NOT NULL, id TEXT COLLATE "C" NOT NULL,
        body TEXT NOT NULL, PRIMARY KEY (organisation_id, id));
    CREATE TABLE pipeline (organisation_id TEXT COLLATE "C" NOT NULL, id TEXT COLLATE "C" NOT NULL,
        body TEXT NOT NULL, PRIMARY KEY (organisation_id, id));
    """,
)
_TABLES: dict[Kind, str] = {"targets": "targets", "pipeline": "pipeline"}  # never a caller's string in SQL


class PostgresOrganisationPlans:
    def __init__(self, url: str) -> None:
        self._db = PostgresDatabase(url, "plans", MIGRATIONS)

    def put(self, kind: Kind, organisation_id: str, item_id: str, body: BaseModel) -> None:
        with self._db.transaction() as conn:
            conn.execute(f"INSERT INTO {_TABLES[kind]} VALUES (%s, %s, %s)"
                         " ON CONFLICT (organisation_id, id) DO UPDATE SET body = excluded.body",
                         (organisation_id, item_id, body.model_dump_json()))

    def get_target(self, organisation_id: str, target_id: str) -> TargetBody | None:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT body FROM targets WHERE organisation_id = %s AND id = %s",
                               (organisation_id, target_id)).fetchone()
        return None if row is None else TargetBody.model_validate_json(row[0])

    def targets(self, organisation_id: str) -> dict[str, TargetBody]:
        return {i: TargetBody.model_validate_json(b) for i, b in self._rows("targets", organisation_id)}

    def packages(self, organisation_id: str) -> dict[str, PackageBody]:
        return {i: PackageBody.model_validate_json(b) for i, b in self._rows("pipeline", organisation_id)}

    def delete(self, kind: Kind, organisation_id: str, item_id: str) -> bool:
        with self._db.transaction() as conn:
            cursor = conn.execute(f"DELETE FROM {_TABLES[kind]} WHERE organisation_id = %s AND id = %s",
                                  (organisation_id, item_id))
            return cursor.rowcount == 1

    def _rows(self, kind: Kind, organisation_id: str) -> list[tuple[str, str]]:
        with self._db.transaction() as conn:
            return conn.execute(f"SELECT id, body FROM {_TABLES[kind]} WHERE organisation_id = %s ORDER BY id",
                                (organisation_id,)).fetchall()

    def close(self) -> None:
        self._db.close()
