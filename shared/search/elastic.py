"""`SearchIndex` on Elasticsearch 8 through the official client.

Services address the alias; the concrete index is versioned (see `es_mapping`), and a rebuild
fills a new generation of it (`<alias>-v<version>-<stamp>`) and moves the alias in one
`POST /_aliases` (remove + add, atomic). "Newest
`updated_at` wins" is enforced by Elasticsearch itself with external versioning: each write
carries `updated_at` as epoch microseconds with `version_type=external_gte`, so an older write
is rejected with 409 (counted as stale) even when two consumers race, and replaying the same
write is accepted (idempotent).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from elastic_transport import TransportError
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError
from elasticsearch.helpers import streaming_bulk
from rapidfuzz.distance import OSA

from shared.errors import BackendUnavailable
from shared.geo import distance_km
from shared.search import es_mapping, vocabulary
from shared.search.elastic_lease import Lease
from shared.search.port import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    BulkResult,
    Document,
    FacetBucket,
    Hit,
    Near,
    SearchQuery,
    SearchResult,
    Suggestion,
    decode_cursor,
    effective_sort,
    encode_cursor,
)
from shared.search.schema import ENGLISH_STOP_WORDS, IndexSchema

log = logging.getLogger(__name__)

# Facets list every value a filtered result set has, as the embedded adapter does; 1000 is far
# above the number of regions, categories or CPV codes one result page can usefully show.
FACET_SIZE = 1000
# How many failed bulk items to log in full; the rest are only counted.
LOGGED_FAILURES = 5
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A snippet long enough to show a match in context on a results page.
FRAGMENT_CHARS = 160
# How long a scan's point in time lives between two pages.
SCAN_KEEP_ALIVE = "2m"
_WORD = re.compile(r"[^\W_]+")


class ElasticsearchIndex:
    """One schema's index on an Elasticsearch cluster, reached through `prefix + schema.name`."""

    def __init__(self, url: str, schema: IndexSchema, prefix: str = "", target: str | None = None) -> None:
        """`target` addresses one concrete index instead of the alias (a generation being built)."""
        # The client connects lazily, so constructing the adapter never touches the network.
        self._client = Elasticsearch(url, request_timeout=30, max_retries=2, retry_on_timeout=True)
        self._url, self._schema, self._prefix = url, schema, prefix
        self._alias = es_mapping.alias_name(schema, prefix)
        self._index = es_mapping.index_name(schema, prefix)
        self._address = target or self._alias
        self._generation_name = re.compile(rf"^{re.escape(self._index)}(?:-\d+)?$")

    def ensure_index(self) -> None:
        """Create this version's index, then point the alias at it unless the alias already exists.

        An alias on an older version is left alone: moving it is a rebuild (fill the new index,
        then swap), not something every process should do on start-up.
        """
        with _unavailable_on_transport_error():
            if self._client.indices.exists_alias(name=self._alias):
                return
            self._create_index(self._index)
            if not self._client.indices.exists_alias(name=self._alias):
                self._client.indices.put_alias(index=self._index, name=self._alias)

    def _create_index(self, name: str) -> None:
        """Create a concrete index; losing the race to another process is success."""
        try:
            self._client.indices.create(
                index=name,
                settings=es_mapping.index_settings(),
                mappings=es_mapping.index_mappings(self._schema),
            )
        except BadRequestError as exc:
            if exc.error != "resource_already_exists_exception":
                raise

    def bulk_upsert(self, documents: Sequence[Document]) -> BulkResult:
        """Index by id; a document that cannot be versioned fails alone and the rest are written."""
        result = BulkResult()
        actions = []
        for doc in documents:
            try:
                actions.append(self._index_action(doc))
            except (KeyError, TypeError, ValueError) as exc:
                result.failed.append((str(doc.get("id") or ""), f"{type(exc).__name__}: {exc}"))
        self._run_bulk(actions, result)
        return result

    def _index_action(self, doc: Document) -> dict[str, Any]:
        doc_id = doc.get("id")
        if not isinstance(doc_id, str) or not doc_id:
            raise ValueError("document has no string id")
        return {
            "_op_type": "index",
            "_index": self._address,
            "_id": doc_id,
            "version": epoch_micros(doc.get(self._schema.version_field)),
            "version_type": "external_gte",
            "_source": doc,
        }

    def delete(self, ids: Sequence[str]) -> BulkResult:
        """Delete by id; an id that is already absent counts as written (the outcome holds)."""
        result = BulkResult()
        self._run_bulk([{"_op_type": "delete", "_index": self._address, "_id": i} for i in ids], result)
        return result

    def _run_bulk(self, actions: Iterable[dict[str, Any]], result: BulkResult) -> None:
        """Send actions in chunks and record every item's outcome; transport errors raise."""
        with _unavailable_on_transport_error():
            for ok, item in streaming_bulk(self._client, actions, raise_on_error=False, max_retries=3):
                op, info = next(iter(item.items()))
                if ok or (op == "delete" and info.get("status") == 404):
                    result.written += 1
                elif info.get("status") == 409:
                    result.stale += 1
                else:
                    result.failed.append((str(info.get("_id")), _reason(info)))
        for doc_id, reason in result.failed[:LOGGED_FAILURES]:
            log.warning("bulk write to %s failed for %s: %s", self._address, doc_id, reason)

    def get(self, doc_id: str) -> Document | None:
        with _unavailable_on_transport_error():
            resp = self._client.options(ignore_status=404).get(index=self._address, id=doc_id)
        if _error_type(resp.body) == "index_not_found_exception":
            raise BackendUnavailable(f"Elasticsearch has no index {self._address!r}; run ensure_index")
        return resp.get("_source") if resp.get("found") else None

    def search(self, query: SearchQuery) -> SearchResult:
        """Exact text first; with `spelling`, unknown words replaced; with `fuzzy`, a query that
        matches nothing is retried with near spellings."""
        result = self._search(query, fuzzy=False)
        if result.total == 0 and query.spelling and _has_text(query):
            corrections = self._corrections(query)
            corrected = self._search(query, fuzzy=False, corrections=corrections) if corrections else None
            # A correction that finds nothing would only say "did you mean" about an empty page.
            result = corrected if corrected is not None and corrected.total else result
        if result.total == 0 and query.fuzzy and fuzzy_words(query.text):
            result = self._search(query, fuzzy=True)
        return result

    def _corrections(self, query: SearchQuery) -> dict[str, str]:
        """Each typed word to correct (`vocabulary.words_to_correct`) -> the nearest index term
        (fewest edits within the AUTO limit of its stem, sharing its first letter; then the term
        in most documents); empty when there is nothing to correct or some word has no near term
        (as the embedded adapter)."""
        read = vocabulary.read_text(query.text or "", query.buyer_terms)
        fields = self._schema.text_fields
        with _unavailable_on_transport_error():
            counts = self._client.msearch(
                searches=[line for w in read.words for line in ({"index": self._address}, _word_count(fields, w))]
            )["responses"]
            held = {w: r["hits"]["total"]["value"] > 0 for w, r in zip(read.words, counts, strict=True)}
            unknown = vocabulary.words_to_correct(read, held.__getitem__)
            if not unknown:
                return {}
            suggest = {
                f"{i}-{field}": {"text": vocabulary.protect(w), "term": {
                    "field": field, "suggest_mode": "always", "max_edits": 2, "prefix_length": 1, "size": 50,
                    "min_word_length": 3, "string_distance": "damerau_levenshtein"}}
                for i, w in enumerate(unknown) for field in fields
            }  # fmt: skip
            resp = self._client.search(index=self._address, size=0, suggest=suggest)
        corrections = {}
        for i, word in enumerate(unknown):
            best = _best_correction([entry for f in fields for entry in resp["suggest"][f"{i}-{f}"]])
            if best is None:
                return {}
            corrections[word] = best
        return corrections

    def _search(self, query: SearchQuery, fuzzy: bool, corrections: Mapping[str, str] | None = None) -> SearchResult:
        """Filters go in `post_filter` so that each facet's aggregation can leave its own out."""
        if query.offset < 0 or query.limit < 0:
            raise ValueError("offset and limit must not be negative")
        sort = effective_sort(query)
        search_after = _search_after(query, sort)
        with _unavailable_on_transport_error():
            resp = self._client.search(
                index=self._address,
                query=build_query(self._schema, query, fuzzy=fuzzy, with_filters=False, corrections=corrections),
                post_filter=_all_filters(self._schema, query.filters),
                sort=build_sort(self._schema, query),
                aggs=build_facets(self._schema, query) or None,
                highlight=_highlight(self._schema) if query.highlight and _has_text(query) else None,
                search_after=search_after,
                from_=query.offset if search_after is None else None,
                size=query.limit,
                track_total_hits=True,
            )
        raw_hits = resp["hits"]["hits"]
        full = 0 < query.limit == len(raw_hits)
        return SearchResult(
            total=resp["hits"]["total"]["value"],
            hits=[self._hit(raw, query) for raw in raw_hits],
            facets=_facet_buckets(resp.get("aggregations", {})),
            next_cursor=encode_cursor(sort, raw_hits[-1]["sort"]) if full else None,
            fuzzy=fuzzy,
            corrections=dict(corrections or {}),
        )

    def scan(self, query: SearchQuery, page_size: int = 500) -> Iterator[Hit]:
        """Page through a point in time with `search_after`, so every page sees the same data."""
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        plain = SearchQuery(text=query.text, filters=query.filters, near=query.near, sort=query.sort,
                            fuzzy=query.fuzzy, buyer_terms=query.buyer_terms, spelling=query.spelling)  # fmt: skip
        first = self.search(plain) if query.fuzzy or query.spelling else None
        fuzzy = first is not None and first.fuzzy
        corrections = {} if first is None else dict(first.corrections)
        with _unavailable_on_transport_error():
            pit = self._client.open_point_in_time(index=self._address, keep_alive=SCAN_KEEP_ALIVE)["id"]
        try:
            yield from self._scan_pages(plain, fuzzy, pit, page_size, corrections)
        finally:
            with _unavailable_on_transport_error():
                self._client.close_point_in_time(id=pit)

    def _scan_pages(
        self, query: SearchQuery, fuzzy: bool, pit: str, page_size: int, corrections: dict[str, str]
    ) -> Iterator[Hit]:
        after: list[Any] | None = None
        while True:
            with _unavailable_on_transport_error():
                resp = self._client.search(
                    pit={"id": pit, "keep_alive": SCAN_KEEP_ALIVE},
                    query=build_query(self._schema, query, fuzzy=fuzzy, corrections=corrections),
                    sort=build_sort(self._schema, query),
                    search_after=after,
                    size=page_size,
                    track_total_hits=False,
                )
            raw_hits = resp["hits"]["hits"]
            yield from (self._hit(raw, query) for raw in raw_hits)
            if len(raw_hits) < page_size:
                return
            pit, after = resp.get("pit_id", pit), raw_hits[-1]["sort"]

    def suggest(self, prefix: str, limit: int = 10) -> list[Suggestion]:
        """Names by `match_bool_prefix` on the unstemmed sub-field; keyword values from a terms
        aggregation filtered here, case-insensitively (terms `include` is case-sensitive)."""
        if not prefix.strip() or limit < 1:
            return []
        schema = self._schema
        completion = {"query": prefix, "operator": "and"}
        name_query = {"match_bool_prefix": {es_mapping.suggest_field_path(schema): completion}}
        order = [{"_count": "desc"}, {"_key": "asc"}]
        aggs = {f: {"terms": {"field": f, "size": FACET_SIZE, "order": order}} for f in schema.suggest_keyword_fields}
        with _unavailable_on_transport_error():
            # Aggregations see the query's documents, not the post filter's: values come from every
            # listing while the hits are the matching names, still ranked by the name query.
            resp = self._client.search(
                index=self._address, query={"bool": {"must": {"match_all": {}}, "should": [name_query]}},
                post_filter=name_query, aggs=aggs, size=limit,
                source_includes=[es_mapping.ID_FIELD, schema.suggest_field],
                sort=[{"_score": {"order": "desc"}}, {es_mapping.ID_FIELD: {"order": "asc"}}],
            )  # fmt: skip
        names = [
            Suggestion(text=str(raw["_source"].get(schema.suggest_field)), field="name", count=1, id=raw["_id"])
            for raw in resp["hits"]["hits"]
        ]
        wanted = prefix.strip().casefold()
        values = [
            Suggestion(text=str(b["key"]), field=name, count=int(b["doc_count"]))  # type: ignore[arg-type]
            for name, agg in resp["aggregations"].items()
            for b in agg["buckets"]
            if str(b["key"]).casefold().startswith(wanted)
        ]
        values.sort(key=lambda v: (-v.count, v.text))
        return (names + values)[:limit]

    def _hit(self, raw: Mapping[str, Any], query: SearchQuery) -> Hit:
        doc, near = raw["_source"], query.near
        point = doc.get(self._schema.geo_field)
        distance = None
        if near is not None and point:
            # Computed with the project's one great-circle formula rather than read from the sort
            # values, so that every sort order reports distances and both backends agree.
            distance = distance_km((near.lat, near.lon), (point["lat"], point["lon"]))
        highlights = None
        if query.highlight:
            highlights = {field: fragments[0] for field, fragments in raw.get("highlight", {}).items() if fragments}
        return Hit(id=raw["_id"], score=raw.get("_score"), distance_km=distance, document=doc, highlights=highlights)

    def count(self, query: SearchQuery | None = None) -> int:
        body = build_query(self._schema, query or SearchQuery())
        with _unavailable_on_transport_error():
            return int(self._client.count(index=self._address, query=body)["count"])

    def refresh(self) -> None:
        with _unavailable_on_transport_error():
            self._client.indices.refresh(index=self._address)

    def ping(self) -> bool:
        try:
            return bool(self._client.indices.exists_alias(name=self._alias))
        except TransportError:
            return False

    def drop(self) -> None:
        """Delete every index behind the alias (which removes the alias), every generation of this
        version and the rebuild lock."""
        with _unavailable_on_transport_error():
            names = {self._index, self._lock_index, *self.generations(), *self._behind_alias()}
            self._client.indices.delete(index=",".join(sorted(names)), ignore_unavailable=True)

    def close(self) -> None:
        self._client.close()

    # -- generations ---------------------------------------------------------------------------

    @property
    def generation(self) -> str:
        if self._address != self._alias:
            return self._address
        behind = self._behind_alias()
        return behind[0] if behind else self._index

    def _behind_alias(self) -> list[str]:
        with _unavailable_on_transport_error():
            if not self._client.indices.exists_alias(name=self._alias):
                return []
            return sorted(self._client.indices.get_alias(name=self._alias))

    def generations(self) -> list[str]:
        """Concrete indices `<alias>-v<version>` and `<alias>-v<version>-<stamp>`, oldest first."""
        with _unavailable_on_transport_error():
            found = self._client.indices.get(index=f"{self._index}*", allow_no_indices=True, ignore_unavailable=True)
        return sorted(name for name in found if self._generation_name.match(name))

    def build_generation(self) -> ElasticsearchIndex:
        """A new concrete index named by the time, and an adapter that reads and writes only it."""
        name = f"{self._index}-{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}"
        with _unavailable_on_transport_error():
            self._create_index(name)
        return ElasticsearchIndex(self._url, self._schema, self._prefix, target=name)

    def switch_to(self, generation: str, finish: Callable[[], object] | None = None) -> bool:
        """`finish`, then one `POST /_aliases` that removes the alias from every index it names and
        adds it to `generation`: Elasticsearch applies the actions atomically, so no search or
        write through the alias ever finds it missing or on two indices."""
        if not self._generation_name.match(generation):
            raise ValueError(f"{generation!r} is not a generation of {self._alias}")
        if finish is not None:
            finish()
        actions: list[dict[str, Any]] = [
            {"remove": {"index": name, "alias": self._alias}} for name in self._behind_alias() if name != generation
        ]
        actions.append({"add": {"index": generation, "alias": self._alias}})
        with _unavailable_on_transport_error():
            self._client.indices.update_aliases(actions=actions)
        return False

    def drop_generations(self, generations: Sequence[str]) -> None:
        live = set(self._behind_alias())
        if live & set(generations):
            raise ValueError(f"{sorted(live & set(generations))} is live; switch before dropping it")
        strangers = [g for g in generations if not self._generation_name.match(g)]
        if strangers:
            raise ValueError(f"{strangers} are not generations of {self._alias}")
        if generations:
            with _unavailable_on_transport_error():
                self._client.indices.delete(index=",".join(generations), ignore_unavailable=True)

    @property
    def _lock_index(self) -> str:
        return f"{self._alias}-rebuild-lock"

    def rebuild_lock(self, holder: str) -> AbstractContextManager[None]:
        """A lease document created with `op_type=create` and renewed while the rebuild runs."""
        return Lease(self._client, self._lock_index, holder).held()


