"""Every piece of state in docker-compose.yml survives `docker compose down && up`.

An app container's filesystem goes with the container, so each setting that names where state
is kept must point either at a backend service whose data directory is a named volume, or at a
file on a named volume of the app service itself. The settings are taken from the settings
classes, so a store added later without a compose entry fails here. Docker is not needed.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from pydantic import AliasChoices
from pydantic.fields import FieldInfo

from services.ingest.config import IngestSettings
from shared.settings import BackendSettings
from shared.sqlite import sqlite_file

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = {"directory", "matcher", "ingest", "ingest-consumer", "topics", "loader"}
# Where each backend image keeps its data, unless its environment moves it.
DATA_DIRS = {"postgres": ("PGDATA", "/var/lib/postgresql/data"),
             "elasticsearch": (None, "/usr/share/elasticsearch/data"),
             "kafka": ("KAFKA_LOG_DIRS", "/var/lib/kafka/data")}


def _env_name(field: FieldInfo, name: str) -> str:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return alias if isinstance(alias, str) else name.upper()


def state_settings() -> dict[str, str]:
    """Environment name -> field name of every setting that says where state lives (`*_url`)."""
    fields = {**BackendSettings.model_fields, **IngestSettings.model_fields}
    return {_env_name(field, name): name for name, field in fields.items() if name.endswith("_url")}


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services: dict[str, dict[str, Any]] = compose["services"]
    services["__volumes__"] = compose.get("volumes") or {}
    return services


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def named_volume_mounts(service: dict[str, Any], declared: dict[str, Any]) -> list[PurePosixPath]:
    """Container paths of the service's mounts that are named volumes (declared at the top level)."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            source, target, kind = volume.get("source", ""), volume["target"], volume.get("type", "volume")
        else:
            source, target, *_ = str(volume).split(":")
            kind = "volume"
        if kind == "volume" and source in declared:
            mounts.append(PurePosixPath(target))
    return mounts


def on_a_volume(path: str, mounts: list[PurePosixPath]) -> bool:
    where = PurePosixPath(path)
    return where.is_absolute() and any(where == m or m in where.parents for m in mounts)


def test_the_settings_that_hold_state_are_the_ones_this_test_knows() -> None:
    assert set(state_settings()) == {"SEARCH_URL", "EVENTS_URL", "ACCOUNTS_URL", "TARGETS_URL", "SPEND_URL",
                                     "STATE_URL"}


def test_each_backend_keeps_its_data_on_a_named_volume(services: dict[str, dict[str, Any]]) -> None:
    for name, (variable, default) in DATA_DIRS.items():
        service = services[name]
        data_dir = _environment(service).get(variable or "", default)
        assert on_a_volume(data_dir, named_volume_mounts(service, services["__volumes__"])), (
            f"{name} keeps its data in {data_dir}, which is not on a named volume")


def test_no_app_service_keeps_state_in_its_container(services: dict[str, dict[str, Any]]) -> None:
    for name in APP_SERVICES:
        service, env = services[name], _environment(services[name])
        for variable in state_settings():
            # Unset means a default, and every default is a SQLite file under the container's var/.
            assert env.get(variable), f"{name}: {variable} is unset, so its state would be a file in the container"
            url = urlparse(env[variable])
            if url.scheme in ("postgresql", "postgres", "http", "https", "kafka"):
                host = url.hostname or ""
                assert host in DATA_DIRS, f"{name}: {variable} points at {host}, not a backend with a volume"
                if url.scheme.startswith("postgres"):
                    assert "postgres" in service.get("depends_on", {}), f"{name} uses PostgreSQL but does not wait"
            else:
                path = sqlite_file(env[variable])
                mounts = named_volume_mounts(service, services["__volumes__"])
                assert on_a_volume(path, mounts), f"{name}: {variable} is the file {path}, not on a named volume"


def test_every_service_shares_one_database_for_the_stores(services: dict[str, dict[str, Any]]) -> None:
    """One database for every store and service: a key made in one container authenticates in all."""
    urls = {_environment(services[name])[variable] for name in APP_SERVICES
            for variable in ("ACCOUNTS_URL", "TARGETS_URL", "SPEND_URL", "STATE_URL")}
    assert len(urls) == 1 and urls.pop().startswith("postgresql://")


def test_postgres_is_healthy_only_when_it_answers_over_tcp(services: dict[str, dict[str, Any]]) -> None:
    check = " ".join(services["postgres"]["healthcheck"]["test"])
    assert "pg_isready" in check and "--host=127.0.0.1" in check


def test_the_rule_catches_a_file_in_the_container_and_accepts_one_on_a_volume() -> None:
    declared = {"appstate": None}
    service = {"volumes": ["appstate:/srv/state", "./local:/srv/bind"]}
    mounts = named_volume_mounts(service, declared)
    assert on_a_volume(sqlite_file("sqlite:////srv/state/accounts.db"), mounts)
    assert not on_a_volume(sqlite_file("sqlite:///var/accounts.db"), mounts)  # relative: the container's var/
    assert not on_a_volume("/srv/bind/accounts.db", mounts)  # a bind mount, not a named volume
    assert not on_a_volume("/srv/statefile.db", mounts)
