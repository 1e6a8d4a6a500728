"""`EventLog` on Kafka through kafka-python.

Records are JSON objects keyed by entity id, so that updates to one listing stay in one partition
and in order; `None` is sent as a tombstone. Consumers never auto-commit: a group's position
moves only when the caller commits after its work is done (at-least-once).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CommitFailedError, KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from shared.errors import BackendUnavailable
from shared.events.port import Message, Rebalanced, Value

# How long a publish may wait for every acknowledgement before it counts as failed.
PUBLISH_TIMEOUT_S = 30.0
ADMIN_TIMEOUT_MS = 10_000
# Unknown leader epoch in an offset commit: the broker then skips its fencing check.
NO_LEADER_EPOCH = -1
# A payload that is not a JSON object is delivered under this key rather than wedging the consumer
# on a record it can never decode; validation rejects it and the caller dead-letters it.
UNDECODABLE_KEY = "_undecodable"


# The consumers' poll deadline, which is also the rebalance timeout: how long a rebalance waits
# for a member that died without leaving (SIGKILL). A batch, retries included, takes far less, so
# 30 s instead of the 5-minute default only shortens such stalls.
MAX_POLL_INTERVAL_MS = 30_000

class KafkaEventLog:
    """A Kafka cluster as the project's event log; connects on first use, not on construction."""

    def __init__(self, bootstrap_servers: list[str], client_id: str, max_poll_interval_ms: int | None = None) -> None:
        self._servers = list(bootstrap_servers)
        self._client_id = client_id
        self._max_poll_interval_ms = max_poll_interval_ms or MAX_POLL_INTERVAL_MS
        self._producer: KafkaProducer | None = None

    def ensure_topics(self, topics: Sequence[str], partitions: int = 3, replication_factor: int = 1) -> None:
        """Create the topics that do not exist yet; another process creating them first is fine."""
        with _unavailable_on_broker_error():
            admin = KafkaAdminClient(bootstrap_servers=self._servers, client_id=self._client_id)
            try:
                for topic in topics:
                    _create_topic(admin, NewTopic(topic, partitions, replication_factor))
            finally:
                admin.close()

    def publish(self, topic: str, records: Sequence[tuple[str | None, Value]]) -> None:
        """Send every record and return only once the brokers acknowledged all of them."""
        with _unavailable_on_broker_error():
            producer = self._connected_producer()
            futures = [producer.send(topic, key=key, value=value) for key, value in records]
            producer.flush(timeout=PUBLISH_TIMEOUT_S)
            for future in futures:
                future.get(timeout=PUBLISH_TIMEOUT_S)

    def _connected_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = KafkaProducer(
                bootstrap_servers=self._servers,
                client_id=self._client_id,
                acks="all",
                retries=5,
                # One request in flight per broker: a retried batch cannot overtake a later one,
                # so records with the same key keep their order.
                max_in_flight_requests_per_connection=1,
                key_serializer=_encode_key,
                value_serializer=_encode_value,
            )
        return self._producer

    def consumer(self, topic: str, group: str) -> KafkaGroupConsumer:
        return KafkaGroupConsumer(self._servers, self._client_id, topic, group, self._max_poll_interval_ms)

    def read_from_start(self, topic: str) -> KafkaStartReader:
        return KafkaStartReader(self._servers, self._client_id, topic)

    def ping(self) -> bool:
        try:
            admin = KafkaAdminClient(bootstrap_servers=self._servers, client_id=self._client_id)
        except KafkaError:
            return False
        admin.close()
        return True

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()
            self._producer = None


class _Revocations(ConsumerRebalanceListener):
    """Counts the rebalances that took partitions from this member."""

    def __init__(self) -> None:
        self.count = 0

    def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            self.count += 1

    def on_partitions_assigned(self, assigned: Any) -> None:
        """Nothing to do: newly assigned partitions start from the group's committed offsets."""


