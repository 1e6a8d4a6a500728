"""Conservative mapping from what a source says to `shared.models.IMPACT_AREAS`.

Buyers filter on impact areas, so a wrong tag costs more than a missing one. Categories map by
keyword (a sector or activity named "Health and Social Care" is health and wellbeing); free-text
descriptions only add an area when a phrase leaves no doubt ("training courses", "ex-offenders").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

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

# Each phrase with the literal words it cannot match without: a substring test runs at C speed,
# while a pattern that starts with `\b` gives the regex engine no literal to scan for, and over
# register activities that run to a thousand words the patterns cost more than the rest of the
# record. Compiled without IGNORECASE and matched against the lower-cased description (about a
# third faster again); one alternation of all the phrases was slower still.
_DESCRIPTION_PHRASES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (r"\btraining\b|\bapprenticeships?\b", ("training", "apprentice"), "training"),
    (r"\bemployability\b|\binto (?:paid )?work\b|\bemployment (?:support|opportunities)\b",
     ("employability", "into ", "employment "), "employment"),
    (r"\bex-offenders?\b|\breoffending\b|\bprison(?:s|ers)?\b", ("offend", "prison"), "reducing_reoffending"),
    (r"\bsocial isolation\b|\bloneliness\b|\bisolated\b", ("isolat", "loneliness"), "tackling_isolation"),
    (r"\bdisabilit(?:y|ies)\b|\bdisabled people\b|\blearning difficult", ("disab", "learning difficult"),
     "disability_inclusion"),
    (r"\brecycl\w*|\bre-?use\b|\bupcycl\w*|\brenewable energy\b|\bzero waste\b",
     ("recycl", "reuse", "re-use", "upcycl", "renewable energy", "zero waste"), "environment"),
    (r"\bmental health\b|\bwell-?being\b", ("mental health", "wellbeing", "well-being"), "health_and_wellbeing"),
)
_DESCRIPTION_RULES: tuple[tuple[re.Pattern[str], tuple[str, ...], str], ...] = tuple(
    (re.compile(pattern), needles, area) for pattern, needles, area in _DESCRIPTION_PHRASES
)


def impact_areas(categories: Iterable[str], description: str = "") -> list[str]:
    """Impact areas implied by category names and obvious description phrases, in first-seen order."""
    found = [area for cat in categories for area in _category_areas(cat)]
    if description:
        lowered = description.lower()
        found += [area for pattern, needles, area in _DESCRIPTION_RULES
                  if any(needle in lowered for needle in needles) and pattern.search(lowered)]
    return list(dict.fromkeys(found))


@lru_cache(maxsize=8192)
def _category_areas(category: str) -> tuple[str, ...]:
    """A category's areas, worked out once: registers repeat a few hundred category names."""
    return tuple(area for pattern, area in _CATEGORY_RULES if pattern.search(category))
