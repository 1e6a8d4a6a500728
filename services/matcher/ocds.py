"""Reading lots out of an OCDS release or release package, as UK publishers write them.

Each `tender.lots[]` entry becomes a Lot; a tender without lots is one lot. A lot gathers the
items whose `relatedLot` names it (items naming no lot apply to every lot):

- CPV codes (scheme CPV; other schemes are ignored) from the items' `classification` and
  `additionalClassifications`, from the lot's own, and from the tender's: Contracts Finder puts
  the only code at `tender.classification`;
- the delivery place, most precise first: a postcode (`deliveryAddresses[].postalCode`, or OCDS
  1.0's `deliveryAddress`), a GeoJSON point (`deliveryLocation.geometry`), a place named in
  `deliveryLocation.description` ("North Glasgow"), a NUTS2/3 or ITL code's area (`UKM50`), a
  region or nation (`UKM`, "Scotland", "England", "United Kingdom", `countryName`), a town the
  lot's title names when only a nation is given, and as a last resort the buyer's own address
  in `parties` (`place_source` then says "buyer address (assumed)" so the buyer sees it).

A package is read release by release and lot by lot: a lot that cannot be used carries its own
errors, each with the JSON path of the offending value (`releases[3].tender.lots[0]`), and the
other lots are still matched. Lot keys are `<ocid>#<lot id>`, unique across a package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from services.matcher.place_names import NamedPlace, find_place, nation_of, nuts_area
from services.matcher.places import NATIONAL, region_name
from shared.errors import FieldError, InvalidInput
from shared.geo import distance_km
from shared.limits import MAX_AMOUNT_PENCE
from shared.models import Lot, normalise_cpv

# How far a place named in a description may lie from its NUTS area's anchor, beyond the area's
# own extent, before the code is trusted over the words.
_NAMED_PLACE_SLACK_KM = 30.0
# A lot placed at a NUTS area's anchor is searched at least this far beyond the area's extent.
_AREA_MARGIN_KM = 25.0
# A lot placed from words or an area (no postcode, no point) is searched this far at least: the
# place is approximate, and buyers judge on-site suppliers within 50-80 km credible.
APPROXIMATE_PLACE_RADIUS_KM = 80.0


@dataclass(frozen=True)
class OcdsLot:
    """A lot read from OCDS: ready to match (`lot`), or unusable with its own `errors`.

    `key` is unique within a package (`<ocid>#<lot id>`), `place_source` says in words where the
    delivery place came from, and `sources` maps each Lot field to the JSON path it was read
    from, so a later error can name the publisher's field.
    """

    path: str
    key: str
    lot: Lot | None
    sources: Mapping[str, str] = field(default_factory=dict)
    place_source: str | None = None
    errors: tuple[FieldError, ...] = ()

    def source(self, lot_field: str) -> str:
        return self.sources.get(lot_field, self.path)


def is_ocds(body: Mapping[str, Any]) -> bool:
    """OCDS bodies are recognised by a top-level `releases` (package), or `ocid` or `tender` (release)."""
    return "releases" in body or "ocid" in body or "tender" in body


@dataclass
class _Item:
    related_lot: str | None
    cpv: list[str] = field(default_factory=list)
    cpv_paths: list[str] = field(default_factory=list)
    postcodes: list[tuple[str, str]] = field(default_factory=list)
    regions: list[tuple[str, str]] = field(default_factory=list)
    points: list[tuple[tuple[float, float], str]] = field(default_factory=list)
    descriptions: list[tuple[str, str]] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)


class _Reader:
    """Walks the body, collecting every error with its path instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def take(self) -> list[FieldError]:
        """The errors met since the last call, each once."""
        errors, self.errors = list(dict.fromkeys(self.errors)), []
        return errors

    def fail(self, path: str, message: str) -> None:
        self.errors.append(FieldError(field=path, message=message))

    def get(self, obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], path: str) -> Any:
        """`obj[key]` if it has the expected JSON type; None (absent) counts as missing."""
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, kind) or isinstance(value, bool):
            self.fail(_join(path, key), f"must be {_kind_name(kind)}")
            return None
        return value

    def objects(self, obj: Mapping[str, Any], key: str, path: str) -> list[tuple[str, dict[str, Any]]]:
        """The objects in the list `obj[key]`, each with its path."""
        out = []
        for i, entry in enumerate(self.get(obj, key, list, path) or []):
            entry_path = f"{_join(path, key)}[{i}]"
            if isinstance(entry, dict):
                out.append((entry_path, entry))
            else:
                self.fail(entry_path, "must be an object")
        return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", list: "an array", dict: "an object", int: "an integer", float: "a number"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names[k] for k in kinds)


