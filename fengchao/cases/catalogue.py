"""The grid centre's settings for cases: the category tree and the work calendar.

Each change runs in one transaction with its audit event. A category carries a `version`: an edit
names the version it was made against (compare-and-set), bumps it, and keeps the settings it
replaces as a `CategoryRevision`, so the history shows every version. Calendar and category edits
clear the in-process caches on commit; other processes catch up within a minute.

Callers check `can_manage_catalogue` first (the pages answer 404 to everyone else).
"""

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.accounts.roles import Role
from fengchao.audit.models import AuditEvent
from fengchao.audit.services import record
from fengchao.core.errors import StaleRecord
from fengchao.departments.models import Department
from fengchao.registry.validation import CONTROL_CHARACTERS, clean_text

from . import calendar
from .choices import CategoryKind, HandlingMode, LimitUnit, Stage, Tier
from .models import CalendarDay, Category, CategoryRevision, WorkSchedule
from .queries import held_roles

LIMIT_MIN, LIMIT_MAX = 1, 999
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,15}")
STANDARD_MAX_LENGTH = 500
KEYWORDS_MAX_LENGTH = 300
# Keywords may be typed with any of these between them; they are stored separated by one space.
KEYWORD_SEPARATORS = re.compile(r"[\s,，、;；/|]+")

LIMIT_FIELDS = tuple(f"{stage}_{part}" for stage in Stage.values for part in ("limit", "unit"))
CATEGORY_FIELDS = (
    "code",
    "name",
    "kind",
    "parent",
    "default_tier",
    "default_department",
    "handling_mode",
    *LIMIT_FIELDS,
    "registration_standard",
    "closing_standard",
    "photo_required",
    "keywords",
    "is_active",
)


