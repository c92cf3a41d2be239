"""Every change to the registry: one transaction each, with its audit event; moves keep their history.

Audit events name the fields that changed but never hold an ID number or a phone: the audit log
is read by more people than may see those.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.audit.services import record
from fengchao.core.errors import StaleRecord

from . import search_keys, validation
from .choices import Gender, IdType, OrganisationKind, PlaceKind, Relation, ResidenceType, ResidentStatus
from .models import (
    LINEAGE_FIELDS,
    PLACE_SAFETY_FLAGS,
    Building,
    CareTag,
    Household,
    MoveRecord,
    Organisation,
    OrganisationMember,
    Place,
    Resident,
    ResidentCareTag,
    Room,
)


def _save_new(obj, refusal: ValidationError) -> None:
    """Insert a row; if a unique constraint refuses it (already there, or inserted at this very moment), refuse."""
    try:
        with transaction.atomic():
            obj.save(force_insert=True)
    except IntegrityError:
        raise refusal from None


def _building_taken(area, name) -> ValidationError:
    return ValidationError({"name": _("%(area)s already has a building %(name)s.") % {"area": area.name, "name": name}})


def _address_taken(address) -> ValidationError:
    return ValidationError({"address": _("A household already lives at %(address)s.") % {"address": address}})


def _organisation_taken(area, name) -> ValidationError:
    return ValidationError(
        {"name": _("%(area)s already has an organisation called %(name)s.") % {"area": area.name, "name": name}}
    )


def _changed(obj, values: dict) -> list[str]:
    return [name for name, value in values.items() if getattr(obj, name) != value]


def _compare_and_save(obj, expected_updated_at, fields: list[str]) -> None:
    """Save `fields` only if the row still has the updated_at the editor loaded."""
    now = timezone.now()
    values = {name: getattr(obj, name) for name in fields}
    qs = type(obj).objects.filter(pk=obj.pk)
    if expected_updated_at is not None:
        qs = qs.filter(updated_at=expected_updated_at)
    if qs.update(updated_at=now, **values) != 1:
        raise StaleRecord
    obj.updated_at = now


# ---- buildings and rooms -------------------------------------------------------------------------


def _building_values(data: dict) -> dict:
    return {
        "name": validation.clean_text(data.get("name"), field="name", max_length=60, required=True),
        "address": validation.clean_text(data.get("address"), field="address", max_length=200),
        "floors": validation.clean_count(data.get("floors"), "floors", 200),
        "units": validation.clean_count(data.get("units"), "units", 50),
        "lon": validation.clean_coordinate(data.get("lon"), "lon", -180, 180),
        "lat": validation.clean_coordinate(data.get("lat"), "lat", -90, 90),
        "notes": validation.clean_text(data.get("notes"), field="notes", max_length=2000),
    }


def create_building(actor, area, **data) -> Building:
    validation.check_area_kind(area, validation.BUILDING_AREA_KINDS)
    building = Building(**_building_values(data))
    building.place_in(area)
    with transaction.atomic():
        _save_new(building, _building_taken(area, building.name))
        record("registry.building_created", building, actor=actor, area=area, name=building.name)
    return building


def update_building(actor, building: Building, *, expected_updated_at=None, **data) -> Building:
    values = _building_values(
        {**{f: getattr(building, f) for f in ("name", "address", "floors", "units", "lon", "lat", "notes")}, **data}
    )
    changed = _changed(building, values)
    if not changed:
        return building
    for name in changed:
        setattr(building, name, values[name])
    with transaction.atomic():
        if (
            "name" in changed
            and Building.objects.filter(area=building.area, name=building.name).exclude(pk=building.pk).exists()
        ):
            raise _building_taken(building.area, building.name)
        _compare_and_save(building, expected_updated_at, changed)
        record("registry.building_updated", building, actor=actor, area=building.area, fields=changed)
    return building


def room_number(floor: int, index: int) -> str:
    return f"{floor}{index:02d}"


def generate_rooms(actor, building: Building, *, units: int, floors: int, rooms_per_floor: int) -> int:
    """Create the usual numbering (unit 1..n, rooms 101, 102 … per floor); rooms that exist are kept."""
    if not (1 <= units <= 20 and 1 <= floors <= 120 and 1 <= rooms_per_floor <= 30):
        raise ValidationError(_("Between 1 and 20 units, 1 and 120 floors, 1 and 30 rooms per floor."))
    unit_labels = [str(u) for u in range(1, units + 1)] if units > 1 else [""]
    with transaction.atomic():
        existing = set(Room.objects.filter(building=building).values_list("unit", "number"))
        new = [
            Room(building=building, unit=unit, floor=floor, number=room_number(floor, index))
            for unit in unit_labels
            for floor in range(1, floors + 1)
            for index in range(1, rooms_per_floor + 1)
            if (unit, room_number(floor, index)) not in existing
        ]
        Room.objects.bulk_create(new)
        Building.objects.filter(pk=building.pk).update(
            floors=max(building.floors or 0, floors), units=max(building.units or 0, units), updated_at=timezone.now()
        )
        record("registry.rooms_generated", building, actor=actor, area=building.area, created=len(new))
    return len(new)


def room_for(building: Building, unit: str, number: str) -> Room:
    """The room, created on first mention (imports and household forms name rooms as they go).

    Call it inside the transaction that uses the room, so a refused household leaves no stray room.
    """
    unit = validation.clean_text(unit, field="unit", max_length=8).removesuffix("单元")
    number = validation.clean_text(number, field="room", max_length=16, required=True).removesuffix("室")
    floor = int(number[:-2]) if number.isdigit() and len(number) >= 3 else None
    room, _created = Room.objects.get_or_create(building=building, unit=unit, number=number, defaults={"floor": floor})
    return room


def address_of(building: Building, room: Room) -> str:
    return f"{building.address or building.area.name}{building.name}{room.unit_label}{room.number}"


def address_key(address: str) -> str:
    return search_keys.name_key(address)


# ---- households ------------------------------------------------------------------------------------


def create_household(
    actor, *, area=None, room: Room | None = None, address: str = "", number: str = "", notes: str = ""
) -> Household:
    if room is not None:
        area = room.building.area
        address = address or address_of(room.building, room)
    if area is None:
        raise ValidationError({"area": _("Choose the micro-grid or the room of the household.")})
    validation.check_area_kind(area, validation.HOUSEHOLD_AREA_KINDS)
    household = Household(
        room=room,
        address=validation.clean_text(address, field="address", max_length=200, required=True),
        number=validation.clean_text(number, field="number", max_length=32),
        notes=validation.clean_text(notes, field="notes", max_length=2000),
    )
    household.address_key = address_key(household.address)
    household.place_in(area)
    with transaction.atomic():
        _save_new(household, _address_taken(household.address))
        record("registry.household_created", household, actor=actor, area=area)
    return household


def update_household(
    actor, household: Household, *, expected_updated_at=None, number=None, notes=None, head: Resident | None = None
) -> Household:
    values = {}
    if number is not None:
        values["number"] = validation.clean_text(number, field="number", max_length=32)
    if notes is not None:
        values["notes"] = validation.clean_text(notes, field="notes", max_length=2000)
    if head is not None:
        if head.household_id != household.pk:
            raise ValidationError({"head": _("The head of a household lives in it.")})
        values["head"] = head
    changed = _changed(household, values)
    if not changed:
        return household
    for name in changed:
        setattr(household, name, values[name])
    with transaction.atomic():
        _compare_and_save(household, expected_updated_at, changed)
        record("registry.household_updated", household, actor=actor, area=household.area, fields=changed)
    return household


def _relocate_residents(household: Household, area) -> None:
    """Living residents of a household follow it, and so do their care-tag rows."""
    lineage = {field: getattr(area, field) for field in LINEAGE_FIELDS}
    living = Resident.objects.filter(household=household, status=ResidentStatus.LIVING)
    ResidentCareTag.objects.filter(resident__in=living.values("pk")).update(area=area, **lineage)
    living.update(area=area, updated_at=timezone.now(), **lineage)


def move_household(
    actor, household: Household, *, room: Room | None = None, area=None, address: str = "", reason: str = ""
) -> Household:
    """The whole household moves to another room or address; its residents come along, history is kept."""
    if not household.is_active:
        raise ValidationError(_("This household has moved out already."))
    if room is not None:
        area = room.building.area
        address = address or address_of(room.building, room)
    if area is None:
        raise ValidationError({"area": _("Choose the room or the micro-grid the household moves to.")})
    validation.check_area_kind(area, validation.HOUSEHOLD_AREA_KINDS)
    address = validation.clean_text(address, field="address", max_length=200, required=True)
    new_key = address_key(address)
    old_area, old_address = household.area, household.address
    with transaction.atomic():
        lineage = {field: getattr(area, field) for field in LINEAGE_FIELDS}
        try:
            with transaction.atomic():
                moved = Household.objects.filter(
                    pk=household.pk, is_active=True, address_key=household.address_key
                ).update(
                    room=room, area=area, address=address, address_key=new_key, updated_at=timezone.now(), **lineage
                )
        except IntegrityError:  # the unique constraint on living households' addresses
            raise _address_taken(address) from None
        if moved != 1:
            raise StaleRecord
        household.refresh_from_db()
        _relocate_residents(household, area)
        MoveRecord.objects.create(
            household=household,
            actor=actor,
            from_area=old_area,
            to_area=area,
            from_address=old_address,
            to_address=address,
            reason=reason[:200],
        )
        record(
            "registry.household_moved", household, actor=actor, area=area, from_area=old_area.pk, reason=reason[:200]
        )
    return household


def household_moved_out(actor, household: Household, *, reason: str = "") -> Household:
    """The household left the district's registry: it and its living residents are kept as moved out."""
    with transaction.atomic():
        now = timezone.now()
        if (
            Household.objects.filter(pk=household.pk, is_active=True).update(
                is_active=False, moved_out_at=now, updated_at=now
            )
            != 1
        ):
            raise StaleRecord
        living = Resident.objects.filter(household=household, status=ResidentStatus.LIVING)
        ResidentCareTag.objects.filter(resident__in=living.values("pk")).update(is_living=False)
        living.update(status=ResidentStatus.MOVED_OUT, moved_out_at=now, updated_at=now)
        household.refresh_from_db()
        MoveRecord.objects.create(
            household=household,
            actor=actor,
            from_area=household.area,
            from_address=household.address,
            reason=reason[:200],
        )
        record("registry.household_moved_out", household, actor=actor, area=household.area, reason=reason[:200])
    return household