def parse_ocds(body: Mapping[str, Any], max_lots: int) -> list[OcdsLot]:
    """Every lot in a release or package, each ready or carrying its own errors.

    Raises InvalidInput (422) only when the body as a whole cannot be read: `releases` is not a
    list of objects, there is no lot at all, or there are more than `max_lots`.
    """
    reader = _Reader()
    if "releases" in body:
        releases = reader.get(body, "releases", list, "")
        if releases == []:
            reader.fail("releases", "the package has no releases")
        entries = reader.objects(body, "releases", "")
        if reader.errors:
            raise InvalidInput(detail="the OCDS data cannot be matched", errors=reader.take(), status=422)
        lots = [lot for path, release in entries for lot in _release(release, path)]
    else:
        lots = _release(dict(body), "")
    if len(lots) > max_lots:
        where = "releases" if "releases" in body else "tender.lots"
        raise InvalidInput(
            detail="the OCDS data cannot be matched",
            errors=[FieldError(where, f"{len(lots)} lots is more than the {max_lots} one request may match")],
            status=422,
        )
    return _unique_keys(lots)


def unusable(lots: list[OcdsLot]) -> InvalidInput:
    """The 422 for a body none of whose lots can be matched: every lot's errors."""
    errors = [error for lot in lots for error in lot.errors]
    return InvalidInput(detail="no lot in the OCDS data can be matched", errors=errors, status=422)


def _unique_keys(lots: list[OcdsLot]) -> list[OcdsLot]:
    """Keys made unique where publishers repeat an ocid (or give none) across releases."""
    seen: dict[str, int] = {}
    out = []
    for entry in lots:
        count = seen.get(entry.key, 0)
        seen[entry.key] = count + 1
        if count:
            key = f"{entry.key}~{count + 1}"
            lot = entry.lot.model_copy(update={"id": key}) if entry.lot is not None else None
            entry = replace(entry, key=key, lot=lot)
        out.append(entry)
    return out


def _release(release: dict[str, Any], path: str) -> list[OcdsLot]:
    reader = _Reader()
    tender_path = _join(path, "tender")
    ocid = reader.get(release, "ocid", str, path) or path or "release"
    if release.get("tender") is None:
        reader.fail(tender_path, "the release has no tender to match")
    tender = reader.get(release, "tender", dict, path)
    if tender is None:
        return [OcdsLot(path or "tender", ocid, None, errors=tuple(reader.take()))]
    release_errors = reader.take()
    items = []
    for item_path, item in reader.objects(tender, "items", tender_path):
        items.append(_item(reader, item, item_path))
    shared = _Item(related_lot=None)
    _classifications(reader, tender, tender_path, shared)
    buyer = _buyer_address(release, path)
    release_errors += reader.take()
    lots = reader.objects(tender, "lots", tender_path)
    release_errors += reader.take()
    if not lots:  # OCDS: a tender without lots is a single lot
        context = _LotSource(tender_path, f"{ocid}#1", None, tender, tender, True, buyer)
        return [_lot(context, [shared, *items], release_errors)]
    out = []
    for lot_path, lot in lots:
        lot_id = reader.get(lot, "id", (str, int), lot_path)
        if lot_id is None:
            reader.fail(_join(lot_path, "id"), "a lot needs an id for items to refer to")
            out.append(OcdsLot(lot_path, f"{ocid}#{lot_path}", None, errors=tuple(release_errors + reader.take())))
            continue
        own = _Item(related_lot=str(lot_id))
        _classifications(reader, lot, lot_path, own)
        related = [item for item in items if item.related_lot in (None, str(lot_id))]
        context = _LotSource(lot_path, f"{ocid}#{lot_id}", str(lot_id), lot, tender, len(lots) == 1, buyer)
        out.append(_lot(context, [shared, own, *related], release_errors + reader.take()))
    return out


