"""Buyers' vocabulary on every backend: acronyms kept, synonyms, phrases, "did you mean"."""

from __future__ import annotations

import pytest

from shared.search.port import HIGHLIGHT_END, HIGHLIGHT_START, SearchIndex, SearchQuery
from tests.factories import doc


@pytest.fixture
def loaded(index: SearchIndex) -> SearchIndex:
    docs = [
        doc("v:it", "Byte Back CIC", description="IT support and computer recycling for charities.",
            services=["IT support"]),
        doc("v:it-prose", "Helping Hands", description="We help people so it feels like home; support at home."),
        doc("v:ict", "Digital Bridge", description="Information technology training for older people."),
        doc("v:send", "Bright Futures", description="Tutoring for children with SEND and their families."),
        doc("v:send-verb", "Post Room Co-op", description="We send parcels and letters for small charities."),
        doc("v:hr", "People First", description="HR advice and payroll for small charities."),
        doc("v:cctv", "Safe Watch", description="CCTV installation and monitoring."),
        doc("v:garden", "Green Shoots", description="Landscaping and gardening by trainees."),
        doc("v:grounds", "Park Keepers", description="Grounds maintenance for housing estates."),
        doc("v:scattered", "Estate Services", description="Maintenance of buildings; sports grounds hire."),
        doc("v:clean", "Shine Co-op", description="Office cleaning by local people."),
        doc("v:comms", "Clear Voice", description="Communications agency."),
    ]  # fmt: skip
    result = index.bulk_upsert(docs)
    assert result.failed == []
    index.refresh()
    return index


def ids(index: SearchIndex, text: str, **kwargs: object) -> set[str]:
    return {h.id for h in index.search(SearchQuery(text=text, limit=50, **kwargs)).hits}  # type: ignore[arg-type]


def test_written_acronyms_are_their_own_words(loaded: SearchIndex) -> None:
    assert ids(loaded, "IT") == {"v:it"}  # not the stop word "it" in prose
    assert ids(loaded, "IT support") == {"v:it"}
    assert ids(loaded, "SEND") == {"v:send"}
    assert ids(loaded, "send") == {"v:send-verb"}  # lower case, outside a buyer's search: the verb


@pytest.mark.parametrize(("text", "expected"), [("HR", {"v:hr"}), ("hr", {"v:hr"}), ("CCTV", {"v:cctv"})])
def test_short_terms_are_kept(loaded: SearchIndex, text: str, expected: set[str]) -> None:
    assert ids(loaded, text) == expected


def test_buyers_lower_case_acronyms_and_synonyms(loaded: SearchIndex) -> None:
    assert ids(loaded, "it support", buyer_terms=True) == {"v:it"}
    assert ids(loaded, "IT", buyer_terms=True) == {"v:it", "v:ict"}  # "information technology"
    assert ids(loaded, "send", buyer_terms=True) == {"v:send"}
    assert ids(loaded, "grounds maintenance", buyer_terms=True) == {"v:garden", "v:grounds", "v:scattered"}
    assert ids(loaded, "grounds maintenance") == {"v:grounds", "v:scattered"}  # no synonyms unless asked


def test_the_typed_phrase_scores_above_scattered_words(loaded: SearchIndex) -> None:
    hits = loaded.search(SearchQuery(text="grounds maintenance", buyer_terms=True)).hits
    order = [h.id for h in hits]
    assert order.index("v:grounds") < order.index("v:scattered")


def test_spelling_corrects_only_words_the_index_does_not_know(loaded: SearchIndex) -> None:
    result = loaded.search(SearchQuery(text="offise cleaning", spelling=True))
    assert [h.id for h in result.hits] == ["v:clean"]
    assert result.corrections == {"offise": "offic"}
    # Every word is known, the combination matches nothing: nothing is invented.
    empty = loaded.search(SearchQuery(text="cleaning tutoring", spelling=True))
    assert empty.total == 0 and empty.corrections == {}
    # A known word is never "corrected" to a neighbour ("cleaning" is not "clear").
    assert ids(loaded, "cleaning", spelling=True) == {"v:clean"}
    assert loaded.search(SearchQuery(text="zzqxj", spelling=True)).total == 0
    # A correction that still finds nothing is not offered.
    still_empty = loaded.search(SearchQuery(text="offise tutoring", spelling=True))
    assert still_empty.total == 0 and still_empty.corrections == {}


