"""Data steward commands: `python -m services.ingest.cli load FILE`, `... dead-letters list|show|replay`,
`... merges list|review|confirm|split`, `... reindex [--cleanup]`.

Loading publishes to the log (never straight into the index), so files take the same path as
the HTTP API: the consumer validates, normalises, geocodes and indexes them, and rejects go to
the DLQ with the file and line they came from.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from tqdm import tqdm

from services.ingest.config import IngestSettings
from services.ingest.dead_letters import DeadLetter, dead_letters, replay, steward_topics
from services.ingest.dedupe import Decision, Member, OrganisationRegistry
from services.ingest.loading import NoMappedColumn, check_header, consumer_rejects, dry_run, end_offsets, load_file
from services.ingest.preparing import geo_chain, settle_memory
from services.ingest.publishing import publish_listings
from services.ingest.reindex import cleanup, reindex
from services.ingest.settled import wait_until_processed
from services.ingest.sources.formats import FORMATS, guess_format
from services.ingest.sources.mapping import CsvMapping, MappingError
from services.ingest.spend_loading import load_spend_csv
from shared.accounts import open_account_store
from shared.errors import InvalidInput
from shared.events.envelope import origin, with_provenance
from shared.events.factory import open_event_log
from shared.events.port import EventLog
from shared.models import Listing, SpendRecord
from shared.search.factory import open_search_index
from shared.search.port import RebuildInProgress
from shared.spend_store import open_spend_store
from shared.store_urls import redacted


@contextmanager
def _log(settings: IngestSettings) -> Iterator[EventLog]:
    events = open_event_log(settings.events_url, client_id="ingest-cli")
    try:
        yield events
    finally:
        events.close()


@click.group()
def cli() -> None:
    """socialmatch ingest: load listings and inspect or replay what was rejected."""


def _read_mapping(path: Path | None, spend: bool) -> CsvMapping | None:
    """The --mapping file, checked before anything is read or published."""
    if path is None:
        return None
    try:
        return CsvMapping.from_json(path, SpendRecord if spend else Listing)
    except MappingError as exc:
        raise click.ClickException(f"mapping file {path}: {exc}") from None


@cli.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), help="Default: from the extension.")
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON column mapping for --format csv (see services/ingest/sources/mapping.py and"
                   " data/examples/council-suppliers.mapping.json).")
@click.option("--batch", default=500, show_default=True, help="Records published per write.")
@click.option("--dry-run", is_flag=True,
              help="Check every row with the consumer's own rules and report it; publish nothing.")
@click.option("--wait", "wait_s", default=10.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds to wait for the consumer to process the load, to report its rejects (0: do not wait).")
@click.option("--spend", is_flag=True, help="PATH holds spend records (JSONL, or a CSV as POST /spend takes it).")
@click.option("--organisation", default=None,
              help="With --spend and a CSV: the organisation ID the records belong to.")
def load(path: Path, fmt: str | None, mapping_path: Path | None, batch: int, dry_run: bool, wait_s: float,
         spend: bool, organisation: str | None) -> None:
    """Publish every listing (or spend record) in PATH to its topic, then print a summary."""
    settings = IngestSettings()
    mapping = _read_mapping(mapping_path, spend)
    fmt = fmt or guess_format(path)
    topic = settings.topic(settings.spend_topic if spend else settings.listings_topic)
    if mapping is not None and fmt != "csv":
        raise click.UsageError(f"--mapping is for --format csv, not {fmt}")
    if dry_run and spend:
        raise click.UsageError("--dry-run checks listings; a spend CSV is checked whole by every load anyway")
    if spend and fmt == "csv" and mapping is None:
        _load_spend_csv(settings, topic, path, organisation, batch)
        return
    if dry_run:
        click.echo(f"dry run of {path.name}: nothing is published")
    _check_header(path, fmt, mapping)
    if dry_run:
        _dry_run(settings, path, fmt, mapping)
        return
    settle_memory()  # reading a register makes as many short-lived objects per row as consuming it
    with _log(settings) as events:
        events.ensure_topics(steward_topics(topic))
        with tqdm(desc=f"loading {path.name}", unit=" records", file=sys.stderr) as bar:
            summary = load_file(events, topic, path, fmt, mapping, batch, bar.update, mapping_path)
        summary.spend = spend
        if summary.published and wait_s and not spend:
            summary.consumer_waited_s = wait_s
            if wait_until_processed(events, topic, end_offsets(events, topic), wait_s):
                summary.consumer_rejected = consumer_rejects(events, topic, summary.load_id, _scan_timeout(settings))
    for line in summary.lines():
        click.echo(line)


def _check_header(path: Path, fmt: str, mapping: CsvMapping | None) -> None:
    try:
        header = check_header(path, fmt, mapping)
    except NoMappedColumn as exc:
        raise click.ClickException(str(exc)) from None
    for line in header.lines() if header else []:
        click.echo(line)


def _dry_run(settings: IngestSettings, path: Path, fmt: str, mapping: CsvMapping | None) -> None:
    for report in dry_run(path, fmt, mapping, geo_chain(settings)):
        for line in report.lines():
            click.echo(line)


def _load_spend_csv(settings: IngestSettings, topic: str, path: Path, organisation: str | None, batch: int) -> None:
    """A spend CSV in the `POST /spend` format, checked whole, then published in batches."""
    if not organisation:
        raise click.UsageError("a spend CSV needs --organisation ID (or --mapping for a JSON column mapping)")
    accounts = open_account_store(settings.accounts_url)
    try:
        if accounts.organisation(organisation) is None:
            raise click.UsageError(f"no organisation {organisation!r} in {redacted(settings.accounts_url)}")
    finally:
        accounts.close()
    store = open_spend_store(settings.spend_location())
    try:
        with _log(settings) as events:
            events.ensure_topics(steward_topics(topic))
            with tqdm(desc=f"loading {path.name}", unit=" records", file=sys.stderr) as bar:
                result, encoding = load_spend_csv(events, topic, store, path, organisation, batch, bar.update)
    except InvalidInput as exc:
        click.echo(f"{path.name}: {exc.detail}", err=True)
        for error in exc.errors:
            click.echo(f"  {error.field}: {error.message}", err=True)
        raise SystemExit(1) from exc
    finally:
        store.close()
    click.echo(f"read {path.name} as {encoding}: stored {result.stored}, updated {result.updated},"
               f" unchanged {result.unchanged}")
    for change in result.changes:
        if change["change"] == "updated":
            fields = ", ".join(f"{name} {c['from']} -> {c['to']}" for name, c in change["fields"].items())
            click.echo(f"  updated {change['where']} {change['reference']} ({change['supplier']}): {fields}")


@cli.group("dead-letters")
@click.option("--spend", is_flag=True, help="Spend records' dead letters instead of listings'.")
@click.pass_context
def dead_letters_group(ctx: click.Context, spend: bool) -> None:
    """Records that were rejected, with where they came from and why."""
    settings = IngestSettings()
    ctx.obj = settings.topic(settings.spend_topic if spend else settings.listings_topic)


def _topic() -> str:
    """The main topic whose dead letters the command works on (set by the group's --spend)."""
    return str(click.get_current_context().obj)


def _scan_timeout(settings: IngestSettings) -> float:
    """How long an empty read waits before a topic's end is assumed: a Kafka member needs a
    second or two to join; the embedded log answers at once."""
    return 0.05 if settings.events_url.startswith("sqlite:") else 2.0


def _letters(settings: IngestSettings, events: EventLog) -> list[DeadLetter]:
    topic = _topic()
    events.ensure_topics(steward_topics(topic))  # reading a missing Kafka topic hangs
    return dead_letters(events, topic, timeout_s=_scan_timeout(settings))


@dead_letters_group.command("list")
@click.option("--limit", default=50, show_default=True)
@click.option("--reason", default="", help="Only letters whose reason contains this text.")
@click.option("--file", "file_name", default=None, help="Only letters from this source file (its name, as loaded).")
@click.option("--all", "show_all", is_flag=True, help="Also letters already resolved by a later good record.")
def list_letters(limit: int, reason: str, file_name: str | None, show_all: bool) -> None:
    """One line per dead letter: ref, origin, reason, first field error."""
    settings = IngestSettings()
    with _log(settings) as events:
        letters = [letter for letter in _letters(settings, events) if reason in letter.value.get("reason", "")
                   and (file_name is None or _from_file(letter, file_name))]
    shown = [letter for letter in letters if show_all or not letter.resolved]
    for letter in shown[:limit]:
        errors = letter.value.get("errors") or [{}]
        first = f"{errors[0].get('field', '')}: {errors[0].get('message', '')}" if errors[0] else ""
        mark = " [resolved]" if letter.resolved else " [replayed]" if letter.replayed else ""
        click.echo(f"{letter.ref}\t{origin(letter.provenance) or '-'}\t"
                   f"{letter.value.get('reason')}{mark}\t{first}")
    hidden = len(letters) - len(shown)
    click.echo(f"{len(shown)} dead letters" + (f" ({hidden} resolved not shown: --all shows them)" if hidden else ""),
               err=True)


def _from_file(letter: DeadLetter, name: str) -> bool:
    """The file a letter came from, by name or by path as given to `load` (which keeps the name)."""
    return letter.provenance.get("file") == Path(name).name


@dead_letters_group.command("show")
@click.argument("ref")
def show(ref: str) -> None:
    """The whole dead letter REF (`partition:offset`, as `list` prints it)."""
    settings = IngestSettings()
    with _log(settings) as events:
        found = [letter for letter in _letters(settings, events) if letter.ref == ref]
    if not found:
        raise click.ClickException(f"no dead letter {ref}")
    click.echo(json.dumps({**found[0].value, "replayed": found[0].replayed, "resolved": found[0].resolved},
                          ensure_ascii=False, indent=2))


@dead_letters_group.command("replay")
@click.argument("refs", nargs=-1)
@click.option("--reason", default=None, help="Replay every letter whose reason contains this text.")
@click.option("--file", "file_name", default=None, help="Replay every letter from this source file.")
@click.option("--again", is_flag=True, help="Also replay letters that were replayed or resolved before.")
def replay_cmd(refs: tuple[str, ...], reason: str | None, file_name: str | None, again: bool) -> None:
    """Republish dead letters (by REF, or all matching --reason or --file) after the cause was
    fixed; a row the loader rejected is converted again with its format and mapping file."""
    if not refs and reason is None and file_name is None:
        raise click.UsageError("name dead letters by REF or select them with --reason or --file")
    settings = IngestSettings()
    with _log(settings) as events:
        chosen = [letter for letter in _letters(settings, events)
                  if (letter.ref in refs or (reason is not None and reason in letter.value.get("reason", ""))
                      or (file_name is not None and _from_file(letter, file_name)))
                  and (again or not (letter.replayed or letter.resolved))]
        result = replay(events, _topic(), chosen)
    click.echo(f"replayed {result.sent} of {len(chosen)} selected dead letters")
    for ref_, why in result.not_sent:
        click.echo(f"  not replayed {ref_}: {why}")


@cli.command("reindex")
@click.option("--cleanup", "cleanup_only", is_flag=True,
              help="Only drop orphan generations (left by a rebuild that died); no rebuild.")
def reindex_cmd(cleanup_only: bool) -> None:
    """Rebuild the listings index from the event log into a new generation and switch to it;
    searches keep answering throughout (see services/ingest/reindex.py)."""
    settings = IngestSettings()
    index = open_search_index(settings.search_url, prefix=settings.index_prefix)
    try:
        index.ensure_index()
        if cleanup_only:
            dropped = cleanup(index)
            click.echo(f"dropped {len(dropped)} orphan generations" + (f": {', '.join(dropped)}" if dropped else ""))
            return
        settle_memory()  # a rebuild runs the consumer's code over the whole log
        with _log(settings) as events, tqdm(desc="reindexing", unit=" records", file=sys.stderr) as bar:
            summary = reindex(index, events, settings, bar.update, lambda total: setattr(bar, "total", total))
    except RebuildInProgress as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        index.close()
    for line in summary.lines():
        click.echo(line)


@cli.group()
def merges() -> None:
    """Organisations merged from several sources, and pairs awaiting review; confirm or split them
    (remembered across reloads). Scores are the names' similarity, 0-100."""


@merges.command("list")
@click.option("--limit", default=100, show_default=True, help="Merged listings to show.")
def list_merges(limit: int) -> None:
    """Each merged listing: its member records (name, source) and the rule and score of each pairing."""
    registry = _registry(IngestSettings())
    try:
        for cluster in registry.merged(limit):
            click.echo(f"{cluster.id}\t{len(cluster.members)} records")
            for member in cluster.members:
                click.echo(f"  {_member(member)}")
            for pair in cluster.pairs:
                click.echo(f"  {pair.a.id} = {pair.b.id}\t{pair.rule}\tscore {pair.score:.0f}")
        for a, b, decision, at in registry.decisions():
            click.echo(f"decision\t{decision} {a} {b} ({at})")
    finally:
        registry.close()


@merges.command("review")
@click.option("--limit", default=100, show_default=True, help="Queued pairs to show, best score first.")
def review(limit: int) -> None:
    """Pairs the rules found short of near-certain, not merged: the rule, the score, and what to run."""
    registry = _registry(IngestSettings())
    try:
        pairs = registry.review(limit)
    finally:
        registry.close()
    command = "python -m services.ingest.cli merges"
    for pair in pairs:
        click.echo(f"{_member(pair.a)}  ~  {_member(pair.b)}")
        click.echo(f"  {pair.rule}\tscore {pair.score:.0f}")
        click.echo(f"  same organisation:  {command} confirm {pair.a.id} {pair.b.id}")
        click.echo(f"  different:          {command} split {pair.a.id} {pair.b.id}")
    click.echo(f"{len(pairs)} pairs awaiting review", err=True)


def _member(member: Member) -> str:
    return f"{member.id} {member.name!r} ({member.source})"


@merges.command("confirm")
@click.argument("a")
@click.argument("b")
def confirm(a: str, b: str) -> None:
    """A and B are one organisation: merge them whatever the rules say (and off the review queue)."""
    _decide(a, b, "confirm")


@merges.command("split")
@click.argument("a")
@click.argument("b")
def split(a: str, b: str) -> None:
    """A and B are different organisations: never merge (nor queue) them."""
    _decide(a, b, "split")


def _registry(settings: IngestSettings) -> OrganisationRegistry:
    return OrganisationRegistry(settings.state_location())


def _decide(a: str, b: str, decision: Decision) -> None:
    """Remember the decision, then republish the members involved so the consumer re-clusters them."""
    settings = IngestSettings()
    registry = _registry(settings)
    try:
        registry.decide(a, b, decision)
        docs = registry.member_docs([a, b])
    finally:
        registry.close()
    provenance = {"steward": f"{decision} {a} {b}"}
    with _log(settings) as events:
        publish_listings(events, settings.topic(settings.listings_topic),
                         [with_provenance(doc, provenance) for doc in docs])
    click.echo(f"recorded: {decision} {a} {b}; republished {len(docs)} member records to re-cluster")


if __name__ == "__main__":
    cli()
