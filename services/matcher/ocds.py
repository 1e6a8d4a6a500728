"""Reading lots out of an OCDS release or release package.

Each `tender.lots[]` entry becomes a Lot; a tender without lots is one lot. A lot gathers the
items whose `relatedLot` names it (items naming no lot apply to every lot): their CPV codes from
`classification` and `additionalClassifications` (scheme CPV; other schemes are ignored), and
their delivery place from `deliveryAddresses[]` (or OCDS 1.0's `deliveryAddress`: `postalCode`,
`region` as a NUTS code or UK region name) and `deliveryLocation.geometry` (a GeoJSON Point).
Every problem is reported with the JSON path of the offending value (`releases[3].tender.lots`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from services.matcher.places import NATIONAL, region_name
from shared.errors import FieldError, InvalidInput
from shared.models import Lot, normalise_cpv


@dataclass(frozen=True)
class OcdsLot:
    """A lot read from OCDS, with the JSON path of each Lot field's source for error messages."""

    path: str
    lot: Lot
    sources: Mapping[str, str]

    def source(self, lot_field: str) -> str:
        return self.sources.get(lot_field, self.path)


def is_ocds(body: Mapping[str, Any]) -> bool:
    """OCDS bodies are recognised by a top-level `releases` (package), or `ocid` or `tender` (release)."""
    return "releases" in body or "ocid" in body or "tender" in body


@dataclass
class _Item:
    related_lot: str | None
    cpv: list[str] = field(default_factory=list)
    postcodes: list[tuple[str, str]] = field(default_factory=list)
    regions: list[tuple[str, str]] = field(default_factory=list)
    points: list[tuple[tuple[float, float], str]] = field(default_factory=list)


class _Reader:
    """Walks the body, collecting every error with its path instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

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
    """Every lot in a release or package, or InvalidInput (422) naming each faulty path."""
    reader = _Reader()
    if "releases" in body:
        releases = reader.get(body, "releases", list, "")
        if releases == []:
            reader.fail("releases", "the package has no releases")
        releases = reader.objects(body, "releases", "")
        lots = [lot for path, release in releases for lot in _release(reader, release, path)]
    else:
        lots = _release(reader, dict(body), "")
    if not reader.errors and len(lots) > max_lots:
        where = "releases" if "releases" in body else "tender.lots"
        reader.fail(where, f"{len(lots)} lots is more than the {max_lots} one request may match")
    if reader.errors:  # a field read once per lot is reported once
        errors = list(dict.fromkeys(reader.errors))
        raise InvalidInput(detail="the OCDS data cannot be matched", errors=errors, status=422)
    return lots


def _release(reader: _Reader, release: dict[str, Any], path: str) -> list[OcdsLot]:
    tender_path = _join(path, "tender")
    reader.get(release, "ocid", str, path)
    if release.get("tender") is None:
        reader.fail(tender_path, "the release has no tender to match")
        return []
    tender = reader.get(release, "tender", dict, path)
    if tender is None:
        return []
    items = [(p, _item(reader, item, p)) for p, item in reader.objects(tender, "items", tender_path)]
    lots = reader.objects(tender, "lots", tender_path)
    if not lots:  # OCDS: a tender without lots is a single lot
        return _lot(reader, tender, tender_path, None, tender, [item for _, item in items], single=True)
    out = []
    for lot_path, lot in lots:
        lot_id = reader.get(lot, "id", (str, int), lot_path)
        if lot_id is None:
            reader.fail(_join(lot_path, "id"), "a lot needs an id for items to refer to")
            continue
        related = [item for _, item in items if item.related_lot in (None, str(lot_id))]
        out += _lot(reader, lot, lot_path, str(lot_id), tender, related, single=len(lots) == 1)
    return out


def _item(reader: _Reader, item: dict[str, Any], path: str) -> _Item:
    related = reader.get(item, "relatedLot", (str, int), path)
    out = _Item(related_lot=None if related is None else str(related))
    classifications = []
    if isinstance(reader.get(item, "classification", dict, path), dict):
        classifications.append((_join(path, "classification"), item["classification"]))
    classifications += reader.objects(item, "additionalClassifications", path)
    for cpath, classification in classifications:
        code = _cpv(reader, classification, cpath)
        if code is not None:
            out.cpv.append(code)
    addresses = reader.objects(item, "deliveryAddresses", path)
    if isinstance(reader.get(item, "deliveryAddress", dict, path), dict):
        addresses.append((_join(path, "deliveryAddress"), item["deliveryAddress"]))
    for apath, address in addresses:
        postcode = reader.get(address, "postalCode", str, apath)
        if postcode and postcode.strip():
            out.postcodes.append((postcode, _join(apath, "postalCode")))
        region = reader.get(address, "region", str, apath)
        if region and region.strip():
            out.regions.append((region, _join(apath, "region")))
    location = reader.get(item, "deliveryLocation", dict, path)
    if location is not None:
        point = _point(reader, location, _join(path, "deliveryLocation"))
        if point is not None:
            out.points.append(point)
    return out


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


def _lot(
    reader: _Reader,
    lot: dict[str, Any],
    path: str,
    lot_id: str | None,
    tender: dict[str, Any],
    items: list[_Item],
    single: bool,
) -> list[OcdsLot]:
    fields, sources = _place(reader, items, path)
    if fields is None:
        return []
    fields |= _texts(reader, lot, path, lot_id, tender, single)
    found = _value(reader, lot, path)
    if found is None and single and lot is not tender:  # a one-lot tender's value is the lot's
        found = _value(reader, tender, _tender(path))
    sources["value_pence"], fields["value_pence"] = found or (path, None)
    fields["cpv_codes"] = list(dict.fromkeys(code for item in items for code in item.cpv))
    try:
        return [OcdsLot(path, Lot(id=lot_id, **fields), sources)]
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else ""
            reader.fail(sources.get(name, path), err["msg"])
        return []


def _tender(lot_path: str) -> str:
    return lot_path.split(".lots[")[0]


def _texts(
    reader: _Reader, lot: dict[str, Any], path: str, lot_id: str | None, tender: dict[str, Any], single: bool
) -> dict[str, Any]:
    """Title and description, falling back to the tender's: many publishers leave lot titles empty."""
    tpath = _tender(path)
    tender_title = reader.get(tender, "title", str, tpath) if lot is not tender else None
    tender_text = reader.get(tender, "description", str, tpath) if lot is not tender else None
    title = reader.get(lot, "title", str, path) or tender_title
    description = reader.get(lot, "description", str, path) or tender_text or ""
    if title and not single and not reader.get(lot, "title", str, path):
        title = f"{title} (lot {lot_id})"
    title = (title or description[:200] or f"Lot {lot_id}").strip()[:1000] or f"Lot {lot_id}"
    return {"title": title, "description": description.strip()[:20_000]}


