"""Cases (事件/诉求) and everything that happens to them.

A case is one row that only moves through `services` by compare-and-set on its `version`;
its history is the append-only `CaseEvent` table. Like the registry, a case carries the pks of
its area's ancestors (lineage) so roll-ups are one GROUP BY, and the reporter's phone is
encrypted personal data.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fengchao.registry.models import EncryptedPhone, InArea

from .choices import (
    AttachmentKind,
    CaseState,
    CategoryKind,
    Channel,
    HandlingMode,
    LimitUnit,
    Rating,
    Stage,
    SupervisionLevel,
    Tier,
    WhistleLevel,
)


class WorkSchedule(models.Model):
    """The working hours of the deployment (one row). Days come from weekdays and `CalendarDay`."""

    morning_start = models.TimeField(_("morning from"), default="09:00")
    morning_end = models.TimeField(_("morning until"), default="12:00")
    afternoon_start = models.TimeField(_("afternoon from"), default="13:30")
    afternoon_end = models.TimeField(_("afternoon until"), default="17:30")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")

    def __str__(self):
        morning = f"{self.morning_start:%H:%M}–{self.morning_end:%H:%M}"
        return f"{morning}, {self.afternoon_start:%H:%M}–{self.afternoon_end:%H:%M}"


class CalendarDay(models.Model):
    """A day that breaks the Monday–Friday rule: a public holiday, or a weekend worked (调休)."""

    date = models.DateField(_("date"), unique=True)
    is_working = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=50, blank=True)
    seeded = models.BooleanField(_("from the official schedule"), default=False, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.name}"


class Category(models.Model):
    """A case category (GB/T 30428.2 component or event class, or a social-governance class)."""

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent")
    )
    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=16, choices=CategoryKind.choices)
    default_tier = models.CharField(_("default handler tier"), max_length=16, choices=Tier.choices, default=Tier.GRID)
    default_department = models.ForeignKey(
        "departments.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("default department"),
    )
    handling_mode = models.CharField(
        _("handling mode"), max_length=16, choices=HandlingMode.choices, default=HandlingMode.IMMEDIATE
    )
    accept_limit = models.PositiveSmallIntegerField(_("accept within"), default=2)
    accept_unit = models.CharField(max_length=16, choices=LimitUnit.choices, default=LimitUnit.WORKING_HOURS)
    dispatch_limit = models.PositiveSmallIntegerField(_("dispatch within"), default=2)
    dispatch_unit = models.CharField(max_length=16, choices=LimitUnit.choices, default=LimitUnit.WORKING_HOURS)
    take_limit = models.PositiveSmallIntegerField(_("respond within"), default=2)
    take_unit = models.CharField(max_length=16, choices=LimitUnit.choices, default=LimitUnit.WORKING_HOURS)
    handle_limit = models.PositiveSmallIntegerField(_("handle within"), default=3)
    handle_unit = models.CharField(max_length=16, choices=LimitUnit.choices, default=LimitUnit.WORKING_DAYS)
    verify_limit = models.PositiveSmallIntegerField(_("verify within"), default=1)
    verify_unit = models.CharField(max_length=16, choices=LimitUnit.choices, default=LimitUnit.WORKING_DAYS)
    registration_standard = models.TextField(_("registration standard (立案标准)"), blank=True)
    closing_standard = models.TextField(_("closing standard (结案标准)"), blank=True)
    photo_required = models.BooleanField(_("photo required"), default=False)
    keywords = models.CharField(
        _("keywords"), max_length=300, blank=True, help_text=_("Words that suggest this category, separated by spaces.")
    )
    is_active = models.BooleanField(_("in use"), default=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("case category")
        verbose_name_plural = _("case categories")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"

    def limit(self, stage: str) -> tuple[int, str]:
        return getattr(self, f"{stage}_limit"), getattr(self, f"{stage}_unit")


class CategoryRevision(models.Model):
    """The settings of a category as they were from one edit to the next (the history of changes)."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    data = models.JSONField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["category", "-version"]
        constraints = [models.UniqueConstraint(fields=["category", "version"], name="one_revision_per_version")]

    def __str__(self):
        return f"{self.category_id} v{self.version}"


