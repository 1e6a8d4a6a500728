"""The invariants of docker-compose.yml and infra/kafka/topics.json that a careless edit would break.

Docker is not needed: the files are parsed, not run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.kafka.create_topics import TopicSpec, kafka_servers, load_topics, prefixed
from services.ingest.config import IngestSettings
from shared.events.port import dead_letter_topic

ROOT = Path(__file__).resolve().parents[2]
# One-shots exit when done; everything else must report health so dependents can wait for it.
ONE_SHOTS = {"topics", "loader"}
RESTARTING = {"unless-stopped", "always", "on-failure"}
APP_SERVICES = {"directory", "matcher", "ingest", "ingest-consumer", "topics", "loader"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _host_ip(port: str | dict[str, Any]) -> str | None:
    """The host address of a published port, in short ("ip:host:container") or long syntax."""
    if isinstance(port, dict):
        return port.get("host_ip")
    parts = str(port).rsplit(":", 2)
    return parts[0] if len(parts) == 3 else None


def test_every_published_port_is_bound_to_loopback(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for port in service.get("ports", []):
            assert _host_ip(port) == "127.0.0.1", f"{name} publishes {port!r} beyond 127.0.0.1"


def test_every_dependency_waits_on_a_condition(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on needs the long form with a condition"
        for target, spec in depends_on.items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = spec.get("condition")
            if target in ONE_SHOTS:
                assert condition == "service_completed_successfully", f"{name} -> {target}: {condition}"
            else:
                assert condition == "service_healthy", f"{name} -> {target}: {condition}"
                assert "healthcheck" in services[target], f"{name} waits for {target}: no healthcheck"


def test_every_long_running_service_has_a_healthcheck_and_restarts(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name in ONE_SHOTS:
            assert service.get("restart") == "no", f"one-shot {name} must not be restarted"
            continue
        check = service.get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert service.get("restart") in RESTARTING, f"{name} has no restart policy"


def test_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if "build" in service:
            continue
        image = service["image"]
        tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag and tag != "latest" and tag[0].isdigit(), f"{name}: {image} is not pinned to a version"


def test_backends_point_at_the_compose_services(services: dict[str, dict[str, Any]]) -> None:
    for name in APP_SERVICES:
        env = _environment(services[name])
        assert env["SEARCH_URL"] == "http://elasticsearch:9200", name
        assert env["EVENTS_URL"] == "kafka://kafka:9092", name
        assert env["LOG_FORMAT"] == "json", name
    assert kafka_servers("kafka://kafka:9092") == ["kafka:9092"]


def test_kafka_advertises_the_address_containers_use(services: dict[str, dict[str, Any]]) -> None:
    """Clients connect to the advertised address, so EVENTS_URL must be one of them."""
    advertised = _environment(services["kafka"])["KAFKA_ADVERTISED_LISTENERS"].split(",")
    hosts = {entry.split("://", 1)[1] for entry in advertised}
    assert "kafka:9092" in hosts
    assert "127.0.0.1:29092" in hosts  # matches the published host port


def test_directory_reaches_the_matcher_by_service_name(services: dict[str, dict[str, Any]]) -> None:
    url = _environment(services["directory"])["DIRECTORY_MATCHER_URL"]
    assert url == f"http://matcher:{_environment(services['matcher'])['PORT']}"


def test_topics_declare_what_the_code_uses() -> None:
    declared = {spec.name: spec for spec in load_topics()}
    listings = IngestSettings.model_fields["listings_topic"].default
    for topic in (listings, "spend"):
        assert topic in declared, f"{topic} is not in topics.json"
        assert dead_letter_topic(topic) in declared, f"{dead_letter_topic(topic)} is not in topics.json"
    # Compaction is what makes the listings topic replayable into a new index version.
    assert declared[listings].configs["cleanup.policy"] == "compact"
    for spec in declared.values():
        assert spec.partitions >= 1 and spec.replication_factor >= 1


def test_topics_are_created_under_the_prefix() -> None:
    specs = [TopicSpec("listings", 3, 1, {"cleanup.policy": "compact"})]
    assert prefixed(specs, "t-") == [TopicSpec("t-listings", 3, 1, {"cleanup.policy": "compact"})]


def test_topic_creation_refuses_a_non_kafka_url() -> None:
    with pytest.raises(ValueError, match="kafka://"):
        kafka_servers("sqlite:///var/events.db")
