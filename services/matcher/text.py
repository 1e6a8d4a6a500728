"""Text similarity between a lot and a supplier, with word statistics taken from the index itself.

Weighting is SMART `lnc.ltc` (Salton & Buckley, 1988), the classic cosine scheme in which only
the query side needs inverse document frequencies: the lot's words weigh (1 + log tf) * idf, a
supplier's words (1 + log tf), and both vectors have unit length. So a word counts for as much as
it is rare across the whole directory ("cleaning" far more than "services"), and no statistic has
to be fitted per request or held for every listing.

A word's document frequency is what `SearchIndex.count(text=word)` answers, on either backend and
with the index's own analysis (stemming included). Each word is asked once per process; the counts
are dropped when the directory's size changes, checked at most every `CHECK_EVERY_S` seconds,
because edits that keep the size move document frequencies too little to reorder anyone.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import filterfalse
from typing import Protocol

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from services.matcher.place_names import is_place_name
from shared import cpv
from shared.models import Lot
from shared.search.port import SearchQuery

CHECK_EVERY_S = 60.0
MAX_CACHED_WORDS = 200_000
DESCRIPTION_WORDS = 30
HEAD_WEIGHT = 2.0
"""A title or CPV-label word counts twice a description word: titles say what the lot is."""
BOILERPLATE_WEIGHT = 0.1
_WORD = re.compile(r"[^\W\d_]{2,}")
_CAPITALISED = re.compile(r"\b[A-Z][a-z'’]+(?:\s+(?:and\s+|of\s+)?[A-Z][a-z'’]+)*")

# Words of the notice rather than of the work: procedure, award, frameworks, the buyer's kind of
# body. Real notices are full of them ("please refer to the tender documents", "the Council
# intends to award a framework agreement"), and in a supplier's text they say nothing about what
# it does, so they weigh a tenth of a word about the work.
BOILERPLATE = frozenset(
    """
    tender tenders tendering tenderer tenderers contract contracts contractor contractors
    contracting framework frameworks agreement agreements lot lots procurement procure procuring
    purchase purchasing award awarded awarding bidder bidders bid bids bidding supplier suppliers
    supply provision provide provided providing provider providers service services deliver delivery
    requirement requirements required require specification specifications documents document notice
    notices please refer referred regulation regulations regulated public authority authorities
    council councils county borough city government scottish welsh scotland wales england uk united
    kingdom national participating member members body bodies organisation organisations operator
    operators economic candidates candidate criteria evaluation evaluated quality price value period
    duration year years month months option options extension renewal estimated total approximately
    approx maximum minimum including include includes various within across throughout area areas
    location locations site sites premises number basis term terms ongoing new current existing
    successful appointed appoint invite invited invites intends intention seek seeks seeking
    opportunity opportunities division section stage process procedure open restricted competitive
    dialogue negotiated espd pqq itt rfq prior information ojeu ted pcs sell2wales portal website
    web online electronic submission submit submitted further details detail associated related
    relating general range wide type types university college hospital nhs board trust health
    partnership group limited ltd plc
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


def words(text: str) -> list[str]:
    """Lower-cased words of two or more letters, without English stop words."""
    return [w for w in _WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS]


class Counts(Protocol):
    """What word statistics need from a `SearchIndex`."""

    def count(self, query: SearchQuery | None = None) -> int: ...


@dataclass(frozen=True)
class LotWords:
    """A lot's words: `head` from its title and CPV labels, `opening` from the start of its
    description. Descriptions say what the lot is first; procedure and boilerplate (TUPE, lots,
    deadlines) follow and would only dilute the vector and cost look-ups.

    Place names the lot's text writes as proper nouns ("Edinburgh", "South Lanarkshire") are left
    out: they say where the work is, which the distance feature already weighs, and matched as
    words they rank the buyer's own city's charities above anyone who does the work."""

    head: list[str]
    opening: list[str]

    @classmethod
    def of(cls, lot: Lot) -> LotWords:
        labels = [cpv.label(code) or "" for code in lot.cpv_codes[:MAX_LABELLED_CODES]]
        places = place_words(f"{lot.title} {lot.description}")
        head = [w for w in words(" ".join([lot.title, *labels])) if w not in places]
        opening = [w for w in words(lot.description) if w not in places][:DESCRIPTION_WORDS]
        return cls(head, opening)