class Case(InArea, EncryptedPhone):
    """One reported matter, from report to rating. Change it only through `cases.services`."""

    # The (area, state) index leads with the area: no index of its own (InArea's field, without one).
    area = models.ForeignKey(
        "areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("area"), db_index=False
    )
    # What an anonymous reporter keeps to follow the case; unguessable.
    tracking_code = models.CharField(max_length=12, unique=True, editable=False)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    external_number = models.CharField(_("work-order number"), max_length=40, blank=True)
    # A retried submission carries the same key and gets the first case back.
    idempotency_scope = models.CharField(max_length=40, editable=False)
    idempotency_key = models.CharField(max_length=64, editable=False)

    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="cases", verbose_name=_("category"))
    description = models.TextField(_("description"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)

    # Foreign keys that lead a composite index below need no index of their own (fewer indexes to keep).
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reported_cases",
        db_index=False,
    )
    reporter_name = models.CharField(_("reporter"), max_length=50, blank=True)
    is_anonymous = models.BooleanField(_("anonymous"), default=False)
    handled_on_spot = models.BooleanField(_("handled on the spot"), default=False)

    state = models.CharField(_("state"), max_length=16, choices=CaseState.choices, default=CaseState.REPORTED)
    version = models.PositiveIntegerField(default=1, editable=False)
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices, default=Tier.GRID)
    handling_mode = models.CharField(_("handling mode"), max_length=16, choices=HandlingMode.choices)
    department = models.ForeignKey(
        "departments.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="cases", db_index=False
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
        db_index=False,
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged")

    # The current stage's deadline, and what the deadline worker has done about it.
    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True)
    stage_deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    stage_warned = models.BooleanField(default=False)
    is_overdue = models.BooleanField(_("overdue"), default=False)
    supervision = models.PositiveSmallIntegerField(
        _("supervision"), choices=SupervisionLevel.choices, default=SupervisionLevel.NONE
    )
    # When the case as a whole must be closed (sum of the stage limits from registration).
    due_at = models.DateTimeField(_("due"), null=True, blank=True)

    reported_at = models.DateTimeField(_("reported"))
    accepted_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    responded_on_time = models.BooleanField(null=True, editable=False)
    closed_on_time = models.BooleanField(null=True, editable=False)
    rework_count = models.PositiveSmallIntegerField(default=0, editable=False)
    rating = models.CharField(_("rating"), max_length=24, choices=Rating.choices, blank=True)
    rating_comment = models.CharField(_("comment"), max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        constraints = [
            models.UniqueConstraint(fields=["idempotency_scope", "idempotency_key"], name="one_case_per_submission")
        ]
        indexes = [
            models.Index(fields=["community_pk", "state"]),
            models.Index(fields=["grid_pk", "state"]),
            models.Index(fields=["street_pk", "state"]),
            models.Index(fields=["area", "state"]),
            models.Index(fields=["department", "state"]),
            models.Index(fields=["assignee", "state"]),
            models.Index(fields=["reporter", "reported_at"]),
            models.Index(fields=["state", "stage_deadline"]),
            models.Index(fields=["reported_at"]),
            models.Index(fields=["lat", "lon"]),
        ]

    def __str__(self):
        return self.number

    @property
    def number(self) -> str:
        """Date of report and pk: unique without a second write, and `pk_from_number` reads it back."""
        return f"{timezone.localtime(self.reported_at):%Y%m%d}{self.pk:08d}"


def pk_from_number(number: str) -> int | None:
    number = (number or "").strip()
    if len(number) != 16 or not number.isdigit():
        return None
    return int(number[8:])


class CaseEvent(models.Model):
    """One step in a case's life. Append-only; public events make up the resident's timeline."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", db_index=False)  # (case, at)
    at = models.DateTimeField(_("time"))
    # Not indexed: nothing lists events by actor, and it is the dearest index of the largest table. Accounts
    # are deactivated, not deleted; deleting one scans the events once to clear its name from them.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # Who acted, as shown: a name, 居民 for an anonymous reporter, 系统 for the deadline worker.
    actor_label = models.CharField(max_length=60, blank=True)
    action = models.CharField(_("action"), max_length=24)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16, blank=True)
    note = models.TextField(_("note"), blank=True)
    is_public = models.BooleanField(default=False)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["case", "at", "pk"]
        indexes = [models.Index(fields=["case", "at"])]

    def __str__(self):
        return f"{self.case_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


def attachment_path(instance, filename):
    return f"cases/{instance.case.reported_at:%Y/%m}/{instance.case.number}/{instance.token}.{instance.extension}"


class CaseAttachment(models.Model):
    """A photo taken for a case: before, after, or at verification."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(CaseEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=8, choices=AttachmentKind.choices)
    token = models.CharField(max_length=32, unique=True, editable=False)
    extension = models.CharField(max_length=8)
    file = models.FileField(upload_to=attachment_path)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "uploaded_at", "pk"]

    def __str__(self):
        return f"{self.case_id} {self.kind} {self.token}"


