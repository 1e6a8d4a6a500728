"""The Northern Ireland charity register's export (Windows-1252) becomes verified charity listings."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from services.ingest.sources import ccni
from services.ingest.sources.common import Skipped
from services.ingest.sources.formats import FORMATS, SourceRecord
from shared.geo import default_gazetteer
from shared.models import Listing

# The export's header, trailing comma (an unnamed 20th column) included.
HEADER = (
    "Reg charity number,Sub charity number,Charity name,Date registered,Status,Date for financial year ending,"
    "Total income,Total spending,Charitable spending,Income generation and governance,Retained for future use,"
    "Public address,Website,Email,Telephone,Company number,What the charity does,Who the charity helps,"
    "How the charity works,"
)
ADVICE = "Advice/advocacy/information,Counselling/support,Education/training"
NEED = (
    "The advancement of education,The relief of those in need by reason of youth, age, ill-health, "
    "disability, financial hardship or other disadvantage"
)


def _row(**values: str) -> dict[str, str]:
    row = {
        "Reg charity number": "100002", "Sub charity number": "0", "Charity name": "Cancer Lifeline",
        "Date registered": "13/12/2013", "Status": "Up-to-date", "Date for financial year ending": "31 March 2019",
        "Total income": "346770", "Total spending": "349653", "Charitable spending": "0",
        "Income generation and governance": "0", "Retained for future use": "0",
        "Public address": "Cancer Lifeline, 44 Alliance Avenue, Belfast, BT14 7PJ",
        "Website": "www.cancerlifeline.info", "Email": "info@cancerlifeline.info", "Telephone": "028 90351999",
        "Company number": "0", "What the charity does": NEED, "Who the charity helps": "Carers,Older people",
        "How the charity works": ADVICE, "": "",
    }
    return {**row, **values}


def _export(tmp_path: Path, rows: list[dict[str, str]]) -> Path:
    """A file laid out as CCNI's export: Windows-1252 bytes, LF line endings, no BOM."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER.split(","), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = tmp_path / "ni-roc.csv"
    path.write_bytes(out.getvalue().encode("cp1252"))
    return path


def _load(path: Path) -> list[SourceRecord]:
    return list(FORMATS["ccni"](path, None))


def test_a_registered_charity_is_verified_by_ccni_with_its_lists_in_words() -> None:
    listing = Listing.model_validate(ccni.to_listing(_row(), default_gazetteer()))
    assert listing.id == "ccni:GB-NIC-100002" and listing.org_ids == ["GB-NIC-100002"]
    assert listing.charity_number == "100002" and listing.legal_form.value == "charity"
    [verified] = listing.verified
    assert (verified.registry, verified.identifier, verified.status, verified.as_of, verified.current) == (
        "GB-NIC", "GB-NIC-100002", "registered charity", "2020-06-30", True
    )
    assert listing.licence == "OGL-UK-3.0" and listing.source == "ccni"
    assert listing.description == (
        "Advice/advocacy/information, counselling/support and education/training for carers and older people. "
        "Charitable purposes: education; the relief of those in need."
    )
    assert listing.categories == ADVICE.split(",") and listing.beneficiaries == ["Carers", "Older people"]
    assert listing.cpv_inferred and listing.cpv_codes == ["85312300", "80000000"]
    assert "education" in listing.impact_areas
    assert listing.postcode == "BT14 7PJ" and listing.region == "Northern Ireland" and listing.location
    assert listing.address.town == "Belfast" and listing.address.street == "44 Alliance Avenue"
    assert listing.contact.website == "https://www.cancerlifeline.info"
    assert listing.source_url == "https://www.charitycommissionni.org.uk/charity-details/?regid=100002&subid=0"
    assert listing.updated_at.date().isoformat() == "2020-06-30"


def test_the_export_is_read_as_windows_1252(tmp_path: Path) -> None:
    irish = _row(**{"Reg charity number": "100500", "Charity name": "Cultúrlann Uí Chanáin",
                    "Public address": "37 Great James Street, Derry – Londonderry, BT48 7DF"})
    [record] = _load(_export(tmp_path, [irish]))
    assert record.problem is None and record.listing is not None
    assert record.listing["name"] == "Cultúrlann Uí Chanáin"
    assert record.listing["address"]["town"] == "Derry – Londonderry"


