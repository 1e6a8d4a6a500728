"""Normalisation rules the consumer applies to every raw listing before validating it.

What is fixed quietly, what is dropped with a warning, and what rejects the record (it goes to
the dead-letter queue, where a steward can fix and replay it) - decided per field:

- Name: whitespace collapsed; a SHOUTED name is title-cased, keeping acronyms (CIC, UK, NHS).
- Description: HTML markup is reduced to text (sources export it as HTML). Active content
  (`<script>`, `javascript:`, `on...=` handlers, iframes) rejects the record: it is an attack,
  not data.
- Any text field that starts like a spreadsheet formula (`=HYPERLINK(...)`, `@SUM(`) rejects
  the record: stewards open exports in spreadsheets, so it must never be stored.
- Legal form: free text mapped to the fixed vocabulary; unknown text becomes `other`.
- Website and email: tidied (scheme added, `mailto:` removed); an unusable one is dropped with a
  warning, because contact details are optional and the supplier is still worth listing.
- CPV codes: checked against CPV 2008, with or without check digit. An unknown code rejects the
  record, because silently dropping it would hide the supplier from buyers searching that code
  and a typo is something the steward can fix.
- SIC codes: each adds its description to `services`, its section to `categories` when the
  record has none, and its likely CPV codes (`sources/sic_to_cpv.py`) when it has no CPV codes,
  so that a listing without CPV codes can still be matched.
"""

from __future__ import annotations

import html
import logging
import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from services.ingest.sources.common import unique
from services.ingest.sources.legal_forms import legal_form_from_text
from services.ingest.sources.sic import describe, section
from services.ingest.sources.sic_to_cpv import cpv_for_sic
from shared.cpv import is_known
from shared.models import CPV_PATTERN, DERIVED_INDEX_FIELDS

log = logging.getLogger("socialmatch.ingest.normalise")

FieldErrors = list[dict[str, str]]
_FORMULA = re.compile(r"^[\s\"']*(?:=|[+\-@][A-Za-z_][A-Za-z0-9_.]*\()")
_ACTIVE = re.compile(r"<\s*/?\s*(?:script|iframe|object|embed)\b|javascript\s*:|<[^>]*\bon[a-z]+\s*=", re.I)
# A string that starts like a formula, found in one scan of all a record's strings joined by
# _SEPARATOR (which `\s`, quotes and entity names never match, so no string's start is missed and
# no entity spans two strings).
_SEPARATOR = "\x00"
_STRING_STARTS_FORMULA = re.compile(r"""\x00[\s"']*(?:=|[+\-@][A-Za-z_][A-Za-z0-9_.]*\()""")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")
_BREAK = re.compile(r"<\s*(?:br|/p|/div|/li|/h[1-6])\s*/?\s*>", re.I)
_SPACES = re.compile(r"[ \t\u00a0]+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_KEEP_UPPER = frozenset({"CIC", "CIO", "SCIO", "UK", "NHS", "LLP", "PLC", "CBS", "IT", "YMCA", "YWCA", "BME",
                         "LGBT", "LGBTQ", "DIY", "CVS", "UKCIC", "B&B", "IPS", "GB", "EU"})
_SMALL = frozenset({"and", "of", "the", "for", "in", "on", "at", "to", "a", "an", "by", "with"})


class Invalid(Exception):
    """The record cannot be listed as it stands; `errors` name the fields."""

    def __init__(self, reason: str, errors: FieldErrors) -> None:
        super().__init__(reason)
        self.reason, self.errors = reason, errors


def normalise_listing(raw: dict[str, Any]) -> dict[str, Any]:
    """A tidied copy of `raw`; raises Invalid. Values of the wrong type are left for validation.

    The safety checks run on the record as sent and again on the text as it will be stored:
    stripping markup and unescaping entities can turn `<b>=HYPERLINK(…)</b>` into a formula and
    `&lt;script&gt;` into a script."""
    _reject_unsafe(raw)
    fields = {k: v for k, v in raw.items() if k not in DERIVED_INDEX_FIELDS}
    if isinstance(fields.get("name"), str):
        fields["name"] = tidy_name(fields["name"])
    if isinstance(fields.get("description"), str):
        fields["description"] = plain_text(fields["description"])
    if isinstance(fields.get("legal_form"), str):
        fields["legal_form"] = legal_form_from_text(fields["legal_form"])
    _contact(fields)
    _sic(fields)
    unknown = unknown_cpv(fields.get("cpv_codes"))
    if unknown:
        raise Invalid("unknown CPV code", unknown)
    _reject_unsafe({name: fields[name] for name in _REWRITTEN if name in fields and fields[name] != raw.get(name)})
    return fields