class Whistle(models.Model):
    """吹哨: a community or street calls departments in on a case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="whistles")
    level = models.CharField(_("level"), max_length=16, choices=WhistleLevel.choices)
    blown_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    blown_at = models.DateTimeField()
    reason = models.TextField(_("reason"))

    class Meta:
        ordering = ["case", "blown_at"]

    def __str__(self):
        return f"{self.case_id} {self.level}"


class CoHandler(models.Model):
    """A department called by a whistle: it must report in (报到) in time, then report its part."""

    whistle = models.ForeignKey(Whistle, on_delete=models.CASCADE, related_name="co_handlers")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="co_handlers")
    department = models.ForeignKey("departments.Department", on_delete=models.PROTECT, related_name="whistle_calls")
    report_deadline = models.DateTimeField(_("report in by"))
    reported_at = models.DateTimeField(_("reported in"), null=True, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    part_done_at = models.DateTimeField(_("part done"), null=True, blank=True)
    part_note = models.TextField(_("what was done"), blank=True)
    is_late = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "department"], name="one_call_per_department")]
        indexes = [
            models.Index(fields=["department", "part_done_at"]),
            models.Index(fields=["reported_at", "report_deadline"]),
        ]

    def __str__(self):
        return f"{self.case_id} {self.department_id}"


class Supervision(models.Model):
    """督办: on an overdue or stuck case, by the worker (automatic) or by hand with an instruction."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="supervisions")
    level = models.PositiveSmallIntegerField(_("level"), choices=SupervisionLevel.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    # The level above the tier that was late, which now watches the case.
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+")
    stage = models.CharField(max_length=16, choices=Stage.choices, blank=True)
    instruction = models.TextField(_("instruction"), blank=True)

    class Meta:
        ordering = ["case", "at"]
        constraints = [
            # The worker raises each level once per stage, however often it runs.
            models.UniqueConstraint(
                fields=["case", "stage", "level"],
                condition=models.Q(by__isnull=True),
                name="one_automatic_level_per_stage",
            )
        ]

    def __str__(self):
        return f"{self.case_id} {self.get_level_display()}"


# What a case adds to its tally cell; `tallies.contribution` computes each from the case's fields.
STATE_MEASURES = tuple(f"in_{state}" for state in CaseState.values)
FLOW_MEASURES = (
    "reported",
    "accepted",
    "dispatched",
    "responded",
    "responded_on_time",
    "resolved",
    "verified",
    "closed",
    "closed_on_time",
    "reworked",
    "rated",
    "satisfied",
    "basically_satisfied",
    "dissatisfied",
)
DURATION_MEASURES = ("accept_seconds", "dispatch_seconds", "take_seconds", "handle_seconds", "verify_seconds")
MEASURES = STATE_MEASURES + FLOW_MEASURES + DURATION_MEASURES


class CaseTally(models.Model):
    """Running counts of the cases reported in a month, of a category, in the subtree of an area.

    Kept for every area of a case's lineage down to grid level, in the transaction of every case
    change (see `tallies.py`), so any area's KPIs sum at most months × categories rows, however many
    millions of cases lie below it.
    """

    area = models.ForeignKey("areas.Area", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["area", "month", "category"], name="one_tally_per_cell")]
        indexes = [models.Index(fields=["month"])]

    def __str__(self):
        return f"{self.area_id} {self.month:%Y-%m} {self.category_id}"


for _measure in MEASURES:
    CaseTally.add_to_class(_measure, models.BigIntegerField(default=0, db_default=0))  # upserts name only the changed
