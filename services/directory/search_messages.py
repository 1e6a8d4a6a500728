"""Search parameter errors in words a person can act on (GOV.UK style), for the API and pages.

Pydantic's own messages ("String should have at least 1 character") name a rule, not what to
do; each parameter gets a sentence that says what to enter instead.
"""

from __future__ import annotations

from pydantic import ValidationError

from shared.errors import FieldError
from shared.limits import MAX_RADIUS_KM

MAX_TEXT_CHARS = 500
# parameter -> what to say when its value is wrong (whatever the rule it broke).
MESSAGES: dict[str, str] = {
    "q": f"What you need must be {MAX_TEXT_CHARS} characters or fewer",
    "postcode": "Enter a real postcode or district, like LS1 4AP or LS1",
    "lat": "Latitude must be a number between -90 and 90",
    "lon": "Longitude must be a number between -180 and 180",
    "radius_km": f"Distance must be a number of kilometres between 0 and {MAX_RADIUS_KM:,g}, like 25",
    "sort": "Sort by best match (relevance), distance or name",
    "page": "Page must be a whole number from 1 to 10,000",
    "per_page": "Results per page must be a whole number from 1 to 100",
    "cursor": "The link to the next page is not valid; go back to the first page",
    "region": "Choose regions from the list (at most 20)",
    "category": "Choose categories from the list (at most 20)",
    "legal_form": "Choose legal forms from the list (at most 20)",
    "impact_area": "Choose social impacts from the list (at most 20)",
    "certification": "Choose certifications from the list (at most 20)",
    "size_band": "Choose sizes from the list (at most 20)",
    "cpv": "Enter CPV codes as digits, like 90910000 or 909 (at most 20)",
    "verified_by": "Choose registers from the list (at most 20)",
    "verified": "Verified must be true or false",
    "org_id": "Enter org-id identifiers like GB-CHC-1000003, GB-SC-SC012345 or GB-COH-08996508 (at most 100)",
}


def search_errors(exc: ValidationError) -> list[FieldError]:
    """One error per parameter that broke a rule, in the order given; unknown parameters named."""
    errors: dict[str, FieldError] = {}
    for err in exc.errors(include_url=False):
        name = str(err["loc"][0]) if err["loc"] else "query"
        path = ".".join(str(part) for part in err["loc"]) or "query"  # "region.0": which value
        if err["type"] == "extra_forbidden":
            errors.setdefault(name, FieldError(path, f"{name} is not a search parameter"))
        else:
            errors.setdefault(name, FieldError(path, MESSAGES.get(name, str(err["msg"]))))
    return list(errors.values())
