"""Free-text legal forms ("Community Interest Company Limited by Guarantee", "CIO", "Industrial
and provident society") to the fixed `LegalForm` vocabulary buyers filter on.

First match wins, most specific first: a CIC limited by guarantee is a CIC; a charitable company
limited by guarantee is a charity. Unknown text is `other`, never an error: the form is a
filter, and a wrong guess would put a supplier under a filter it does not meet.
"""

from __future__ import annotations

import re

from shared.models import LegalForm

_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), form)
    for pattern, form in (
        (r"community interest company|^\s*cic\s*$", "cic"),
        (r"society|industrial and provident|\bcbs\b|co-?operative", "cooperative"),
        (r"charit|\btrust\b|^\s*cio\s*$|^\s*scio\s*$", "charity"),
        (r"limited by guarantee|\bclg\b", "company_limited_by_guarantee"),
    )
)
_VOCABULARY = frozenset(form.value for form in LegalForm)


def legal_form_from_text(value: str) -> str:
    """The `LegalForm` value for a free-text legal form; values already in the vocabulary pass."""
    cleaned = value.strip()
    if cleaned.lower() in _VOCABULARY:
        return cleaned.lower()
    return next((form for pattern, form in _RULES if pattern.search(cleaned)), "other")
