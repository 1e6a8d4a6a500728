"""The request's `Matcher`: the app's model and word statistics over the app's search index.

Every blueprint that matches (`/match`, partners, consortia, Buy Social) takes it from here, so
matching is wired in one place.
"""

from __future__ import annotations

from flask import current_app

from services.matcher.matching import Matcher
from shared.web import search_index, settings


def matcher() -> Matcher:
    ext, s = current_app.extensions, settings()
    stats, model = ext["matcher_word_stats"], ext["matcher_model"]
    return Matcher(search_index(), stats, model, s.candidate_pool, s.default_radius_km)
