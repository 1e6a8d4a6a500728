"""Full text for the embedded index: query terms, BM25 in numpy, typo tolerance and snippets.

FTS5's `bm25()` costs a B-tree lookup per matching row (the row's size) and reads every position
list: 100-300 ms for a word in half the directory. The same score is a sum over the query's terms
of a per-term formula of (documents holding the term, the term's column-weighted frequency in a
document, the document's token count, the index's row count and average token count). So:

- the writer stores each document's token count, counted by FTS5's own tokenizer;
- a reader reads a term's (document, column) occurrences once from an `fts5vocab` 'instance'
  table (a sequential read of one posting list) into `Postings` kept in its snapshot;
- a change patches the cached postings with the changed documents' occurrences, so a write costs
  readers milliseconds instead of emptying the cache;
- `bm25` evaluates FTS5's formula (same constants, same IDF floor) on those arrays.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import OSA

from shared.search.embedded_snapshot import FloatArray, Postings, Snapshot, Vocabulary, ints
from shared.search.port import HIGHLIGHT_END, HIGHLIGHT_START
from shared.search.schema import ENGLISH_STOP_WORDS
from shared.search.vocabulary import allowed_edits, protect, query_words, unprotect

# FTS5's bm25() constants (fts5_aux.c), and the IDF it uses for terms in over half the rows.
K1, B, IDF_FLOOR = 1.2, 0.75, 1e-6
SNIPPET_TOKENS = 24
TOKENIZER = "porter unicode61 remove_diacritics 2"


def fts_query(text: str) -> str | None:
    """The FTS5 MATCH expression for a user's text, or None when no word is left.

    Every word is quoted, so FTS5 syntax (`"`, `*`, `:`, `(`, NEAR, AND, OR, NOT) is literal and
    never raises; words are joined by FTS5's implicit AND. Stop words are dropped as the
    Elasticsearch analyzer drops them; protected acronyms become their own tokens (`vocabulary`).
    Text made only of stop words or punctuation returns None and the search matches nothing, as
    Elasticsearch's `match` does when analysis leaves no term (only empty text means "no text
    constraint").
    """
    return " ".join(phrase(protect(w)) for w in query_words(text)) or None


def phrase(word: str) -> str:
    return f'"{word}"'


def strip_markers(text: str) -> str:
    """Remove the highlight marker characters from indexed text, so snippets can trust them."""
    return text.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "")


def terms_by_word(conn: sqlite3.Connection, words: Sequence[str]) -> dict[str, list[str]]:
    """Each word's index terms (protected acronyms as their tokens): tokenized by a scratch FTS5
    table with the index's own tokenizer, so no second stemmer can disagree with it."""
    distinct = list(dict.fromkeys(words))
    rows = [(i + 1, protect(word)) for i, word in enumerate(distinct)]
    _, instances = _filled_scratch(conn, 1, rows)
    found: dict[str, list[str]] = {word: [] for word in distinct}
    for doc, term in conn.execute(f"SELECT doc, term FROM {instances} ORDER BY doc, offset"):
        if term not in found[distinct[doc - 1]]:
            found[distinct[doc - 1]].append(term)
    return found


def document_frequencies(conn: sqlite3.Connection, rows: str, terms: Sequence[str]) -> dict[str, int]:
    """How many documents hold each term, from the index's `fts5vocab` 'row' table."""
    marks = ",".join("?" * len(terms))
    found = dict(conn.execute(f"SELECT term, doc FROM {rows} WHERE term IN ({marks})", list(terms)).fetchall())
    return {term: int(found.get(term, 0)) for term in terms}


def phrase_matches(
    conn: sqlite3.Connection, fts: str, width: int, docs: Sequence[int], phrases: Sequence[Sequence[str]]
) -> list[set[int]]:
    """Per phrase, the documents among `docs` whose text holds its words next to each other, in
    order, in one field. Checked on copies in the scratch table: a phrase query on the index reads
    the whole position list of every word, tens of milliseconds for common ones."""
    if not docs:
        return [set() for _ in phrases]
    scratch, _ = _copied_scratch(conn, fts, width, docs)
    found = []
    for words in phrases:
        expression = phrase(" ".join(protect(w) for w in words))
        rows = conn.execute(f"SELECT rowid FROM {scratch} WHERE scratch{width} MATCH ?", (expression,))
        found.append({doc for (doc,) in rows})
    return found


def near_matches(conn: sqlite3.Connection, fts: str, words: Sequence[str], distance: int) -> list[int]:
    """The documents whose text holds `words` within `distance` words of each other, in any order,
    in one field (FTS5 NEAR: the words a query dropped as stop words may stand between them); the
    last word as a prefix, as Elasticsearch's `phrase_prefix` reads it ("home care" finds "Home
    Carers": the stemmer leaves "carers" as "carer")."""
    expression = "NEAR(" + " ".join(phrase(protect(w)) for w in words) + f"*, {distance})"
    return [doc for (doc,) in conn.execute(f"SELECT rowid FROM {fts} WHERE {fts} MATCH ?", (expression,))]


