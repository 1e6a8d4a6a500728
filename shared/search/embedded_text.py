"""Full text for the embedded index: query words, BM25 per word, typo tolerance and snippets.

BM25 is a sum over the query's words of a per-word score (FTS5's `bm25()` adds one term per
phrase, each from that phrase's IDF and the document's weighted frequency and length). So a word's
scores over all its documents are computed once by FTS5, kept per process until the index
changes, and a query adds the arrays of its words. Ranking every match of "community" (half the
directory) then costs a few array operations instead of 100+ ms of `bm25()` calls.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from shared.search.embedded_snapshot import FloatArray, IntArray
from shared.search.port import HIGHLIGHT_END, HIGHLIGHT_START
from shared.search.schema import ENGLISH_STOP_WORDS

# Letters and digits only: unicode61 splits on everything else, so each token stays one FTS term.
_WORD = re.compile(r"[^\W_]+")
# Words whose scores one process keeps; the most common words come back in most queries.
CACHED_WORDS = 512
SNIPPET_TOKENS = 24
TOKENIZER = "porter unicode61 remove_diacritics 2"


def query_words(text: str) -> list[str]:
    """The distinct non-stop words of a user's text, lower-cased, in order."""
    return [w for w in dict.fromkeys(_WORD.findall(text.lower())) if w not in ENGLISH_STOP_WORDS]


def fts_query(text: str) -> str | None:
    """The FTS5 MATCH expression for a user's text, or None when no word is left.

    Every word is quoted, so FTS5 syntax (`"`, `*`, `:`, `(`, NEAR, AND, OR, NOT) is literal and
    never raises; words are joined by FTS5's implicit AND. Stop words are dropped as the
    Elasticsearch analyzer drops them. Text made only of stop words or punctuation returns None
    and the search matches nothing, as Elasticsearch's `match` does when analysis leaves no term
    (only empty text means "no text constraint").
    """
    return " ".join(phrase(w) for w in query_words(text)) or None


def phrase(word: str) -> str:
    return f'"{word}"'


def strip_markers(text: str) -> str:
    """Remove the highlight marker characters from indexed text, so snippets can trust them."""
    return text.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "")


@dataclass(frozen=True)
class Scores:
    """One word's (or OR-group's) documents, ascending, and their BM25 contributions (higher is better)."""

    docs: IntArray
    scores: FloatArray


class WordScores:
    """Per-process cache of `Scores` by MATCH expression, valid for one change-log sequence."""

    def __init__(self, fts: str, weights: tuple[float, ...]) -> None:
        self._fts = fts
        self._weights = ", ".join(str(float(w)) for w in weights)
        self._cache: OrderedDict[str, Scores] = OrderedDict()
        self._seq = -1
        self._lock = threading.Lock()

    def get(self, conn: sqlite3.Connection, match: str, seq: int) -> Scores:
        with self._lock:
            if seq != self._seq:
                self._cache.clear()
                self._seq = seq
            found = self._cache.get(match)
            if found is not None:
                self._cache.move_to_end(match)
                return found
        scores = self._read(conn, match)
        with self._lock:
            if seq == self._seq:
                self._cache[match] = scores
                while len(self._cache) > CACHED_WORDS:
                    self._cache.popitem(last=False)
        return scores

    def _read(self, conn: sqlite3.Connection, match: str) -> Scores:
        rows = conn.execute(
            f"SELECT rowid, -bm25({self._fts}, {self._weights}) FROM {self._fts} WHERE {self._fts} MATCH ?"
            " ORDER BY rowid",
            (match,),
        ).fetchall()
        docs = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return Scores(docs, np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows)))


def stems(conn: sqlite3.Connection, words: list[str]) -> list[str]:
    """Each word as the index stores it (Porter stem, folded), through a scratch FTS5 table that
    uses the index's own tokenizer, so no second stemmer can disagree with it."""
    out = []
    for word in words:
        conn.execute("DELETE FROM temp.spell")
        conn.execute("INSERT INTO temp.spell (rowid, t) VALUES (1, ?)", (word,))
        found = conn.execute("SELECT term FROM temp.spell_terms ORDER BY offset LIMIT 1").fetchone()
        out.append(found[0] if found else word)
    return out


def near_terms(conn: sqlite3.Connection, vocab: str, stem: str) -> list[str]:
    """Index terms within Elasticsearch's AUTO edit distance of `stem` that share its first letter."""
    limit = allowed_edits(stem)
    if limit == 0:
        return [stem]
    first, low, high = stem[0], len(stem) - limit, len(stem) + limit
    rows = conn.execute(
        f"SELECT term FROM {vocab} WHERE term >= ? AND term < ?", (first, chr(ord(first) + 1))
    ).fetchall()
    # FTS5 keeps stop words in its vocabulary; Elasticsearch's analyzer never indexed them.
    return [
        t
        for (t,) in rows
        if low <= len(t) <= high and t not in ENGLISH_STOP_WORDS and edit_distance(stem, t, limit) <= limit
    ]


def allowed_edits(term: str) -> int:
    """Elasticsearch's `fuzziness: AUTO`: none under 3 characters, 1 up to 5, else 2."""
    return 0 if len(term) < 3 else 1 if len(term) <= 5 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a transposition is one edit, as in Lucene), or
    `limit + 1` as soon as it must exceed `limit`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def snippets(
    conn: sqlite3.Connection, fts: str, fields: tuple[str, ...], match: str, docs: list[int]
) -> dict[int, dict[str, str]]:
    """Per document, each text field that matched with its best snippet (FTS5 `snippet()`)."""
    if not docs:
        return {}
    columns = ", ".join(
        f"snippet({fts}, {i}, '{HIGHLIGHT_START}', '{HIGHLIGHT_END}', '…', {SNIPPET_TOKENS})"
        for i in range(len(fields))
    )
    marks = ",".join("?" * len(docs))
    rows = conn.execute(
        f"SELECT rowid, {columns} FROM {fts} WHERE {fts} MATCH ? AND rowid IN ({marks})", (match, *docs)
    )
    return {
        row[0]: {name: text for name, text in zip(fields, row[1:], strict=True) if text and HIGHLIGHT_START in text}
        for row in rows
    }


def prepare_connection(conn: sqlite3.Connection) -> None:
    """The scratch table `stems` tokenizes through, and its instance vocabulary."""
    conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.spell USING fts5(t, tokenize='{TOKENIZER}')")
    conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.spell_terms USING fts5vocab(temp, 'spell', 'instance')")