# ---- residents -------------------------------------------------------------------------------------


def clean_resident(data: dict, *, partial_of: Resident | None = None) -> dict:
    """Validated values of a resident, every bad field reported at once."""
    errors: dict[str, list] = {}
    values: dict = {}

    def take(field, fn):
        try:
            values[field] = fn()
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors.setdefault(name, []).extend(messages)

    def given(field):
        return field in data or partial_of is None

    if given("name"):
        take("name", lambda: validation.clean_name(data.get("name")))
    id_type = data.get("id_type") or (partial_of.id_type if partial_of else IdType.RESIDENT_ID)
    take("id_type", lambda: validation.clean_choice(id_type, IdType, "id_type"))
    parsed = None
    if given("id_number"):
        try:
            number, parsed = validation.clean_id_number(values.get("id_type", id_type), data.get("id_number"))
            values["id_number"] = number
        except ValidationError as error:
            errors.setdefault("id_number", []).extend(error.message_dict["id_number"])
    if given("gender"):
        take("gender", lambda: validation.clean_choice(data.get("gender"), Gender, "gender", required=False))
    if parsed is not None:
        values["gender"] = validation.gender_from(parsed, values.get("gender", ""))
        values["birth_date"] = parsed.birth_date
    elif given("birth_date"):
        take("birth_date", lambda: validation.clean_date(data.get("birth_date"), "birth_date"))
    if given("phone"):
        take("phone", lambda: validation.clean_phone(data.get("phone")))
    if given("residence_type"):
        take(
            "residence_type",
            lambda: validation.clean_choice(
                data.get("residence_type") or ResidenceType.REGISTERED, ResidenceType, "residence_type"
            ),
        )
    if given("relation"):
        take("relation", lambda: validation.clean_choice(data.get("relation"), Relation, "relation", required=False))
    if given("is_party_member"):
        take("is_party_member", lambda: validation.clean_flag(data.get("is_party_member"), "is_party_member"))
    if given("contact_name"):
        take(
            "contact_name", lambda: validation.clean_text(data.get("contact_name"), field="contact_name", max_length=50)
        )
    if given("contact_phone"):
        take("contact_phone", lambda: validation.clean_phone(data.get("contact_phone"), "contact_phone"))
    if given("notes"):
        take("notes", lambda: validation.clean_text(data.get("notes"), field="notes", max_length=2000))
    if given("moved_in_on"):
        take("moved_in_on", lambda: validation.clean_date(data.get("moved_in_on"), "moved_in_on"))
    if errors:
        raise ValidationError(errors)
    return values


