"""Every change to the report-in: a party member reporting to their community, staff recording a unit's report.

Each function runs in one transaction and writes its audit event there. A person or unit reports once a month
to a community: reporting again answers the first report-in (created False), never an error.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.areas.models import Area
from fengchao.audit.services import record
from fengchao.registry.models import Organisation

from . import queries
from .choices import NOTE_MAX, UNIT_KINDS
from .models import ReportIn


def _clean_note(note) -> str:
    note = str(note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("Keep the note under %(n)d characters.") % {"n": NOTE_MAX}})
    return note


def _create(lookup: dict, *, by, note, now, action, community, **data) -> tuple[ReportIn, bool]:
    now = now or timezone.now()
    month = queries.month_of(now)
    done = ReportIn.objects.filter(community=community, month=month, **lookup).first()
    if done is not None:
        return done, False
    try:
        with transaction.atomic():
            done = ReportIn.objects.create(
                community=community, month=month, reported_at=now, note=note, recorded_by=by, **lookup
            )
            record(action, done, actor=by, area=community, month=month.isoformat(), **data)
    except IntegrityError:
        return ReportIn.objects.get(community=community, month=month, **lookup), False
    return done, True


def report_in(user, *, community, note="", now=None) -> tuple[ReportIn, bool]:
    """The party member reports to the community where they serve, this month; (report-in, created)."""
    if not queries.is_party_member(user):
        raise PermissionDenied(_("Only party members report in to their community."))
    if community in (None, ""):
        community = queries.my_communities(user).first()
        if community is None:
            raise ValidationError({"community": _("You hold no role in a community.")})
    elif not isinstance(community, Area):
        community = queries.my_communities(user).filter(pk=community).first() if str(community).isdigit() else None
        if community is None:
            raise ValidationError({"community": _("Choose a community where you serve.")})
    if not queries.serves_in(user, community):
        raise ValidationError({"community": _("You hold no role in %(name)s.") % {"name": community.name}})
    note = _clean_note(note)
    return _create({"user": user}, by=user, note=note, now=now, action="reportin.reported", community=community)


def can_record_unit(by, organisation: Organisation) -> bool:
    return queries.staff_communities(by).filter(pk=organisation.community_pk).exists()


def record_unit(organisation: Organisation, *, by, note="", now=None) -> tuple[ReportIn, bool]:
    """Community (street, district) staff record a stationed unit's report this month; (report-in, created)."""
    if organisation.kind not in UNIT_KINDS or not organisation.is_active or organisation.community_pk is None:
        raise ValidationError({"organisation": _("Only active stationed units of a community report in.")})
    if not can_record_unit(by, organisation):
        raise PermissionDenied(_("Only the staff of the unit's community record its report."))
    community = Area.objects.get(pk=organisation.community_pk)
    note = _clean_note(note)
    return _create(
        {"organisation": organisation},
        by=by,
        note=note,
        now=now,
        action="reportin.unit_recorded",
        community=community,
        unit=organisation.name,
    )