@dataclass(frozen=True)
class _LotSource:
    """Where a lot is read from: its path and key, its own object, the tender, the buyer's place."""

    path: str
    key: str
    lot_id: str | None
    lot: dict[str, Any]
    tender: dict[str, Any]
    single: bool
    buyer: tuple[str, str] | None


def _classifications(reader: _Reader, obj: dict[str, Any], path: str, into: _Item) -> None:
    """CPV codes from `classification` and `additionalClassifications` of a tender, lot or item."""
    found = []
    if isinstance(reader.get(obj, "classification", dict, path), dict):
        found.append((_join(path, "classification"), obj["classification"]))
    found += reader.objects(obj, "additionalClassifications", path)
    for cpath, classification in found:
        code = _cpv(reader, classification, cpath)
        if code is not None:
            into.cpv.append(code)
            into.cpv_paths.append(cpath)


def _item(reader: _Reader, item: dict[str, Any], path: str) -> _Item:
    related = reader.get(item, "relatedLot", (str, int), path)
    out = _Item(related_lot=None if related is None else str(related))
    _classifications(reader, item, path, out)
    addresses = reader.objects(item, "deliveryAddresses", path)
    if isinstance(reader.get(item, "deliveryAddress", dict, path), dict):
        addresses.append((_join(path, "deliveryAddress"), item["deliveryAddress"]))
    for apath, address in addresses:
        postcode = reader.get(address, "postalCode", str, apath)
        if postcode and postcode.strip():
            out.postcodes.append((postcode, _join(apath, "postalCode")))
        for key in ("region", "countryName"):
            region = reader.get(address, key, str, apath)
            if region and region.strip():
                out.regions.append((region, _join(apath, key)))
    location = reader.get(item, "deliveryLocation", dict, path)
    if location is not None:
        lpath = _join(path, "deliveryLocation")
        point = _point(reader, location, lpath)
        if point is not None:
            out.points.append(point)
        description = reader.get(location, "description", str, lpath)
        if description and description.strip():
            out.descriptions.append((description, _join(lpath, "description")))
    out.errors = reader.take()
    return out


def _buyer_address(release: dict[str, Any], path: str) -> tuple[str, str] | None:
    """The buyer's postcode and its path, from the party the release names as its buyer."""
    buyer = release.get("buyer")
    buyer_id = buyer.get("id") if isinstance(buyer, dict) else None
    parties = release.get("parties")
    if not isinstance(parties, list):
        return None
    for i, party in enumerate(parties):
        if not isinstance(party, dict):
            continue
        roles: list[Any] = party["roles"] if isinstance(party.get("roles"), list) else []
        if (buyer_id is not None and party.get("id") == buyer_id) or "buyer" in roles:
            address = party.get("address")
            postcode = address.get("postalCode") if isinstance(address, dict) else None
            if isinstance(postcode, str) and postcode.strip():
                return postcode, f"{_join(path, 'parties')}[{i}].address.postalCode"
    return None


def _cpv(reader: _Reader, classification: dict[str, Any], path: str) -> str | None:
    scheme = reader.get(classification, "scheme", str, path)
    code = reader.get(classification, "id", (str, int), path)
    if scheme is None or scheme.strip().upper() != "CPV" or code is None:
        return None
    try:
        return normalise_cpv(str(code))
    except ValueError as exc:
        reader.fail(_join(path, "id"), str(exc))
        return None