def can_manage_catalogue(user) -> bool:
    """The grid centre: a superuser or an active district administrator (the settings are district-wide)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or any(h.role == Role.DISTRICT_ADMIN for h in held_roles(user))


# ---- categories ----------------------------------------------------------------------------------------


def snapshot(category: Category) -> dict:
    """The settings of a category as stored in a revision (labels kept as they were, for the history)."""
    data = {name: getattr(category, name) for name in CATEGORY_FIELDS if name not in ("parent", "default_department")}
    data["parent_id"] = category.parent_id
    data["parent"] = str(category.parent) if category.parent_id else ""
    data["default_department_id"] = category.default_department_id
    data["default_department"] = category.default_department.name if category.default_department_id else ""
    return data


def create_category(by, **fields) -> Category:
    _reject_unknown(fields)
    for required in ("code", "name", "kind"):
        fields.setdefault(required, "")
    category = Category()
    with transaction.atomic():
        values = _clean_category(fields, current=None)
        for name, value in values.items():
            setattr(category, name, value)
        try:
            with transaction.atomic():
                category.save(force_insert=True)
        except IntegrityError:
            raise _code_taken(values["code"]) from None
        record("cases.category_created", category, actor=by, **_audit_values(snapshot(category)))
        transaction.on_commit(_categories_changed)
    return category


def update_category(category: Category, by, expected_version: int, **fields) -> Category:
    """Change some settings of a category that is still at `expected_version`; StaleRecord if it is not."""
    _reject_unknown(fields)
    with transaction.atomic():
        current = Category.objects.select_related("parent", "default_department").filter(pk=category.pk).first()
        if current is None or current.version != expected_version:
            raise StaleRecord
        values = _clean_category(fields, current=current)
        changed = {name: value for name, value in values.items() if _differs(current, name, value)}
        if not changed:
            return current
        _save_version(current, by, changed)
        if changed.get("is_active") is False:
            _deactivate_descendants(current, by)
        transaction.on_commit(_categories_changed)
    current.refresh_from_db()
    return current


def deactivate_category(category: Category, by, expected_version: int) -> Category:
    """Take a category out of use, with all its subcategories; cases filed under them keep it."""
    return update_category(category, by, expected_version, is_active=False)


def usable_categories():
    """The categories a case may be filed under: in use, and without subcategories."""
    return Category.objects.filter(is_active=True, children__isnull=True)


def history(category: Category) -> list[dict]:
    """Every edit, newest first: who, when, the version it replaced, and each setting before and after."""
    revisions = list(category.revisions.select_related("changed_by").order_by("-version"))
    newer = snapshot(category)
    entries = []
    for revision in revisions:
        entries.append(
            {
                "version": revision.version,
                "new_version": revision.version + 1,
                "by": revision.changed_by,
                "at": revision.changed_at,
                "changes": describe_changes(revision.data, newer),
            }
        )
        newer = revision.data
    created = (
        AuditEvent.objects.filter(
            action="cases.category_created", object_type="cases.category", object_id=str(category.pk)
        )
        .select_related("actor")
        .first()
    )
    # Seeded categories have no creation event: they came with the installation.
    entries.append({"version": None, "new_version": 1, "by": created and created.actor, "at": created and created.at})
    return entries


def describe_changes(before: dict, after: dict) -> list[dict]:
    """The settings that differ, as labels and shown values (a time limit with its unit as one line)."""
    lines = []
    for name in CATEGORY_FIELDS:
        if name.endswith("_unit"):
            continue
        if name.endswith("_limit"):
            unit = name.replace("_limit", "_unit")
            old, new = (before.get(name), before.get(unit)), (after.get(name), after.get(unit))
            shown_old, shown_new = _show_limit(*old), _show_limit(*new)
        else:
            old, new = before.get(name), after.get(name)
            shown_old, shown_new = _show(name, old), _show(name, new)
        if old != new:
            label = Category._meta.get_field(name).verbose_name
            lines.append({"field": name, "label": label, "before": shown_old, "after": shown_new})
    return lines


def _show(name: str, value) -> str:
    if value in (None, ""):
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    choices = {"kind": CategoryKind, "default_tier": Tier, "handling_mode": HandlingMode}.get(name)
    if choices is not None and value in choices.values:
        return str(choices(value).label)
    return str(value)


def _show_limit(amount, unit) -> str:
    if amount is None:
        return "—"
    label = LimitUnit(unit).label if unit in LimitUnit.values else unit
    return f"{amount} {label}"


def _save_version(current: Category, by, changed: dict) -> None:
    previous = snapshot(current)
    try:
        with transaction.atomic():
            updated = Category.objects.filter(pk=current.pk, version=current.version).update(
                **changed, version=F("version") + 1, updated_at=timezone.now()
            )
    except IntegrityError:
        raise _code_taken(changed.get("code")) from None
    if updated != 1:
        raise StaleRecord
    CategoryRevision.objects.create(
        category=current,
        version=current.version,
        data=previous,
        changed_by=by if getattr(by, "is_authenticated", False) else None,
    )
    before = {name: previous[name] for name in _audit_names(changed)}
    for name, value in changed.items():
        setattr(current, name, value)
    now = snapshot(current)
    after = {name: now[name] for name in _audit_names(changed)}
    current.version += 1
    record(
        "cases.category_updated",
        current,
        actor=by,
        version=current.version,
        code=current.code,
        before=_audit_values(before),
        after=_audit_values(after),
    )


def _deactivate_descendants(category: Category, by) -> None:
    children_of: dict[int | None, list[int]] = {}
    for pk, parent_id in Category.objects.values_list("pk", "parent_id"):
        children_of.setdefault(parent_id, []).append(pk)
    below, stack = [], list(children_of.get(category.pk, []))
    while stack:
        pk = stack.pop()
        below.append(pk)
        stack.extend(children_of.get(pk, []))
    active = Category.objects.select_related("parent", "default_department").filter(pk__in=below, is_active=True)
    for descendant in active.order_by("code"):
        _save_version(descendant, by, {"is_active": False})


def _clean_category(fields: dict, *, current: Category | None) -> dict:
    """The cleaned values of the given fields; every problem found is reported at once, by field."""
    errors: dict[str, list[str]] = {}
    values: dict = {}

    def check(name, clean):
        if name not in fields:
            return
        try:
            values[name] = clean(fields[name])
        except ValidationError as error:
            errors.setdefault(name, []).extend(error.messages)

    check("code", _clean_code)
    check("name", lambda raw: _text(raw, "name", 60, required=True))
    check("kind", lambda raw: _choice(raw, CategoryKind, "kind"))
    check("default_tier", lambda raw: _choice(raw, Tier, "default_tier"))
    check("handling_mode", lambda raw: _choice(raw, HandlingMode, "handling_mode"))
    for stage in Stage.values:
        check(f"{stage}_limit", _clean_limit)
        check(f"{stage}_unit", lambda raw, name=f"{stage}_unit": _choice(raw, LimitUnit, name))
    check("registration_standard", lambda raw: _standard(raw, "registration_standard"))
    check("closing_standard", lambda raw: _standard(raw, "closing_standard"))
    check("keywords", _clean_keywords)
    check("photo_required", bool)
    check("is_active", bool)
    check("parent", _load_parent)
    check("default_department", _load_department)

    def final(name):
        """The value the category will have: the new one if given and clean, else the current (or default)."""
        if name in values:
            return values[name]
        if current is not None:
            return getattr(current, name)
        return Category._meta.get_field(name).get_default()

    _check_tree(current, final, values, errors)
    if (
        final("default_tier") == Tier.DEPARTMENT
        and "default_tier" not in errors
        and final("default_department") is None
    ):
        errors.setdefault("default_department", []).append(
            _("A category handled by a department names the department.")
        )
    if errors:
        raise ValidationError(errors)
    return values


def _check_tree(current, final, values, errors) -> None:
    kind, parent, is_active = final("kind"), final("parent"), final("is_active")
    if current is not None and "kind" in values and kind != current.kind:
        if current.cases.exists():
            errors.setdefault("kind", []).append(_("Cases are filed under this category, so its kind cannot change."))
        elif current.children.exists():
            errors.setdefault("kind", []).append(
                _("Its subcategories are of the present kind: change or move them first.")
            )
    if parent is None or "parent" in errors:
        return
    parent_changed = "parent" in values and (current is None or current.parent_id != parent.pk)
    if current is not None and parent_changed and _is_within(parent, current):
        errors.setdefault("parent", []).append(
            _("%(parent)s lies within this category and cannot be its parent.") % {"parent": parent}
        )
        return
    if "kind" not in errors and parent.kind != kind:
        errors.setdefault("parent", []).append(
            _("%(parent)s is of another kind; a category sits under a parent of its own kind.") % {"parent": parent}
        )
    if is_active and not parent.is_active:
        errors.setdefault("parent" if parent_changed else "is_active", []).append(
            _("%(parent)s is not in use; put it back in use first.") % {"parent": parent}
        )
    if parent_changed and parent.cases.exists():
        errors.setdefault("parent", []).append(
            _("Cases are filed under %(parent)s; cases use categories without subcategories.") % {"parent": parent}
        )


def _is_within(candidate: Category, category: Category) -> bool:
    """Whether candidate is the category itself or one of its descendants (walking up from candidate)."""
    parent_of = dict(Category.objects.values_list("pk", "parent_id"))
    pk, seen = candidate.pk, set()
    while pk is not None and pk not in seen:
        if pk == category.pk:
            return True
        seen.add(pk)
        pk = parent_of.get(pk)
    return False


def _clean_code(raw) -> str:
    value = str(raw or "").strip()
    if not value:
        raise ValidationError(_("This field is required."))
    if not CODE_PATTERN.fullmatch(value):
        raise ValidationError(_("A code is 1 to 16 letters, digits, dots, hyphens or underscores."))
    return value


def _text(raw, field, max_length, required=False) -> str:
    try:
        return clean_text(raw, field=field, max_length=max_length, required=required)
    except ValidationError as error:
        raise ValidationError(error.message_dict[field]) from None


def _standard(raw, field) -> str:
    """A standard may run over several lines; control characters go, line breaks stay."""
    lines = [
        re.sub(r"[ \t\u3000]+", " ", CONTROL_CHARACTERS.sub("", line)).strip() for line in str(raw or "").splitlines()
    ]
    value = "\n".join(line for line in lines if line)
    if len(value) > STANDARD_MAX_LENGTH:
        raise ValidationError(
            _("At most %(max)d characters (this has %(n)d).") % {"max": STANDARD_MAX_LENGTH, "n": len(value)}
        )
    return value


def _choice(raw, choices, field) -> str:
    if raw not in choices.values:
        raise ValidationError(_("Choose one of the offered values."))
    return raw


def _clean_limit(raw) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        value = None
    if value is None or isinstance(raw, bool) or not LIMIT_MIN <= value <= LIMIT_MAX:
        raise ValidationError(
            _("A time limit is a whole number from %(min)d to %(max)d.") % {"min": LIMIT_MIN, "max": LIMIT_MAX}
        )
    return value


def _clean_keywords(raw) -> str:
    words = KEYWORD_SEPARATORS.split(CONTROL_CHARACTERS.sub("", str(raw or "")))
    value = " ".join(dict.fromkeys(word for word in words if word))
    if len(value) > KEYWORDS_MAX_LENGTH:
        raise ValidationError(
            _("At most %(max)d characters (this has %(n)d).") % {"max": KEYWORDS_MAX_LENGTH, "n": len(value)}
        )
    return value


def _load_parent(raw) -> Category | None:
    if raw in (None, ""):
        return None
    pk = raw.pk if isinstance(raw, Category) else raw
    parent = Category.objects.filter(pk=pk).first() if str(pk).isdigit() else None
    if parent is None:
        raise ValidationError(_("There is no such category."))
    return parent


def _load_department(raw) -> Department | None:
    if raw in (None, ""):
        return None
    pk = raw.pk if isinstance(raw, Department) else raw
    department = Department.objects.filter(pk=pk).first() if str(pk).isdigit() else None
    if department is None:
        raise ValidationError(_("There is no such department."))
    if not department.is_active:
        raise ValidationError(_("%(department)s is not active.") % {"department": department.name})
    return department


def _differs(current: Category, name: str, value) -> bool:
    if name in ("parent", "default_department"):
        return getattr(current, f"{name}_id") != (value.pk if value is not None else None)
    return getattr(current, name) != value


def _reject_unknown(fields: dict) -> None:
    unknown = set(fields) - set(CATEGORY_FIELDS)
    if unknown:
        raise TypeError(f"not category settings: {', '.join(sorted(unknown))}")


def _code_taken(code) -> ValidationError:
    return ValidationError({"code": _("A category with code %(code)s exists.") % {"code": code}})


def _audit_names(changed: dict) -> list[str]:
    return [name for name in changed] + [f"{name}_id" for name in ("parent", "default_department") if name in changed]


def _audit_values(values: dict) -> dict:
    return {name: value for name, value in values.items() if value not in ("", None)}


def _categories_changed() -> None:
    from . import suggest

    suggest.clear_cache()


# ---- the work calendar ---------------------------------------------------------------------------------

FIRST_YEAR, LAST_YEAR = 2000, 2099


def set_calendar_day(by, date, is_working: bool, name: str = "") -> CalendarDay:
    """Enter or change one day that breaks the Monday-to-Friday rule (a holiday, or a weekend worked)."""
    day = _clean_date(date)
    name = clean_text(name, field="name", max_length=50)
    with transaction.atomic():
        before = CalendarDay.objects.filter(date=day).values("is_working", "name", "seeded").first()
        entry, _created = CalendarDay.objects.update_or_create(
            date=day, defaults={"is_working": bool(is_working), "name": name, "seeded": False}
        )
        record(
            "cases.calendar_day_set",
            entry,
            actor=by,
            date=day.isoformat(),
            is_working=entry.is_working,
            name=name,
            before=before,
        )
        transaction.on_commit(calendar.clear_cache)
    return entry


def clear_calendar_day(by, date) -> None:
    """Remove an entered day, so the weekday rule applies to it again."""
    day = _clean_date(date)
    with transaction.atomic():
        entry = CalendarDay.objects.filter(date=day).first()
        if entry is None:
            raise ValidationError({"date": _("Nothing is entered for %(date)s.") % {"date": day.isoformat()}})
        record(
            "cases.calendar_day_cleared",
            entry,
            actor=by,
            date=day.isoformat(),
            is_working=entry.is_working,
            name=entry.name,
            seeded=entry.seeded,
        )
        CalendarDay.objects.filter(pk=entry.pk).delete()
        transaction.on_commit(calendar.clear_cache)


def set_working_hours(by, *, morning_start, morning_end, afternoon_start, afternoon_end) -> WorkSchedule:
    """The working hours of every working day: a morning and an afternoon, in order, not overlapping."""
    given = {
        "morning_start": morning_start,
        "morning_end": morning_end,
        "afternoon_start": afternoon_start,
        "afternoon_end": afternoon_end,
    }
    errors: dict[str, list[str]] = {}
    times = {}
    for name, raw in given.items():
        try:
            times[name] = _clean_time(raw)
        except ValidationError as error:
            errors[name] = error.messages
    if not errors:
        if not times["morning_start"] < times["morning_end"]:
            errors["morning_end"] = [_("The morning ends after it starts.")]
        if not times["morning_end"] <= times["afternoon_start"]:
            errors["afternoon_start"] = [_("The afternoon starts when the morning has ended, or later.")]
        if not times["afternoon_start"] < times["afternoon_end"]:
            errors["afternoon_end"] = [_("The afternoon ends after it starts.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        schedule = WorkSchedule.objects.order_by("pk").first() or WorkSchedule()
        before = {name: _hhmm(getattr(schedule, name)) for name in given} if schedule.pk else None
        for name, value in times.items():
            setattr(schedule, name, value)
        schedule.save()
        record(
            "cases.working_hours_set",
            schedule,
            actor=by,
            before=before,
            after={name: _hhmm(value) for name, value in times.items()},
        )
        transaction.on_commit(calendar.clear_cache)
    return schedule


def years_without_holidays(today: dt.date | None = None) -> list[int]:
    """This year and next, where no public holiday has been seeded or entered yet (deadlines would run
    through the holidays as if they were working days)."""
    today = today or timezone.localdate()
    years = (today.year, today.year + 1)
    holidays = CalendarDay.objects.filter(
        is_working=False, date__gte=dt.date(years[0], 1, 1), date__lt=dt.date(years[-1] + 1, 1, 1)
    )
    covered = {day.year for day in holidays.dates("date", "year")}
    return [year for year in years if year not in covered]


def _clean_date(raw) -> dt.date:
    if isinstance(raw, dt.datetime):
        raw = raw.date()
    if not isinstance(raw, dt.date):
        try:
            raw = dt.date.fromisoformat(str(raw or "").strip())
        except ValueError:
            raise ValidationError({"date": _("Give a date as YYYY-MM-DD.")}) from None
    if not FIRST_YEAR <= raw.year <= LAST_YEAR:
        raise ValidationError(
            {"date": _("Give a date from %(first)d to %(last)d.") % {"first": FIRST_YEAR, "last": LAST_YEAR}}
        )
    return raw


def _clean_time(raw) -> dt.time:
    if isinstance(raw, dt.time):
        return raw.replace(second=0, microsecond=0)
    try:
        return dt.time.fromisoformat(str(raw or "").strip()).replace(second=0, microsecond=0)
    except ValueError:
        raise ValidationError(_("Give a time as HH:MM, e.g. 09:00.")) from None


def _hhmm(value) -> str:
    return value.strftime("%H:%M") if isinstance(value, dt.time) else str(value)
