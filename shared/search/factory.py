"""Pick the search adapter from `SEARCH_URL`: `sqlite:///path` (embedded) or `http(s)://` (Elasticsearch)."""

from __future__ import annotations

from urllib.parse import urlparse

from shared.search.port import SearchIndex
from shared.search.schema import LISTINGS_SCHEMA, IndexSchema


def open_search_index(url: str, schema: IndexSchema = LISTINGS_SCHEMA, prefix: str = "") -> SearchIndex:
    """Open (without creating) the index `prefix + schema.name` on the backend named by `url`."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        from shared.search.embedded_alias import EmbeddedAliasIndex

        return EmbeddedAliasIndex(sqlite_path(url), schema, prefix)
    if scheme in ("http", "https"):
        from shared.search.elastic import ElasticsearchIndex

        return ElasticsearchIndex(url, schema, prefix)
    raise ValueError(f"SEARCH_URL scheme {scheme!r} is not supported; use sqlite:/// or http(s)://")


def sqlite_path(url: str) -> str:
    """`sqlite:///relative.db` and `sqlite:////abs/path.db`, as SQLAlchemy spells them."""
    path = url.split("sqlite:///", 1)[1] if url.startswith("sqlite:///") else ""
    if not path:
        raise ValueError(f"{url!r} names no file; use sqlite:///path/to/file.db")
    return path