def _point(reader: _Reader, location: dict[str, Any], path: str) -> tuple[tuple[float, float], str] | None:
    """A GeoJSON Point's [lon, lat] as (lat, lon); other geometry types carry no single place."""
    geometry = reader.get(location, "geometry", dict, path)
    if geometry is None or geometry.get("type") != "Point":
        return None
    gpath = _join(path, "geometry.coordinates")
    coords = geometry.get("coordinates")
    valid = isinstance(coords, list) and len(coords) >= 2
    valid = valid and all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords[:2])
    if not valid or not (-180 <= coords[0] <= 180 and -90 <= coords[1] <= 90):
        reader.fail(gpath, "must be [longitude, latitude] in degrees")
        return None
    return (float(coords[1]), float(coords[0])), gpath


def _lot(source: _LotSource, items: list[_Item], inherited: list[FieldError]) -> OcdsLot:
    """One lot from its items, with the errors of the release and of its own items."""
    reader = _Reader()
    reader.errors = [*inherited, *(e for item in items for e in item.errors)]
    texts = _texts(reader, source)
    fields, sources, place_source = _place(reader, items, source, texts["title"])
    value = _value(reader, source.lot, source.path)
    if value is None and source.single and source.lot is not source.tender:  # a one-lot tender's value is the lot's
        value = _value(reader, source.tender, _tender(source.path))
    sources["value_pence"], value_pence = value or (source.path, None)
    cpv_codes = list(dict.fromkeys(code for item in items for code in item.cpv))
    cpv_paths = [p for item in items for p in item.cpv_paths]
    if cpv_paths:
        sources["cpv_codes"] = cpv_paths[0]
    if reader.errors or fields is None:
        return OcdsLot(source.path, source.key, None, sources, place_source, tuple(reader.take()))
    try:
        lot = Lot(id=source.key, **fields, **texts, value_pence=value_pence, cpv_codes=cpv_codes)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else ""
            reader.fail(sources.get(name, source.path), err["msg"])
        return OcdsLot(source.path, source.key, None, sources, place_source, tuple(reader.take()))
    return OcdsLot(source.path, source.key, lot, sources, place_source)


def _tender(lot_path: str) -> str:
    return lot_path.split(".lots[")[0]


def _texts(reader: _Reader, source: _LotSource) -> dict[str, Any]:
    """Title and description, falling back to the tender's: many publishers leave lot titles empty."""
    lot, tender, path = source.lot, source.tender, source.path
    tpath = _tender(path)
    tender_title = reader.get(tender, "title", str, tpath) if lot is not tender else None
    tender_text = reader.get(tender, "description", str, tpath) if lot is not tender else None
    own_title = reader.get(lot, "title", str, path)
    title = own_title or tender_title
    description = reader.get(lot, "description", str, path) or tender_text or ""
    if title and not source.single and not own_title:
        title = f"{title} (lot {source.lot_id})"
    fallback = f"Lot {source.lot_id or 1}"
    title = (title or description[:200] or fallback).strip()[:1000] or fallback
    return {"title": title, "description": description.strip()[:20_000]}


def _value(reader: _Reader, obj: dict[str, Any], path: str) -> tuple[str, int | None] | None:
    """`value.amount` in pence when the currency is GBP; other currencies say nothing about UK size."""
    value = reader.get(obj, "value", dict, path)
    if value is None:
        return None
    vpath = _join(path, "value")
    amount = reader.get(value, "amount", (int, float), vpath)
    currency = reader.get(value, "currency", str, vpath)
    if amount is not None and not 0 <= amount <= MAX_AMOUNT_PENCE / 100:
        reader.fail(_join(vpath, "amount"), f"must be from 0 to {MAX_AMOUNT_PENCE // 100}")
        return None
    if amount is None or currency != "GBP":
        return None
    return _join(vpath, "amount"), round(amount * 100)


