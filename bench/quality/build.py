"""Build the relevance benchmark: placed lots and graded judgements over the shipped directory.

    python -m bench.quality.build        # rewrites data/benchmark/{lots,judgements}.jsonl

Deterministic. How the lots are placed and the grades given is in data/benchmark/README.md.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.lots import CONSTRUCTED, ROOT, LotText, ocds_lots
from bench.quality.taxonomy import BY_KEY, listing_classes, lot_classes
from bench.synthetic import BEFORE_CHARITIES, SAMPLE, postcode_districts
from shared.geo import default_gazetteer, distance_km

OUT = ROOT / "data" / "benchmark"
RADII = (15, 25, 40)

# Classes of the constructed lots, assigned by hand when the lots were written.
CONSTRUCTED_CLASSES: Mapping[str, tuple[str, ...]] = {
    "office-cleaning": ("cleaning",), "school-cleaning": ("cleaning",), "window-cleaning": ("cleaning",),
    "event-catering": ("catering",), "school-meals": ("catering",), "cafe-concession": ("catering",),
    "grounds": ("grounds",), "tree-planting": ("forestry", "grounds"), "woodland": ("forestry",),
    "allotments": ("grounds", "farm-produce"), "fresh-veg": ("farm-produce",), "bakery": ("bakery",),
    "veg-boxes": ("farm-produce",), "furniture-reuse": ("reuse-recycling",), "bike-repair": ("cycling",),
    "cycle-training": ("cycling",), "recycling": ("reuse-recycling",), "textile-reuse": ("reuse-recycling",),
    "printing": ("printing",), "web-design": ("it-software",), "it-support": ("it-software",),
    "digital-inclusion": ("it-software", "training"), "video": ("film-photo",), "photography": ("film-photo",),
    "marketing": ("marketing-design",), "translation": ("translation",), "consultancy": ("consultancy",),
    "evaluation": ("research",), "accounting": ("accounting",), "legal-advice": ("legal",),
    "employability": ("employability",), "youth-work": ("youth",), "apprenticeships": ("training", "construction"),
    "mental-health": ("health",), "befriending": ("social-care",), "home-care": ("social-care",),
    "learning-disability": ("social-care",), "childcare": ("childcare",), "arts-workshops": ("arts",),
    "theatre": ("arts",), "music": ("arts",), "heritage": ("heritage",), "library": ("heritage",),
    "sports": ("sport-leisure",), "leisure-centre": ("sport-leisure",), "community-transport": ("transport",),
    "taxi": ("transport",), "courier": ("post", "cycling"), "solar": ("energy",), "community-energy": ("energy",),
    "retrofit": ("retrofit",), "energy-advice": ("retrofit",), "repairs": ("construction",),
    "decorating": ("construction",), "housing-support": ("housing",), "community-led-housing": ("housing",),
    "pub": ("pub",), "village-shop": ("retail", "post"), "farm-education": ("farm-produce", "training"),
    "brewery": ("brewing",), "reoffending": ("employability",), "laundry": ("laundry",),
    "architecture": ("architecture",), "software": ("it-software",), "food-bank": ("food-redistribution",),
}  # fmt: skip


@dataclass(frozen=True)
class Supplier:
    id: str
    point: tuple[float, float]
    classes: frozenset[str]
    impact_areas: frozenset[str]


def suppliers() -> list[Supplier]:
    """The sample directory's located listings with their classes."""
    out = []
    with SAMPLE.open(encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            if doc.get("location") and doc.get("source") in BEFORE_CHARITIES:
                point = (doc["location"]["lat"], doc["location"]["lon"])
                out.append(Supplier(doc["id"], point, listing_classes(doc), frozenset(doc.get("impact_areas", []))))
    return out


def sectors(classes: frozenset[str]) -> frozenset[str]:
    return frozenset(BY_KEY[c].sector for c in classes)


def grade(lot_classes_: frozenset[str], priorities: frozenset[str], radius: float, km: float, s: Supplier) -> int:
    """The buyer's question, "who can deliver this, near where it is delivered, and what social
    value would they bring?", as points: 0 beyond the radius or unrelated; 1 same sector; 2 same
    class, plus 1 within half the radius, plus 1 for one of the buyer's priorities (0 to 4)."""
    if km > radius:
        return 0
    if s.classes & lot_classes_:
        return 2 + (km <= radius / 2) + bool(priorities & s.impact_areas)
    return 1 if sectors(s.classes) & sectors(lot_classes_) else 0


def _rng(key: str) -> random.Random:
    return random.Random(int(hashlib.sha256(key.encode()).hexdigest()[:16], 16))


def place(text: LotText, classes: frozenset[str], directory: Sequence[Supplier]) -> tuple[str, int] | None:
    """A delivery district 2 km to 60% of the radius from a randomly chosen capable supplier, so
    that someone can deliver but is not on the doorstep; None when nobody in the directory can."""
    capable = [s for s in directory if s.classes & classes]
    if not capable:
        return None
    rng = _rng(text.id)
    anchor = rng.choice(capable)
    radius = rng.choice(RADII)
    gazetteer = default_gazetteer()
    near = [
        d[0]
        for d in postcode_districts()
        if 2 <= distance_km(anchor.point, (d[1], d[2])) <= 0.6 * radius and gazetteer.locate(d[0]) is not None
    ]
    return (rng.choice(near), radius) if near else None


def build() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    directory = suppliers()
    gazetteer = default_gazetteer()
    texts = [(t, frozenset(CONSTRUCTED_CLASSES[t.id.split(":", 1)[1]])) for t in CONSTRUCTED]
    texts += [(t, lot_classes(t.title, t.cpv_codes)) for t in ocds_lots()]
    lots, judgements, dropped = [], [], []
    for text, classes in texts:
        placed = place(text, classes, directory) if classes else None
        if placed is None:
            dropped.append(f"{text.id}: {'no class' if not classes else 'nobody can deliver'} ({text.title[:60]})")
            continue
        postcode, radius = placed
        found = gazetteer.locate(postcode)
        assert found is not None
        point = (found.lat, found.lon)
        priorities = frozenset(text.social_value_priorities)
        graded = [(s.id, grade(classes, priorities, radius, distance_km(point, s.point), s)) for s in directory]
        lot: dict[str, Any] = {
            "id": text.id,
            "title": text.title,
            "description": text.description,
            "cpv_codes": list(text.cpv_codes),
            "postcode": postcode,
            "radius_km": radius,
            "social_value_priorities": list(text.social_value_priorities),
        }
        if text.value_pence is not None:
            lot["value_pence"] = text.value_pence
        lots.append({"lot": lot, "classes": sorted(classes)})
        judgements += [{"lot": text.id, "listing": i, "grade": g} for i, g in sorted(graded) if g > 0]
    return lots, judgements, dropped


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def main() -> None:
    lots, judgements, dropped = build()
    OUT.mkdir(parents=True, exist_ok=True)
    _write(OUT / "lots.jsonl", lots)
    _write(OUT / "judgements.jsonl", judgements)
    (OUT / "dropped.txt").write_text("".join(f"{d}\n" for d in dropped), encoding="utf-8")
    print(f"{len(lots)} lots, {len(judgements)} judgements (grade > 0); {len(dropped)} lots left out")


if __name__ == "__main__":
    main()
