"""A charity that UK-CAT and the Northern Ireland register both describe, loaded through the event
log by a real consumer: one listing holding what each source says, whichever file came first.

Under one shared id the consumer kept only the newer record, so the NI register's contact details
or UK-CAT's classification were lost; under each source's own id de-duplication joins them by
their org-id, corroborated by the name and the postcode district."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ingest.batch_runner import BatchRunner
from services.ingest.config import IngestSettings
from services.ingest.consumer import Indexer
from services.ingest.dedupe import OrganisationRegistry
from services.ingest.geocode import default_chain
from services.ingest.loading import load_file
from services.ingest.metrics import ConsumerMetrics
from shared.events.embedded import EmbeddedEventLog
from shared.search.factory import open_search_index
from shared.search.port import SearchQuery

from .test_build_sample import UKCAT_COLUMNS, _ukcat_row, _write_csv
from .test_source_ccni import _export
from .test_source_ccni import _row as ccni_row


@pytest.mark.parametrize("order", [("ukcat", "ccni"), ("ccni", "ukcat")])
def test_one_listing_keeps_both_sources_whichever_loads_first(tmp_path: Path, order: tuple[str, str]) -> None:
    files = {
        "ukcat": _write_csv(tmp_path / "sample.csv", [_ukcat_row("GB-NIC-100002", UKCAT="HE101")], UKCAT_COLUMNS),
        "ccni": _export(tmp_path, [ccni_row()]),
    }
    settings = IngestSettings(events_url=f"sqlite:///{tmp_path}/events.db", search_url=f"sqlite:///{tmp_path}/s.db",
                              batch_timeout_s=0.05)
    events = EmbeddedEventLog(str(tmp_path / "events.db"))
    index = open_search_index(settings.search_url)
    index.ensure_index()
    registry = OrganisationRegistry(settings.state_location())
    indexer = Indexer(index, events, settings, default_chain(), ConsumerMetrics(), registry)
    runner = BatchRunner(events.consumer("listings", "ingest"), indexer.handle, events, settings, ConsumerMetrics())
    try:
        for fmt in order:  # each file consumed before the next is loaded, as two loads days apart
            assert load_file(events, "listings", files[fmt], fmt).published == 1
            while runner.run_batch():
                pass
        index.refresh()
        [hit] = index.search(SearchQuery(filters={"org_ids": ["GB-NIC-100002"]})).hits
        listing = index.get(hit.id)
        assert listing is not None
        assert sorted(entry["source"] for entry in listing["provenance"]) == ["ccni", "ukcat"]
        assert listing["contact"]["email"] == "info@cancerlifeline.info"  # only the NI register gives it
        assert "Specialized outpatient care centres" in listing["categories"]  # only UK-CAT's ICNP/TSO code
        assert [(v["registry"], v["identifier"]) for v in listing["verified"]] == [("GB-NIC", "GB-NIC-100002")]
        assert registry.review() == []
        # Either record's id still finds the organisation (the directory redirects to it).
        assert listing["member_ids"] == ["ccni:GB-NIC-100002", "charity:GB-NIC-100002"]
        for member in listing["member_ids"]:
            assert [h.id for h in index.search(SearchQuery(filters={"member_ids": [member]})).hits] == [hit.id]
    finally:
        registry.close()
        index.close()
        events.close()
