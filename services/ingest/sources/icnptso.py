"""ICNP/TSO, the UN classification of non-profit and third-sector organisations by activity.

UK-CAT gives every classified charity, and a model gives 62,088 Community Interest Companies, one
ICNP/TSO code. The code says what an organisation does in terms a register can vouch for, so the
loaders use it three ways: its title becomes a category a buyer can read, a table links it to
the CPV codes buyers publish lots under (inferred, and marked so), and a few groups mark bodies
that sell nothing to public buyers (grant-makers, congregations, members' clubs, parties). F30,
"Housing management and maintenance", is not one of them: it holds the housing associations and
supported-housing charities buyers contract with, beside residents' associations (which
`non_suppliers.by_name` recognises by name). Nor is I90, "Other religious associations", whole:
it holds faith-based services (a Muslim women's resource centre, a church's food bank) beside
bodies that only promote a religion, which a loader tells apart by what else the register says
they do (UK-CAT's `religious_only`).

The CPV links are deliberately coarse and only drawn where the activity *is* a service a public
buyer contracts for (child day-care, vocational training, residential care); advocacy, community
development or "not elsewhere classified" groups get none rather than a guess.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

CODES_FILE = Path(__file__).resolve().parents[3] / "data" / "sources" / "ukcat" / "icnptso.csv"

NON_SUPPLIER_GROUPS: dict[str, str] = {
    "H10": "grant-making foundation",
    "I10": "religious congregation",
    "J": "business, professional or labour association",
    "G13": "members' social club",
    "G20": "political party or lobbying body",
    "L60": "financial or insurance body",
    "L80": "household activity",
}
"""Code prefix -> why an organisation with a code under it is not a supplier to public buyers."""

_CPV: dict[str, tuple[str, ...]] = {
    "A11": ("92310000",),  # artistic and literary creation and interpretation services
    "A12": ("92520000",),  # museum services
    "A19": ("92000000",),
    "A21": ("92600000",),  # sporting services
    "A22": ("92000000",),
    "A29": ("92000000",),
    "A30": ("92500000",),  # library, archives, museums and other cultural services
    "B11": ("80110000",),  # pre-school education
    "B12": ("80100000",),
    "B13": ("80200000",),
    "B19": ("80100000",),
    "B20": ("80300000",),  # higher education
    "B21": ("80300000",),
    "B29": ("80300000",),
    "B31": ("80530000",),  # vocational training
    "B32": ("80000000",),
    "B90": ("80000000",),
    "C11": ("85100000",),  # health services
    "C12": ("85140000",),
    "C13": ("85143000",),  # ambulance services
    "C14": ("85145000",),  # medical laboratories
    "C20": ("85110000",),  # hospital services
    "C21": ("85110000",),
    "C22": ("85110000",),
    "C29": ("85110000",),
    "C30": ("85311000",),  # social work with accommodation
    "C31": ("85144000", "85311000"),  # residential health facilities
    "C32": ("85311100",),  # welfare services for the elderly
    "C39": ("85311000",),
    "D11": ("85311300",),  # welfare services for children and young people
    "D12": ("85311100",),
    "D13": ("85311200",),  # welfare services for the handicapped
    "D14": ("85320000",),  # social services
    "D19": ("85320000",),
    "D20": ("85312110",),  # child day-care services
    "D31": ("85320000",),
    "D32": ("85311000",),
    "D33": ("85320000",),
    "D34": ("85320000",),
    "D39": ("85320000",),
    "D40": ("80530000", "79611000"),  # vocational training, job search
    "D41": ("80530000", "79611000"),
    "D42": ("85320000",),
    "D49": ("80530000",),
    "D90": ("85300000",),  # social work and related services
    "E11": ("77300000", "90720000"),  # horticultural services, environmental protection
    "E12": ("90700000",),
    "E14": ("77000000",),  # agricultural, forestry and horticultural services
    "E19": ("90700000",),
    "E22": ("85200000",),  # veterinary services
    "F11": ("45210000",),
    "F12": ("45200000",),
    "F19": ("45000000",),
    "F40": ("90500000",),  # refuse and waste related services
    "G11": ("85312300",),  # guidance and counselling (advice and advocacy)
    "G14": ("85311300",),
    "G15": ("85311100",),
    "G16": ("85311200",),
    "K10": ("73000000",),  # research and development services
    "K21": ("79100000",),  # legal services
    "K22": ("79416000",),  # public relations
    "K23": ("79200000",),  # accounting
    "K29": ("79000000",),
    "K30": ("79000000",),
    "L10": ("77000000",),
    "L30": ("55520000",),  # catering services
    "L50": ("60000000",),  # transport services
    "L70": ("70000000",),  # real estate services
}


@lru_cache(maxsize=1)
def titles() -> dict[str, str]:
    """Code (section letter, group or sub-group) -> title, from the code list beside the data."""
    with CODES_FILE.open(encoding="utf-8-sig", newline="") as fh:
        return {
            (row["Sub-group"] or row["Group"] or row["Section"]).strip(): row["Title"].strip()
            for row in csv.DictReader(fh)
        }


def normalise(code: str | None) -> str | None:
    """`i10 ` -> `I10`; None for a blank or a code the list does not hold."""
    cleaned = (code or "").strip().upper()
    return cleaned if cleaned in titles() else None


def title(code: str | None) -> str | None:
    """The code's title, with the list's "classfied" typo mended, or None."""
    known = normalise(code)
    return titles()[known].replace("classfied", "classified") if known else None


def non_supplier(code: str | None) -> str | None:
    """Why an organisation with this code sells nothing to public buyers, or None."""
    known = normalise(code) or ""
    return next((why for prefix, why in NON_SUPPLIER_GROUPS.items() if known.startswith(prefix)), None)


def cpv_for(code: str | None) -> list[str]:
    """The CPV codes a code's activity is bought under (sub-group, else its group), or none."""
    known = normalise(code)
    if not known:
        return []
    return list(_CPV.get(known) or _CPV.get(known[:2] + "0") or ())
