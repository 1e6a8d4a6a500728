"""Filter values checked against what they can be, so a mistyped one is a 400 naming it rather
than a silent empty answer.

Closed lists (legal forms, sizes, social impacts, regions, CPV codes) are checked here; the
open ones (categories, certifications) against the values listings in the index hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from services.directory.labels import FACET_TITLES, LEGAL_FORMS, SIZE_BANDS
from shared import cpv
from shared.errors import FieldError
from shared.geo import default_gazetteer
from shared.models import IMPACT_AREAS, REGISTERS
from shared.search.port import SearchIndex, SearchQuery

if TYPE_CHECKING:
    from services.directory.search_params import SearchParams

# Filters whose values are whatever listings hold: parameter -> index field.
OPEN_FILTERS = {"category": "categories", "certification": "certifications"}


def _known_cpv_prefix(code: str) -> bool:
    return code.isdigit() and len(code) <= 8 and cpv.has_prefix(code)


@lru_cache(maxsize=1)
def _closed() -> dict[str, Callable[[str], bool]]:
    """Built once per process: the lists are reference data that never change while it runs."""
    regions = set(default_gazetteer().regions())
    return {
        "legal_form": LEGAL_FORMS.__contains__,
        "size_band": SIZE_BANDS.__contains__,
        "impact_area": set(IMPACT_AREAS).__contains__,
        "region": regions.__contains__,
        "cpv": _known_cpv_prefix,
        "verified_by": REGISTERS.__contains__,
    }


def filter_value_errors(params: SearchParams) -> list[FieldError]:
    """An error for each closed-list filter given a value it cannot have."""
    errors = []
    for name, allowed in _closed().items():
        unknown = [v for v in getattr(params, name) if not allowed(v)]
        if unknown:
            errors.append(FieldError(name, _message(name, unknown)))
    return errors


def open_filter_errors(index: SearchIndex, params: SearchParams) -> list[FieldError]:
    """An error for each category or certification that no listing in the index holds."""
    asked = {name: getattr(params, name) for name in OPEN_FILTERS if getattr(params, name)}
    if not asked:
        return []
    held = index.search(SearchQuery(facets=[OPEN_FILTERS[name] for name in asked], limit=0)).facets
    errors = []
    for name, values in asked.items():
        known = {b.value for b in held.get(OPEN_FILTERS[name], [])}
        unknown = [v for v in values if v not in known]
        if unknown:
            errors.append(FieldError(name, _message(name, unknown)))
    return errors


def _message(name: str, unknown: Sequence[str]) -> str:
    title = FACET_TITLES[name].lower()
    return f"No listing has the {title} {_quoted(unknown)}; choose one from the list"


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(f"‘{v}’" for v in values)