def _place(
    reader: _Reader, items: list[_Item], source: _LotSource, title: str
) -> tuple[dict[str, Any] | None, dict[str, str], str | None]:
    """The lot's delivery place as Lot fields, each field's path, and in words where it came from."""
    sources: dict[str, str] = {}
    postcodes = [p for item in items for p in item.postcodes]
    points = [p for item in items for p in item.points]
    if postcodes:
        postcode, sources["postcode"] = postcodes[0]
        return {"postcode": postcode}, sources, f"delivery postcode {postcode.strip().upper()}"
    if points:
        (lat, lon), sources["location"] = points[0]
        return {"location": {"lat": lat, "lon": lon}}, sources, "delivery point (deliveryLocation.geometry)"
    regions = [(raw, rpath) for item in items for raw, rpath in item.regions]
    areas = [(nuts_area(raw), raw, rpath) for raw, rpath in regions]
    named = [(region_name(raw), rpath) for raw, rpath in regions]
    known = [(name, rpath) for name, rpath in named if name is not None]
    region = None
    if known:
        names = {name for name, _ in known}
        region = names.pop() if len(names) == 1 else _common_nation(names)
        sources["region"] = known[0][1]
    nation = nation_of(region) if region not in (None, NATIONAL) else None
    area = next(((a, raw, p) for a, raw, p in areas if a is not None and a.point is not None), None)
    for text, dpath in (d for item in items for d in item.descriptions):
        found = find_place(text, nation)
        if found is None or not _within(found, area):
            continue
        fields = {**_located(found, region), "radius_km": APPROXIMATE_PLACE_RADIUS_KM}
        sources["location"] = dpath
        return fields, sources, f"delivery description {_quoted(text)}: {_place_name(found)}"
    if area is not None:
        nuts, raw, apath = area
        assert nuts.point is not None and nuts.extent_km is not None
        sources["location"] = apath
        fields = {"location": {"lat": nuts.point[0], "lon": nuts.point[1]}, "region": region}
        fields["radius_km"] = max(APPROXIMATE_PLACE_RADIUS_KM, nuts.extent_km + _AREA_MARGIN_KM)
        return fields, sources, f"NUTS {raw.strip().upper()} {nuts.name} (placed at its main town)"
    if region is not None and region != NATIONAL:
        found = find_place(title, nation)
        if found is not None:
            sources["location"] = _tender(source.path) + ".title" if source.lot is source.tender else source.path
            fields = {**_located(found, region), "radius_km": APPROXIMATE_PLACE_RADIUS_KM}
            return fields, sources, f"{region}; the title names {_place_name(found)}"
    if region is not None:
        return {"region": region}, sources, "the whole UK" if region == NATIONAL else f"region {region}"
    if source.buyer is not None:
        postcode, sources["postcode"] = source.buyer
        return {"postcode": postcode}, sources, "buyer address (assumed)"
    unknown = [rpath for name, rpath in named if name is None]
    if unknown:
        reader.fail(unknown[0], "region not recognised; use a NUTS code like UKM93 or a UK region name")
    else:
        reader.fail(
            source.path,
            "no item of this lot gives a delivery place (deliveryAddresses, deliveryLocation) "
            "and the buyer has no address in parties",
        )
    return None, sources, None


def _common_nation(names: set[str]) -> str:
    """Regions of one nation (NUTS3 areas of Scotland) stay that nation; otherwise the whole UK."""
    nations = {nation_of(name) for name in names}
    return nations.pop() or NATIONAL if len(nations) == 1 else NATIONAL


def _within(found: NamedPlace | tuple[str, tuple[float, float]], area: tuple[Any, str, str] | None) -> bool:
    """A named place is trusted unless a NUTS code puts the work clearly elsewhere."""
    if area is None:
        return True
    nuts = area[0]
    point = found[1] if isinstance(found, tuple) else (found.lat, found.lon)
    return distance_km(point, nuts.point) <= nuts.extent_km + _NAMED_PLACE_SLACK_KM


def _located(found: NamedPlace | tuple[str, tuple[float, float]], region: str | None) -> dict[str, Any]:
    if isinstance(found, tuple):
        return {"postcode": found[0]}
    fields: dict[str, Any] = {"location": {"lat": found.lat, "lon": found.lon}}
    if region is not None:
        fields["region"] = region
    return fields


def _place_name(found: NamedPlace | tuple[str, tuple[float, float]]) -> str:
    return found[0] if isinstance(found, tuple) else found.name


def _quoted(text: str) -> str:
    text = " ".join(text.split())
    return f"'{text[:60]}…'" if len(text) > 60 else f"'{text}'"