def _apply_resident_values(resident: Resident, values: dict) -> list[str]:
    changed = []
    for name, value in values.items():
        if name == "id_number":
            if value != resident.id_number:
                resident.set_id_number(value)
                changed.append(name)
        elif name == "phone":
            if value != resident.phone:
                resident.set_phone(value)
                changed.append(name)
        elif name == "contact_phone":
            if value != resident.contact_phone:
                resident.set_contact_phone(value)
                changed.append(name)
        elif getattr(resident, name) != value:
            setattr(resident, name, value)
            changed.append(name)
            if name == "name":
                resident.name_key = search_keys.name_key(value)
                resident.pinyin_key, resident.initials_key = search_keys.pinyin_keys(value)
    return changed


STORED_RESIDENT_FIELDS = {
    "id_number": ["id_cipher", "id_hash", "id_last4"],
    "phone": ["phone_cipher", "phone_hash", "phone_last4"],
    "contact_phone": ["contact_phone_cipher"],
    "name": ["name", "name_key", "pinyin_key", "initials_key"],
}


def _id_taken_error() -> ValidationError:
    return ValidationError({"id_number": _("This ID number is already in the registry.")})


def create_resident(actor, *, household: Household | None = None, area=None, care_tags=(), **data) -> Resident:
    if household is not None:
        if not household.is_active:
            raise ValidationError({"household": _("This household has moved out.")})
        area = household.area
    if area is None:
        raise ValidationError({"household": _("Choose the household or the micro-grid the resident lives in.")})
    validation.check_area_kind(area, validation.HOUSEHOLD_AREA_KINDS, field="household")
    values = clean_resident(data)
    resident = Resident(household=household)
    resident.place_in(area)
    _apply_resident_values(resident, values)
    with transaction.atomic():
        _save_new(resident, _id_taken_error())
        _set_care_tags(resident, care_tags)
        if household is not None and household.head_id is None and resident.relation == Relation.HEAD:
            Household.objects.filter(pk=household.pk, head__isnull=True).update(head=resident)
        record(
            "registry.resident_created", resident, actor=actor, area=area, care_tags=sorted(t.code for t in care_tags)
        )
    return resident


