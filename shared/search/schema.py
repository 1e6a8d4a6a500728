"""The listings index declared once; both adapters derive their storage from it.

Changing a field here is a mapping change: bump `LISTINGS_SCHEMA.version` so that the
Elasticsearch adapter builds a new versioned index and the embedded adapter new tables.
"""

from __future__ import annotations

from dataclasses import dataclass

# Lucene's English stop set (`_english_`), used by the Elasticsearch analyzer and stripped from
# embedded queries so that both backends agree on which words are ignored.
ENGLISH_STOP_WORDS: frozenset[str] = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no",
     "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to",
     "was", "will", "with"]
)  # fmt: skip


@dataclass(frozen=True)
class IndexSchema:
    """What an index stores and how each field may be queried.

    text_fields: full-text searched with English stemming, weighted by `text_boosts`.
    keyword_fields: exact-match filters and facets (lists allowed: any value matches).
    prefix_fields: filter name -> keyword field matched by prefix (CPV hierarchy: `909` matches
        `90910000`).
    geo_field: a {lat, lon} object used for radius filters and distance sort.
    sort_field: the keyword used for `sort=name` (lower-cased by the adapters).
    version_field: an ISO timestamp; a write older than the stored one is ignored.
    suggest_field: the text field completed as a user types (word prefixes, no stemming).
    suggest_keyword_fields: keyword fields whose values are completed too.
    """

    name: str
    version: int
    text_fields: tuple[str, ...]
    text_boosts: tuple[float, ...]
    keyword_fields: tuple[str, ...]
    prefix_fields: tuple[tuple[str, str], ...]
    geo_field: str
    sort_field: str
    version_field: str
    suggest_field: str
    suggest_keyword_fields: tuple[str, ...]

    @property
    def filter_names(self) -> frozenset[str]:
        return frozenset(self.keyword_fields) | {name for name, _ in self.prefix_fields}

    def prefix_field(self, name: str) -> str | None:
        return dict(self.prefix_fields).get(name)


LISTINGS_SCHEMA = IndexSchema(
    name="listings",
    # 2: `name.suggest` (completion) and, in the embedded adapter, the change log and names table.
    # 3: embedded adapter: the `_geo` R*Tree holds the points, `_docs` each document's token count.
    # 4: protected acronyms ("IT", "SEND") indexed as their own tokens (`vocabulary`).
    # 5: `org_ids` (find an organisation by its registry identifier) and `verified_by` (keep the
    #    organisations an official register lists).
    # 6: `member_ids` (a merged record's id finds the listing it was folded into); Elasticsearch:
    #    possessives' "'s" removed before stemming, as the embedded index's tokenizer does.
    version=6,
    text_fields=("name", "description", "services"),
    text_boosts=(3.0, 1.0, 2.0),
    keyword_fields=(
        "region",
        "categories",
        "legal_form",
        "impact_areas",
        "certifications",
        "size_band",
        "source",
        "cpv_codes",
        "org_ids",
        "verified_by",
        "member_ids",
    ),
    prefix_fields=(("cpv", "cpv_codes"),),
    geo_field="location",
    sort_field="name",
    version_field="updated_at",
    suggest_field="name",
    suggest_keyword_fields=("categories", "region"),
)
