"""The capability classes the relevance judgements are made with (see data/benchmark/README.md).

A class is a kind of work a buyer procures and a social enterprise delivers. A listing has a class
when its SIC codes, its CPV codes, its directory categories or the words of its name, description
and services say so; a lot has a class when its CPV codes say so (or, lacking any, its title's
words). Classes belong to a sector, so a listing in the same sector but another class counts as
partly relevant ("a caterer for a cafe concession").

Written by hand for this benchmark, from the UK SIC 2007 and CPV 2008 hierarchies and from what
the sample directory's listings say about themselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CapabilityClass:
    key: str
    sector: str
    sic: tuple[str, ...]
    cpv: tuple[str, ...]
    categories: tuple[str, ...]
    words: re.Pattern[str]


def _class(key: str, sector: str, sic: str, cpv: str, words: str, categories: Sequence[str] = ()) -> CapabilityClass:
    return CapabilityClass(
        key, sector, tuple(sic.split()), tuple(cpv.split()), tuple(categories), re.compile(rf"\b(?:{words})", re.I)
    )


CLASSES: tuple[CapabilityClass, ...] = (
    _class("cleaning", "facilities", "812", "909", r"clean(?:ing|ers?)\b|janitor|hygiene"),
    _class("laundry", "facilities", "9601", "9831", r"laundr|linen"),
    _class("security", "facilities", "80", "797", r"security (?:services|guard)|stewarding"),
    _class("grounds", "environment", "813", "7731 77211 45112710 7711",
           r"grounds maintenance|garden(?:ing|ers)\b|landscap|horticultur|grass cutting|hedge"),
    _class("forestry", "environment", "02", "772 0311", r"woodland|forestry|tree planting|coppic|arboricult"),
    _class("reuse-recycling", "environment", "38 3900 4779 9524 9529", "905 9051 9071",
           r"recycl|re-?use|repair caf|upcycl|refurbish|scrap|waste",
           ["Reuse and repair", "Reduce, Reuse, Repair & Recycle"]),
    _class("energy", "energy", "351 352 353", "093 0931 0933 6512",
           r"renewable|solar|wind (?:turbine|farm|power)|hydro|community energy|heat network",
           ["Energy and Environment", "Community energy", "Energy"]),
    _class("retrofit", "energy", "4329", "4532 71314",
           r"insulation|retrofit|energy efficien|fuel poverty|energy advice"),
    _class("catering", "food", "5621 5629 5610", "555 553 5551", r"cater|caf[eé]\b|restaurant|kitchen|meals"),
    _class("pub", "food", "5630", "554", r"\bpubs?\b|\binn\b|tavern|public house", ["Community pub"]),
    _class("farm-produce", "food", "011 012 013 014 015 4631 4721", "031 0321 0322",
           r"organic|vegetable|growers|market garden|farm\b|farms\b|veg box|orchard", ["Agriculture"]),
    _class("bakery", "food", "107 1071 4724", "1581 1582", r"bak(?:er|ing)|bread"),
    _class("brewing", "food", "110", "1596 159", r"brew|\bales?\b|cider|beer"),
    _class("food-redistribution", "food", "", "", r"surplus food|food bank|food redistribution|food waste"),
    _class("retail", "retail", "47", "", r"\bshop\b|\bstore\b|grocer", ["Retail"]),
    _class("post", "retail", "53", "641", r"post office|courier|parcel"),
    _class("printing", "creative", "181", "798", r"print"),
    _class("publishing", "creative", "58", "7997 2211 2212", r"publish|magazine|newspaper"),
    _class("marketing-design", "creative", "731 7021 741", "7934 7941 7982", r"marketing|graphic design|branding|"
           r"communications agency|advertis|public relations|social media",
           ["Digital, Media and Communication"]),
    _class("film-photo", "creative", "591 742", "921 9211 79961", r"\bfilm|video|photograph"),
    _class("it-software", "digital", "62 631", "72 48", r"software|web ?(?:site|design|develop)|digital "
           r"(?:agency|services|inclusion)|computer|tech co-?op"),
    _class("consultancy", "professional", "702 7490", "794 7941", r"consultan|business support|business advice",
           ["Professional and Legal services"]),
    _class("research", "professional", "72 732", "7931 7932 731", r"research|evaluation"),
    _class("accounting", "professional", "692", "792", r"accountan|bookkeep|payroll|\baudit"),
    _class("legal", "professional", "691", "791", r"\blegal\b|solicitor|law centre|welfare rights"),
    _class("translation", "professional", "743", "7953 7954", r"translat|interpret"),
    _class("architecture", "professional", "711", "712 7124 7142", r"architect"),
    _class("employability", "social", "78109 782 783", "796", r"employab|recruit|job (?:club|coach|search)|into work|"
           r"employment support|work placement|back to work"),
    _class("training", "education", "85", "80", r"training|education|learning|courses|tuition|school|teach",
           ["Education"]),
    _class("childcare", "care", "8891 8510", "85312110 8011", r"childcare|nursery|early years|pre-?school|creche"),
    _class("youth", "social", "8899", "853122", r"\byouth|young people"),
    _class("social-care", "care", "87 881", "853 8531 8532", r"\bcare\b|carers|domiciliary|older people|"
           r"learning disabilit|day services|supported living|befriend", ["Health and Social Care"]),
    _class("health", "care", "86 9604", "851 85323", r"health|wellbeing|well-being|mental|therap|counsell"),
    _class("transport", "transport", "49", "60", r"transport|minibus|\btaxi|\bbus\b|dial-a-ride",
           ["Transport"]),
    _class("cycling", "transport", "3092 4764 9529", "3443 50116", r"bicycle|\bbikes?\b|cycl(?:e|ing)\b"),
    _class("construction", "construction", "41 42 43", "45", r"building|construction|joinery|plumb|decorat|"
           r"roofing|carpent|bricklay|repairs and maintenance"),
    _class("building-services", "construction", "432 4321 4322", "453 507 5071 5072 5053",
           r"electric(?:al|ian)|heating|gas (?:servicing|safe)|\blifts?\b"),
    _class("housing", "housing", "681 682 4110", "70 8531", r"housing|\bhomes\b|tenan|homeless|land trust",
           ["Community-led housing", "Housing"]),
    _class("arts", "culture", "90", "923 9231 9232 9233", r"\barts?\b|theatre|music|dance|creative|gallery|perform",
           ["Arts and Culture", "Arts"]),
    _class("heritage", "culture", "91", "925 9252 9251", r"heritage|museum|library|archive|historic"),
    _class("sport-leisure", "leisure", "931 932", "926 9261 9262", r"sport|leisure|swimming|\bgym\b|football|fitness",
           ["Sports and Recreation"]),
    _class("community-space", "community", "", "", r"community (?:centre|hall|hub|building|space)|village hall|"
           r"\bvenue", ["Community & Collective Spaces"]),
)  # fmt: skip

BY_KEY: Mapping[str, CapabilityClass] = {c.key: c for c in CLASSES}


def _matches_code(codes: Sequence[str], prefixes: Sequence[str]) -> bool:
    return any(code.startswith(prefix) for code in codes for prefix in prefixes)


def listing_classes(listing: Mapping[str, Any]) -> frozenset[str]:
    """Every class a listing's structured data or own words give it."""
    text = " ".join([listing.get("name", ""), listing.get("description", ""), *listing.get("services", [])])
    sic, cpv, categories = listing.get("sic_codes", []), listing.get("cpv_codes", []), listing.get("categories", [])
    return frozenset(
        c.key
        for c in CLASSES
        if _matches_code(sic, c.sic)
        or _matches_code(cpv, c.cpv)
        or any(cat in c.categories for cat in categories)
        or c.words.search(text)
    )


def lot_classes(title: str, cpv_codes: Sequence[str]) -> frozenset[str]:
    """A real lot's classes from its CPV codes (the most specific prefix that matches wins), or
    from its title's words when it has no CPV code."""
    if cpv_codes:
        found = set()
        for code in cpv_codes:
            best = max(
                ((len(p), c.key) for c in CLASSES for p in c.cpv if code.startswith(p)),
                default=None,
            )
            if best:
                found.add(best[1])
        return frozenset(found)
    return frozenset(c.key for c in CLASSES if c.words.search(title))