def update_resident(actor, resident: Resident, *, expected_updated_at=None, **data) -> Resident:
    values = clean_resident(data, partial_of=resident)
    changed = _apply_resident_values(resident, values)
    if not changed:
        return resident
    stored = [column for name in changed for column in STORED_RESIDENT_FIELDS.get(name, [name])]
    with transaction.atomic():
        if (
            "id_number" in changed
            and resident.id_hash
            and Resident.objects.filter(id_hash=resident.id_hash).exclude(pk=resident.pk).exists()
        ):
            raise _id_taken_error()
        _compare_and_save(resident, expected_updated_at, stored)
        record("registry.resident_updated", resident, actor=actor, area=resident.area, fields=changed)
    return resident


def _set_care_tags(resident: Resident, tags) -> tuple[set, set]:
    wanted = {t.pk: t for t in tags}
    current = set(ResidentCareTag.objects.filter(resident=resident).values_list("tag_id", flat=True))
    added, removed = set(wanted) - current, current - set(wanted)
    ResidentCareTag.objects.filter(resident=resident, tag_id__in=removed).delete()
    lineage = {field: getattr(resident, field) for field in LINEAGE_FIELDS}
    ResidentCareTag.objects.bulk_create(
        [
            ResidentCareTag(
                resident=resident,
                tag_id=pk,
                area_id=resident.area_id,
                is_living=resident.is_living,
                since=timezone.localdate(),
                **lineage,
            )
            for pk in sorted(added)
        ]
    )
    return added, removed


