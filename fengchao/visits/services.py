"""Every change to care visits: recording a visit (with the need it raises as a service request or case, and
its points) and changing a care-visit plan.

Each function runs in one transaction and writes its audit event there, with pks only (no names, findings or
needs). A visit carries a key per form shown (unique per visitor), so a double tap or a resent request answers
with the visit already recorded.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.accounts.roles import Role
from fengchao.areas.scope import scope_roots
from fengchao.audit.services import record
from fengchao.cases import photos
from fengchao.cases.catalogue import usable_categories
from fengchao.cases.models import Category
from fengchao.core.errors import StaleRecord
from fengchao.points.choices import Action
from fengchao.points.services import earn
from fengchao.registry.models import CareTag, Resident

from . import queries
from .choices import BACKDATE_DAYS, FINDINGS_MAX, MAX_EVERY_DAYS, MIN_EVERY_DAYS, NEEDS_MAX, How
from .models import CarePlan, Visit

CLOCK_SKEW = dt.timedelta(minutes=5)  # a phone's clock a little ahead is not "in the future"
PLAN_ROLES = frozenset({Role.DISTRICT_ADMIN})


# ---- visits ---------------------------------------------------------------------------------------------------


def _clean_text(value, field: str, limit: int, *, required: bool) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError({field: _("Write what you found on the visit.")})
    if len(text) > limit:
        raise ValidationError({field: _("Keep this under %(n)d characters.") % {"n": limit}})
    return text


def _clean_at(at, now) -> dt.datetime:
    if at in (None, ""):
        return now
    if isinstance(at, str):
        try:
            at = dt.datetime.fromisoformat(at)
        except ValueError:
            raise ValidationError({"at": _("Give the time as YYYY-MM-DD HH:MM.")}) from None
    if not isinstance(at, dt.datetime):
        raise ValidationError({"at": _("Give the time as YYYY-MM-DD HH:MM.")})
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > now + CLOCK_SKEW:
        raise ValidationError({"at": _("A visit cannot be in the future.")})
    if at < now - dt.timedelta(days=BACKDATE_DAYS):
        raise ValidationError({"at": _("Record a visit within %(n)d days of making it.") % {"n": BACKDATE_DAYS}})
    return at


def _need_category(value, needs: str) -> Category | None:
    if value in (None, ""):
        return None
    if not needs:
        raise ValidationError({"needs": _("Describe the need before choosing where it goes.")})
    code = value.code if isinstance(value, Category) else str(value).strip()
    category = usable_categories().filter(code=code).first()
    if category is None:
        raise ValidationError({"need_category": _("Choose a category from the list.")})
    return category


def _raise_case(by, visit: Visit, resident: Resident, category: Category, needs: str, photo):
    """The need as a service request or case, described without the resident's name; the visit's photo goes with
    it only when the category asks for one."""
    from fengchao.cases.services import submit_case

    tag = resident.care_tag_links.select_related("tag").order_by("tag__position", "tag__code").first()
    who = _("the %(tag)s resident") % {"tag": tag.tag.name} if tag else _("the resident")
    address = resident.household.address if resident.household_id else resident.area.name
    description = _("%(address)s, %(who)s: %(needs)s") % {"address": address, "who": who, "needs": needs}
    try:
        case, _created = submit_case(
            channel="member",
            category=category,
            description=description,
            idempotency_key=f"care-visit-{visit.pk}",
            by=by,
            area=resident.area,
            before_photos=[photo] if photo and category.photo_required else [],
        )
    except ValidationError as error:
        messages = error.messages if not hasattr(error, "error_dict") else sum(error.message_dict.values(), [])
        raise ValidationError({"need_category": messages}) from None
    return case


def _earns_points(visit: Visit) -> bool:
    """Points for the first visit of the day to a planned care subject (not for visiting anyone, or five times)."""
    planned = queries.planned_tags(queries.lineage_q(["/"])).filter(resident_id=visit.resident_id).exists()
    day = timezone.localdate(visit.at)
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    same_day = Visit.objects.filter(
        resident_id=visit.resident_id, at__gte=start, at__lt=start + dt.timedelta(days=1)
    ).exclude(pk=visit.pk)
    return planned and not same_day.exists()


def record_visit(
    by,
    *,
    resident: Resident,
    findings,
    needs="",
    how=How.IN_PERSON,
    need_category=None,
    at=None,
    key="",
    photo=None,
) -> tuple[Visit, bool]:
    """Record a visit to a resident of a grid the visitor serves; (visit, created). A repeated key returns the
    first visit. A need with a category becomes a service request (民生服务) or case, linked to the visit."""
    if not queries.is_visitor(by):
        raise PermissionDenied(_("Only people serving a grid record visits."))
    key = str(key or "").strip()[:64]
    if key:
        done = Visit.objects.filter(visitor=by, key=key).first()
        if done is not None:
            return done, False
    if resident is None or not queries.visits_in(by, resident.area):
        raise Http404("No such resident for you.")
    if not resident.is_living:
        raise ValidationError({"resident": _("This resident no longer lives here: a visit cannot be recorded.")})
    findings = _clean_text(findings, "findings", FINDINGS_MAX, required=True)
    needs = _clean_text(needs, "needs", NEEDS_MAX, required=False)
    if how not in How.values:
        raise ValidationError({"how": _("Choose in person or by phone.")})
    now = timezone.now()
    at = _clean_at(at, now)
    category = _need_category(need_category, needs)
    checked = photos.check_photos([photo] if photo else [], "photo")
    area = resident.area
    try:
        with transaction.atomic():
            visit = Visit(
                resident=resident, visitor=by, at=at, how=how, findings=findings, needs=needs, key=key, area=area
            )
            for name in ("district_pk", "street_pk", "community_pk", "grid_pk"):
                setattr(visit, name, getattr(area, name))
            for upload, extension, content_type in checked:
                visit.photo.save(f"{photos.new_token()}.{extension}", upload, save=False)
                visit.photo_type = content_type
                upload.seek(0)
            visit.save()
            if category is not None:
                visit.case = _raise_case(by, visit, resident, category, needs, photo)
                Visit.objects.filter(pk=visit.pk).update(case=visit.case)
            if _earns_points(visit):
                earn(by, Action.VISIT_DONE, source=visit, area=area, label=_("Care visit"))
            record(
                "visits.recorded",
                visit,
                actor=by,
                area=area,
                resident=resident.pk,
                how=how,
                case=visit.case_id,
                photo=bool(checked),
            )
    except IntegrityError:
        if not key:
            raise
        return Visit.objects.get(visitor=by, key=key), False
    return visit, True


# ---- plans ----------------------------------------------------------------------------------------------------


def can_set_plans(user) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or scope_roots(user, PLAN_ROLES).exists()


def _clean_every_days(value) -> int:
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        days = 0
    if not MIN_EVERY_DAYS <= days <= MAX_EVERY_DAYS:
        raise ValidationError(
            {"every_days": _("Give a number of days from %(a)d to %(b)d.") % {"a": MIN_EVERY_DAYS, "b": MAX_EVERY_DAYS}}
        )
    return days


def _clean_version(value) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({"expected_version": _("Reload the page and try again.")}) from None


def set_plan(by, tag, *, every_days, is_active=True, expected_version=None) -> CarePlan:
    """Change how often residents with a care tag are visited (a district administrator). With
    `expected_version`, refused if someone changed the plan since it was shown."""
    if not can_set_plans(by):
        raise PermissionDenied(_("Only the district administrator changes the visit plans."))
    code = tag.code if isinstance(tag, CareTag) else str(tag or "").strip()
    tag = CareTag.objects.filter(code=code).first()
    if tag is None:
        raise ValidationError({"tag": _("No such care tag.")})
    days = _clean_every_days(every_days)
    is_active = bool(is_active)
    area = scope_roots(by, PLAN_ROLES).order_by("path").first()
    with transaction.atomic():
        plan, created = CarePlan.objects.get_or_create(
            tag=tag, defaults={"every_days": days, "is_active": is_active, "updated_by": by}
        )
        before = {"every_days": plan.every_days, "is_active": plan.is_active}
        if not created:
            version = plan.version if expected_version in (None, "") else _clean_version(expected_version)
            changed = CarePlan.objects.filter(pk=plan.pk, version=version).update(
                every_days=days,
                is_active=is_active,
                updated_by=by,
                updated_at=timezone.now(),
                version=F("version") + 1,
            )
            if changed != 1:
                raise StaleRecord(
                    _("Someone changed the plan for “%(tag)s” in the meantime. Reload it and try again.")
                    % {"tag": tag.name}
                )
            plan.refresh_from_db()
        record(
            "visits.plan_changed",
            plan,
            actor=by,
            area=area,
            tag=tag.code,
            every_days=days,
            is_active=is_active,
            before=None if created else before,
        )
    return plan
