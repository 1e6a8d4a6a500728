"""UK SIC 2007 descriptions for the 5-digit codes that sources carry.

A SIC code means nothing to a searcher, but its description ("General cleaning of buildings")
is what they type, so adapters put it into a listing's `services`. Descriptions come from the
ONS hierarchy in `data/sic/` (see its PROVENANCE.md).
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parents[3] / "data" / "sic" / "uksic2007_hierarchy.tsv"


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """ONS code ("81.21", "93.19/1", "01") -> name, loaded once on first use."""
    with DATA_FILE.open(encoding="utf-8", newline="") as fh:
        return {
            row["industrial-classification-2007"]: row["name"] for row in csv.DictReader(fh, delimiter="\t")
        }


def _ons_candidates(code: str) -> list[str]:
    """ONS codes a 5-digit Companies House code may stand for, most specific first.

    "81210" is class 81.21; "93191" is subclass 93.19/1; codes padded with zeros ("47200",
    "01000") stand for the group or division.
    """
    division, group, cls = code[:2], f"{code[:2]}.{code[2]}", f"{code[:2]}.{code[2:4]}"
    return [f"{cls}/{code[4]}", cls, group, division] if code[4] != "0" else [cls, group, division]


@lru_cache(maxsize=4096)
def describe(sic_code: str) -> str | None:
    """The ONS description of a 5-digit SIC code, or None when it is not a SIC 2007 code."""
    code = sic_code.strip()
    if len(code) != 5 or not code.isdigit():
        return None
    names = _names()
    return next((names[c] for c in _ons_candidates(code) if c in names), None)


@lru_cache(maxsize=1)
def _parents() -> dict[str, str]:
    with DATA_FILE.open(encoding="utf-8", newline="") as fh:
        return {
            row["industrial-classification-2007"]: row["parent"].rpartition(":")[2]
            for row in csv.DictReader(fh, delimiter="\t")
        }


@lru_cache(maxsize=4096)
def section(sic_code: str) -> str | None:
    """The name of the SIC section a 5-digit code belongs to ("Administrative and support service
    activities" for 81210): broad enough to serve as a directory category."""
    code = sic_code.strip()
    if len(code) != 5 or not code.isdigit():
        return None
    node: str | None = code[:2]
    parents = _parents()
    while node and node in parents and len(node) > 1:
        node = parents[node] or None
    return _names().get(node) if node and len(node) == 1 else None
