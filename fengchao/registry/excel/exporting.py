"""Exporting a filtered registry list to .xlsx: scoped by `filters`, masked unless a logged reason unmasks it.

Rows are read in chunks (a constant number of queries per chunk) and written in constant memory.
Unmasked exports write one AccessLog row plus one AccessLogSubject per record, in the same
transaction that hands the file over (the response, or the export job's result).
"""

from collections.abc import Callable, Iterator

from django.db.models import Count, Prefetch, Q

from fengchao.core.privacy import mask_phone

from .. import idcard, validation
from ..choices import Gender, IdType, OrganisationKind, PlaceKind, Relation, ResidenceType, ResidentStatus
from ..models import CareTag, ResidentCareTag
from .columns import NO, PLACE_FLAG_COLUMNS, YES
from .writing import ExportWriter

ITERATOR_CHUNK = 2000

# The fields an unmasked export holds in full, per entity (what the access log names).
SENSITIVE = {
    "residents": ["id_number", "phone", "contact_phone"],
    "places": ["phone"],
    "organisations": ["phone"],
    "households": [],
    "buildings": [],
}
SUBJECT_TYPE = {
    "residents": "resident",
    "places": "place",
    "organisations": "organisation",
    "households": "household",
    "buildings": "building",
}


def _labels(choices) -> dict[str, str]:
    return {code: validation.label_chinese(label) for code, label in choices.choices}


def _flag(value: bool) -> str:
    return YES if value else NO


def _phone(raw: str, unmasked: bool) -> str:
    return raw if unmasked else (mask_phone(raw) if raw else "")


def _birth(date, unmasked: bool):
    """The birth date in full only when unmasked: with the masked ID's first and last four digits, a full
    date would leave just two digits of the number unknown. Masked, the year is enough for an age."""
    if date is None:
        return None
    return date if unmasked else f"{date.year}年"


def _room_parts(household) -> tuple[str, str, str]:
    room = household.room if household is not None else None
    if room is None:
        return "", "", ""
    return room.building.name, room.unit, room.number


def prepared(entity: str, qs):
    """The queryset ordered and joined so that rows need no further queries."""
    if entity == "residents":
        return (
            qs.select_related("area", "household__room__building")
            .prefetch_related(
                Prefetch("care_tag_links", queryset=ResidentCareTag.objects.only("resident_id", "tag_id"))
            )
            .order_by("area__path", "household_id", "pk")
        )
    if entity == "households":
        living = Count("residents", filter=Q(residents__status=ResidentStatus.LIVING))
        return (
            qs.select_related("area", "room__building", "head")
            .annotate(living_count=living)
            .order_by("area__path", "address_key", "pk")
        )
    return qs.select_related("area").order_by("area__path", "name", "pk")


def row_maker(entity: str, unmasked: bool) -> Callable[[object], list]:
    """A function turning one record into the export's cells, in the sheet's column order."""
    if entity == "residents":
        relation, gender, id_type = _labels(Relation), _labels(Gender), _labels(IdType)
        residence, status = _labels(ResidenceType), _labels(ResidentStatus)
        tags = dict(CareTag.objects.values_list("pk", "name"))

        def resident(r) -> list:
            building, unit, room = _room_parts(r.household)
            number = r.id_number
            return [
                r.area.code,
                r.area.name,
                building,
                unit,
                room,
                r.household.address if r.household else "",
                r.household.number if r.household else "",
                relation.get(r.relation, ""),
                r.name,
                gender.get(r.gender, ""),
                id_type.get(r.id_type, ""),
                number if unmasked else idcard.mask(number) if number else "",
                _phone(r.phone, unmasked),
                residence.get(r.residence_type, ""),
                _flag(r.is_party_member),
                r.contact_name,
                _phone(r.contact_phone, unmasked),
                r.moved_in_on,
                "、".join(tags[link.tag_id] for link in r.care_tag_links.all()),
                r.notes,
                _birth(r.birth_date, unmasked),
                status.get(r.status, ""),
            ]

        return resident
    if entity == "households":
        living_label, moved_label = (
            validation.label_chinese(s.label) for s in (ResidentStatus.LIVING, ResidentStatus.MOVED_OUT)
        )

        def household(h) -> list:
            building, unit, room = _room_parts(h)
            return [
                h.area.code,
                h.area.name,
                h.address,
                building,
                unit,
                room,
                h.number,
                h.head.name if h.head else "",
                h.living_count,
                living_label if h.is_active else moved_label,
            ]

        return household
    if entity == "buildings":
        return lambda b: [
            b.area.code,
            b.area.name,
            b.name,
            b.address,
            b.floors,
            b.units,
            b.lon,
            b.lat,
            b.notes,
        ]
    if entity == "places":
        kinds = _labels(PlaceKind)
        return lambda p: [
            p.area.code,
            p.area.name,
            kinds.get(p.kind, p.kind),
            p.name,
            p.credit_code,
            p.address,
            p.contact_name,
            _phone(p.phone, unmasked),
            *(_flag(getattr(p, key)) for key, _header in PLACE_FLAG_COLUMNS),
            p.lon,
            p.lat,
            p.notes,
        ]
    kinds = _labels(OrganisationKind)
    return lambda o: [
        o.area.code,
        o.area.name,
        kinds.get(o.kind, o.kind),
        o.name,
        o.credit_code,
        o.address,
        o.contact_name,
        _phone(o.phone, unmasked),
        o.notes,
    ]


def iterate(entity: str, qs) -> Iterator:
    return prepared(entity, qs).iterator(chunk_size=ITERATOR_CHUNK)


def write(entity: str, qs, *, unmasked: bool, progress: Callable[[int], None] | None = None) -> tuple[bytes, list[int]]:
    """The .xlsx bytes of the records, and their pks (for the access log of an unmasked export)."""
    make = row_maker(entity, unmasked)
    writer = ExportWriter(entity)
    pks = []
    try:
        for obj in iterate(entity, qs):
            writer.write(make(obj))
            pks.append(obj.pk)
            if progress is not None and len(pks) % 1000 == 0:
                progress(len(pks))
    except BaseException:
        writer.close()
        raise
    return writer.close(), pks