def test_synonyms_the_index_lacks_are_never_corrected(loaded: SearchIndex) -> None:
    # "horticulture" (a synonym of gardening) is in no listing: the word typed is, so nothing is
    # replaced and the empty combination stays empty.
    result = loaded.search(SearchQuery(text="gardening tutoring", buyer_terms=True, spelling=True))
    assert result.total == 0 and result.corrections == {}
    assert ids(loaded, "computer repair", buyer_terms=True, spelling=True) == set()


def test_spelling_keeps_filters_and_counts(loaded: SearchIndex) -> None:
    result = loaded.search(SearchQuery(text="landscapng", spelling=True, buyer_terms=True))
    assert {h.id for h in result.hits} == {"v:garden"} and result.total == 1
    assert result.corrections == {"landscapng": "landscap"}


def test_a_written_acronym_is_highlighted_as_written(loaded: SearchIndex) -> None:
    [hit] = loaded.search(SearchQuery(text="IT support", highlight=True)).hits
    snippet = (hit.highlights or {})["description"]
    assert f"{HIGHLIGHT_START}IT{HIGHLIGHT_END}" in snippet and "acronym" not in snippet


def test_any_word_matches_documents_holding_one_of_the_words(loaded: SearchIndex) -> None:
    assert ids(loaded, "landscaping cctv") == set()  # every word, by default
    assert ids(loaded, "landscaping cctv", any_word=True) == {"v:garden", "v:cctv"}
    hits = loaded.search(SearchQuery(text="grounds maintenance housing", any_word=True, limit=50)).hits
    # BM25 summed over the words a document holds: all three words beat two, two beat one.
    assert [h.id for h in hits][0] == "v:grounds"
    assert {h.id for h in hits} == {"v:grounds", "v:scattered"}
    assert loaded.count(SearchQuery(text="landscaping cctv", any_word=True)) == 2


def test_the_voluntary_sectors_words_meet_the_buyers(index: SearchIndex) -> None:
    """A register describes a charity in its own words (the NI register: "Women's Aid", "people with
    addictions"); a buyer writes the commissioner's ("domestic abuse", "substance misuse")."""
    index.bulk_upsert([
        doc("c:wa", "Belfast & Lisburn Women's Aid", description="Accommodation/housing and counselling for women."),
        doc("c:dv", "Safe Homes", description="Support for survivors of domestic violence."),
        doc("c:esc", "Esc Films", description="Arts and training for addictions (drug/solvent/alcohol abuse)."),
        doc("c:friends", "Befrienders For Disability", description="Befriending for disabled adults."),
        doc("c:bank", "Food Aid", description="A food bank run by women volunteers."),
        doc("c:vaw", "Rape Crisis", description="Ending violence against women and girls."),
        doc("c:centre", "Town Hall", description="The centre of the village is a hall to hire for a day."),
        doc("c:carers", "Highland Home Carers", description="Staff on call."),
        doc("c:skip", "Skip Hire Ltd", description="Collection of non-hazardous waste."),
    ])
    index.refresh()
    # A synonym of several words matches where its words stand near each other (a stop word
    # between, as in "violence against women", is no gap): "women" and "aid" apart say nothing
    # of domestic abuse, nor "day" and "centre" of day opportunities.
    assert ids(index, "domestic abuse", buyer_terms=True) == {"c:wa", "c:dv", "c:vaw"}
    assert ids(index, "day opportunities", buyer_terms=True) == set()
    # Near is not adjacent, and the last word may go on ("Carers" is not stemmed to "care").
    assert ids(index, "domiciliary care", buyer_terms=True) == {"c:carers"}
    assert ids(index, "recycling", buyer_terms=True) == {"c:skip"}
    assert ids(index, "domestic abuse") == set()  # the words as typed, without a buyer's synonyms
    assert ids(index, "substance misuse", buyer_terms=True) == {"c:esc"}
    assert ids(index, "loneliness", buyer_terms=True) == {"c:friends"}
