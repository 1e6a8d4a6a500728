"""Buyers' search vocabulary: acronyms kept, procurement synonyms, the typed words as a phrase.

Both search adapters read a user's text through `read_text`, so the embedded index and
Elasticsearch agree on what a query means; only how each evaluates the result differs.

Acronyms. "IT" is the English stop word "it" and "SEND" the verb "send", so analysed as plain
English they are lost or confused. A written acronym is recognised by its capitals: both
adapters rewrite each whole-word, upper-case occurrence of a `PROTECTED_ACRONYMS` entry to a
token of its own (`ITacronym`) before tokenising, in documents and in queries alike (embedded:
`protect`; Elasticsearch: `pattern_replace` character filters built from `protected_patterns`),
so "IT support" finds "IT support" but not "it supports". Short terms that collide with nothing
(HR, PR, CCTV) need no rewriting: nothing drops them. Buyers type in lower case, so with
`buyer_terms` a lower-case "it" or "send" is read as the acronym as well.

Synonyms (with `buyer_terms`). `SYNONYMS` lists groups of phrases that mean the same thing to a
buyer; a phrase of the query found in a group may be matched by any phrase of the group, a
phrase of several words only where its words stand near each other (`held_together`). They
apply at query time only, so the list can change without re-indexing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from shared.search.schema import ENGLISH_STOP_WORDS

# Acronyms whose lower-case spelling is an English word or stop word, so they need a token of
# their own; the value says what they stand for (shown to people, and used as a synonym).
PROTECTED_ACRONYMS: dict[str, str] = {
    "IT": "information technology",
    "SEND": "special educational needs and disabilities",
    "PAT": "portable appliance testing",
    "AV": "audio visual",
}
ACRONYM_SUFFIX = "acronym"
# Other short terms buyers use, kept as they are (listed so tests can check each one answers).
SHORT_TERMS = ("HR", "PR", "CCTV", "ICT", "SEN", "NHS", "CIC", "ESOL", "PPE", "HGV")

# Each group: phrases a buyer means by any one of them. Lower case; plurals are matched by `_key`.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("grounds maintenance", "landscaping", "gardening", "horticulture"),
    ("catering", "food services", "cafe", "canteen"),
    ("domiciliary care", "home care", "care at home"),
    ("cleaning", "janitorial", "cleaners"),
    ("waste management", "recycling", "waste collection"),
    ("IT", "information technology", "ICT", "computer", "computing"),
    ("SEND", "special educational needs", "SEN"),
    ("HR", "human resources"),
    ("PR", "public relations"),
    ("CCTV", "security cameras", "surveillance"),
    ("removals", "house clearance"),
    ("printing", "print"),
    ("translation", "interpreting"),
    ("mental health", "wellbeing"),
    ("training", "skills development", "apprenticeships"),
    ("furniture", "furniture reuse"),
    ("events", "event management"),
    ("web design", "website", "websites"),
    ("transport", "community transport", "minibus"),
    ("bicycle", "bike", "cycle", "cycling"),
    ("construction", "building", "refurbishment"),
    ("childcare", "nursery"),
    ("youth work", "youth services", "young people"),
    ("employability", "employment support", "back to work"),
    ("laundry", "launderette", "linen"),
    ("courier", "delivery", "logistics"),
    # The voluntary sector's own words for the services charities deliver, as UK-CAT (the charity
    # classification, ../shared/data/ukcat-charities/ukcat.csv) groups them: a buyer writes one,
    # a register or a charity the other (the NI register has "Women's Aid", never "domestic abuse").
    ("domestic abuse", "domestic violence", "violence against women", "women's aid"),  # SW202, SW203
    ("loneliness", "befriending", "social isolation"),  # SW106
    ("substance misuse", "addiction", "drugs and alcohol", "alcohol and drugs"),  # HE201
    ("older people", "elderly", "older adults", "seniors"),  # BE108
    ("day opportunities", "day services", "day centre"),  # SC101, adults'
    ("supported housing", "supported accommodation", "supported living"),
)

_WORD = re.compile(r"[^\W_]+")
# "Women's Aid" is read as "women aid": Elasticsearch's English analyser drops a possessive's
# "'s" from documents, so a query requiring the lone "s" would match nothing there.
_POSSESSIVE = re.compile(r"(?<=[^\W_])['\u2019]s\b")


def allowed_edits(term: str) -> int:
    """Elasticsearch's `fuzziness: AUTO`: none under 3 characters, 1 up to 5, else 2."""
    return 0 if len(term) < 3 else 1 if len(term) <= 5 else 2


def protect(text: str) -> str:
    """The text with each upper-case protected acronym rewritten to its own token. Every indexed
    text field passes here, and few hold an acronym: the substring tests run at C speed where the
    pattern's alternation does not."""
    if not any(acronym in text for acronym in PROTECTED_ACRONYMS):
        return text
    return _PROTECT.sub(lambda m: m.group(0) + ACRONYM_SUFFIX, text)


def unprotect(text: str) -> str:
    """Undo `protect` (in snippets made from protected text)."""
    return _UNPROTECT.sub(lambda m: m.group(1), text)


def protected_patterns() -> list[tuple[str, str]]:
    """(pattern, replacement) per acronym, for Elasticsearch `pattern_replace` character filters:
    a literal replacement, since Java and other engines spell group references differently."""
    return [(rf"\b{acronym}\b", acronym + ACRONYM_SUFFIX) for acronym in PROTECTED_ACRONYMS]


