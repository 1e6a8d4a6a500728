"""Highlighted snippets: where a hit's text matches the query, as safe HTML with `<mark>`.

Listing text comes from open data that anyone can edit upstream, so it is escaped first and
only then are the matched words wrapped: the result holds no markup but `<mark>`, and both
the JSON API and the pages can show it as HTML. Matching mirrors the index's English stemming
closely enough for a highlight (a word matches any word sharing its stem as a prefix), and
does not depend on the backend.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from shared.search.schema import ENGLISH_STOP_WORDS

_WORD = re.compile(r"[^\W_]+")
_SUFFIXES = ("ings", "ing", "ers", "er", "ed", "es", "s")
SNIPPET_CHARS = 240


def query_stems(text: str | None) -> tuple[str, ...]:
    """The stems of the query's words that the index matched on (stop words are ignored, and so
    are single letters, which would mark half the text)."""
    words = [w.casefold() for w in _WORD.findall(text or "")]
    return tuple(dict.fromkeys(_stem(w) for w in words if len(w) > 1 and w not in ENGLISH_STOP_WORDS))


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def mark(text: str, stems: tuple[str, ...]) -> Markup:
    """`text` escaped, with every word that starts with one of `stems` wrapped in `<mark>`."""
    if not stems:
        return escape(text)
    out, last = [], 0
    for match in _WORD.finditer(text):
        if match.group().casefold().startswith(stems):
            out += [escape(text[last : match.start()]), Markup("<mark>%s</mark>") % match.group()]
            last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def snippet(text: str, stems: tuple[str, ...], width: int = SNIPPET_CHARS) -> Markup:
    """About `width` characters of `text` around its first match (its start if none), marked."""
    start = _first_match(text, stems)
    if len(text) <= width:
        return mark(text, stems)
    begin = max(0, min(start - width // 4, len(text) - width))
    if begin:
        begin = text.find(" ", begin) + 1 or begin  # start on a word boundary
    end = begin + width
    if end < len(text):
        space = text.rfind(" ", begin, end)
        end = space if space > begin else end  # end on a word boundary
    prefix, suffix = ("…" if begin else ""), ("…" if end < len(text) else "")
    return Markup("").join([escape(prefix), mark(text[begin:end], stems), escape(suffix)])


def _first_match(text: str, stems: tuple[str, ...]) -> int:
    for match in _WORD.finditer(text):
        if stems and match.group().casefold().startswith(stems):
            return match.start()
    return 0
