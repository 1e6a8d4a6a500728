"""How a buyer's text is read before either backend sees it (`shared/search/vocabulary.py`)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.search.vocabulary import (
    _PROTECT,
    SYNONYM_WEIGHT,
    held_together,
    protect,
    protected_patterns,
    query_words,
    read_text,
    unprotect,
    words_to_correct,
)


def test_written_acronyms_get_their_own_token_and_come_back_in_snippets() -> None:
    assert protect("IT support; it works; SEND and send; UNIT IT-WORX") == (
        "ITacronym support; it works; SENDacronym and send; UNIT ITacronym-WORX"
    )
    assert unprotect(protect("IT and SEND")) == "IT and SEND"
    assert ("\\bIT\\b", "ITacronym") in protected_patterns()


@given(st.text(alphabet="ITSENDPAVitsend -_.,\u00c9", max_size=40))
def test_protect_skips_only_texts_that_cannot_hold_an_acronym(text: str) -> None:
    assert protect(text) == _PROTECT.sub(lambda m: m.group(0) + "acronym", text)


def test_stop_words_drop_but_acronyms_stay() -> None:
    assert query_words("IT for the council") == ["IT", "council"]
    assert query_words("it for the council") == ["council"]
    assert query_words("it support", buyer_terms=True) == ["IT", "support"]
    assert query_words("HR and PR") == ["hr", "pr"]


def test_synonym_phrases_become_alternatives_longest_first() -> None:
    read = read_text("grounds maintenance in Leeds", buyer_terms=True)
    first = read.clauses[0]
    assert first.typed == "grounds maintenance"
    assert ("landscaping",) in first.alternatives and ("grounds", "maintenance") in first.alternatives
    assert first.weight(("grounds", "maintenance")) == 1.0 and first.weight(("landscaping",)) == SYNONYM_WEIGHT
    assert [c.typed for c in read.clauses] == ["grounds maintenance", "leeds"]
    assert read.phrase == ("grounds", "maintenance", "leeds")
    assert read_text("grounds maintenance").clauses[0].alternatives == (("grounds",),)  # not asked: no synonyms


def test_only_a_synonym_of_several_words_must_stand_together() -> None:
    clause = read_text("domestic abuse", buyer_terms=True).clauses[0]
    assert held_together(clause, ("domestic", "abuse")) == ()  # the buyer's own words: anywhere
    assert held_together(clause, ("women", "aid")) == ("women", "aid")
    assert held_together(clause, ("violence", "women")) == ("violence", "women")  # "against" dropped
    single = read_text("recycling", buyer_terms=True).clauses[0]
    assert held_together(single, ("recycling",)) == ()


def test_plurals_find_their_synonym_group() -> None:
    assert ("janitorial",) in read_text("cleaners", buyer_terms=True).clauses[0].alternatives


def test_only_typed_single_words_that_nothing_can_match_are_corrected() -> None:
    known = {"cleaning", "landscaping", "tutoring"}.__contains__
    assert words_to_correct(read_text("cleening"), known) == ["cleening"]
    assert words_to_correct(read_text("cleaning tutoring"), known) == []  # all known: nothing to correct
    # "gardening" is unknown but its clause can match through a synonym: never corrected.
    assert words_to_correct(read_text("gardening", buyer_terms=True), known) == []
    assert words_to_correct(read_text("hedge cutting", buyer_terms=True), known) == ["hedge", "cutting"]
