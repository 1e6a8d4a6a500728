"""Lots to benchmark the matcher with: real ones from the OCDS samples, and constructed ones.

The real lots (Public Contracts Scotland, Sell2Wales) carry what publishers write: long or empty
descriptions, several CPV codes, places only as a region. They are mostly works and supplies
that few social enterprises bid for, so constructed lots add the services social enterprises do
deliver (cleaning, catering, grounds, reuse, training, care, community energy ...) in the words
buyers use. Neither set carries a delivery postcode; each benchmark places them itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from services.matcher.ocds import parse_ocds
from shared.errors import InvalidInput

ROOT = Path(__file__).resolve().parent.parent
OCDS_FILES = ("pcs_scotland_tender_releases_2019.json", "sell2wales_tender_releases_2025.json")


@dataclass(frozen=True)
class LotText:
    """What a buyer says a lot is, before it is placed anywhere."""

    id: str
    title: str
    description: str
    cpv_codes: tuple[str, ...]
    social_value_priorities: tuple[str, ...] = ()
    value_pence: int | None = None


def ocds_lots() -> list[LotText]:
    """One lot per UK release (the first that parses): releases with many near-identical lots
    (bus routes, one per council) would otherwise swamp the set."""
    out = []
    for name in OCDS_FILES:
        releases = json.loads((ROOT / "data" / "ocds" / name).read_text(encoding="utf-8"))["releases"]
        for i, release in enumerate(releases):
            try:
                parsed = parse_ocds(release, max_lots=1000)
            except InvalidInput:
                continue  # unmatchable as published: the API test covers these
            if not parsed:
                continue
            lot = parsed[0].lot
            out.append(
                LotText(
                    id=f"{name.split('_')[0]}:{i}:{lot.id or 1}",
                    title=lot.title,
                    description=lot.description,
                    cpv_codes=tuple(lot.cpv_codes),
                    value_pence=lot.value_pence,
                )
            )
    return out


def _lot(key: str, title: str, description: str, cpv: str, *priorities: str) -> LotText:
    return LotText(f"constructed:{key}", title, description, tuple(cpv.split()), priorities)


CONSTRUCTED: tuple[LotText, ...] = (
    _lot("office-cleaning", "Office cleaning", "Daily cleaning of council offices and washrooms",
         "90910000", "employment"),
    _lot("school-cleaning", "Cleaning of primary schools",
         "Term-time cleaning of classrooms, halls and kitchens in twelve primary schools", "90919300"),
    _lot("window-cleaning", "Window cleaning of housing blocks",
         "Quarterly window cleaning for sheltered housing schemes", "90911300"),
    _lot("event-catering", "Catering for community events",
         "Hot and cold buffet catering for up to 200 guests at council events", "55520000", "food"),
    _lot("school-meals", "School meals in rural primary schools",
         "Cooked lunches prepared from local produce for rural schools", "55524000", "food"),
    _lot("cafe-concession", "Cafe concession in a country park",
         "Run the visitor cafe in the park, serving local and seasonal food", "55330000", "local_economy"),
    _lot("grounds", "Grounds maintenance of parks and open spaces",
         "Grass cutting, hedge trimming and shrub bed maintenance", "77314000", "environment"),
    _lot("tree-planting", "Community tree planting",
         "Plant and establish trees with volunteers on council land", "77211400", "environment"),
    _lot("woodland", "Woodland management", "Thinning, coppicing and footpath work in community woodland",
         "77231000", "environment"),
    _lot("allotments", "Allotment and community garden support",
         "Support residents to grow food on allotments and community gardens", "77310000", "food"),
    _lot("fresh-veg", "Supply of fresh fruit and vegetables",
         "Weekly delivery of seasonal organic vegetables to care homes", "03221000", "food"),
    _lot("bakery", "Supply of bread and bakery products",
         "Daily delivery of fresh bread and rolls to school kitchens", "15811000", "local_economy"),
    _lot("veg-boxes", "Organic vegetable box scheme for staff", "Organic veg boxes grown on local farms",
         "03221000", "environment"),
    _lot("furniture-reuse", "Furniture reuse service",
         "Collect, repair and redistribute donated furniture to households in need", "90510000",
         "environment"),
    _lot("bike-repair", "Bicycle repair and maintenance",
         "Servicing and repair of the council's pool bikes and cycle hire fleet", "50000000", "environment"),
    _lot("cycle-training", "Cycle training for schoolchildren",
         "Bikeability cycle training in primary schools", "80000000", "youth_employment"),
    _lot("recycling", "Recycling of electrical waste",
         "Collection and refurbishment of waste electrical equipment", "90514000", "environment"),
    _lot("textile-reuse", "Textile recycling banks", "Collection and reuse of clothes and textiles",
         "90514000", "environment"),
    _lot("printing", "Printing of leaflets and reports", "Print and deliver leaflets, posters and reports",
         "79810000"),
    _lot("web-design", "Website design and development",
         "Design and build an accessible website for a community project", "72413000"),
    _lot("it-support", "IT support for community centres",
         "Helpdesk, network and computer support for five community centres", "72611000"),
    _lot("digital-inclusion", "Digital inclusion training for older people",
         "Courses helping older residents get online safely", "80500000", "tackling_isolation"),
    _lot("video", "Video production for a public health campaign",
         "Film and edit short videos for a public health campaign", "92111000", "health_and_wellbeing"),
    _lot("photography", "Photography of council events", "Event and portrait photography", "79961000"),
    _lot("marketing", "Marketing and communications support",
         "Social media, campaigns and design for a regeneration programme", "79340000"),
    _lot("translation", "Translation and interpreting services",
         "Community language interpreting and translation of leaflets", "79530000"),
    _lot("consultancy", "Business support for social enterprises",
         "Consultancy helping community businesses plan and grow", "79400000", "local_economy"),
    _lot("evaluation", "Evaluation of a community programme",
         "Independent research and evaluation of a neighbourhood programme", "79315000", "community"),
    _lot("accounting", "Bookkeeping and accounting for community groups",
         "Bookkeeping, payroll and year-end accounts for small charities", "79200000"),
    _lot("legal-advice", "Legal advice for tenants", "Housing and welfare rights legal advice", "79100000",
         "housing"),
    _lot("employability", "Employability support for long-term unemployed",
         "Job coaching, training and placements for people far from work", "79600000", "employment"),
    _lot("youth-work", "Youth work and activities", "Detached youth work and holiday activities for 11-18s",
         "85312000", "youth_employment"),
    _lot("apprenticeships", "Construction apprenticeships and training",
         "Training young people in construction trades", "80530000", "training"),
    _lot("mental-health", "Community mental health support",
         "Peer support groups and wellbeing activities for adults", "85323000", "health_and_wellbeing"),
    _lot("befriending", "Befriending for isolated older people",
         "Telephone and home-visit befriending to reduce loneliness", "85320000", "tackling_isolation"),
    _lot("home-care", "Home care and support for older people",
         "Domiciliary care and support at home", "85312000", "health_and_wellbeing"),
    _lot("learning-disability", "Day services for adults with learning disabilities",
         "Meaningful day activities, horticulture and crafts", "85312100", "disability_inclusion"),
    _lot("childcare", "Childcare and early years provision", "Nursery places and holiday childcare",
         "85312110", "education"),
    _lot("arts-workshops", "Community arts workshops", "Creative arts workshops for residents of all ages",
         "92312000", "arts_and_culture"),
    _lot("theatre", "Theatre and performance programme", "Touring theatre and live performance in villages",
         "92312100", "arts_and_culture"),
    _lot("music", "Music lessons and community choirs", "Music education and singing groups",
         "80000000", "arts_and_culture"),
    _lot("heritage", "Heritage site management", "Run a heritage visitor attraction and its events",
         "92521000", "arts_and_culture"),
    _lot("library", "Community library services", "Run a community-managed library", "92511000",
         "community"),
    _lot("sports", "Sports coaching and activities", "Sports sessions for young people in parks",
         "92620000", "health_and_wellbeing"),
    _lot("leisure-centre", "Leisure centre operation", "Operate a community swimming pool and gym",
         "92610000", "health_and_wellbeing"),
    _lot("community-transport", "Community transport for older people",
         "Door-to-door minibus and dial-a-ride transport", "60130000", "tackling_isolation"),
    _lot("taxi", "Taxi services", "Taxi journeys for council staff and clients", "60120000"),
    _lot("courier", "Courier and delivery services", "Local courier delivery by cargo bike and van",
         "64120000", "environment"),
    _lot("solar", "Solar panels on community buildings",
         "Install and operate solar PV on schools and community halls", "09332000", "environment"),
    _lot("community-energy", "Community energy scheme",
         "Renewable electricity generation owned by the community", "09310000", "environment"),
    _lot("retrofit", "Home energy efficiency retrofit",
         "Insulation and energy advice for households in fuel poverty", "45321000", "housing"),
    _lot("energy-advice", "Energy advice for households", "Advice on bills, tariffs and saving energy",
         "71314300", "housing"),
    _lot("repairs", "Minor building repairs and maintenance",
         "Repairs to community buildings: joinery, plumbing, decorating", "45453000", "training"),
    _lot("decorating", "Painting and decorating of void properties",
         "Decorate empty council homes before new tenants move in", "45442100", "employment"),
    _lot("housing-support", "Housing support for homeless people",
         "Tenancy sustainment and supported housing", "85311000", "housing"),
    _lot("community-led-housing", "Community-led housing development",
         "Develop affordable homes with a community land trust", "45211000", "housing"),
    _lot("pub", "Community pub operation", "Run a community-owned village pub", "55410000", "community"),
    _lot("village-shop", "Village shop and post office", "Run a community shop with a post office counter",
         "64110000", "community"),
    _lot("farm-education", "Farm visits and outdoor learning", "Educational visits to a working farm",
         "80000000", "education"),
    _lot("brewery", "Supply of local beer for events", "Cask and bottled ales from a local brewery",
         "15960000", "local_economy"),
    _lot("reoffending", "Employment support for prison leavers",
         "Training and jobs for people leaving prison", "79600000", "reducing_reoffending"),
    _lot("laundry", "Laundry services for care homes", "Wash and iron linen for six care homes", "98311000",
         "employment"),
    _lot("architecture", "Architectural design for a community hub",
         "Architect to design the refurbishment of a community building", "71200000"),
    _lot("software", "Bespoke software development", "Develop and maintain a booking system", "72212000"),
    _lot("food-bank", "Food redistribution", "Collect surplus food and redistribute it to charities",
         "15000000", "food"),
)  # fmt: skip


def all_lots() -> list[LotText]:
    """The constructed lots first (stable ids), then the real ones."""
    return [*CONSTRUCTED, *ocds_lots()]