# The fields normalising rewrites: only their new text can hold what the record as sent did not
# (and only where it changed: the first check read the rest).
_REWRITTEN = ("name", "description", "legal_form", "contact", "source_url", "sic_codes", "services", "categories")


def _reject_unsafe(record: dict[str, Any]) -> None:
    if _may_hold_unsafe(record):
        unsafe = list(_unsafe_text(record, ""))
        if unsafe:
            raise Invalid("unsafe content", unsafe)


def _may_hold_unsafe(record: dict[str, Any]) -> bool:
    """Whether `_unsafe_text` could find anything in `record`: its strings joined, and unescaped
    once when any holds an entity, then searched at C speed. Register records hold dozens of
    strings and most hold an ampersand ("health & social care"), so walking them one by one cost
    more than validating the record; the walk now runs only to name the fields of a record this
    finds something in."""
    joined = _SEPARATOR + _SEPARATOR.join(_strings(record))
    if "&" in joined:
        joined += html.unescape(joined)  # both start with the separator: each string's start is kept
    if _STRING_STARTS_FORMULA.search(joined):
        return True
    # _ACTIVE needs a "<" or the word javascript, which case-insensitive matching also finds
    # spelt with a non-ASCII letter that lower() leaves alone (the long s, the dotless i).
    if "<" in joined or "javascript" in joined.lower() or any(ch in joined for ch in JAVASCRIPT_LOOKALIKES):
        return _ACTIVE.search(joined) is not None
    return False


JAVASCRIPT_LOOKALIKES = "\u0130\u0131\u017f"
"""The non-ASCII letters that IGNORECASE matches to a letter of "javascript" (a unit test checks
every code point)."""


def _strings(value: Any) -> list[str]:
    """Every string value in a JSON-like value, at any depth (keys are not values)."""
    found: list[str] = []
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return found


def _unsafe_text(value: Any, path: str) -> Any:
    """(field, message) for every string that is a formula or carries active content, as written or
    once its HTML entities are unescaped (as any page or client that decodes them would see it).

    A clean leaf string costs a few substring tests and no call or path: register records hold
    hundreds of strings, and an ampersand anywhere ("health & social care") sends every record
    down this walk."""
    if isinstance(value, str):
        if _may_be_unsafe(value):
            decoded = html.unescape(value) if "&" in value else value
            if _FORMULA.match(value) or _FORMULA.match(decoded):
                yield {"field": path, "message": "looks like a spreadsheet formula (formula injection)"}
            elif _ACTIVE.search(value) or _ACTIVE.search(decoded):
                yield {"field": path, "message": "contains active content (script, handler or javascript: URL)"}
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(item, str) or _may_be_unsafe(item):
                yield from _unsafe_text(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for number, item in enumerate(value):
            if not isinstance(item, str) or _may_be_unsafe(item):
                yield from _unsafe_text(item, f"{path}.{number}")


_FORMULA_SIGNS = frozenset("=+-@")


def _may_be_unsafe(text: str) -> bool:
    """Whether `_FORMULA` or `_ACTIVE` could match `text` or its unescaped form: it starts with a
    formula sign (after spaces and quotes), or holds a tag, an entity or a javascript: URL."""
    return (text.lstrip(" \t\r\n\"'")[:1] in _FORMULA_SIGNS or "<" in text or "&" in text
            or "script" in text.lower())


LOST_APOSTROPHE = re.compile(r"(?<=[A-Za-z])\?(?=s\b)")
"""A possessive's apostrophe that an export's encoding turned into "?" ("Men?s Sheds", "King?s
Head", as in Co-operatives UK's open data): a question mark never sits inside a word before "s"."""


def tidy_name(name: str) -> str:
    """Collapse whitespace; restore an apostrophe an export lost; title-case a name written all in
    capitals."""
    name = LOST_APOSTROPHE.sub("'", " ".join(name.split()))
    if not name.isupper() or sum(ch.isalpha() for ch in name) < 4:
        return name
    words = name.split(" ")
    return " ".join(_title_word(word, first=i == 0) for i, word in enumerate(words))


def _title_word(word: str, first: bool) -> str:
    if word.strip("().,") in _KEEP_UPPER:
        return word
    if not first and word.lower() in _SMALL:
        return word.lower()
    return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))