class KafkaGroupConsumer:
    """One member of a consumer group reading one topic, committing only what it is told to.

    A rebalance between a poll and its commit (another member joined or died) may have given the
    polled partitions to another member; committing then would fail (`CommitFailedError`) or move
    someone else's offsets. Either way `commit` raises `Rebalanced` instead, and the partitions this
    member holds next are read again from the committed offsets.
    """

    def __init__(self, servers: list[str], client_id: str, topic: str, group: str, max_poll_interval_ms: int) -> None:
        self._topic = topic
        self._revocations = _Revocations()
        self._uncommitted: dict[TopicPartition, int] = {}  # highest offset polled and not committed
        self._stale = False  # a rebalance took partitions while records were uncommitted
        with _unavailable_on_broker_error():
            self._consumer = KafkaConsumer(
                bootstrap_servers=servers,
                client_id=client_id,
                group_id=group,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_interval_ms=max_poll_interval_ms,
            )
            self._consumer.subscribe([topic], listener=self._revocations)

    def poll(self, max_records: int, timeout_s: float) -> list[Message]:
        revocations = self._revocations.count
        with _unavailable_on_broker_error():
            batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        if self._revocations.count != revocations and self._uncommitted:
            self._stale = True
        messages = [_message(record) for records in batches.values() for record in records]
        for m in messages:
            tp = TopicPartition(m.topic, m.partition)
            self._uncommitted[tp] = max(m.offset, self._uncommitted.get(tp, -1))
        return messages

    def commit(self, messages: Sequence[Message]) -> None:
        """Commit the offset after the highest message per partition (Kafka stores the next one to read)."""
        if self._stale:
            self._rewind()
            raise Rebalanced(f"partitions of {self._topic} were reassigned since these records were polled")
        highest: dict[TopicPartition, int] = {}
        for m in messages:
            tp = TopicPartition(m.topic, m.partition)
            highest[tp] = max(m.offset, highest.get(tp, -1))
        if not highest:
            return
        offsets = {tp: OffsetAndMetadata(offset + 1, "", NO_LEADER_EPOCH) for tp, offset in highest.items()}
        try:
            with _unavailable_on_broker_error():
                self._consumer.commit(offsets=offsets)
        except CommitFailedError as exc:  # the group rebalanced during the commit
            self._rewind()
            raise Rebalanced(f"the group rebalanced while committing {self._topic}: {exc}") from exc
        for tp, offset in highest.items():
            if self._uncommitted.get(tp, -1) <= offset:
                self._uncommitted.pop(tp, None)

    def _rewind(self) -> None:
        """Forget every uncommitted record: each partition still held is read again from the
        group's committed offset (or its start), so nothing polled before the rebalance is skipped."""
        self._uncommitted.clear()
        self._stale = False
        with _unavailable_on_broker_error():
            for tp in self._consumer.assignment():
                committed = self._consumer.committed(tp)
                if committed is None:
                    self._consumer.seek_to_beginning(tp)
                else:
                    self._consumer.seek(tp, committed)

    def lag(self) -> int:
        """Records not yet committed by the group, over all of the topic's partitions.

        All partitions rather than this member's assignment: before its first poll a member has no
        assignment, and readiness checks want the group's backlog.
        """
        with _unavailable_on_broker_error():
            ids = self._consumer.partitions_for_topic(self._topic)
            partitions = [TopicPartition(self._topic, p) for p in sorted(ids)]
            if not partitions:
                return 0
            ends = self._consumer.end_offsets(partitions)
            starts = self._consumer.beginning_offsets(partitions)
            return sum(ends[tp] - self._committed(tp, starts[tp]) for tp in partitions)

    def _committed(self, tp: TopicPartition, start: int) -> int:
        committed = self._consumer.committed(tp)
        return start if committed is None else committed

    def close(self) -> None:
        self._consumer.close(autocommit=False)


class KafkaStartReader:
    """Every partition of one topic assigned by hand and read from its beginning: no group, so no
    rebalance and no committed offsets (a rebuild leaves the group registry as it found it)."""

    def __init__(self, servers: list[str], client_id: str, topic: str) -> None:
        with _unavailable_on_broker_error():
            self._consumer = KafkaConsumer(
                bootstrap_servers=servers, client_id=client_id, group_id=None, enable_auto_commit=False,
                auto_offset_reset="earliest",
            )  # fmt: skip
            ids = self._consumer.partitions_for_topic(topic) or set()
            self._partitions = [TopicPartition(topic, p) for p in sorted(ids)]
            self._consumer.assign(self._partitions)
            if self._partitions:
                self._consumer.seek_to_beginning(*self._partitions)

    def poll(self, max_records: int, timeout_s: float) -> list[Message]:
        if not self._partitions:
            return []
        with _unavailable_on_broker_error():
            batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        return [_message(record) for records in batches.values() for record in records]

    def end_offsets(self) -> dict[int, int]:
        with _unavailable_on_broker_error():
            ends = self._consumer.end_offsets(self._partitions) if self._partitions else {}
        return {tp.partition: int(offset) for tp, offset in ends.items()}

    def positions(self) -> dict[int, int]:
        with _unavailable_on_broker_error():
            return {tp.partition: int(self._consumer.position(tp)) for tp in self._partitions}

    def close(self) -> None:
        self._consumer.close(autocommit=False)


def _message(record: ConsumerRecord) -> Message:
    return Message(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode("utf-8") if record.key is not None else None,
        value=_decode_value(record.value),
        timestamp_ms=record.timestamp,
    )


def _encode_key(key: str | None) -> bytes | None:
    return None if key is None else key.encode("utf-8")


def _encode_value(value: Value) -> bytes | None:
    """JSON for records, no payload at all for tombstones (Kafka's compaction convention)."""
    return None if value is None else json.dumps(value, separators=(",", ":")).encode("utf-8")


def _decode_value(raw: bytes | None) -> Value:
    if raw is None:
        return None
    try:
        value: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        value = None
    if isinstance(value, dict):
        return value
    return {UNDECODABLE_KEY: raw.decode("utf-8", errors="replace")}


def _create_topic(admin: KafkaAdminClient, topic: NewTopic) -> None:
    """One request per topic: kafka-python raises the first per-topic error of a request, and an
    existing topic must not hide a real failure to create another."""
    with suppress(TopicAlreadyExistsError):
        admin.create_topics([topic], timeout_ms=ADMIN_TIMEOUT_MS)


@contextmanager
def _unavailable_on_broker_error() -> Iterator[None]:
    """Retriable errors (no broker reachable, timeouts) mean "try later"; anything else is a bug."""
    try:
        yield
    except KafkaError as exc:
        if exc.retriable:
            raise BackendUnavailable(f"Kafka is unavailable: {exc}") from exc
        raise