def _value(reader: _Reader, obj: dict[str, Any], path: str) -> tuple[str, int | None] | None:
    """`value.amount` in pence when the currency is GBP; other currencies say nothing about UK size."""
    value = reader.get(obj, "value", dict, path)
    if value is None:
        return None
    vpath = _join(path, "value")
    amount = reader.get(value, "amount", (int, float), vpath)
    currency = reader.get(value, "currency", str, vpath)
    if amount is None or currency != "GBP":
        return None
    return _join(vpath, "amount"), round(amount * 100)


def _place(reader: _Reader, items: list[_Item], path: str) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Postcode, point and region from the lot's items; regions from several NUTS1 areas become UK-wide."""
    fields: dict[str, Any] = {}
    sources: dict[str, str] = {}
    postcodes = [p for item in items for p in item.postcodes]
    points = [p for item in items for p in item.points]
    regions = [(region_name(raw), rpath) for item in items for raw, rpath in item.regions]
    known = [(name, rpath) for name, rpath in regions if name is not None]
    if postcodes:
        fields["postcode"], sources["postcode"] = postcodes[0]
    if points:
        (lat, lon), sources["location"] = points[0]
        fields["location"] = {"lat": lat, "lon": lon}
    if known:
        names = {name for name, _ in known}
        fields["region"] = names.pop() if len(names) == 1 else NATIONAL
        sources["region"] = known[0][1]
    if fields:
        return fields, sources
    unknown = [rpath for name, rpath in regions if name is None]
    if unknown:
        reader.fail(unknown[0], "region not recognised; use a NUTS code like UKM93 or a UK region name")
    else:
        reader.fail(path, "no item of this lot gives a delivery place (deliveryAddresses, deliveryLocation)")
    return None, sources
