"""How the PostgreSQL adapters carry text PostgreSQL refuses (NUL), and keep passwords out of messages."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.postgres import escape_text, unescape_text
from shared.store_urls import redacted

TRICKY = st.text(alphabet=st.sampled_from(["\x00", "\\", "0", "a", "é"]), max_size=12) | st.text()


@given(TRICKY)
def test_escaping_is_reversible_and_leaves_no_nul(value: str) -> None:
    escaped = escape_text(value)
    assert "\x00" not in escaped and unescape_text(escaped) == value


@given(TRICKY, TRICKY)
def test_escaping_keeps_distinct_strings_distinct(a: str, b: str) -> None:
    assert (escape_text(a) == escape_text(b)) == (a == b)


def test_ordinary_text_is_stored_as_it_is() -> None:
    assert escape_text("Builder plc") == "Builder plc" and unescape_text("Builder plc") == "Builder plc"


def test_a_password_never_reaches_a_message() -> None:
    assert redacted("postgresql://app:s3cret@db:5432/socialmatch") == "postgresql://app:***@db:5432/socialmatch"
    assert redacted("postgresql://app@db/socialmatch") == "postgresql://app@db/socialmatch"
    assert redacted("sqlite:///var/accounts.db") == "sqlite:///var/accounts.db"
