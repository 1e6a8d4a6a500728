"""Conservative mapping from what a source says to `shared.models.IMPACT_AREAS`.

Buyers filter on impact areas, so a wrong tag costs more than a missing one. Categories map by
keyword (a sector or activity named "Health and Social Care" is health and wellbeing); free-text
descriptions only add an area when a phrase leaves no doubt ("training courses", "ex-offenders").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_CATEGORY_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), area)
    for pattern, area in (
        (r"\bfood\b(?!\s+service)", "food"),  # a pub or cafe sector is not a food cause
        (r"\bhealth\b|\bwellbeing\b", "health_and_wellbeing"),
        (r"\benergy\b|\benvironment\b|\breuse\b|\brecycl|\bnature\b|\bconservation\b", "environment"),
        (r"\barts?\b|\bculture\b", "arts_and_culture"),
        (r"\beducation\b", "education"),
        (r"\bcommunity\b", "community"),
        (r"\bhousing\b", "housing"),
    )
)

_DESCRIPTION_PHRASES: tuple[tuple[str, str], ...] = (
    (r"\btraining\b|\bapprenticeships?\b", "training"),
    (r"\bemployability\b|\binto (?:paid )?work\b|\bemployment (?:support|opportunities)\b", "employment"),
    (r"\bex-offenders?\b|\breoffending\b|\bprison(?:s|ers)?\b", "reducing_reoffending"),
    (r"\bsocial isolation\b|\bloneliness\b|\bisolated\b", "tackling_isolation"),
    (r"\bdisabilit(?:y|ies)\b|\bdisabled people\b|\blearning difficult", "disability_inclusion"),
    (r"\brecycl\w*|\bre-?use\b|\bupcycl\w*|\brenewable energy\b|\bzero waste\b", "environment"),
    (r"\bmental health\b|\bwell-?being\b", "health_and_wellbeing"),
)
# Compiled without IGNORECASE and matched against the lower-cased description: on register
# activities that run to a thousand words that is about a third faster, and one alternation of
# all the phrases was slower still (no literal prefix left to scan for).
_DESCRIPTION_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), area) for pattern, area in _DESCRIPTION_PHRASES
)


def impact_areas(categories: Iterable[str], description: str = "") -> list[str]:
    """Impact areas implied by category names and obvious description phrases, in first-seen order."""
    found = [area for cat in categories for pattern, area in _CATEGORY_RULES if pattern.search(cat)]
    lowered = description.lower()
    found += [area for pattern, area in _DESCRIPTION_RULES if pattern.search(lowered)]
    return list(dict.fromkeys(found))