def set_care_tags(actor, resident: Resident, tags) -> Resident:
    with transaction.atomic():
        added, removed = _set_care_tags(resident, tags)
        if added or removed:
            codes = dict(CareTag.objects.filter(pk__in=added | removed).values_list("pk", "code"))
            record(
                "registry.care_tags_changed",
                resident,
                actor=actor,
                area=resident.area,
                added=sorted(codes[pk] for pk in added),
                removed=sorted(codes[pk] for pk in removed),
            )
    return resident


def move_resident(actor, resident: Resident, *, household: Household, relation: str = "", reason: str = "") -> Resident:
    """Move a living resident into another household (in the district); the move is kept as history."""
    if not resident.is_living:
        raise ValidationError(_("Only a resident living here can move to another household."))
    if not household.is_active:
        raise ValidationError({"household": _("This household has moved out.")})
    if household.pk == resident.household_id:
        raise ValidationError({"household": _("The resident already lives in this household.")})
    relation = validation.clean_choice(relation, Relation, "relation", required=False)
    old_household, old_area = resident.household, resident.area
    lineage = {field: getattr(household.area, field) for field in LINEAGE_FIELDS}
    with transaction.atomic():
        moved = Resident.objects.filter(
            pk=resident.pk, status=ResidentStatus.LIVING, household_id=resident.household_id
        ).update(household=household, area=household.area, relation=relation, updated_at=timezone.now(), **lineage)
        if moved != 1:
            raise StaleRecord
        ResidentCareTag.objects.filter(resident=resident).update(area=household.area, **lineage)
        if old_household is not None:
            Household.objects.filter(pk=old_household.pk, head=resident).update(head=None)
        resident.refresh_from_db()
        MoveRecord.objects.create(
            resident=resident,
            actor=actor,
            from_area=old_area,
            to_area=household.area,
            from_address=old_household.address if old_household else "",
            to_address=household.address,
            reason=reason[:200],
        )
        record(
            "registry.resident_moved",
            resident,
            actor=actor,
            area=household.area,
            from_area=old_area.pk,
            to_household=household.pk,
            reason=reason[:200],
        )
    return resident


def end_residence(
    actor, resident: Resident, *, status: str, reason: str = "", at: datetime.datetime | None = None
) -> Resident:
    """The resident moved out of the district or died; the record stays, for the retention period."""
    if status not in (ResidentStatus.MOVED_OUT, ResidentStatus.DECEASED):
        raise ValidationError({"status": _("Choose moved out or deceased.")})
    at = at or timezone.now()
    with transaction.atomic():
        if (
            Resident.objects.filter(pk=resident.pk, status=ResidentStatus.LIVING).update(
                status=status, moved_out_at=at, updated_at=timezone.now()
            )
            != 1
        ):
            raise StaleRecord
        ResidentCareTag.objects.filter(resident=resident).update(is_living=False)
        if resident.household_id:
            Household.objects.filter(pk=resident.household_id, head=resident).update(head=None)
        resident.refresh_from_db()
        MoveRecord.objects.create(
            resident=resident,
            actor=actor,
            from_area=resident.area,
            from_address=resident.household.address if resident.household else "",
            reason=reason[:200] or ResidentStatus(status).label,
        )
        record("registry.resident_left", resident, actor=actor, area=resident.area, status=status, reason=reason[:200])
    return resident


