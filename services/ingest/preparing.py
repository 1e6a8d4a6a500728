"""The first half of indexing a batch of listings: everything that needs no index.

Plan the batch (normalise, geocode, validate), check the invalid share, de-duplicate into
cluster writes. The consumer runs this either inline or in its worker process
(`prepare_worker`), while it writes the previous batch; both run this same code.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services.ingest.config import IngestSettings
from services.ingest.dedupe import ClusterWrites, OrganisationRegistry
from services.ingest.geocode import GeoChain, GeopyGeocoder, default_chain, load_postcode_table
from services.ingest.guard import InvalidShareGuard
from services.ingest.pipeline import Rejection, plan_batch
from shared.events.port import Message


@dataclass
class PreparedListings:
    """A batch reduced to what the index must do, and the records it rejected."""

    writes: ClusterWrites
    rejections: list[Rejection] = field(default_factory=list)


class ListingPreparer:
    """Plan, guard, de-duplicate. The registry is written here, before the index: a crash in
    between leaves the batch uncommitted, and its replay recomputes the same clusters."""

    def __init__(self, geo: GeoChain, registry: OrganisationRegistry, guard: InvalidShareGuard) -> None:
        self.geo, self.registry, self.guard = geo, registry, guard

    @classmethod
    def configured(cls, settings: IngestSettings, registry: OrganisationRegistry,
                   geo: GeoChain | None = None) -> ListingPreparer:
        """With the settings' guard, and their geocoding chain unless `geo` is given."""
        guard = InvalidShareGuard(settings.invalid_window, settings.max_invalid_share)
        return cls(geo if geo is not None else geo_chain(settings), registry, guard)

    def prepare(self, messages: Sequence[Message]) -> PreparedListings:
        """Raises InvalidShareExceeded (before touching the registry) when the guard trips."""
        plan = plan_batch(messages, self.geo)
        self.guard.check(len(messages) - len(plan.rejections), len(plan.rejections))
        return PreparedListings(self.registry.apply(plan.upserts.values(), plan.deletes), plan.rejections)


def geo_chain(settings: IngestSettings) -> GeoChain:
    """The configured chain: optional full-postcode table and geocoder on top of the centroids."""
    chain = default_chain()
    if settings.postcode_table:
        chain.postcodes = load_postcode_table(Path(settings.postcode_table))
    if settings.geocoder:
        chain.geocoder = GeopyGeocoder(settings.geocoder)
    return chain


def settle_memory() -> None:
    """Keep the cyclic garbage collector off what start-up loaded (CPV and postcode tables, the
    schema validators) and let it run less often: each batch makes tens of thousands of
    short-lived objects, and a full collection re-scanning every long-lived one cost a third of
    the consumer's time. Reference counting still frees everything that is not a cycle at once."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
