"""Highlighted snippets as safe HTML: the index marks matches, this module escapes and wraps them.

Listing text comes from open data that anyone can edit upstream, so every run of text is
escaped first and only the index's match markers become `<mark>`: the result holds no other
markup, and both the JSON API and the pages can show it as HTML.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from shared.search.port import highlight_segments


def to_html(snippet: str) -> Markup:
    """A snippet with the port's match markers as escaped text with `<mark>` around each match."""
    # Escaped once as a whole, then split: escaping maps each character on its own and leaves the
    # markers alone, so this is the text escaped run by run, without a Markup object per run
    # (this runs for every field of every hit on every search).
    escaped = str(escape(snippet))
    return Markup("".join(f"<mark>{text}</mark>" if matched else text for text, matched in highlight_segments(escaped)))