_PROTECT = re.compile(r"\b(?:" + "|".join(PROTECTED_ACRONYMS) + r")\b")
_UNPROTECT = re.compile(r"\b(" + "|".join(PROTECTED_ACRONYMS) + ")" + ACRONYM_SUFFIX + r"\b")

# How many words may stand between the words of a synonym of several words ("violence against
# women" is read as violence, women; a register's "Collection of non-hazardous waste" is waste
# collection).
NEAR_DISTANCE = 4
# What a synonym's match counts for against the words typed: the buyer's own words rank first.
SYNONYM_WEIGHT = 0.5
Alternative = tuple[str, ...]
"""Words that must all occur (anywhere in a document's text fields)."""


@dataclass(frozen=True)
class Clause:
    """One part of the query: a document must match one of the alternatives. `typed` is what the
    user wrote for it (a word, or a phrase a synonym group matched)."""

    typed: str
    alternatives: tuple[Alternative, ...]

    def weight(self, alternative: Alternative) -> float:
        """1 for the words typed, `SYNONYM_WEIGHT` for a synonym of them."""
        return 1.0 if alternative == tuple(self.typed.split(" ")) else SYNONYM_WEIGHT


@dataclass(frozen=True)
class ReadText:
    """A query as the adapters evaluate it: every clause must match; `phrase` (the typed words in
    order, two or more) and every synonym of several words score documents that hold them
    together above those where the words are scattered."""

    clauses: tuple[Clause, ...]
    phrase: tuple[str, ...] = ()

    @property
    def phrases(self) -> list[tuple[tuple[str, ...], float]]:
        """(words, weight) that score higher where the words stand together: the typed words, and
        each synonym of several words (matched only near each other, `held_together`; ranked up
        as a phrase)."""
        several = {a: c.weight(a) for c in self.clauses for a in c.alternatives if len(a) > 1}
        typed = {self.phrase: 1.0} if self.phrase else {}
        return list((typed | {a: w for a, w in several.items() if a not in typed}).items())

    @property
    def words(self) -> list[str]:
        """Every distinct word of every alternative (what postings or statistics are needed for)."""
        return list(dict.fromkeys(w for c in self.clauses for a in c.alternatives for w in a))


def held_together(clause: Clause, alternative: Alternative) -> Alternative:
    """The words of `alternative` that must stand near each other (`NEAR_DISTANCE`) for a document
    to match it: a synonym of several words, since "women" and "aid" apart in a text say nothing
    of domestic abuse. The buyer's own words may stand anywhere, as in plain BM25. Empty when none."""
    return alternative if len(alternative) > 1 and clause.weight(alternative) != 1.0 else ()


def words_to_correct(read: ReadText, known: Callable[[str], bool]) -> list[str]:
    """The typed words a spelling correction may replace: each clause no alternative of which can
    match (some word in every alternative unknown to the index) must be a single typed word, and
    that word is the one replaced. Empty when every clause can match (the combination, not a word,
    emptied the search) or an unmatchable clause is a phrase (nothing to correct it to)."""
    wrong = []
    for clause in read.clauses:
        if any(all(known(w) for w in alternative) for alternative in clause.alternatives):
            continue
        if (clause.typed,) not in clause.alternatives:
            return []
        wrong.append(clause.typed)
    return wrong


def query_words(text: str, buyer_terms: bool = False) -> list[str]:
    """The words of a user's text in order, stop words dropped: lower case, except protected
    acronyms, which keep their capitals (and, for buyers, lower-case ones gain them)."""
    out = []
    for word in _WORD.findall(_POSSESSIVE.sub("", text)):
        upper = word.upper()
        if upper in PROTECTED_ACRONYMS and (word == upper or buyer_terms):
            out.append(upper)
        elif (lower := word.lower()) not in ENGLISH_STOP_WORDS:
            out.append(lower)
    return list(dict.fromkeys(out))


def read_text(text: str, buyer_terms: bool = False) -> ReadText:
    """Clauses for `text`: one per word, or with `buyer_terms` one per synonym phrase found
    (longest first) with every phrase of its group as alternatives."""
    words = query_words(text, buyer_terms)
    if not buyer_terms:
        return ReadText(tuple(Clause(w, ((w,),)) for w in words))
    clauses: list[Clause] = []
    i = 0
    while i < len(words):
        span, group = _synonym_at(words, i)
        if group is None:
            clauses.append(Clause(words[i], ((words[i],),)))
            i += 1
            continue
        alternatives = tuple(dict.fromkeys(tuple(query_words(p, True)) for p in group))
        clauses.append(Clause(" ".join(words[i : i + span]), tuple(a for a in alternatives if a)))
        i += span
    return ReadText(tuple(clauses), tuple(words) if len(words) > 1 else ())


def _key(word: str) -> str:
    """A word as synonym phrases are compared: lower case, a plural's final s dropped."""
    word = word.lower()
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _synonym_at(words: list[str], start: int) -> tuple[int, tuple[str, ...] | None]:
    """The longest synonym phrase starting at `start`: its length in words and its group."""
    for span in range(min(_LONGEST, len(words) - start), 0, -1):
        group = _GROUPS.get(tuple(_key(w) for w in words[start : start + span]))
        if group is not None:
            return span, group
    return 1, None


_GROUPS: dict[tuple[str, ...], tuple[str, ...]] = {
    tuple(_key(w) for w in query_words(phrase, True)): group for group in SYNONYMS for phrase in group
}
_LONGEST = max(len(key) for key in _GROUPS)