# ---- places ----------------------------------------------------------------------------------------

PLACE_FIELDS = ("kind", "name", "credit_code", "address", "contact_name", "notes", "lon", "lat", *PLACE_SAFETY_FLAGS)


def _apply_named_record_changes(obj, values: dict, phone, area, area_kinds) -> tuple[list[str], list[str]]:
    """Set the changed values of a place or organisation, its phone and its area; return (changed, columns)."""
    changed = _changed(obj, values)
    for name in changed:
        setattr(obj, name, values[name])
    stored = list(changed)
    if "name" in changed:
        obj.name_key = search_keys.name_key(obj.name)
        stored.append("name_key")
    if phone is not None:
        cleaned = validation.clean_phone(phone)
        if cleaned != obj.phone:
            obj.set_phone(cleaned)
            changed.append("phone")
            stored += ["phone_cipher", "phone_hash", "phone_last4"]
    if area is not None and area.pk != obj.area_id:
        validation.check_area_kind(area, area_kinds)
        obj.place_in(area)
        changed.append("area")
        stored += ["area", *LINEAGE_FIELDS]
    return changed, stored


def _place_values(data: dict) -> dict:
    values = {
        "kind": validation.clean_choice(data.get("kind"), PlaceKind, "kind"),
        "name": validation.clean_text(data.get("name"), field="name", max_length=100, required=True),
        "credit_code": validation.clean_credit_code(data.get("credit_code")),
        "address": validation.clean_text(data.get("address"), field="address", max_length=200),
        "contact_name": validation.clean_text(data.get("contact_name"), field="contact_name", max_length=50),
        "notes": validation.clean_text(data.get("notes"), field="notes", max_length=2000),
        "lon": validation.clean_coordinate(data.get("lon"), "lon", -180, 180),
        "lat": validation.clean_coordinate(data.get("lat"), "lat", -90, 90),
    }
    for flag in PLACE_SAFETY_FLAGS:
        values[flag] = validation.clean_flag(data.get(flag), flag)
    return values


def create_place(actor, area, *, building: Building | None = None, phone: str = "", **data) -> Place:
    validation.check_area_kind(area, validation.PLACE_AREA_KINDS)
    if building is not None and not building.area.path.startswith(area.path) and building.area_id != area.pk:
        raise ValidationError({"building": _("The building is not in this area.")})
    place = Place(**_place_values(data), building=building)
    place.name_key = search_keys.name_key(place.name)
    place.set_phone(validation.clean_phone(phone))
    place.place_in(area)
    with transaction.atomic():
        place.save()
        record("registry.place_created", place, actor=actor, area=area, kind=place.kind, name=place.name)
    return place


def update_place(actor, place: Place, *, expected_updated_at=None, phone=None, area=None, **data) -> Place:
    values = _place_values({**{f: getattr(place, f) for f in PLACE_FIELDS}, **data})
    changed, stored = _apply_named_record_changes(place, values, phone, area, validation.PLACE_AREA_KINDS)
    if not changed:
        return place
    with transaction.atomic():
        _compare_and_save(place, expected_updated_at, stored)
        record("registry.place_updated", place, actor=actor, area=place.area, fields=changed)
    return place


# ---- organisations -------------------------------------------------------------------------------


ORGANISATION_FIELDS = ("kind", "name", "credit_code", "address", "contact_name", "notes")


def _organisation_values(data: dict) -> dict:
    return {
        "kind": validation.clean_choice(data.get("kind"), OrganisationKind, "kind"),
        "name": validation.clean_text(data.get("name"), field="name", max_length=100, required=True),
        "credit_code": validation.clean_credit_code(data.get("credit_code")),
        "address": validation.clean_text(data.get("address"), field="address", max_length=200),
        "contact_name": validation.clean_text(data.get("contact_name"), field="contact_name", max_length=50),
        "notes": validation.clean_text(data.get("notes"), field="notes", max_length=2000),
    }


