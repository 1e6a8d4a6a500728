"""A buyer finds an organisation by its register identifier, keeps only organisations an official
register lists, and reads on results and profiles which register vouches for each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from services.directory.app import create_app
from services.directory.search_service import merged_into
from shared.models import with_index_fields
from shared.search.port import Hit, SearchQuery, SearchResult
from tests.factories import BELFAST, doc, indexed

OSCR = {"registry": "GB-SC", "identifier": "GB-SC-SC012345", "status": "registered charity", "as_of": "2024-05"}
REMOVED = {"registry": "GB-NIC", "identifier": "GB-NIC-100002", "status": "registered charity",
           "as_of": "2020-06-30", "current": False}
LISTINGS = [
    doc("charity:GB-SC-SC012345", "Highland Befriending", legal_form="charity", licence="CC-BY-4.0; OGL-UK-3.0",
        cpv_codes=["85320000"], cpv_inferred=True,
        description="Befriending for older people.", org_ids=["GB-SC-SC012345"], verified=[OSCR]),
    doc("charity:GB-NIC-100002", "Belfast Befriending", legal_form="charity", at=BELFAST,
        description="Befriending in Belfast.", org_ids=["GB-NIC-100002"], verified=[REMOVED]),
    doc("ptc:1", "Leeds Befriending Group", description="Befriending in Leeds.", licence="development only"),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('registers')}/search.db"
    indexed(url, LISTINGS)
    app = create_app({"search_url": url, "index_prefix": "test_", "matcher_url": "http://127.0.0.1:9"})
    app.testing = True
    yield app.test_client()


def test_an_org_id_finds_its_organisation_whatever_its_case(client: FlaskClient) -> None:
    body = client.get("/search?org_id=gb-sc-sc012345").get_json()
    assert [r["id"] for r in body["results"]] == ["charity:GB-SC-SC012345"]
    assert body["results"][0]["org_ids"] == ["GB-SC-SC012345"]
    assert body["results"][0]["verified"][0]["status"] == "registered charity"


def test_a_malformed_org_id_is_a_400_naming_it(client: FlaskClient) -> None:
    response = client.get("/search?org_id=1000003")
    assert response.status_code == 400
    assert [e["field"] for e in response.get_json()["errors"]] == ["org_id.0"]


def test_verified_keeps_only_organisations_a_register_currently_lists(client: FlaskClient) -> None:
    body = client.get("/search?q=befriending&verified=true").get_json()
    assert [r["id"] for r in body["results"]] == ["charity:GB-SC-SC012345"]
    everyone = client.get("/search?q=befriending").get_json()
    assert everyone["total"] == 3
    assert everyone["facets"]["verified_by"] == [{"value": "GB-SC", "count": 1}]
    assert client.get("/search?verified_by=GB-XX").status_code == 400


def test_results_say_which_register_vouches_and_which_are_not_verified(client: FlaskClient) -> None:
    html = client.get("/?q=befriending").get_data(as_text=True)
    assert "Registered charity, OSCR (Scottish Charity Regulator)" in html
    assert html.count("Not verified") == 2
    assert "Listed by an official register" in html  # the facet's title


def test_a_profile_states_the_register_entry_the_licence_and_development_only_data(client: FlaskClient) -> None:
    scot = client.get("/suppliers/charity:GB-SC-SC012345").get_data(as_text=True)
    assert "registered charity, OSCR (Scottish Charity Regulator), 2024-05" in scot
    assert "Creative Commons Attribution 4.0; Open Government Licence v3.0" in scot
    assert "Inferred by the directory from the register" in scot
    removed = client.get("/suppliers/charity:GB-NIC-100002").get_data(as_text=True)
    assert "Not verified" in removed
    assert "No longer listed: registered charity, Charity Commission for Northern Ireland" in removed
    development = client.get("/suppliers/ptc:1").get_data(as_text=True)
    assert "For development use only" in development


def _merged(cluster: str, *members: str, **fields: object) -> dict[str, object]:
    """A listing folded from several source records, as the consumer indexes it."""
    listing = doc(cluster, "Holywood Befriending", at=BELFAST, **fields)
    listing["provenance"] = [{"id": member, "source": member.split(":")[0], "updated_at": "2025-01-01T00:00:00+00:00"}
                             for member in (cluster, *members)]
    return with_index_fields(listing)


@pytest.fixture(scope="module")
def merged_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('merged')}/search.db"
    indexed(url, [_merged("ccni:GB-NIC-100419", "charity:GB-NIC-100419")])
    app = create_app({"search_url": url, "index_prefix": "test_", "matcher_url": "http://127.0.0.1:9"})
    app.testing = True
    yield app.test_client()


def test_a_merged_records_old_address_leads_to_the_organisation(merged_client: FlaskClient) -> None:
    page = merged_client.get("/suppliers/charity:GB-NIC-100419?back=/%3Fq%3Dbefriending")
    assert page.status_code == 302
    assert page.headers["Location"] == "/suppliers/ccni:GB-NIC-100419?back=/%3Fq%3Dbefriending"
    api = merged_client.get("/listings/charity:GB-NIC-100419")
    assert (api.status_code, api.headers["Location"]) == (302, "/listings/ccni:GB-NIC-100419")
    listing = merged_client.get("/listings/ccni:GB-NIC-100419").get_json()
    assert listing["member_ids"] == ["ccni:GB-NIC-100419", "charity:GB-NIC-100419"]
    assert merged_client.get("/suppliers/charity:GB-NIC-999999").status_code == 404
    assert merged_client.get("/listings/charity:GB-NIC-999999").status_code == 404


def test_an_org_id_no_listing_holds_is_said_so_not_an_error(client: FlaskClient) -> None:
    body = client.get("/search?org_id=GB-NIC-999999&legal_form=charity").get_json()
    assert body["total"] == 0
    assert body["empty"]["cause"] == "filter" and body["empty"]["filters"] == ["org_id"]
    assert body["empty"]["message"] == "No organisation in the directory has the identifier GB-NIC-999999."
    html = client.get("/?org_id=GB-NIC-999999").get_data(as_text=True)
    assert "No organisation in the directory has the identifier GB-NIC-999999." in html
    assert "Remove it to search the whole directory:" in html and "Remove the register identifier filter" in html
    found = client.get("/?org_id=GB-SC-SC012345").get_data(as_text=True)
    assert "Highland Befriending" in found and "Register identifier" in found  # shown as a filter to remove


def test_a_listing_a_search_still_sees_after_its_delete_is_a_404_not_a_redirect_to_itself() -> None:
    """Elasticsearch's `get` is real-time but its search sees the last refresh: just after a delete
    the listing's own member id still finds it."""

    class JustDeleted:
        def get(self, listing_id: str) -> None:
            return None

        def search(self, query: SearchQuery) -> SearchResult:
            return SearchResult(total=1, hits=[Hit("t:gone", 1.0, None, {"id": "t:gone"})], facets={})

    assert merged_into(JustDeleted(), "t:gone") is None  # type: ignore[arg-type]
