"""The embedded `EventLog`: an append-only SQLite table with per-group committed offsets.

Each topic has one partition (0) whose offsets count up from 0. Publishers in several processes
(gunicorn workers, the CLI) append inside `BEGIN IMMEDIATE`, so offset assignment is serialised by
SQLite's write lock and never collides; the consumer process reads concurrently thanks to WAL.

Durability: this file runs with `synchronous=FULL`, so WAL is fsynced at every commit and a
published batch survives a power cut, not only a process crash (NORMAL could lose the last
commits on power loss, which would break "publish returns once durable"). The cost is one fsync
per `publish` call, and ingest publishes in batches.

Memory: a log is read once, front to back, so its connections neither map the file nor keep a
large page cache. Mapped, every record the consumer had read stayed in its resident set (about
100 MB at 131,000 listings) for no later gain.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from shared import json_codec
from shared.errors import BackendUnavailable
from shared.events.port import Message, Value
from shared.sqlite import ThreadConnections, transaction

PARTITION = 0
POLL_INTERVAL_S = 0.05
LOG_CACHE_KIB = 8_192  # appends and the offset index's upper pages; records are read once

_SCHEMA = (
    'CREATE TABLE IF NOT EXISTS events (topic TEXT NOT NULL, "offset" INTEGER NOT NULL, key TEXT,'
    ' value TEXT, timestamp_ms INTEGER NOT NULL, PRIMARY KEY (topic, "offset")) WITHOUT ROWID',
    'CREATE TABLE IF NOT EXISTS committed_offsets ("group" TEXT NOT NULL, topic TEXT NOT NULL,'
    ' partition INTEGER NOT NULL, next_offset INTEGER NOT NULL, PRIMARY KEY ("group", topic, partition))',
)


def _create_tables(conn: sqlite3.Connection) -> None:
    """Every connection makes sure the tables exist, so publishing never depends on setup order;
    the write lock is taken only when a table is missing."""
    names = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE name IN ('events', 'committed_offsets')"
    ).fetchone()[0]
    if names == len(_SCHEMA):
        return
    with transaction(conn, "IMMEDIATE"):
        for statement in _SCHEMA:
            conn.execute(statement)


class EmbeddedEventLog:
    """`EventLog` on one SQLite file; see the module docstring for durability and concurrency."""

    def __init__(self, path: str) -> None:
        self._conns = ThreadConnections(path, "FULL", _create_tables, mmap_bytes=0, cache_kib=LOG_CACHE_KIB)

    def ensure_topics(self, topics: Sequence[str]) -> None:
        """Topics need no creation here; opening a connection creates the tables."""
        self._conns.get()

    def publish(self, topic: str, records: Sequence[tuple[str | None, Value]]) -> None:
        """Append records in one transaction; they are durable when this returns."""
        if not records:
            return
        now_ms = int(time.time() * 1000)
        with transaction(self._conns.get(), "IMMEDIATE") as conn:
            last = conn.execute('SELECT max("offset") FROM events WHERE topic = ?', (topic,)).fetchone()[0]
            first = 0 if last is None else last + 1
            conn.executemany(
                'INSERT INTO events (topic, "offset", key, value, timestamp_ms) VALUES (?, ?, ?, ?, ?)',
                [
                    (topic, first + i, key, None if value is None else json_codec.dumps(value), now_ms)
                    for i, (key, value) in enumerate(records)
                ],
            )

    def consumer(self, topic: str, group: str) -> EmbeddedConsumer:
        return EmbeddedConsumer(self._conns, topic, group)

    def read_from_start(self, topic: str) -> EmbeddedConsumer:
        """A reader at offset 0 that belongs to no group (its `commit` must not be called)."""
        return EmbeddedConsumer(self._conns, topic, None)

    def ping(self) -> bool:
        try:
            self._conns.get().execute("SELECT 1 FROM events LIMIT 1").fetchall()
        except (BackendUnavailable, sqlite3.Error):
            return False
        return True

    def close(self) -> None:
        self._conns.close_all()


class EmbeddedConsumer:
    """One group's reader of one topic. The position lives in memory until `commit`, so a
    consumer that stops without committing leaves the group to read those records again.
    Without a group it reads from offset 0 (`EmbeddedEventLog.read_from_start`)."""

    def __init__(self, conns: ThreadConnections, topic: str, group: str | None) -> None:
        self._conns = conns
        self._topic = topic
        self._group = group
        self._position = self._committed() if group is not None else 0

    def poll(self, max_records: int, timeout_s: float) -> list[Message]:
        deadline = time.monotonic() + timeout_s
        while True:
            messages = self._read(max_records)
            if messages or time.monotonic() >= deadline:
                break
            time.sleep(min(POLL_INTERVAL_S, max(0.0, deadline - time.monotonic())))
        if messages:
            self._position = messages[-1].offset + 1
        return messages

    def commit(self, messages: Sequence[Message]) -> None:
        """Store max(offset) + 1 per topic and partition; a commit never moves the group backwards."""
        next_offsets: dict[tuple[str, int], int] = {}
        for m in messages:
            key = (m.topic, m.partition)
            next_offsets[key] = max(next_offsets.get(key, 0), m.offset + 1)
        if not next_offsets:
            return
        with transaction(self._conns.get(), "IMMEDIATE") as conn:
            conn.executemany(
                'INSERT INTO committed_offsets ("group", topic, partition, next_offset) VALUES (?, ?, ?, ?)'
                ' ON CONFLICT ("group", topic, partition)'
                " DO UPDATE SET next_offset = max(next_offset, excluded.next_offset)",
                [
                    (self._group, topic, partition, offset)
                    for (topic, partition), offset in next_offsets.items()
                ],
            )

    def lag(self) -> int:
        return self.end_offsets()[PARTITION] - self._committed()

    def end_offsets(self) -> dict[int, int]:
        last = (
            self._conns.get()
            .execute('SELECT max("offset") FROM events WHERE topic = ?', (self._topic,))
            .fetchone()[0]
        )
        return {PARTITION: 0 if last is None else last + 1}

    def positions(self) -> dict[int, int]:
        return {PARTITION: self._position}

    def close(self) -> None:
        """Nothing to release: connections belong to the event log, and uncommitted positions
        are meant to be forgotten."""

    def _committed(self) -> int:
        row = (
            self._conns.get()
            .execute(
                'SELECT next_offset FROM committed_offsets WHERE "group" = ? AND topic = ? AND partition = ?',
                (self._group, self._topic, PARTITION),
            )
            .fetchone()
        )
        return 0 if row is None else int(row[0])

    def _read(self, max_records: int) -> list[Message]:
        rows = (
            self._conns.get()
            .execute(
                'SELECT "offset", key, value, timestamp_ms FROM events WHERE topic = ? AND "offset" >= ?'
                ' ORDER BY "offset" LIMIT ?',
                (self._topic, self._position, max_records),
            )
            .fetchall()
        )
        return [
            Message(
                topic=self._topic,
                partition=PARTITION,
                offset=offset,
                key=key,
                value=None if value is None else json_codec.loads(value),
                timestamp_ms=ts,
            )
            for offset, key, value, ts in rows
        ]
