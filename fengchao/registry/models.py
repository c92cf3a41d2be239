"""The registry (人地事物组织): buildings and rooms, households, residents, places and organisations.

Every row sits in one area and carries the pks of that area's ancestors (lineage), so counts per
street, community or grid are one GROUP BY and scoping is a join on the area's path. ID numbers
and phones are personal data: encrypted, found by keyed hash or last four digits, never stored plain.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fengchao.areas.fields import BytewiseCharField
from fengchao.areas.models import Area
from fengchao.core import privacy

from . import idcard
from .choices import (
    AccessAction,
    Gender,
    IdType,
    OrganisationKind,
    PlaceKind,
    Relation,
    ResidenceType,
    ResidentStatus,
)

LINEAGE_FIELDS = ("district_pk", "street_pk", "community_pk", "grid_pk")


class InArea(models.Model):
    """An area and its lineage; set both with `place_in`."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    district_pk = models.BigIntegerField(null=True, editable=False)
    street_pk = models.BigIntegerField(null=True, editable=False)
    community_pk = models.BigIntegerField(null=True, editable=False)
    grid_pk = models.BigIntegerField(null=True, editable=False)

    class Meta:
        abstract = True

    def place_in(self, area: Area) -> None:
        self.area = area
        for field in LINEAGE_FIELDS:
            setattr(self, field, getattr(area, field))


