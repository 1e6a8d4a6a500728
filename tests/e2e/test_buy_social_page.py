"""The Buy Social page on the real directory and matcher (gunicorn): a member sees progress, the
chart with its table, breakdowns and suggestions; downloads and decisions go through POST with
the key; another organisation's key sees nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import requests
from openpyxl import load_workbook

from tests.e2e.buy_social_world import OTHER_SECRET, Members, buy_social_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Members]]:
    with buy_social_stack(tmp_path_factory.mktemp("buy-social-page")) as served:
        yield served


def show(site: tuple[str, Members], org: str | None = None, key: str | None = None) -> requests.Response:
    url, members = site
    return requests.post(
        f"{url}/buy-social",
        data={"organisation_id": org or members.org, "api_key": members.key if key is None else key},
        timeout=30,
    )


def test_the_form_asks_for_the_key_in_a_post_form(site: tuple[str, Members]) -> None:
    page = requests.get(f"{site[0]}/buy-social", timeout=30)
    assert page.status_code == 200
    assert 'method="post"' in page.text and 'type="password"' in page.text and 'name="api_key"' in page.text
    assert "Buy Social" in page.text  # in the service navigation


def test_a_member_sees_progress_chart_table_breakdowns_and_suggestions(site: tuple[str, Members]) -> None:
    page = show(site)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.text
    assert "Buy Social 2025/26" in text and "Builder plc" in text  # the organisation by name
    assert "£1,000.00" in text  # spend with Green Spaces Training, a listed social enterprise, less its credit
    assert "£200.00 credited by social enterprises" in text
    assert "£4,650.00" in text  # addressable: every payment, the credit note netted
    assert "£400.00" in text and "INV-3" in text  # the suggestion awaiting confirmation
    assert "20.0%</strong> of the £5,000.00 target achieved" in text  # at the top, for each target
    assert 'href="#pending-title">£400.00 awaiting your confirmation' in text
    assert 'src="data:image/svg+xml;base64,' in text and 'alt="Line chart: spend with social enterprises' in text
    assert "Cumulative spend against the target line, by month" in text and "2025-05-31" in text
    assert "Green Spaces Training" in text and "Sparkle Cleaning CIC" in text
    assert OTHER_SECRET not in text and site[1].other_org not in text
    assert "?api_key" not in text and "smk_" not in page.url


@pytest.mark.parametrize("who", ["other_key", "other_org", "wrong_key"])
def test_anyone_else_sees_a_clear_error_and_nothing_else(site: tuple[str, Members], who: str) -> None:
    members = site[1]
    org, key = {
        "other_key": (members.org, members.other_key),
        "other_org": (members.other_org, members.key),
        "wrong_key": (members.org, "smk_0000000000000000_nope"),
    }[who]
    page = show(site, org, key)
    assert page.status_code == 403
    assert "There is a problem" in page.text and "do not match" in page.text
    assert "Buy Social 2025/26" not in page.text and OTHER_SECRET not in page.text and "£" not in page.text


def test_empty_fields_are_named(site: tuple[str, Members]) -> None:
    page = requests.post(f"{site[0]}/buy-social", data={}, timeout=30)
    assert page.status_code == 400
    assert "Enter your organisation ID" in page.text and "Enter your API key" in page.text


def test_downloads_go_through_post_with_the_key(site: tuple[str, Members]) -> None:
    url, members = site
    form = {"organisation_id": members.org, "api_key": members.key, "target_id": "fy25"}
    csv_file = requests.post(f"{url}/buy-social/export", data={**form, "format": "csv"}, timeout=30)
    assert csv_file.status_code == 200 and csv_file.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_file.headers["content-disposition"] and "INV-1" in csv_file.text
    xlsx = requests.post(f"{url}/buy-social/export", data={**form, "format": "xlsx"}, timeout=30)
    assert load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "Summary"
    refused = requests.post(
        f"{url}/buy-social/export", data={**form, "format": "csv", "api_key": members.other_key}, timeout=30
    )
    assert refused.status_code == 403 and "INV-1" not in refused.text


def confirm(url: str, members: Members, reference: str, supplier_id: str) -> requests.Response:
    """Press "Confirm" for one candidate of a suggested link, as the page's form does."""
    form = {"organisation_id": members.org, "api_key": members.key, "reference": reference,
            "supplier_id": supplier_id, "decision": "confirm"}  # fmt: skip
    return requests.post(f"{url}/buy-social/links", data=form, timeout=30)


def test_a_refused_decision_is_explained_on_the_page(site: tuple[str, Members]) -> None:
    url, members = site
    page = confirm(url, members, "INV-3", "t:nope")
    assert page.status_code == 400 and "No listing in the directory has that id" in page.text
    assert "INV-3" in page.text  # still awaiting confirmation


def test_confirming_a_suggestion_counts_it(site: tuple[str, Members]) -> None:
    url, members = site
    page = confirm(url, members, "INV-3", "t:clean-leeds")
    assert page.status_code == 200 and "Confirmed the supplier of INV-3" in page.text
    assert "£1,400.00" in page.text and "No spend is waiting for you to confirm its supplier" in page.text


def test_the_page_shows_the_target_running_now_with_its_pipeline_and_recommendation(site: tuple[str, Members]) -> None:
    text = show(site).text
    assert "Buy Social this year" in text and "4.0%</strong> of the £20,000.00 target achieved" in text
    assert "£500.00 direct, £300.00 indirect" in text
    assert "Recommended placements for Buy Social this year" in text and "Sparkle Cleaning CIC" in text
    assert "£73,100.00" in text  # the package's whole value; only its share in the period counts
    assert "km away" in text


def test_a_rejected_link_is_listed_and_can_be_undone(site: tuple[str, Members]) -> None:
    url, members = site
    text = show(site).text
    assert "Suppliers you decided on" in text and "INV-5" in text and "Rejected" in text
    form = {"organisation_id": members.org, "api_key": members.key, "reference": "INV-5"}
    page = requests.post(f"{url}/buy-social/links/undo", data=form, timeout=30)
    assert page.status_code == 200 and "Undone: the supplier of INV-5 is waiting for your decision again" in page.text
    assert "Sparkel Clean" in page.text  # back among the suppliers to confirm


def test_the_chart_downloads_as_an_svg_that_stands_on_its_own(site: tuple[str, Members]) -> None:
    url, members = site
    form = {"organisation_id": members.org, "api_key": members.key, "target_id": "fy25", "format": "svg"}
    chart = requests.post(f"{url}/buy-social/export", data=form, timeout=30)
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml; charset=utf-8"
    assert "attachment" in chart.headers["content-disposition"]
    svg = chart.text
    assert "Cumulative spend (£)" in svg and "Date paid" in svg and "£2k" in svg and "Target</text>" in svg
    assert "Spend with social enterprises for Buy Social 2025/26" in svg


def test_the_csv_download_names_its_charset_once(site: tuple[str, Members]) -> None:
    url, members = site
    form = {"organisation_id": members.org, "api_key": members.key, "target_id": "fy25", "format": "csv"}
    csv_file = requests.post(f"{url}/buy-social/export", data=form, timeout=30)
    assert csv_file.headers["content-type"] == "text/csv; charset=utf-8"
