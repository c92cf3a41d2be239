"""Residents without an account: report a case, follow it by its tracking code, rate it, see its photos.

The tracking code is the resident's key to their case: whoever holds it acts as the reporter. These
answers carry no phone and no account of anyone, only the names shown on the public timeline.
Mounted at /api/public/cases; every endpoint works without signing in.
"""

from django.db.models import Prefetch
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Path, Query, Router
from ninja.errors import HttpError
from ninja.responses import Status

from fengchao.cases import public_intake, services
from fengchao.cases.choices import CaseState, Channel
from fengchao.cases.models import CaseAttachment

from . import cases_schemas as s
from .cases import (
    PhotoToken,
    body_doc,
    categories_out,
    coded,
    event_label,
    photo_response,
    read_body,
    refusals,
    suggestions_out,
)

router = Router(tags=["cases (public)"], auth=None)

TrackingCode = Path(..., min_length=6, max_length=12, pattern=r"^[A-Za-z0-9]+$", description="the tracking code")


def public_case_out(case) -> dict:
    events = (
        case.events.filter(is_public=True)
        .order_by("at", "pk")
        .prefetch_related(Prefetch("attachments", queryset=CaseAttachment.objects.order_by("pk")))
    )
    photos_url = f"/api/public/cases/{case.tracking_code}/photos/"
    return {
        "number": case.number,
        "state": coded("state", case.state),
        "category": {"code": case.category.code, "name": case.category.name},
        "area_name": case.area.name,
        "address": case.address,
        "description": case.description,
        "reported_at": case.reported_at,
        "closed_at": case.closed_at,
        "rating": case.rating,
        "can_rate": case.state == CaseState.CLOSED,
        "version": case.version,
        "timeline": [
            {
                "at": event.at,
                "action": event_label(event.action),
                "actor_label": event.actor_label,
                "to_state": event.to_state,
                "note": event.note,
                "photos": [
                    {"kind": coded("attachment", a.kind), "url": photos_url + a.token} for a in event.attachments.all()
                ],
            }
            for event in events
        ],
    }


@router.get("/categories", response=list[s.CategoryItem], summary="The category tree (no sign-in)")
def public_categories(request):
    return categories_out()


@router.get(
    "/categories/suggest", response=list[s.CategoryRef], summary="Categories suggested by a description (no sign-in)"
)
def public_suggest(request, text: str = Query(..., max_length=2000)):
    return suggestions_out(text)


@router.post(
    "",
    response={200: s.PublicIntakeOut, 201: s.PublicIntakeOut},
    summary="Report a case as a resident (no sign-in)",
    openapi_extra=body_doc(s.PublicIntakeIn, ("photos",)),
)
@refusals
def public_submit(request):
    """JSON, or multipart/form-data with `photos`. Answers the tracking code: keep it to follow the case.

    `idempotency_key` (or the `Idempotency-Key` header) of at least 16 characters, e.g. a random UUID:
    the same key again returns the first case (200). At most CASES_PUBLIC_REPORTS_PER_HOUR (20) reports
    per client address and hour; more answer 429.
    """
    address = public_intake.client_address(request)
    if public_intake.too_many_reports(address):
        raise HttpError(429, _("Too many reports from this address; please try again later."))
    payload, files = read_body(request, s.PublicIntakeIn, ("photos",))
    key = payload.idempotency_key or request.headers.get("Idempotency-Key", "")
    area = payload.area  # read only if the point does not settle it; an unknown pk answers 422
    channel = payload.channel or (Channel.RESIDENT_QR if area is not None else Channel.RESIDENT_MAP)
    case, created = public_intake.submit(
        client=address,
        channel=channel,
        category=payload.category,
        description=payload.description,
        idempotency_key=key,
        by=None,
        area=area,
        lon=payload.lon,
        lat=payload.lat,
        crs=payload.crs,
        address=payload.address,
        reporter_name=payload.reporter_name,
        phone=payload.phone,
        anonymous=payload.anonymous,
        before_photos=files.get("photos", ()),
    )
    body = {
        "number": case.number,
        "tracking_code": case.tracking_code,
        "state": coded("state", case.state),
        "category": {"code": case.category.code, "name": case.category.name},
        "area_name": case.area.name,
        "reported_at": case.reported_at,
    }
    return Status(201 if created else 200, body)


@router.get("/{tracking_code}", response=s.PublicCase, summary="Follow a case by its tracking code")
def public_case(request, tracking_code: str = TrackingCode):
    """State and the public timeline (who acted as shown publicly, notes, photos before and after)."""
    return public_case_out(public_intake.tracked_case(tracking_code))


@router.post("/{tracking_code}/rating", response=s.PublicCase, summary="Rate a closed case")
@refusals
def public_rate(request, payload: s.RatingIn, tracking_code: str = TrackingCode):
    """Once, when the case is closed (409 otherwise). `ask_reopen` with `dissatisfied` reopens it."""
    case = public_intake.tracked_case(tracking_code)
    services.rate(
        case,
        by=None,
        rating=payload.rating,
        comment=payload.comment,
        ask_reopen=payload.ask_reopen,
        as_reporter=True,
        expected_version=payload.version,
    )
    return public_case_out(public_intake.tracked_case(tracking_code))


@router.get("/{tracking_code}/photos/{token}", summary="A photo on the public timeline", response={200: None})
def public_photo(request, tracking_code: str = TrackingCode, token: str = PhotoToken):
    case = public_intake.tracked_case(tracking_code)
    attachment = CaseAttachment.objects.filter(case=case, token=token, event__is_public=True).first()
    if attachment is None:
        raise Http404(_("No such photo."))
    return photo_response(attachment)