def bm25(postings: Postings, snapshot: Snapshot) -> FloatArray:
    """FTS5's bm25() contribution of one term to each of its documents (higher is better).

    fts5_aux.c: idf = ln((N - n + 0.5) / (n + 0.5)), floored at 1e-6; score = idf * f * (k1 + 1) /
    (f + k1 * (1 - b + b * D / avgdl)), where f is the column-weighted frequency and D the
    document's token count over all columns. A query's score is the sum over its terms.
    """
    rows, holding = snapshot.documents, postings.size
    idf = math.log((rows - holding + 0.5) / (holding + 0.5))
    idf = idf if idf > 0 else IDF_FLOOR
    lengths = snapshot.tokens[postings.docs] / snapshot.average_tokens
    freqs = postings.freqs
    result: FloatArray = idf * freqs * (K1 + 1) / (freqs + K1 * (1 - B + B * lengths))
    return result


def read_postings(conn: sqlite3.Connection, instances: str, term: str, weights: Sequence[float]) -> Postings:
    """One term's postings from the index's `fts5vocab` 'instance' table (one row per occurrence;
    each row's document and column packed into one integer so SQLite hands over one string)."""
    packed = conn.execute(
        f"SELECT group_concat(doc * {len(weights)} + substr(col, 2)) FROM {instances} WHERE term = ?", (term,)
    ).fetchone()[0]
    return _postings(ints(packed), weights)


def changed_postings(
    conn: sqlite3.Connection, fts: str, docs: Iterable[int], weights: Sequence[float]
) -> dict[str, Postings]:
    """Every term's postings within the given documents, as the index holds them now: their
    stored text is tokenized again in the scratch table (FTS5 keeps no per-document index)."""
    _, instances = _copied_scratch(conn, fts, len(weights), docs)
    return {
        term: _postings(ints(packed), weights)
        for term, packed in conn.execute(
            f"SELECT term, group_concat(doc * {len(weights)} + substr(col, 2)) FROM {instances} GROUP BY term"
        )
    }


def token_counts(conn: sqlite3.Connection, fts: str, docs: Sequence[int]) -> dict[int, int]:
    """Each document's token count over all its text columns (bm25's D), read from FTS5's own
    `<fts>_docsize` (one varint per column), so it is exactly what FTS5's bm25() uses."""
    counts: dict[int, int] = {}
    for start in range(0, len(docs), 5000):
        marks = ",".join(str(int(doc)) for doc in docs[start : start + 5000])
        for doc, sizes in conn.execute(f'SELECT id, sz FROM "{fts}_docsize" WHERE id IN ({marks})'):
            counts[doc] = _varint_sum(sizes)
    return counts


def _varint_sum(blob: bytes) -> int:
    """The sum of SQLite varints (7 bits a byte, high bit set on all but the last); token counts
    never reach the 9-byte form."""
    total = value = 0
    for byte in blob:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            total, value = total + value, 0
    return total


def _postings(packed: npt.NDArray[np.int64], weights: Sequence[float]) -> Postings:
    """Occurrences packed as doc * columns + column, summed per document with the column weights."""
    packed = np.sort(packed)
    docs, columns = np.divmod(packed, len(weights))
    if not len(docs):
        return Postings(docs, np.zeros(0), np.zeros(0, dtype=np.uint32))
    starts = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]])
    freqs = np.add.reduceat(np.asarray(weights, dtype=np.float64)[columns], starts)
    return Postings(docs[starts], freqs, np.bitwise_or.reduceat(np.left_shift(1, columns).astype(np.uint32), starts))


def _filled_scratch(conn: sqlite3.Connection, width: int, rows: Sequence[Sequence[object]]) -> tuple[str, str]:
    """The scratch table holding just `rows` (rowid, then `width` texts), and its instances.

    The scratch table keeps its text in a plain table of its own (FTS5 "external content"), so
    emptying it is FTS5's `delete-all`, which drops the index without reading the old rows: a
    `DELETE` from an ordinary FTS5 table tokenizes every row again to find its entries, which
    cost as much as the snippets made from them.
    """
    scratch, instances = _scratch(conn, width)
    columns = ", ".join(f"c{i}" for i in range(width))
    marks = ", ".join("?" * (width + 1))
    conn.execute(f"INSERT INTO {scratch} (scratch{width}) VALUES ('delete-all')")
    conn.execute(f"DELETE FROM {scratch}_content")
    conn.executemany(f"INSERT INTO {scratch}_content (rowid, {columns}) VALUES ({marks})", rows)
    conn.execute(f"INSERT INTO {scratch} (rowid, {columns}) SELECT rowid, {columns} FROM {scratch}_content")
    return scratch, instances


