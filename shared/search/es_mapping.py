"""Elasticsearch settings and mappings generated from an `IndexSchema` (mappings as code).

The analyzer mirrors the embedded adapter's text pipeline (protected acronyms rewritten to their
own tokens by `pattern_replace` character filters, standard tokenizer, a possessive's "'s"
removed, lower case, ASCII folding, the explicit `ENGLISH_STOP_WORDS` list, Porter stemming) so
that both backends match the same words. Synonyms are not in the mapping: `vocabulary.read_text`
expands them at query time for both backends, so the list changes without re-indexing and the
backends cannot disagree.
The concrete index carries the schema version in its name and `_meta`;
services only ever address the alias, so a new version can be built beside the old one and
swapped in one call.
"""

from __future__ import annotations

from typing import Any

from shared.search import vocabulary
from shared.search.schema import ENGLISH_STOP_WORDS, IndexSchema

TEXT_ANALYZER = "socialmatch_english"
STOP_FILTER = "socialmatch_english_stop"
POSSESSIVE_FILTER = "socialmatch_english_possessive"
SORT_NORMALIZER = "socialmatch_sort"
SORT_SUBFIELD = "sort"
SUGGEST_ANALYZER = "socialmatch_suggest"
SUGGEST_SUBFIELD = "suggest"
ACRONYM_FILTER = "socialmatch_acronym_{}"
# Every document carries its `id` as a keyword: ES 8 refuses to sort on `_id` by default, and
# pages need a unique tie-breaker.
ID_FIELD = "id"


def alias_name(schema: IndexSchema, prefix: str = "") -> str:
    """The stable name services read and write through."""
    return f"{prefix}{schema.name}"


def index_name(schema: IndexSchema, prefix: str = "") -> str:
    """The concrete index for this schema version; a version bump means a new index."""
    return f"{alias_name(schema, prefix)}-v{schema.version}"


def sort_field_path(schema: IndexSchema) -> str:
    """The lower-cased keyword sub-field used for `sort=name`."""
    return f"{schema.sort_field}.{SORT_SUBFIELD}"


def suggest_field_path(schema: IndexSchema) -> str:
    """The unstemmed text sub-field that `match_bool_prefix` completes names on."""
    return f"{schema.suggest_field}.{SUGGEST_SUBFIELD}"


def index_settings() -> dict[str, Any]:
    """Analysis settings shared by every index of the project."""
    acronyms = {
        ACRONYM_FILTER.format(i): {"type": "pattern_replace", "pattern": pattern, "replacement": replacement}
        for i, (pattern, replacement) in enumerate(vocabulary.protected_patterns())
    }
    return {
        "analysis": {
            "char_filter": acronyms,
            "filter": {STOP_FILTER: {"type": "stop", "stopwords": sorted(ENGLISH_STOP_WORDS)},
                       # The standard tokenizer keeps "women's" whole, where the embedded index reads
                       # "women" (and `vocabulary` drops the "'s" from queries): strip it first.
                       POSSESSIVE_FILTER: {"type": "stemmer", "language": "possessive_english"}},
            "analyzer": {
                TEXT_ANALYZER: {
                    "type": "custom",
                    "char_filter": list(acronyms),
                    "tokenizer": "standard",
                    "filter": [POSSESSIVE_FILTER, "lowercase", "asciifolding", STOP_FILTER, "porter_stem"],
                },
                # Completion matches what people type, so no stemming ("cleani" must reach
                # "cleaning") and no stop words ("the b" must reach "The Bike Mill").
                SUGGEST_ANALYZER: {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
            },
            "normalizer": {
                SORT_NORMALIZER: {"type": "custom", "filter": ["lowercase", "asciifolding"]},
            },
        }
    }


def index_mappings(schema: IndexSchema) -> dict[str, Any]:
    """Map only the queried fields; `dynamic: false` keeps stored-only fields out of the mapping."""
    properties: dict[str, dict[str, Any]] = {ID_FIELD: {"type": "keyword"}}
    properties.update({name: {"type": "keyword"} for name in schema.keyword_fields})
    properties.update({name: {"type": "text", "analyzer": TEXT_ANALYZER} for name in schema.text_fields})
    properties[schema.geo_field] = {"type": "geo_point"}
    properties[schema.version_field] = {"type": "date"}
    sort_base = properties.setdefault(schema.sort_field, {"type": "keyword"})
    sort_base["fields"] = {SORT_SUBFIELD: {"type": "keyword", "normalizer": SORT_NORMALIZER}}
    suggest_base = properties[schema.suggest_field]
    suggest_base.setdefault("fields", {})[SUGGEST_SUBFIELD] = {"type": "text", "analyzer": SUGGEST_ANALYZER}
    return {
        "dynamic": False,
        "_meta": {"schema": schema.name, "version": schema.version},
        "properties": properties,
    }
