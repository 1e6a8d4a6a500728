"""Whether a lot's work is done on site or can be done from anywhere.

Cleaning, catering, care, grounds, building work and transport are done where the buyer is, so
a supplier 200 km away cannot credibly bid; consultancy, research, software, design and most
professional services are delivered from the supplier's own office, and a buyer would shortlist
a good practice anywhere in the UK. The matcher searches the whole UK for remote work and lets
distance count for much less.
"""

from __future__ import annotations

import re

from shared.models import Lot

# CPV divisions and groups whose work is delivered remotely: architecture, engineering and
# surveying (71), IT (72), research (73), software (48), and business services (79) except
# security and investigation (797), staff supply (796) and event services (7995), which happen
# on the buyer's premises.
_REMOTE_PREFIXES = ("48", "71", "72", "73", "79")
_ON_SITE_PREFIXES = ("796", "797", "7995")
_REMOTE_WORDS = re.compile(
    r"\b(consultan(?:cy|ts?)|research|evaluation|software|web ?site|digital|app|audit|actuarial|"
    r"legal advice|translation|design services|feasibility stud(?:y|ies)|business cases?|strategy)\b",
    re.IGNORECASE,
)
_ON_SITE_WORDS = re.compile(
    r"\b(cleaning|catering|care|support workers?|grounds|maintenance|repairs?|installation|"
    r"construction|works|transport|taxis?|bus|removals?|security|guarding|waste|collection|delivery)\b",
    re.IGNORECASE,
)
REMOTE_DISTANCE_SCALE_KM = 400.0
"""For remote work, closeness still breaks ties: exp(-distance / 400 km)."""


def is_remote(lot: Lot) -> bool:
    """Remote when most of the lot's CPV codes are remote kinds of work; a lot without codes is
    remote when its title names remote work and no on-site work."""
    if lot.cpv_codes:
        remote = sum(_remote_code(code) for code in lot.cpv_codes)
        return remote * 2 > len(lot.cpv_codes)
    return bool(_REMOTE_WORDS.search(lot.title)) and not _ON_SITE_WORDS.search(lot.title)


def _remote_code(code: str) -> bool:
    return code.startswith(_REMOTE_PREFIXES) and not code.startswith(_ON_SITE_PREFIXES)