def plain_text(description: str) -> str:
    """Markup reduced to text (breaks kept as new lines); plain text only has its spaces tidied."""
    if not any(mark in description for mark in _NEEDS_TIDYING):  # most descriptions: one line, no markup
        return description.strip()
    return _tidied_text(description)


def _tidied_text(description: str) -> str:
    """`plain_text` for any text (a property test checks that its shortcut agrees with this)."""
    if _TAG.search(description):
        description = html.unescape(_TAG.sub("", _BREAK.sub("\n", description)))
    lines = [_SPACES.sub(" ", line).strip() for line in description.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_NEEDS_TIDYING = ("<", "\n", "\t", "\u00a0", "  ")
"""What `plain_text` changes besides the ends: a tag, a line break, or spaces to collapse."""


def normalise_url(value: str) -> str | None:
    """`www.x.org` -> `https://www.x.org`; None when it cannot be a web address."""
    candidate = value.strip()
    if not candidate:
        return None
    if "://" not in candidate:
        candidate = f"https://{candidate}"
    if _TIDY_URL.match(candidate):
        return candidate
    return _split_and_tidied(candidate)


_TIDY_URL = re.compile(r"https?://[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/[^\s?#]*)?(?:\?[^\s#]+)?(?:#\S+)?\Z")
"""A web address `_split_and_tidied` would return unchanged (lower-case scheme and host, no port,
no empty query or fragment, no spaces): most of those in register extracts."""


def _split_and_tidied(candidate: str) -> str | None:
    """`normalise_url` for any candidate with a scheme (a property test checks that its shortcut
    agrees with this). A host urlsplit refuses ("http://[broken") is as unusable as none."""
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or "." not in parts.netloc or " " in candidate:
        return None
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()


def normalise_email(value: str) -> str | None:
    """`mailto:Info@Example.ORG` -> `Info@example.org`; None when it is not an address."""
    candidate = value.strip()
    if candidate.lower().startswith("mailto:"):
        candidate = candidate[7:]
    if not _EMAIL.match(candidate):
        return None
    local, _, domain = candidate.rpartition("@")
    return f"{local}@{domain.lower()}"


def _contact(fields: dict[str, Any]) -> None:
    contact = fields.get("contact")
    if isinstance(contact, dict):
        contact = dict(contact)
        for key, tidy in (("website", normalise_url), ("email", normalise_email)):
            if isinstance(contact.get(key), str):
                tidied = tidy(contact[key])
                if tidied is None:
                    log.warning("dropped unusable %s %r of %s", key, contact[key][:100], fields.get("id"))
                contact[key] = tidied
        fields["contact"] = contact
    if isinstance(fields.get("source_url"), str):
        fields["source_url"] = normalise_url(fields["source_url"])


def _sic(fields: dict[str, Any]) -> None:
    codes = fields.get("sic_codes")
    if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
        return
    codes = unique(c.replace(".", "").replace("/", "") for c in codes)
    fields["sic_codes"] = codes
    facts = [_sic_facts(c) for c in codes]
    services = fields.get("services", [])
    if isinstance(services, list) and all(isinstance(s, str) for s in services):
        fields["services"] = unique([*services, *(description for description, _, _ in facts)])
    if not fields.get("categories"):
        fields["categories"] = unique(name for _, name, _ in facts)
    if not fields.get("cpv_codes"):
        fields["cpv_codes"] = unique(cpv for _, _, cpvs in facts for cpv in cpvs)


@lru_cache(maxsize=4096)
def _sic_facts(code: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    """What a SIC code adds (description, section, likely CPV codes), looked up once per code: the
    same few hundred codes recur in every load."""
    return describe(code), section(code), tuple(cpv_for_sic(code))


def unknown_cpv(codes: Any) -> FieldErrors:
    """Errors for well-formed codes that CPV 2008 does not have (malformed ones fail validation)."""
    if not isinstance(codes, list):
        return []
    return [
        {"field": f"cpv_codes.{number}", "message": f"{code!r} is not a CPV 2008 code"}
        for number, code in enumerate(codes)
        if isinstance(code, str) and CPV_PATTERN.match(code.strip()) and not is_known(code)
    ]
