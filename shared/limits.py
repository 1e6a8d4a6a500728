"""The bounds every service and the consumer hold input to: one set, so an API never accepts what
the consumer, a store or another service then refuses or chokes on.

Each bound is far beyond real data and well inside what the code can compute with: a record that
passes an API must never be able to stop the consumer (SQLite integers are 64-bit; Python's dates
end at 9999-12-31, so a date near it overflows the first `+ timedelta`). The README's "Limits"
table lists them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

# Money. £10 billion in one payment, target or package is beyond any UK contract; ten million
# such records still sum inside a 64-bit integer.
MAX_AMOUNT_PENCE = 10**12
# Dates of payments, targets and packages: wide enough for any ledger, far from date.max.
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2199, 12, 31)
# A target's period: its report walks it day by day.
MAX_PERIOD_DAYS = 366 * 20
# Distances: the UK is about 1,200 km from end to end.
MAX_RADIUS_KM = 1500.0
# Work per request: each CPV code is a recall query, each requirement a match, each lot a match.
# Real Sell2Wales lots list up to 59 CPV codes; a consortium has ten requirements at most.
MAX_CPV_CODES = 200
MAX_REQUIREMENTS = 10
MAX_LOTS = 100
# Results one request may ask for (lots times `limit`): each is scored and explained.
MAX_RESULTS = 1000
# Lists of short texts in a record (services, categories, regions, certifications…) and each text:
# real listings carry at most ten of any; a merged listing's provenance, one entry per source.
MAX_LIST_ITEMS = 200
MAX_TERM_LENGTH = 500
# JSON bodies: real documents (OCDS included) nest fewer than 15 levels.
MAX_JSON_DEPTH = 64
# Uploads and request bodies, by default (each service's settings may lower or raise its own): the
# largest real OCDS file the project ships is 1.4 MB; a body is an upload and the form around it.
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 64 * 1024
# The longest URL path and query string gunicorn takes (its own maximum).
MAX_REQUEST_LINE = 8190


def _in_date_range(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueError(f"must be between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}")
    return value


BoundedDate = Annotated[date, AfterValidator(_in_date_range)]
"""A calendar date inside [MIN_DATE, MAX_DATE]."""
BoundedDateTime = Annotated[datetime, AfterValidator(_in_date_range)]
"""A timestamp whose date is inside [MIN_DATE, MAX_DATE]."""

Pence = Annotated[int, Field(gt=0, le=MAX_AMOUNT_PENCE)]
"""A positive amount of money in pence, at most MAX_AMOUNT_PENCE."""
