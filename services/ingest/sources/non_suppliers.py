"""Organisations a register lists that sell nothing to public buyers, recognised by their name.

The registers hold every charity, company and society, not only suppliers: a school's parents'
association, a parish church council or a working men's club is registered like a care
provider. Where a register gives no classification to say so, the name does, for a few forms of
words that leave no doubt. Each loader applies these after its own register-specific rules.
"""

from __future__ import annotations

import re

_NAME_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), reason)
    for pattern, reason in (
        (r"\bP\.?T\.?F?\.?A\b|\bparents?'?\s*(?:,|and|&)?\s*(?:teachers?|friends)'?\s*(?:association|society)\b"
         r"|\bfriends of .*\b(?:school|academy|nursery)\b", "parent-teacher association"),
        (r"\bparochial church council\b|\bP\.?C\.?C\.? of\b|\bmosque\b|\bsynagogue\b|\bgurdwara\b"
         r"|\bkingdom hall\b|\bmeeting house\b", "place of worship"),
        (r"\bsocial club\b|\bworking\s*men'?s\b.*\bclub\b|\bmasonic\b|\blodge of\b|\bconservative club\b"
         r"|\blabour club\b|\bliberal club\b|\bex-?servicemen'?s club\b|\bbowling club\b|\bgolf club\b",
         "members' club"),
    )
)


def by_name(name: str) -> str | None:
    """Why an organisation with this name is not a supplier (PTA, place of worship, members'
    club), or None."""
    return next((reason for pattern, reason in _NAME_RULES if pattern.search(name)), None)
