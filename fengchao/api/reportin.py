"""The monthly report-in (双报到): a party member reports to the community where they serve, once a month;
community, street and district staff read a community's month and record a stationed unit's report.

Reads start from `fengchao.reportin.queries`: a community or unit outside the caller's scope answers 404, exactly
like one that does not exist. Every change goes through `fengchao.reportin.services`.

Answers: 404 what you cannot see; 403 what you may not do (reporting without being a party member); 422 a refusal
naming the field (`community`, `note`). Reporting again in the same month answers 200 with the first report-in;
a new one 201.
"""

import datetime as dt

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from fengchao.reportin import queries, services
from fengchao.reportin.choices import NOTE_MAX

from .cases import refusals
from .registry_schemas import MAX_ID, Input

router = Router(tags=["report-in"])

MINE_LIMIT = 60
AreaParam = Query(None, ge=1, le=MAX_ID, description="community id (default: the first in your scope)")
MonthParam = Query(None, max_length=10, description="month, like 2026-12 (default: this month)")
OrganisationId = Path(..., ge=1, le=MAX_ID, description="stationed unit (registry organisation) id")


class AreaRef(Schema):
    id: int
    code: str
    name: str


class ReportInIn(Input):
    community: int | None = Field(None, ge=1, le=MAX_ID, description="a community where you serve (default: first)")
    note: str = Field("", max_length=NOTE_MAX, description="the service you take on (认领服务项目)")


class UnitIn(Input):
    note: str = Field("", max_length=NOTE_MAX)


class ReportInOut(Schema):
    id: int
    community: AreaRef
    month: str = Field(description="YYYY-MM")
    reported_at: dt.datetime
    note: str


class ReportInList(Schema):
    items: list[ReportInOut]


class PersonRow(Schema):
    id: int
    name: str
    reported_at: dt.datetime | None
    note: str


class UnitRow(Schema):
    id: int
    name: str
    reported_at: dt.datetime | None
    note: str


class StatusOut(Schema):
    community: AreaRef
    month: str
    people: int
    people_reported: int
    units: int
    units_reported: int
    party_members: list[PersonRow]
    stationed_units: list[UnitRow]


def _area(a) -> dict:
    return {"id": a.pk, "code": a.code, "name": a.name}


def report_out(r) -> dict:
    return {
        "id": r.pk,
        "community": _area(r.community),
        "month": f"{r.month:%Y-%m}",
        "reported_at": r.reported_at,
        "note": r.note,
    }


def _row(subject, row) -> dict:
    return {
        "id": subject.pk,
        "name": str(subject),
        "reported_at": row.reported_at,
        "note": row.report.note if row.report else "",
    }


@router.post("", response={200: ReportInOut, 201: ReportInOut}, summary="Report in to my community this month")
@refusals
def report_in(request, payload: ReportInIn):
    """Once a month per community: a second report-in in the month answers the first (200)."""
    done, created = services.report_in(request.auth, **payload.model_dump())
    return Status(201 if created else 200, report_out(done))


@router.get("/mine", response=ReportInList, summary="My report-ins, latest month first")
def mine(request):
    user = request.auth
    if not queries.is_party_member(user):
        raise Http404(_("Report-ins are for party members."))
    return {"items": [report_out(r) for r in queries.my_reports(user)[:MINE_LIMIT]]}


@router.get("/status", response=StatusOut, summary="Who has and has not reported in a month (staff)")
@refusals
def status(request, area: int | None = AreaParam, month: str | None = MonthParam):
    try:
        community = queries.staff_community_or_404(request.auth, area)
    except Http404:
        raise Http404(_("No such community for you.")) from None
    report = queries.status(community, queries.parse_month(month))
    return {
        "community": _area(community),
        "month": f"{report.month:%Y-%m}",
        "people": len(report.people),
        "people_reported": report.people_reported,
        "units": len(report.units),
        "units_reported": report.units_reported,
        "party_members": [_row(r.subject, r) for r in report.people],
        "stationed_units": [_row(r.subject, r) for r in report.units],
    }


@router.post(
    "/units/{organisation_id}", response={200: ReportInOut, 201: ReportInOut}, summary="Record a unit's report (staff)"
)
@refusals
def record_unit(request, payload: UnitIn, organisation_id: int = OrganisationId):
    try:
        unit = queries.unit_or_404(request.auth, organisation_id)
    except Http404:
        raise Http404(_("No such unit for you.")) from None
    done, created = services.record_unit(unit, by=request.auth, note=payload.note)
    return Status(201 if created else 200, report_out(done))
