"""Create the Kafka topics declared in `infra/kafka/topics.json`: `python -m infra.kafka.create_topics`.

The compose `topics` one-shot runs this before any producer or consumer starts, because the
broker has topic auto-creation switched off: a topic created implicitly would get the broker's
defaults (delete after 7 days) instead of the compaction `listings` needs to be replayable.

Idempotent: topics that already exist are left alone, so it is safe on every `docker compose up`.
An existing topic's configuration is not changed here; alter it on purpose with kafka-configs.sh.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from shared.logging_setup import configure_logging
from shared.settings import BackendSettings

TOPICS_FILE = Path(__file__).with_name("topics.json")
log = logging.getLogger("socialmatch.infra.topics")


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)


def load_topics(path: Path = TOPICS_FILE) -> list[TopicSpec]:
    """The declared topics; config values are strings because that is what Kafka's API takes."""
    declared = json.loads(path.read_text(encoding="utf-8"))["topics"]
    return [
        TopicSpec(
            name=t["name"],
            partitions=int(t["partitions"]),
            replication_factor=int(t["replication_factor"]),
            configs={k: str(v) for k, v in t.get("configs", {}).items()},
        )
        for t in declared
    ]


def kafka_servers(events_url: str) -> list[str]:
    """`kafka://a:9092,b:9092` -> ["a:9092", "b:9092"]; anything else is a configuration error."""
    scheme, _, rest = events_url.partition("://")
    if scheme != "kafka" or not rest.strip("/"):
        raise ValueError(f"EVENTS_URL must be kafka://host:port[,host:port] to create topics: {events_url!r}")
    return rest.strip("/").split(",")


def prefixed(specs: list[TopicSpec], prefix: str) -> list[TopicSpec]:
    """The specs under the names this deployment uses (TOPIC_PREFIX + name)."""
    return [TopicSpec(prefix + s.name, s.partitions, s.replication_factor, s.configs) for s in specs]


def create(settings: BackendSettings, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    # Imported here so the unit tests of this module need no client.
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    servers = kafka_servers(settings.events_url)
    admin = KafkaAdminClient(bootstrap_servers=servers, client_id="socialmatch-topics")
    created = []
    try:
        for spec in prefixed(specs, settings.topic_prefix):
            topic = NewTopic(spec.name, spec.partitions, spec.replication_factor, topic_configs=spec.configs)
            # One request per topic: kafka-python raises the first per-topic error of a request, and
            # an existing topic must not hide a real failure on another (e.g. an invalid config),
            # which must fail the one-shot loudly.
            try:
                admin.create_topics([topic], timeout_ms=30_000)
            except TopicAlreadyExistsError:
                continue
            created.append(spec.name)
        return created
    finally:
        admin.close()


def main(argv: list[str]) -> int:
    settings = BackendSettings()
    configure_logging(settings.log_format, settings.log_level)
    specs = load_topics(Path(argv[0]) if argv else TOPICS_FILE)
    created = create(settings, specs)
    log.info("topics ready", extra={"created": created, "declared": [s.name for s in specs]})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