class EncryptedPhone(models.Model):
    """A phone number: ciphertext, keyed hash for exact search, last four for partial search."""

    phone_cipher = models.TextField(blank=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    phone_last4 = models.CharField(max_length=4, blank=True, editable=False, db_index=True)

    class Meta:
        abstract = True

    @property
    def phone(self) -> str:
        return privacy.decrypt(self.phone_cipher)

    def set_phone(self, raw: str) -> None:
        phone = privacy.normalise_phone(raw) if raw else ""
        self.phone_cipher = privacy.encrypt(phone)
        self.phone_hash = privacy.keyed_hash(phone) if phone else ""
        self.phone_last4 = phone[-4:]

    @property
    def masked_phone(self) -> str:
        return privacy.mask_phone(self.phone) if self.phone_cipher else ""


class Building(InArea):
    """A building (楼栋) in one micro-grid (or a dedicated grid without micro-grids)."""

    name = models.CharField(_("building"), max_length=60, help_text=_("As people say it, e.g. 3栋 or 3号楼."))
    address = models.CharField(_("address"), max_length=200, blank=True)
    floors = models.PositiveSmallIntegerField(_("floors"), null=True, blank=True)
    units = models.PositiveSmallIntegerField(_("units (单元)"), null=True, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    is_active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        constraints = [models.UniqueConstraint(fields=["area", "name"], name="building_name_unique_in_area")]
        indexes = [models.Index(fields=["community_pk", "name"]), models.Index(fields=["grid_pk"])]

    def __str__(self):
        return self.name


class Room(models.Model):
    """A room of a building, in a unit (单元) if the building has them."""

    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="rooms", verbose_name=_("building"))
    unit = models.CharField(_("unit"), max_length=8, blank=True)
    floor = models.SmallIntegerField(_("floor"), null=True, blank=True)
    number = models.CharField(_("room"), max_length=16)

    class Meta:
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        ordering = ["building", "unit", "floor", "number"]
        constraints = [
            models.UniqueConstraint(fields=["building", "unit", "number"], name="room_number_unique_in_unit")
        ]

    def __str__(self):
        return f"{self.building.name}{self.unit_label}{self.number}"

    @property
    def unit_label(self) -> str:
        return f"{self.unit}单元" if self.unit else ""


class Household(InArea):
    """A household (户) at an address: a room of a building, or a free-text address."""

    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.PROTECT, related_name="households", verbose_name=_("room")
    )
    address = models.CharField(_("address"), max_length=200)
    # The address as compared: simplified, no spaces, full-width folded; re-imports match on it.
    address_key = BytewiseCharField(max_length=200, editable=False)
    number = models.CharField(_("household number"), max_length=32, blank=True)
    head = models.ForeignKey(
        "Resident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("head")
    )
    notes = models.TextField(_("notes"), blank=True)
    is_active = models.BooleanField(_("living here"), default=True)
    moved_out_at = models.DateTimeField(_("moved out"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        constraints = [
            models.UniqueConstraint(
                fields=["address_key"], condition=models.Q(is_active=True), name="one_active_household_per_address"
            )
        ]
        indexes = [
            models.Index(fields=["street_pk", "is_active"]),
            models.Index(fields=["community_pk", "is_active"]),
            models.Index(fields=["grid_pk", "is_active"]),
            models.Index(fields=["area", "is_active"]),
        ]

    def __str__(self):
        return self.address


class CareTag(models.Model):
    """A kind of care subject (关爱对象); the set is configurable per deployment."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=40, unique=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    description = models.CharField(_("description"), max_length=200, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("care tag")
        verbose_name_plural = _("care tags")
        ordering = ["position", "code"]

    def __str__(self):
        return self.name


class Resident(InArea, EncryptedPhone):
    """A person living (or once living) in the district."""

    household = models.ForeignKey(
        Household,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="residents",
        verbose_name=_("household"),
    )
    relation = models.CharField(_("relation to head"), max_length=16, choices=Relation.choices, blank=True)
    name = models.CharField(_("name"), max_length=50)
    name_key = BytewiseCharField(max_length=50, editable=False)
    pinyin_key = BytewiseCharField(max_length=120, editable=False)
    initials_key = BytewiseCharField(max_length=50, editable=False)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    id_type = models.CharField(_("ID type"), max_length=20, choices=IdType.choices, default=IdType.RESIDENT_ID)
    id_cipher = models.TextField(blank=True, editable=False)
    id_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    id_last4 = models.CharField(max_length=4, blank=True, editable=False, db_index=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    residence_type = models.CharField(
        _("residence type"), max_length=16, choices=ResidenceType.choices, default=ResidenceType.REGISTERED
    )
    is_party_member = models.BooleanField(_("party member"), default=False)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone_cipher = models.TextField(blank=True, editable=False)
    notes = models.TextField(_("notes"), blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ResidentStatus.choices, default=ResidentStatus.LIVING)
    moved_in_on = models.DateField(_("moved in"), null=True, blank=True)
    moved_out_at = models.DateTimeField(_("moved out"), null=True, blank=True)
    care_tags = models.ManyToManyField(
        CareTag, through="ResidentCareTag", related_name="residents", blank=True, verbose_name=_("care tags")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        indexes = [
            models.Index(fields=["name_key"]),
            models.Index(fields=["pinyin_key"]),
            models.Index(fields=["initials_key"]),
            models.Index(fields=["street_pk", "status"]),
            models.Index(fields=["community_pk", "status"]),
            models.Index(fields=["grid_pk", "status"]),
            models.Index(fields=["area", "status"]),
            # Not (status, moved_out_at): without statistics SQLite would walk it for status='living'.
            models.Index(fields=["moved_out_at"]),
        ]

    def __str__(self):
        return self.name

    @property
    def id_number(self) -> str:
        return privacy.decrypt(self.id_cipher)

    def set_id_number(self, number: str) -> None:
        """Store an already validated and normalised ID number."""
        self.id_cipher = privacy.encrypt(number)
        self.id_hash = privacy.keyed_hash(number) if number else None
        self.id_last4 = number[-4:]

    @property
    def masked_id_number(self) -> str:
        return idcard.mask(self.id_number) if self.id_cipher else ""

    @property
    def contact_phone(self) -> str:
        return privacy.decrypt(self.contact_phone_cipher)

    def set_contact_phone(self, raw: str) -> None:
        self.contact_phone_cipher = privacy.encrypt(privacy.normalise_phone(raw) if raw else "")

    @property
    def masked_contact_phone(self) -> str:
        return privacy.mask_phone(self.contact_phone) if self.contact_phone_cipher else ""

    @property
    def is_living(self) -> bool:
        return self.status == ResidentStatus.LIVING


class ResidentCareTag(models.Model):
    """A care tag on a resident, with the resident's area lineage copied so counts per area need no join."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="care_tag_links")
    tag = models.ForeignKey(CareTag, on_delete=models.PROTECT, related_name="resident_links")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+")
    district_pk = models.BigIntegerField(null=True, editable=False)
    street_pk = models.BigIntegerField(null=True, editable=False)
    community_pk = models.BigIntegerField(null=True, editable=False)
    grid_pk = models.BigIntegerField(null=True, editable=False)
    is_living = models.BooleanField(default=True)
    since = models.DateField(_("since"), null=True, blank=True)

    class Meta:
        verbose_name = _("care tag of a resident")
        verbose_name_plural = _("care tags of residents")
        constraints = [models.UniqueConstraint(fields=["resident", "tag"], name="care_tag_once_per_resident")]
        indexes = [
            models.Index(fields=["tag", "is_living", "community_pk"]),
            models.Index(fields=["tag", "is_living", "grid_pk"]),
            models.Index(fields=["tag", "is_living", "area"]),
        ]

    def __str__(self):
        return f"{self.resident_id}:{self.tag_id}"


class MoveRecord(models.Model):
    """One move of a resident or a household: where from, where to, when, by whom and why (append-only)."""

    resident = models.ForeignKey(
        Resident, null=True, blank=True, on_delete=models.CASCADE, related_name="moves", verbose_name=_("resident")
    )
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.CASCADE, related_name="moves", verbose_name=_("household")
    )
    at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    to_area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_address = models.CharField(_("from"), max_length=200, blank=True)
    to_address = models.CharField(_("to"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("move")
        verbose_name_plural = _("moves")
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.from_address} → {self.to_address}"


class Place(InArea, EncryptedPhone):
    """A shop, enterprise, school, hospital, public place or rental housing, in a grid or dedicated grid."""

    kind = models.CharField(_("kind"), max_length=20, choices=PlaceKind.choices)
    name = models.CharField(_("name"), max_length=100)
    name_key = BytewiseCharField(max_length=100, editable=False)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    building = models.ForeignKey(
        Building, null=True, blank=True, on_delete=models.SET_NULL, related_name="places", verbose_name=_("building")
    )
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    is_crowded = models.BooleanField(_("crowded place (人员密集场所)"), default=False)
    is_fire_key_unit = models.BooleanField(_("fire-safety key unit (消防安全重点单位)"), default=False)
    is_small_venue = models.BooleanField(_("small venue (九小场所)"), default=False)
    has_hazardous_materials = models.BooleanField(_("hazardous materials (危化品)"), default=False)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    is_active = models.BooleanField(_("open"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        indexes = [
            models.Index(fields=["community_pk", "kind"]),
            models.Index(fields=["area", "kind"]),
            models.Index(fields=["name_key"]),
            models.Index(fields=["credit_code"]),
        ]

    def __str__(self):
        return self.name

    @property
    def safety_flags(self) -> list[str]:
        return [str(self._meta.get_field(name).verbose_name) for name in PLACE_SAFETY_FLAGS if getattr(self, name)]


PLACE_SAFETY_FLAGS = ("is_crowded", "is_fire_key_unit", "is_small_venue", "has_hazardous_materials")


class Organisation(InArea, EncryptedPhone):
    """A party branch, owners' committee, property company, social organisation, department or stationed unit."""

    kind = models.CharField(_("kind"), max_length=24, choices=OrganisationKind.choices)
    name = models.CharField(_("name"), max_length=100)
    name_key = BytewiseCharField(max_length=100, editable=False)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [models.UniqueConstraint(fields=["area", "name"], name="organisation_name_unique_in_area")]
        indexes = [models.Index(fields=["community_pk", "kind"]), models.Index(fields=["name_key"])]

    def __str__(self):
        return self.name


class OrganisationMember(EncryptedPhone):
    """A member of an organisation: a resident of the registry, or a person named here."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="members", verbose_name=_("organisation")
    )
    resident = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="memberships")
    name = models.CharField(_("name"), max_length=50)
    position = models.CharField(_("position"), max_length=50, blank=True)
    is_contact = models.BooleanField(_("contact"), default=False)
    joined_on = models.DateField(_("joined"), null=True, blank=True)
    left_on = models.DateField(_("left"), null=True, blank=True)

    class Meta:
        verbose_name = _("organisation member")
        verbose_name_plural = _("organisation members")
        ordering = ["-is_contact", "name", "pk"]

    def __str__(self):
        return self.name


class AccessLog(models.Model):
    """Who saw whose personal data unmasked, or exported it, when and why (append-only, for auditors)."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("who")
    )
    action = models.CharField(_("action"), max_length=16, choices=AccessAction.choices)
    reason = models.CharField(_("reason"), max_length=200)
    # The area the data belongs to (for an export: the area filtered on), so the log is scoped too.
    area = models.ForeignKey(Area, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("area"))
    subject_type = models.CharField(_("of what"), max_length=32)
    subject_id = models.BigIntegerField(null=True, blank=True)
    subject_label = models.CharField(_("whom"), max_length=120, blank=True)
    fields = models.JSONField(_("fields"), default=list)
    count = models.PositiveIntegerField(_("records"), default=1)
    channel = models.CharField(_("through"), max_length=16)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data access log")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["subject_type", "subject_id"]), models.Index(fields=["actor", "at"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.subject_type}"


class AccessLogSubject(models.Model):
    """Each record an unmasked export held, so 'who saw this resident' covers exports too."""

    log = models.ForeignKey(AccessLog, on_delete=models.CASCADE, related_name="subjects")
    subject_type = models.CharField(max_length=32)
    subject_id = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self):
        return f"{self.subject_type}#{self.subject_id}"


# ---- Excel imports and exports (jobs run by the worker) ---------------------------------------------


class ExcelEntity(models.TextChoices):
    BUILDINGS = "buildings", _("Buildings")
    HOUSEHOLDS = "households", _("Households")
    RESIDENTS = "residents", _("Residents")
    PLACES = "places", _("Places")
    ORGANISATIONS = "organisations", _("Organisations")


class ImportState(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    VALIDATING = "validating", _("Checking")
    VALIDATED = "validated", _("Checked")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", _("Import all or nothing")
    VALID_ROWS = "valid_rows", _("Import the valid rows")


class ImportJob(models.Model):
    """One uploaded sheet: checked in the worker, then imported in the mode the uploader chose.

    The file's bytes are kept only until the import ends. The report lists bad cells with ID numbers
    and phones masked, and is shown to the uploader alone.
    """

    entity = models.CharField(_("what"), max_length=16, choices=ExcelEntity.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("uploaded by")
    )
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name=_("into area"))
    language = models.CharField(max_length=16, blank=True)
    file_name = models.CharField(_("file"), max_length=200)
    file_size = models.PositiveIntegerField(default=0)
    file_data = models.BinaryField(null=True, editable=False)
    # The rows as checked, encrypted, so the import need not read and clean the file again.
    checked_data = models.TextField(null=True, editable=False)
    state = models.CharField(_("state"), max_length=16, choices=ImportState.choices, default=ImportState.UPLOADED)
    mode = models.CharField(_("mode"), max_length=16, choices=ImportMode.choices, blank=True)
    phase = models.CharField(max_length=16, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    bad_rows = models.PositiveIntegerField(_("rows with errors"), default=0)
    report = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Excel import")
        verbose_name_plural = _("Excel imports")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["created_by", "created_at"])]

    def __str__(self):
        return f"{self.get_entity_display()} {self.file_name}"

    @property
    def is_running(self) -> bool:
        return self.state in (ImportState.UPLOADED, ImportState.VALIDATING, ImportState.IMPORTING)

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.progress_done / self.progress_total)) if self.progress_total else 0


class ExportState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ExportJob(models.Model):
    """A large export written by the worker; the file is kept for its creator to download."""

    entity = models.CharField(_("what"), max_length=16, choices=ExcelEntity.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("exported by")
    )
    area = models.ForeignKey(Area, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("area"))
    language = models.CharField(max_length=16, blank=True)
    filters = models.JSONField(default=dict, blank=True)
    unmasked = models.BooleanField(_("unmasked"), default=False)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=ExportState.choices, default=ExportState.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    result = models.BinaryField(null=True, editable=False)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Excel export")
        verbose_name_plural = _("Excel exports")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["created_by", "created_at"])]

    def __str__(self):
        return f"{self.get_entity_display()} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_running(self) -> bool:
        return self.state in (ExportState.QUEUED, ExportState.RUNNING)

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.progress_done / self.progress_total)) if self.progress_total else 0
