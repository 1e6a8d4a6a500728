"""Data steward commands: `python -m services.ingest.cli load FILE`, `... dead-letters`.

Loading publishes to the log (never straight into the index), so files take the same path as
the HTTP API: the consumer validates, geocodes and indexes them, and rejects go to the DLQ.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from shared.events.factory import open_event_log
from shared.events.port import dead_letter_topic
from services.ingest.config import IngestSettings
from services.ingest.publishing import chunked, publish_listings


def read_listings(path: Path) -> Iterator[dict[str, Any]]:
    """Records from a JSON Lines file (one listing per line) or a JSON array."""
    with path.open(encoding="utf-8") as handle:
        if path.suffix == ".json":
            yield from json.load(handle)
            return
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise click.ClickException(f"{path}:{number}: not valid JSON ({exc.msg})") from exc


@click.group()
def cli() -> None:
    """socialmatch ingest: load listings and inspect what was rejected."""


@cli.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--batch", default=500, show_default=True, help="Records published per write.")
def load(path: Path, batch: int) -> None:
    """Publish every listing in PATH (.jsonl or .json) to the listings topic."""
    settings = IngestSettings()
    events = open_event_log(settings.events_url, client_id="ingest-cli")
    topic = settings.topic(settings.listings_topic)
    events.ensure_topics([topic, dead_letter_topic(topic)])
    published = 0
    try:
        with tqdm(desc=f"publishing {path.name}", unit=" listings", file=sys.stderr) as progress:
            for chunk in chunked(read_listings(path), batch):
                published += publish_listings(events, topic, chunk)
                progress.update(len(chunk))
    finally:
        events.close()
    click.echo(f"published {published} listings from {path} to {topic}")


@cli.command("dead-letters")
@click.option("--limit", default=20, show_default=True)
def dead_letters(limit: int) -> None:
    """Print rejected records with their reasons (reads without committing)."""
    settings = IngestSettings()
    events = open_event_log(settings.events_url, client_id="ingest-cli")
    consumer = events.consumer(dead_letter_topic(settings.topic(settings.listings_topic)), f"viewer-{uuid.uuid4()}")
    try:
        shown = 0
        while shown < limit and (messages := consumer.poll(limit - shown, timeout_s=1.0)):
            for message in messages:
                click.echo(json.dumps(message.value, ensure_ascii=False))
            shown += len(messages)
    finally:
        consumer.close()
        events.close()


if __name__ == "__main__":
    cli()