def test_removed_charities_and_non_suppliers_are_skipped_with_their_reasons(tmp_path: Path) -> None:
    rows = [
        _row(Status="Removed"),
        _row(**{"How the charity works": "Grant making,General charitable purposes"}),
        _row(**{"What the charity does": "The advancement of religion",
                "How the charity works": "Religious activities"}),
        _row(**{"Charity name": "Raloo Presbyterian Church", "What the charity does": "The advancement of religion",
                "How the charity works": "Religious activities,Youth development"}),
        _row(**{"Charity name": "Holywood Primary School Pta"}),
        _row(**{"Public address": "Charity No Longer Operates, 1 Main Street, Lisburn, BT28 1AA"}),
    ]
    assert [r.skipped for r in _load(_export(tmp_path, rows))] == [
        "removed from the register",
        "not a supplier: grant-maker (works only by grant making)",
        "not a supplier: religious body delivering nothing else",
        "not a supplier: congregation or place of worship (religion, and its name)",
        "not a supplier: parent-teacher association (by name)",
        "no longer operates (the register's address says so)",
    ]


def test_a_church_hall_charity_that_delivers_more_than_worship_is_kept() -> None:
    row = _row(**{"Charity name": "Whiteabbey Community Hub", "What the charity does": "The advancement of religion",
                  "How the charity works": "Religious activities,Community development,Youth development"})
    assert ccni.record(row)["categories"] == ["Religious activities", "Community development", "Youth development"]


def test_a_postcode_is_found_wherever_the_address_holds_it() -> None:
    fields = ccni.address_fields("Unit 4, Belfast BT1 2AB, Co. Antrim", "Some Charity")
    assert fields["postcode"] == "BT1 2AB" and fields["address"] == {"town": "Belfast", "street": "Unit 4"}
    assert ccni.address_fields("1 Main St, Newry,\u00a0BT34\u00a01AA", "X")["postcode"] == "BT34 1AA"


def test_a_charity_without_a_postcode_is_listed_without_a_location() -> None:
    row = _row(**{"Public address": "Courtbane, Hackballscross, Dundalk, Co Louth"})
    listing = Listing.model_validate(ccni.to_listing(row, default_gazetteer()))
    assert listing.postcode is None and listing.location is None and listing.geo_precision == "none"
    assert listing.address.town == "Dundalk"


@pytest.mark.parametrize("placeholder", ["n/a", "none", "None", "N/A", "-"])
def test_placeholder_websites_are_dropped(placeholder: str) -> None:
    assert ccni.record(_row(Website=placeholder))["contact"]["website"] is None


def test_company_numbers_are_rebuilt_in_ni_form_but_claim_no_org_id() -> None:
    listing = ccni.record(_row(**{"Company number": "28840"}))
    assert listing["company_number"] == "NI028840" and listing["org_ids"] == ["GB-NIC-100002"]
    assert "company_number" not in ccni.record(_row(**{"Company number": "1029207"}))  # 7 digits: ambiguous


def test_a_late_filer_is_still_verified_and_says_so() -> None:
    [verified] = ccni.record(_row(Status="In default"))["verified"]
    assert verified["status"] == "registered charity (in default with its returns)"


def test_the_shipped_export_loads_without_problems() -> None:
    path = Path(__file__).resolve().parents[2] / "data" / "sources" / "ccni" / "ni-roc-2020-06-30.csv"
    records = _load(path)
    assert len(records) == 6565 and not [r for r in records if r.problem]
    assert sum(r.skipped == "removed from the register" for r in records) == 342
    with pytest.raises(Skipped):
        ccni.record(_row(Status="Removed"))


def test_a_description_reads_as_a_sentence_whatever_the_lists_hold() -> None:
    assert ccni.describe([], [], ["General charitable purposes", "Arts", "Cultural"]) == "Arts and cultural."
    assert ccni.describe(["The advancement of amateur sport"], ["Men"], []) == (
        "Works for men. Charitable purposes: amateur sport."
    )
