"""Every change to patrols and work logs: checking in on patrol, writing and editing a work-log entry.

Each function runs in one transaction and writes its audit event there. A check-in carries a key per form shown
(unique per user), so a double tap or a resent request answers with the check-in already recorded.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.areas import locator
from fengchao.areas.models import Area
from fengchao.audit.services import record
from fengchao.cases import photos

from . import queries
from .choices import LOG_TEXT_MAX, NOTE_MAX
from .models import PatrolCheckIn, WorkLogEntry

EDIT_DAYS = 1  # an entry may be edited on its day and the next


def _locate_microgrid(lon, lat, crs) -> tuple[Area, float, float]:
    if lon in (None, "") or lat in (None, ""):
        raise ValidationError({"location": _("No position yet: allow the phone to share its location and try again.")})
    try:
        result = locator.locate(lon, lat, crs or "wgs84")
    except ValidationError as error:
        raise ValidationError({"location": error.messages}) from None
    target = result.microgrid_id if not result.in_gap else None
    area = Area.objects.filter(pk=target, is_active=True).first() if target else None
    if area is None:
        raise ValidationError({"location": _("This point is in no micro-grid: check in inside the grid you patrol.")})
    return area, result.lon, result.lat


def check_in(by, *, lon, lat, crs="wgs84", note="", key="", photo=None, now=None) -> tuple[PatrolCheckIn, bool]:
    """Record a check-in where the phone is, with an optional photo; (check-in, created). A repeated key returns
    the first one."""
    if not queries.is_patroller(by):
        raise PermissionDenied(_("Only people serving a grid check in on patrol."))
    key = str(key or "").strip()[:64]
    if key:
        done = PatrolCheckIn.objects.filter(user=by, key=key).select_related("area").first()
        if done is not None:
            return done, False
    note = str(note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("Keep the note under %(n)d characters.") % {"n": NOTE_MAX}})
    checked = photos.check_photos([photo] if photo else [], "photo")
    area, lon, lat = _locate_microgrid(lon, lat, crs)
    if not queries.patrols_in(by, area):
        raise ValidationError(
            {"location": _("This point is in %(name)s, which is not a micro-grid you patrol.") % {"name": area.name}}
        )
    try:
        with transaction.atomic():
            done = PatrolCheckIn(user=by, area=area, at=now or timezone.now(), lon=lon, lat=lat, note=note, key=key)
            for upload, extension, content_type in checked:
                done.photo.save(f"{photos.new_token()}.{extension}", upload, save=False)
                done.photo_type = content_type
            done.save()
            record(
                "patrols.checked_in",
                done,
                actor=by,
                area=area,
                lon=round(lon, 6),
                lat=round(lat, 6),
                photo=bool(checked),
            )
    except IntegrityError:
        if not key:
            raise
        return PatrolCheckIn.objects.select_related("area").get(user=by, key=key), False
    return done, True


def _clean_text(text) -> str:
    text = str(text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write what you did.")})
    if len(text) > LOG_TEXT_MAX:
        raise ValidationError({"text": _("Keep an entry under %(n)d characters.") % {"n": LOG_TEXT_MAX}})
    return text


def _log_area(by, area) -> Area:
    allowed = list(queries.log_areas(by))
    if not allowed:
        raise PermissionDenied(_("Only people serving an area keep a work log."))
    if area in (None, ""):
        return allowed[0]
    area_pk = area.pk if isinstance(area, Area) else area
    for candidate in allowed:
        if str(candidate.pk) == str(area_pk):
            return candidate
    raise ValidationError({"area": _("Choose one of the areas where you serve.")})


def write_log(by, *, text, day=None, area=None) -> WorkLogEntry:
    """Add an entry to the writer's work log, for today or yesterday."""
    target = _log_area(by, area)
    text = _clean_text(text)
    today = timezone.localdate()
    day = day or today
    if isinstance(day, str):
        try:
            day = dt.date.fromisoformat(day)
        except ValueError:
            raise ValidationError({"day": _("Give the day as YYYY-MM-DD.")}) from None
    if day > today or (today - day).days > EDIT_DAYS:
        raise ValidationError({"day": _("Write the log for today or yesterday.")})
    with transaction.atomic():
        entry = WorkLogEntry.objects.create(user=by, day=day, text=text, area=target)
        record("patrols.log_written", entry, actor=by, area=target, day=day.isoformat(), length=len(text))
    return entry


def can_edit(by, entry: WorkLogEntry) -> bool:
    return entry.user_id == by.pk and (timezone.localdate() - entry.day).days <= EDIT_DAYS


def edit_log(by, entry: WorkLogEntry, *, text) -> WorkLogEntry:
    """Change the text of one's own entry, on its day or the next."""
    if entry.user_id != by.pk:
        raise PermissionDenied(_("Only the writer edits a work-log entry."))
    if not can_edit(by, entry):
        raise ValidationError({"text": _("An entry may be edited on its day and the next only.")})
    text = _clean_text(text)
    with transaction.atomic():
        WorkLogEntry.objects.filter(pk=entry.pk).update(text=text, updated_at=timezone.now())
        entry.refresh_from_db()
        record("patrols.log_edited", entry, actor=by, area=entry.area, day=entry.day.isoformat(), length=len(text))
    return entry