def _copied_scratch(conn: sqlite3.Connection, fts: str, width: int, docs: Iterable[int]) -> tuple[str, str]:
    """The scratch table holding just the index's text of `docs`, copied within SQLite."""
    scratch, instances = _scratch(conn, width)
    columns = ", ".join(f"c{i}" for i in range(width))
    marks = ",".join(str(int(d)) for d in docs)
    conn.execute(f"INSERT INTO {scratch} (scratch{width}) VALUES ('delete-all')")
    conn.execute(f"DELETE FROM {scratch}_content")
    conn.execute(
        f"INSERT INTO {scratch}_content (rowid, {columns}) SELECT rowid, {columns} FROM {fts} WHERE rowid IN ({marks})"
    )
    conn.execute(f"INSERT INTO {scratch} (rowid, {columns}) SELECT rowid, {columns} FROM {scratch}_content")
    return scratch, instances


def _scratch(conn: sqlite3.Connection, width: int) -> tuple[str, str]:
    """A temporary FTS5 table with the index's tokenizer and `width` columns over a temporary
    content table, and its instances."""
    scratch, instances = f"temp.scratch{width}", f"temp.scratch{width}_instances"
    columns = ", ".join(f"c{i}" for i in range(width))
    conn.execute(f"CREATE TABLE IF NOT EXISTS {scratch}_content (rowid INTEGER PRIMARY KEY, {columns})")
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {scratch} USING fts5({columns}, tokenize='{TOKENIZER}',"
        f" content='scratch{width}_content', content_rowid='rowid')"
    )
    conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {instances} USING fts5vocab(temp, 'scratch{width}', 'instance')")
    return scratch, instances


def read_vocabulary(conn: sqlite3.Connection, rows: str) -> tuple[Vocabulary, list[str]]:
    """Every index term, and the terms by how many documents hold them (most first), from the
    index's `fts5vocab` 'row' table: one pass, since it counts each term's documents to list it."""
    found = conn.execute(f"SELECT term, doc FROM {rows}").fetchall()
    found.sort(key=lambda row: -row[1])
    terms = [term for term, _ in found]
    return Vocabulary.of(terms), terms


def near_terms(vocabulary: Vocabulary, term: str) -> list[str]:
    """Index terms within Elasticsearch's AUTO edit distance of `term` that share its first letter
    (optimal string alignment, where a transposition is one edit, as in Lucene)."""
    limit = allowed_edits(term)
    if limit == 0:
        return [term]
    low, high = len(term) - limit, len(term) + limit
    # FTS5 keeps stop words in its vocabulary; Elasticsearch's analyzer never indexed them.
    candidates = [
        t for t in vocabulary.by_letter.get(term[0], ()) if low <= len(t) <= high and t not in ENGLISH_STOP_WORDS
    ]
    return [t for t, _, _ in process.extract(term, candidates, scorer=OSA.distance, score_cutoff=limit, limit=None)]


def nearest_terms(vocabulary: Vocabulary, term: str) -> list[tuple[int, str]]:
    """(edits, index term) for the terms `near_terms` allows, fewest edits first."""
    limit = allowed_edits(term)
    if limit == 0:
        return []
    return sorted((OSA.distance(term, t), t) for t in near_terms(vocabulary, term) if t != term)


def snippets(
    conn: sqlite3.Connection, fts: str, fields: tuple[str, ...], match: str, docs_by_column: dict[int, list[int]]
) -> dict[int, dict[str, str]]:
    """Per document, each text field that matched with its best snippet (FTS5 `snippet()`).

    The page's documents are copied into the scratch table and snippets made there: on the index,
    `MATCH ? AND rowid = ?` sets up the whole posting list of every query term once per document
    (milliseconds for a common word), while a snippet depends only on the document's own text.
    Only the columns a query term occurs in are done: snippet() tokenizes the whole column.
    """
    docs = sorted({doc for members in docs_by_column.values() for doc in members})
    if not docs:
        return {}
    width = len(fields)
    scratch, _ = _copied_scratch(conn, fts, width, docs)
    # One statement for every column, each snippet made only for its column's documents.
    wanted = list(docs_by_column.items())
    snippet_sql = ", ".join(
        f"CASE WHEN rowid IN ({','.join(map(str, members))}) THEN snippet(scratch{width}, {column},"
        f" '{HIGHLIGHT_START}', '{HIGHLIGHT_END}', '…', {SNIPPET_TOKENS}) END"
        for column, members in wanted
    )
    rows = conn.execute(
        f"SELECT rowid, {snippet_sql} FROM {scratch} WHERE scratch{width} MATCH ?"
        f" AND rowid IN ({','.join(map(str, docs))})",
        (match,),
    )
    found: dict[int, dict[str, str]] = {}
    for doc, *made in rows:
        for (column, _), snippet in zip(wanted, made, strict=True):
            if snippet and HIGHLIGHT_START in snippet:
                found.setdefault(doc, {})[fields[column]] = unprotect(snippet)
    return found
