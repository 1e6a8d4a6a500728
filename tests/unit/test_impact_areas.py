"""The impact-area rules: what they find, and that their literal prefilter never changes it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.sources import impact
from services.ingest.sources.impact import impact_areas

# Every alternative of every description phrase, so a needle missing from a rule shows here.
PHRASES = {
    "training": ["training courses", "modern apprenticeship", "apprenticeships for young people"],
    "employment": ["employability support", "getting people into work", "into paid work",
                   "employment support", "employment opportunities"],
    "reducing_reoffending": ["support for ex-offenders", "an ex-offender", "reducing reoffending",
                             "visits to prisons", "prisoners' families", "prison"],
    "tackling_isolation": ["social isolation", "loneliness", "isolated older people"],
    "disability_inclusion": ["disability sport", "learning disabilities", "disabled people",
                             "learning difficulties"],
    "environment": ["recycling", "furniture reuse", "re-use", "upcycled", "renewable energy", "zero waste shop"],
    "health_and_wellbeing": ["mental health", "wellbeing", "well-being"],
}


def test_each_description_phrase_finds_its_area() -> None:
    for area, phrases in PHRASES.items():
        for phrase in phrases:
            assert impact_areas([], f"We offer {phrase.upper()} here.") == [area], phrase


def test_words_that_merely_contain_a_phrase_find_nothing() -> None:
    assert impact_areas([], "a house because it is in use; being there; misuse") == []
    assert impact_areas([], "retraining is not training" ) == ["training"]
    assert impact_areas([], "retraining") == []


def test_categories_map_by_keyword_and_repeat_from_the_cache() -> None:
    assert impact_areas(["Health and Social Care", "Arts", "Health and Social Care"]) == [
        "health_and_wellbeing", "arts_and_culture"]
    assert impact_areas(["Food service, Accommodation and Pubs"]) == []


WORDS = [word for phrases in PHRASES.values() for phrase in phrases for word in phrase.split()] + [
    "the", "re", "-", "well", "being", "use", "into", "paid", "work", "ex", "offender", "socially", "isolation"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=12), st.sampled_from([" ", "-", "", ", "]))
def test_the_prefilter_agrees_with_the_patterns_alone(words: list[str], joiner: str) -> None:
    text = joiner.join(words)
    by_patterns = [area for pattern, _, area in impact._DESCRIPTION_RULES if pattern.search(text.lower())]
    assert impact_areas([], text) == list(dict.fromkeys(by_patterns))