def create_organisation(actor, area, *, phone: str = "", **data) -> Organisation:
    validation.check_area_kind(area, validation.ORGANISATION_AREA_KINDS)
    organisation = Organisation(**_organisation_values(data))
    organisation.name_key = search_keys.name_key(organisation.name)
    organisation.set_phone(validation.clean_phone(phone))
    organisation.place_in(area)
    with transaction.atomic():
        _save_new(organisation, _organisation_taken(area, organisation.name))
        record(
            "registry.organisation_created",
            organisation,
            actor=actor,
            area=area,
            kind=organisation.kind,
            name=organisation.name,
        )
    return organisation


def update_organisation(
    actor, organisation: Organisation, *, expected_updated_at=None, phone=None, area=None, **data
) -> Organisation:
    current = {f: getattr(organisation, f) for f in ORGANISATION_FIELDS}
    values = _organisation_values({**current, **data})
    changed, stored = _apply_named_record_changes(organisation, values, phone, area, validation.ORGANISATION_AREA_KINDS)
    if not changed:
        return organisation
    with transaction.atomic():
        if (
            Organisation.objects.filter(area=organisation.area, name=organisation.name)
            .exclude(pk=organisation.pk)
            .exists()
        ):
            raise _organisation_taken(organisation.area, organisation.name)
        _compare_and_save(organisation, expected_updated_at, stored)
        record("registry.organisation_updated", organisation, actor=actor, area=organisation.area, fields=changed)
    return organisation


def add_organisation_member(
    actor,
    organisation: Organisation,
    *,
    name: str = "",
    resident: Resident | None = None,
    position: str = "",
    phone: str = "",
    is_contact: bool = False,
    joined_on=None,
) -> OrganisationMember:
    if resident is not None:
        name = name or resident.name
    member = OrganisationMember(
        organisation=organisation,
        resident=resident,
        name=validation.clean_name(name),
        position=validation.clean_text(position, field="position", max_length=50),
        is_contact=bool(is_contact),
        joined_on=validation.clean_date(joined_on, "joined_on"),
    )
    member.set_phone(validation.clean_phone(phone))
    with transaction.atomic():
        member.save()
        record(
            "registry.organisation_member_added", organisation, actor=actor, area=organisation.area, member=member.pk
        )
    return member


def end_organisation_membership(actor, member: OrganisationMember, *, left_on=None) -> OrganisationMember:
    left_on = validation.clean_date(left_on, "left_on") or timezone.localdate()
    with transaction.atomic():
        if OrganisationMember.objects.filter(pk=member.pk, left_on__isnull=True).update(left_on=left_on) != 1:
            raise StaleRecord
        member.left_on = left_on
        record(
            "registry.organisation_member_left",
            member.organisation,
            actor=actor,
            area=member.organisation.area,
            member=member.pk,
        )
    return member


# ---- care tags (the configurable set) -------------------------------------------------------------


def save_care_tag(
    actor,
    *,
    code: str,
    name: str,
    position: int = 0,
    description: str = "",
    is_active: bool = True,
    tag: CareTag | None = None,
) -> CareTag:
    tag = tag or CareTag(code=code)
    tag.name = validation.clean_text(name, field="name", max_length=40, required=True)
    tag.position = position
    tag.description = validation.clean_text(description, field="description", max_length=200)
    tag.is_active = is_active
    with transaction.atomic():
        if CareTag.objects.filter(name=tag.name).exclude(pk=tag.pk).exists():
            raise ValidationError({"name": _("A care tag with this name exists.")})
        created = tag.pk is None
        tag.save()
        record(
            "registry.care_tag_created" if created else "registry.care_tag_updated",
            tag,
            actor=actor,
            code=tag.code,
            name=tag.name,
        )
    return tag
