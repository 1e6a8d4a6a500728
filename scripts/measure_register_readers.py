"""How fast the register loaders read: constructed files in each publisher's layout, timed.

The national files are large (Companies House ~5 million rows, CCEW ~390,000), so a loader that
is slow on the rows it skips would make a national rebuild take hours. This builds a Companies
House file with 2% CICs and a CCEW extract, in a temporary folder, and prints rows per second
for the reader alone and for a whole `load_file` into the embedded event log.

    python -m scripts.measure_register_readers [--companies 200000] [--charities 50000]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from services.ingest.loading import load_file
from services.ingest.sources import ccew, companies_house
from services.ingest.sources.formats import FORMATS
from shared.events.factory import open_event_log

T = TypeVar("T")


def companies_file(folder: Path, count: int) -> Path:
    """`count` companies, one in fifty a CIC (the national share is about 1 in 60)."""
    path = folder / "BasicCompanyDataAsOneFile-2026-11-01.csv"
    columns = companies_house.COLUMNS
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(columns)
        for n in range(count):
            row = dict.fromkeys(columns, "")
            row.update({"CompanyName": f"COMPANY {n} LIMITED", " CompanyNumber": f"{n:08d}",
                        "RegAddress.AddressLine1": f"{n} HIGH STREET", "RegAddress.PostTown": "LEEDS",
                        "RegAddress.PostCode": "LS1 5HD", "CompanyStatus": "Active",
                        "CompanyCategory": companies_house.CIC if n % 50 == 0 else "Private Limited Company",
                        "IncorporationDate": "03/04/2019", "SICCode.SicText_1": "81210 - General cleaning of buildings",
                        "URI": f"http://business.data.gov.uk/id/company/{n:08d}"})
            writer.writerow(row[c] for c in columns)
    return path


def charities_file(folder: Path, count: int) -> Path:
    """`count` main charities, one in ten removed, in the Commission's tab-separated form."""
    path = folder / "publicextract.charity.txt"
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("\t".join(ccew.COLUMNS) + "\r\n")
        for n in range(count):
            row = dict.fromkeys(ccew.COLUMNS, "")
            row.update({"date_of_extract": "2026-11-30 00:00:00", "organisation_number": str(n),
                        "registered_charity_number": str(200000 + n), "linked_charity_number": "0",
                        "charity_name": f"Charity {n}", "charity_contact_postcode": "HX7 8AA",
                        "charity_registration_status": "Removed" if n % 10 == 0 else "Registered",
                        "charity_activities": "Community meals and cookery training for young people."})
            fh.write("\t".join(row[c] for c in ccew.COLUMNS) + "\r\n")
    return path


def timed(what: str, rows: int, work: Callable[[], T]) -> T:
    """`work()`'s result, after printing how many rows per second it got through."""
    start, cpu_start = time.perf_counter(), time.process_time()
    result = work()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"{what}: {rows} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s"
          f" ({rows / cpu:,.0f} rows per CPU-second: other work on the machine slows the first, not this)")
    return result


def measure(fmt: str, path: Path, rows: int, folder: Path) -> None:
    """The reader alone, then a whole load into a fresh embedded event log."""
    timed(f"{fmt} reader", rows, lambda: sum(1 for _ in FORMATS[fmt](path, None)))
    events = open_event_log(f"sqlite:///{folder}/{fmt}.db")
    try:
        summary = timed(f"{fmt} load_file", rows, lambda: load_file(events, "listings", path, fmt))
    finally:
        events.close()
    print(f"  {summary.lines()[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companies", type=int, default=200_000)
    parser.add_argument("--charities", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        measure("companies-house", companies_file(folder, args.companies), args.companies, folder)
        measure("ccew", charities_file(folder, args.charities), args.charities, folder)

if __name__ == "__main__":
    main()
