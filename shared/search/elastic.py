"""`SearchIndex` on Elasticsearch 8 through the official client.

Services address the alias; the concrete index is versioned (see `es_mapping`). "Newest
`updated_at` wins" is enforced by Elasticsearch itself with external versioning: each write
carries `updated_at` as epoch microseconds with `version_type=external_gte`, so an older write
is rejected with 409 (counted as stale) even when two consumers race, and replaying the same
write is accepted (idempotent).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from elastic_transport import TransportError
from elasticsearch import BadRequestError, Elasticsearch
from elasticsearch.helpers import streaming_bulk

from shared.errors import BackendUnavailable
from shared.geo import distance_km
from shared.search import es_mapping
from shared.search.port import (
    BulkResult,
    Document,
    FacetBucket,
    Hit,
    Near,
    SearchQuery,
    SearchResult,
)
from shared.search.schema import IndexSchema

log = logging.getLogger(__name__)

# Facets list every value a filtered result set has, as the embedded adapter does; 1000 is far
# above the number of regions, categories or CPV codes one result page can usefully show.
FACET_SIZE = 1000
# How many failed bulk items to log in full; the rest are only counted.
LOGGED_FAILURES = 5
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ElasticsearchIndex:
    """One schema's index on an Elasticsearch cluster, reached through `prefix + schema.name`."""

    def __init__(self, url: str, schema: IndexSchema, prefix: str = "") -> None:
        # The client connects lazily, so constructing the adapter never touches the network.
        self._client = Elasticsearch(url, request_timeout=30, max_retries=2, retry_on_timeout=True)
        self._schema = schema
        self._alias = es_mapping.alias_name(schema, prefix)
        self._index = es_mapping.index_name(schema, prefix)

    def ensure_index(self) -> None:
        """Create this version's index, then point the alias at it unless the alias already exists.

        An alias on an older version is left alone: moving it is a rebuild (fill the new index,
        then swap), not something every process should do on start-up.
        """
        with _unavailable_on_transport_error():
            self._create_index()
            if not self._client.indices.exists_alias(name=self._alias):
                self._client.indices.put_alias(index=self._index, name=self._alias)

    def _create_index(self) -> None:
        """Create the concrete index; losing the race to another process is success."""
        try:
            self._client.indices.create(
                index=self._index,
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
            "_index": self._alias,
            "_id": doc_id,
            "version": epoch_micros(doc.get(self._schema.version_field)),
            "version_type": "external_gte",
            "_source": doc,
        }

    def delete(self, ids: Sequence[str]) -> BulkResult:
        """Delete by id; an id that is already absent counts as written (the outcome holds)."""
        result = BulkResult()
        self._run_bulk([{"_op_type": "delete", "_index": self._alias, "_id": i} for i in ids], result)
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
            log.warning("bulk write to %s failed for %s: %s", self._alias, doc_id, reason)

    def get(self, doc_id: str) -> Document | None:
        with _unavailable_on_transport_error():
            resp = self._client.options(ignore_status=404).get(index=self._alias, id=doc_id)
        return resp.get("_source") if resp.get("found") else None

    def search(self, query: SearchQuery) -> SearchResult:
        if query.offset < 0 or query.limit < 0:
            raise ValueError("offset and limit must not be negative")
        with _unavailable_on_transport_error():
            resp = self._client.search(
                index=self._alias,
                query=build_query(self._schema, query),
                sort=build_sort(self._schema, query),
                aggs=build_facets(self._schema, query.facets) or None,
                from_=query.offset,
                size=query.limit,
                track_total_hits=True,
            )
        return SearchResult(
            total=resp["hits"]["total"]["value"],
            hits=[self._hit(raw, query.near) for raw in resp["hits"]["hits"]],
            facets=_facet_buckets(resp.get("aggregations", {})),
        )

    def _hit(self, raw: Mapping[str, Any], near: Near | None) -> Hit:
        doc = raw["_source"]
        point = doc.get(self._schema.geo_field)
        distance = None
        if near is not None and point:
            # Computed with the project's one great-circle formula rather than read from the sort
            # values, so that every sort order reports distances and both backends agree.
            distance = distance_km((near.lat, near.lon), (point["lat"], point["lon"]))
        return Hit(id=raw["_id"], score=raw.get("_score"), distance_km=distance, document=doc)

    def count(self, query: SearchQuery | None = None) -> int:
        body = build_query(self._schema, query or SearchQuery())
        with _unavailable_on_transport_error():
            return int(self._client.count(index=self._alias, query=body)["count"])

    def refresh(self) -> None:
        with _unavailable_on_transport_error():
            self._client.indices.refresh(index=self._alias)

    def ping(self) -> bool:
        try:
            return bool(self._client.indices.exists_alias(name=self._alias))
        except TransportError:
            return False

    def drop(self) -> None:
        """Delete every index behind the alias (which removes the alias) and this version's index."""
        with _unavailable_on_transport_error():
            names = {self._index}
            if self._client.indices.exists_alias(name=self._alias):
                names |= set(self._client.indices.get_alias(name=self._alias))
            self._client.indices.delete(index=",".join(sorted(names)), ignore_unavailable=True)

    def close(self) -> None:
        self._client.close()