MAX_LABELLED_CODES = 12
"""Only the first codes' labels join the lot's words: a framework listing 70 codes would otherwise
be about everything (publishers list the main code first)."""


def place_words(text: str) -> frozenset[str]:
    """The lower-cased words of the capitalised place names in `text` (known to the gazetteer)."""
    found: set[str] = set()
    for match in _CAPITALISED.finditer(text):
        phrase = match.group(0)
        parts = phrase.split()
        for size in range(len(parts), 0, -1):
            for start in range(len(parts) - size + 1):
                name = " ".join(parts[start : start + size])
                if is_place_name(name):
                    found.update(w.lower() for w in _WORD.findall(name))
    return frozenset(found)


class WordStatistics:
    """Document frequencies of words in the directory, cached per process.

    Thread-safe enough for gunicorn's threads: two threads may both ask the index for a word the
    first time; they get the same answer.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._total = 0
        self._checked_at = -math.inf

    def total(self, index: Counts) -> int:
        """Listings in the directory; a change (or a full cache) drops every cached count."""
        now = time.monotonic()
        if now - self._checked_at >= CHECK_EVERY_S:
            total = index.count()
            with self._lock:
                if total != self._total or len(self._counts) > MAX_CACHED_WORDS:
                    self._counts = {}
                self._total, self._checked_at = total, now
        return self._total

    def word_count(self, index: Counts, word: str) -> int:
        """How many listings mention `word` (or another word with its stem)."""
        found = self._counts.get(word)
        if found is None:
            found = index.count(SearchQuery(text=word))
            self._counts[word] = found
        return found

    def idf(self, index: Counts, word: str) -> float:
        """ln((1 + N) / (1 + df)) + 1, as scikit-learn smooths it: unseen words weigh the most."""
        return math.log((1 + self.total(index)) / (1 + self.word_count(index, word))) + 1


def query_vector(index: Counts, stats: WordStatistics, lot: LotWords) -> dict[str, float]:
    """The lot's unit vector: (1 + log tf) * idf per word, title words counting `HEAD_WEIGHT`
    times. The notice's boilerplate weighs a tenth of the commonest word (idf 1) and is never
    looked up: it would only cost index counts."""
    counts = Counter([*lot.head, *lot.opening])
    head = set(lot.head)
    raw = {
        w: (1 + math.log(tf)) * _rarity(index, stats, w) * (HEAD_WEIGHT if w in head else 1.0)
        for w, tf in counts.items()
    }
    norm = math.sqrt(sum(v * v for v in raw.values()))
    return {w: v / norm for w, v in raw.items()} if norm else {}


def _rarity(index: Counts, stats: WordStatistics, word: str) -> float:
    return BOILERPLATE_WEIGHT if word in BOILERPLATE else stats.idf(index, word)


def cosine(query: Mapping[str, float], text: str) -> float:
    """Similarity of a supplier's text (`lnc`: (1 + log tf) per word) to a unit query vector, 0 to 1."""
    weights, norm = _supplier_vector(text)
    if not norm or query.keys().isdisjoint(weights):
        return 0.0
    dot = sum(weight * weights[w] for w, weight in query.items() if w in weights)
    return min(1.0, dot / norm)


SUPPLIER_VECTORS_CACHED = 8192
"""Suppliers near a place meet every lot delivered there (a package's lots, a consortium's
requirements, the next buyer's search), so each one's word weights are worked out once."""


@lru_cache(maxsize=SUPPLIER_VECTORS_CACHED)
def _supplier_vector(text: str) -> tuple[dict[str, float], float]:
    """(1 + log tf) per word without stop words, and the vector's length."""
    counts = Counter(filterfalse(ENGLISH_STOP_WORDS.__contains__, _WORD.findall(text.lower())))
    weights = {w: 1 + math.log(tf) if tf > 1 else 1.0 for w, tf in counts.items()}
    return weights, math.sqrt(sum(v * v for v in weights.values()))
