"""CPV 2008 (Common Procurement Vocabulary) labels and hierarchy.

Buyers describe lots with CPV codes and the matcher scores a supplier higher the deeper its
codes share the lot's branch, so every service needs the same reading of the hierarchy. CPV has
no parent column: a code's level is given by its trailing zeros (90000000 division, 90900000
group, 90910000 class, 90911000 category, 90911200 subcategory). Labels come from
`data/cpv/cpv_2008_en.csv` (see its PROVENANCE.md).
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from shared.models import normalise_cpv

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "cpv" / "cpv_2008_en.csv"

CpvLevel = Literal["division", "group", "class", "category", "subcategory"]
_LEVEL_BY_DIGITS: dict[int, CpvLevel] = {2: "division", 3: "group", 4: "class", 5: "category"}


@lru_cache(maxsize=1)
def _labels() -> dict[str, str]:
    """8-digit code -> English label, loaded once on first use."""
    with DATA_FILE.open(encoding="utf-8-sig", newline="") as fh:
        return {normalise_cpv(row["CODE"]): row["EN"].strip() for row in csv.DictReader(fh)}


def _significant(code8: str) -> int:
    """How many leading digits carry meaning; a division keeps both digits even if one is 0."""
    return max(2, len(code8.rstrip("0")))


def label(code: str) -> str | None:
    """English label of a code given with or without its check digit; None if unknown or malformed."""
    try:
        return _labels().get(normalise_cpv(code))
    except ValueError:
        return None


def is_known(code: str) -> bool:
    """True when the code is in the CPV 2008 main vocabulary."""
    return label(code) is not None


@lru_cache(maxsize=1)
def _prefixes() -> frozenset[str]:
    return frozenset(code[:n] for code in _labels() for n in range(1, 9))


def has_prefix(digits: str) -> bool:
    """True when some CPV 2008 code starts with these digits (a filter like `909` can match)."""
    return digits in _prefixes()


def level(code: str) -> CpvLevel:
    """The hierarchy level of a code, read from its trailing zeros. Raises ValueError if malformed."""
    return _LEVEL_BY_DIGITS.get(_significant(normalise_cpv(code)), "subcategory")


def parent_codes(code: str) -> list[str]:
    """Ancestors from division down to the level just above the code (derived, not looked up)."""
    code8 = normalise_cpv(code)
    deepest = min(_significant(code8) - 1, 5)
    return [code8[:n].ljust(8, "0") for n in range(2, deepest + 1)]


def shared_level(a: str, b: str) -> CpvLevel | None:
    """The deepest level at which two codes sit in the same branch, or None across divisions.

    The shared prefix is capped at the shallower code's depth: 90900000 (a group) and 90910000
    share the group, not the class.
    """
    a8, b8 = normalise_cpv(a), normalise_cpv(b)
    common = 0
    while common < 8 and a8[common] == b8[common]:
        common += 1
    depth = min(common, _significant(a8), _significant(b8))
    if depth < 2:
        return None
    return _LEVEL_BY_DIGITS.get(depth, "subcategory")


# Words every services label ends with, or that join two things in one label: they say nothing
# about which work a text names.
_LABEL_FILLER = frozenset({"services", "service", "and", "of", "for", "the", "related", "other", "work", "works"})
_LABEL_WORD = re.compile(r"[a-z]{3,}")


def _stem(word: str) -> str:
    """Plural and -ing forms folded, enough to meet a label's words in a notice's title."""
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) > len(suffix) + 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


@lru_cache(maxsize=1)
def _label_words() -> list[tuple[frozenset[str], str]]:
    """Each code's label as a set of folded content words, most specific codes first."""
    out = []
    for code, text in _labels().items():
        found = frozenset(_stem(w) for w in _LABEL_WORD.findall(text.lower()) if w not in _LABEL_FILLER)
        if found:
            out.append((found, code))
    out.sort(key=lambda pair: (-_significant(pair[1]), pair[1]))
    return out


def codes_named_by(text: str, limit: int = 2) -> list[str]:
    """CPV codes whose every label word the text uses ("Office cleaning" -> 90919200 Office
    cleaning services), the labels with most words first: for a lot that gives no code.

    A one-word label only counts when nothing longer matched, so "cleaning" alone still finds
    cleaning services but "office cleaning" is not also filed under office furniture."""
    words = {_stem(w) for w in _LABEL_WORD.findall(text.lower())}
    matches = [(len(label_words), code) for label_words, code in _label_words() if label_words <= words]
    if not matches:
        return []
    longest = max(size for size, _ in matches)
    best = [code for size, code in sorted(matches, key=lambda m: (-m[0], -_significant(m[1]), m[1])) if size == longest]
    return best[:limit]