def build_query(schema: IndexSchema, query: SearchQuery) -> dict[str, Any]:
    """The bool query: text must match, filters and the radius only narrow (no scoring)."""
    must: list[dict[str, Any]] = []
    if _has_text(query):
        must.append(_text_clause(schema, query.text or ""))
    filters = [_filter_clause(schema, name, values) for name, values in query.filters.items()]
    if query.near is not None and query.near.radius_km is not None:
        filters.append(_radius_clause(schema, query.near))
    return {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}


def _has_text(query: SearchQuery) -> bool:
    return bool(query.text and query.text.strip())


def _text_clause(schema: IndexSchema, text: str) -> dict[str, Any]:
    """cross_fields + and: every analysed word must occur in some field; nothing is parsed as syntax.

    Text that analyses to no word at all (only stop words or punctuation) matches nothing, as in
    the embedded adapter (`zero_terms_query` keeps its default, `none`).
    """
    return {
        "multi_match": {
            "query": text,
            "fields": [f"{f}^{b}" for f, b in zip(schema.text_fields, schema.text_boosts, strict=True)],
            "type": "cross_fields",
            "operator": "and",
        }
    }


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
    if query.sort == "relevance" and _has_text(query):
        return [{"_score": {"order": "desc"}}, tie_break]
    if query.sort == "distance" and query.near is None:
        raise ValueError("sort=distance needs a point (near)")
    if query.sort in ("relevance", "distance") and query.near is not None:
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


def build_facets(schema: IndexSchema, facets: Sequence[str]) -> dict[str, Any]:
    """One terms aggregation per facet, most frequent first, ties by value."""
    unknown = [f for f in facets if f not in schema.keyword_fields]
    if unknown:
        raise ValueError(f"cannot facet on {unknown}; keyword fields: {', '.join(schema.keyword_fields)}")
    order = [{"_count": "desc"}, {"_key": "asc"}]
    return {f: {"terms": {"field": f, "size": FACET_SIZE, "order": order}} for f in facets}


def _facet_buckets(aggregations: Mapping[str, Any]) -> dict[str, list[FacetBucket]]:
    return {
        name: [FacetBucket(value=str(b["key"]), count=int(b["doc_count"])) for b in agg["buckets"]]
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


@contextmanager
def _unavailable_on_transport_error() -> Iterator[None]:
    """Connection failures and timeouts are the caller's "try later", not a bug."""
    try:
        yield
    except TransportError as exc:
        raise BackendUnavailable(f"Elasticsearch is unavailable: {exc}") from exc