def build_query(
    schema: IndexSchema, query: SearchQuery, fuzzy: bool = False, with_filters: bool = True,
    corrections: Mapping[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The bool query: text must match, filters and the radius only narrow (no scoring).

    `with_filters=False` leaves the keyword filters out, for `search`, which applies them as a
    post filter so that disjunctive facets can count without each one's own filter.
    `corrections` replaces typed words by index terms (spelling).
    """
    must: list[dict[str, Any]] = []
    should: list[dict[str, Any]] = []
    if _has_text(query):
        text = query.text or ""
        if fuzzy:
            must.extend(_fuzzy_clauses(schema, text))
        elif query.buyer_terms or corrections:
            clauses = _buyer_clauses(schema, text, query.buyer_terms, corrections or {})
            any_of = {"bool": {"should": clauses, "minimum_should_match": 1}}
            must.extend([any_of] if query.any_word and clauses else clauses)
            phrases = vocabulary.read_text(text, True).phrases if query.buyer_terms and not corrections else []
            should.extend(_text_clause(schema, " ".join(words), "phrase", weight) for words, weight in phrases)
        else:
            must.append(_text_clause(schema, text, operator="or" if query.any_word else "and"))
    filters = [_filter_clause(schema, name, values) for name, values in query.filters.items()] if with_filters else []
    if query.near is not None and query.near.radius_km is not None:
        filters.append(_radius_clause(schema, query.near))
    body: dict[str, Any] = {"must": must or [{"match_all": {}}], "filter": filters}
    if should:
        body["should"] = should
    return {"bool": body}


def _buyer_clauses(
    schema: IndexSchema, text: str, buyer_terms: bool, corrections: Mapping[str, str]
) -> list[dict[str, Any]]:
    """One clause per `vocabulary` clause: any alternative, each with all its words in some field
    (a synonym of several words: near each other in one field, `vocabulary.held_together`).
    A corrected word is an index term already, so it is matched as a term, not analysed again."""
    fields = list(schema.text_fields)
    clauses = []
    for clause in vocabulary.read_text(text, buyer_terms).clauses:
        options = []
        for alternative in clause.alternatives:
            kept = [w for w in alternative if w not in corrections]
            if vocabulary.held_together(clause, alternative) and len(kept) == len(alternative):
                # The words near each other in one field, the last as a prefix (embedded: FTS5
                # NEAR); slop counts moves, and two words the other way round cost two.
                together = _text_clause(schema, " ".join(kept), kind="phrase_prefix", boost=clause.weight(alternative))
                together["multi_match"]["slop"] = vocabulary.NEAR_DISTANCE + 2
                options.append(together)
                continue
            parts = [_text_clause(schema, " ".join(kept), boost=clause.weight(alternative))] if kept else []
            parts += [{"bool": {"should": [{"term": {f: corrections[w]}} for f in fields], "minimum_should_match": 1}}
                      for w in alternative if w in corrections]  # fmt: skip
            options.append(parts[0] if len(parts) == 1 else {"bool": {"must": parts}})
        clauses.append(options[0] if len(options) == 1 else {"bool": {"should": options, "minimum_should_match": 1}})
    return clauses


def _word_count(fields: Sequence[str], word: str) -> dict[str, Any]:
    """A search body counting the documents that hold `word` in some text field."""
    match = {"multi_match": {"query": word, "fields": list(fields), "type": "best_fields"}}
    return {"query": match, "size": 0, "track_total_hits": True}


def _best_correction(entries: Sequence[Mapping[str, Any]]) -> str | None:
    """The term suggester's options for one word over every text field: fewest edits (within the
    AUTO limit of the analysed word), then most documents, then alphabetical."""
    frequencies: dict[str, int] = {}
    stem = ""
    for entry in entries:
        stem = entry["text"]
        for option in entry["options"]:
            frequencies[option["text"]] = frequencies.get(option["text"], 0) + int(option["freq"])
    limit = vocabulary.allowed_edits(stem)
    ranked = sorted(
        (OSA.distance(stem, term), -freq, term)
        for term, freq in frequencies.items()
        if term[:1] == stem[:1] and term != stem and term not in ENGLISH_STOP_WORDS
    )
    return next((term for edits, _, term in ranked if 0 < edits <= limit), None)


def _all_filters(
    schema: IndexSchema, filters: Mapping[str, Sequence[str]], leave_out: str | None = None
) -> dict[str, Any]:
    """Every keyword filter but the ones on field `leave_out`, as one bool filter."""
    clauses = [
        _filter_clause(schema, name, values)
        for name, values in filters.items()
        if leave_out is None or (schema.prefix_field(name) or name) != leave_out
    ]
    return {"bool": {"filter": clauses}}


def _has_text(query: SearchQuery) -> bool:
    return bool(query.text and query.text.strip())


def _text_clause(
    schema: IndexSchema, text: str, kind: str = "cross_fields", boost: float = 1.0, operator: str = "and"
) -> dict[str, Any]:
    """cross_fields + and: every analysed word must occur in some field; nothing is parsed as syntax.
    `operator="or"` (`SearchQuery.any_word`): any word will do, scores summed over those present.
    `kind="phrase"`: the words next to each other in one field (a `should` that only scores).

    Text that analyses to no word at all (only stop words or punctuation) matches nothing, as in
    the embedded adapter (`zero_terms_query` keeps its default, `none`).
    """
    fields = [f"{f}^{b}" for f, b in zip(schema.text_fields, schema.text_boosts, strict=True)]
    clause: dict[str, Any] = {"query": text, "fields": fields, "type": kind}
    if not kind.startswith("phrase"):
        clause["operator"] = operator
    if boost != 1.0:
        clause["boost"] = boost
    return {"multi_match": clause}


def fuzzy_words(text: str | None) -> list[str]:
    """The words a typo-tolerant retry looks for: stop words and punctuation dropped, as the
    analyzer drops them, so that a text of stop words never widens to everything."""
    return [w for w in dict.fromkeys(_WORD.findall((text or "").lower())) if w not in ENGLISH_STOP_WORDS]


def _fuzzy_clauses(schema: IndexSchema, text: str) -> list[dict[str, Any]]:
    """One clause per word: it must occur, within AUTO edits sharing its first letter, in some field.

    `cross_fields` refuses fuzziness, hence one `best_fields` match per word instead.
    """
    fields = [f"{f}^{b}" for f, b in zip(schema.text_fields, schema.text_boosts, strict=True)]
    return [
        {"multi_match": {"query": w, "fields": fields, "type": "best_fields", "fuzziness": "AUTO", "prefix_length": 1}}
        for w in fuzzy_words(text)
    ]


def _highlight(schema: IndexSchema) -> dict[str, Any]:
    """One best fragment per matching text field, matches between the port's marker characters."""
    return {
        "fields": {field: {} for field in schema.text_fields},
        "pre_tags": [HIGHLIGHT_START],
        "post_tags": [HIGHLIGHT_END],
        "number_of_fragments": 1,
        "fragment_size": FRAGMENT_CHARS,
    }


def _search_after(query: SearchQuery, sort: str) -> list[Any] | None:
    if query.cursor is None:
        return None
    if query.offset:
        raise ValueError("a cursor continues from its own position; offset must be 0")
    return decode_cursor(query.cursor, sort)


def _filter_clause(schema: IndexSchema, name: str, values: Sequence[str] | str) -> dict[str, Any]:
    """OR within a filter's values: `terms` for keywords, a `should` of prefixes for prefix filters.

    A bare string is one value; an empty list is an OR of nothing and matches nothing.
    """
    if name not in schema.filter_names:
        raise ValueError(f"unknown filter {name!r}; known: {', '.join(sorted(schema.filter_names))}")
    values = [values] if isinstance(values, str) else list(values)
    if not values:
        return {"match_none": {}}
    prefix_field = schema.prefix_field(name)
    if prefix_field is not None:
        prefixes = [{"prefix": {prefix_field: v}} for v in values]
        return {"bool": {"should": prefixes, "minimum_should_match": 1}}
    return {"terms": {name: values}}


def _radius_clause(schema: IndexSchema, near: Near) -> dict[str, Any]:
    """Great-circle radius; documents without a point never match."""
    return {
        "geo_distance": {
            "distance": f"{near.radius_km}km",
            "distance_type": "arc",
            schema.geo_field: {"lat": near.lat, "lon": near.lon},
        }
    }


def build_sort(schema: IndexSchema, query: SearchQuery) -> list[dict[str, Any]]:
    """Resolve the requested order, always ending with `id` so that pages are stable.

    Without text there is no relevance to sort by: use distance when a point is given, else name.
    """
    tie_break = {es_mapping.ID_FIELD: {"order": "asc"}}
    sort = effective_sort(query)
    if sort == "relevance":
        return [{"_score": {"order": "desc"}}, tie_break]
    if sort == "distance" and query.near is not None:
        return [_distance_sort(schema, query.near), tie_break]
    return [{es_mapping.sort_field_path(schema): {"order": "asc"}}, tie_break]


def _distance_sort(schema: IndexSchema, near: Near) -> dict[str, Any]:
    """Nearest first in km; documents without a point sort as infinitely far, i.e. last."""
    return {
        "_geo_distance": {
            schema.geo_field: {"lat": near.lat, "lon": near.lon},
            "order": "asc",
            "unit": "km",
            "distance_type": "arc",
        }
    }


def build_facets(schema: IndexSchema, query: SearchQuery) -> dict[str, Any]:
    """Per facet, a filter aggregation with every filter but the facet's own around a terms
    aggregation (disjunctive facets); values most frequent first, ties by value."""
    unknown = [f for f in query.facets if f not in schema.keyword_fields]
    if unknown:
        raise ValueError(f"cannot facet on {unknown}; keyword fields: {', '.join(schema.keyword_fields)}")
    order = [{"_count": "desc"}, {"_key": "asc"}]
    return {
        f: {
            "filter": _all_filters(schema, query.filters, leave_out=f),
            "aggs": {"values": {"terms": {"field": f, "size": FACET_SIZE, "order": order}}},
        }
        for f in query.facets
    }


def _facet_buckets(aggregations: Mapping[str, Any]) -> dict[str, list[FacetBucket]]:
    return {
        name: [FacetBucket(value=str(b["key"]), count=int(b["doc_count"])) for b in agg["values"]["buckets"]]
        for name, agg in aggregations.items()
    }


def epoch_micros(value: object) -> int:
    """An ISO timestamp as whole epoch microseconds, the external version Elasticsearch compares.

    Microseconds, the finest unit an ISO timestamp carries here, so that two updates a fraction
    of a millisecond apart still order as they do in the embedded adapter. Integer arithmetic
    avoids float rounding; naive timestamps are read as UTC, as the `Listing` model does.
    """
    if not isinstance(value, str):
        raise ValueError(f"version field must be an ISO timestamp, got {value!r}")
    stamp = datetime.fromisoformat(value)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return (stamp - EPOCH) // timedelta(microseconds=1)


def _reason(info: Mapping[str, Any]) -> str:
    error = info.get("error")
    if isinstance(error, Mapping):
        return f"{error.get('type')}: {error.get('reason')}"
    return str(error or f"status {info.get('status')}")


def _error_type(body: object) -> str | None:
    error = body.get("error") if isinstance(body, Mapping) else None
    return str(error.get("type")) if isinstance(error, Mapping) else None


@contextmanager
def _unavailable_on_transport_error() -> Iterator[None]:
    """Connection failures, timeouts and a missing index (not created yet, or dropped by a
    rebuild) are the caller's "try later", not a bug."""
    try:
        yield
    except TransportError as exc:
        raise BackendUnavailable(f"Elasticsearch is unavailable: {exc}") from exc
    except NotFoundError as exc:
        if exc.error != "index_not_found_exception":
            raise
        raise BackendUnavailable(f"Elasticsearch index is missing: {exc}") from exc
