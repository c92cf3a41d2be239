"""The resident's pages, no login needed: report a problem and follow it with the tracking code.

A report starts from a micro-grid's QR code (`/report/<area code>/`, area filled in) or from the map
(`/report/`: tap a point, the locator names the micro-grid, then the same form). Like every channel it
ends in `services.submit_case`; the idempotency key rendered into the form makes a double tap or a
re-sent POST return the first case. Whoever holds a tracking code acts as the reporter on
`/track/<code>/`: sees the public timeline and photos, confirms or rejects the result, rates the case.
"""

import secrets
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from fengchao.areas import coords, locator
from fengchao.areas.levels import AreaKind
from fengchao.areas.models import Area
from fengchao.areas.views.pages import PUBLIC_PAGE_KINDS
from fengchao.areas.views.public import public_area_or_404

from .. import public_intake, services
from ..catalogue import usable_categories
from ..choices import CaseState, Channel, Rating
from ..models import Case, CaseAttachment, CaseEvent, Category
from ..suggest import suggest_categories
from ..workflow import TRANSITIONS

# Reports created through the public form per client address and hour (retries of one report count once).
PUBLIC_MAP_MAX_AREAS = 500

# Timeline entries that are not steps of the workflow table.
OTHER_EVENT_LABELS = {
    "report": gettext_lazy("Reported"),
    "whistle": gettext_lazy("Departments called in (吹哨)"),
    "report_in": gettext_lazy("A department reported in (报到)"),
}


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(18)


# ---- the form's state: what was typed, and the refusals by field ----------------------------------------


@dataclass
class FormState:
    values: dict
    errors: dict = field(default_factory=dict)

    def refuse(self, error: ValidationError, known: set[str]) -> None:
        """Put a service's refusal next to the field it names, or on top of the form."""
        by_field = error.message_dict if hasattr(error, "error_dict") else {"top": error.messages}
        for name, texts in by_field.items():
            target = name if name in known else "top"
            self.errors.setdefault(target, []).extend(texts)


REPORT_FIELDS = ("category", "description", "address", "lon", "lat", "crs", "reporter_name", "phone", "via")
REPORT_ERROR_FIELDS = {*REPORT_FIELDS, "photos", "location"}


def report_values(data) -> dict:
    values = {name: data.get(name, "").strip() for name in REPORT_FIELDS}
    values["anonymous"] = data.get("anonymous") in ("on", "1", "true")
    values["crs"] = values["crs"] or coords.WGS84
    values["idempotency_key"] = data.get("idempotency_key", "").strip() or new_idempotency_key()
    return values


def category_groups() -> list[dict]:
    """Leaf categories in use, grouped under their parent's name (one query)."""
    groups: dict[str, dict] = {}
    for category in usable_categories().select_related("parent").order_by("parent__code", "code"):
        label = category.parent.name if category.parent_id else _("Other")
        groups.setdefault(label, {"label": label, "categories": []})["categories"].append(category)
    return list(groups.values())


# ---- reporting -------------------------------------------------------------------------------------------


@never_cache
def report_map(request):
    """Tap a point (or use GPS); the locator names the micro-grid, then the form opens for it."""
    context = {"map_data": {"features": _map_features()}}
    return render(request, "cases/public/report_map.html", context)


def _map_features() -> list[dict]:
    """Community outlines with their names, so a resident can find the spot without a basemap."""
    for kind in (AreaKind.COMMUNITY, AreaKind.STREET):
        rows = (
            Area.objects.filter(kind=kind, is_active=True, boundary__isnull=False)
            .order_by("path")
            .values("name", "boundary")[:PUBLIC_MAP_MAX_AREAS]
        )
        features = [{"name": r["name"], "role": "child", "geometry": r["boundary"]} for r in rows]
        if features:
            return features
    return []


@never_cache
@require_GET
def locate(request):
    """JSON for the map page: the micro-grid (or grid) a point falls in, with the link to report there."""
    try:
        result = locator.locate(request.GET.get("lon"), request.GET.get("lat"), request.GET.get("crs") or "wgs84")
    except ValidationError as error:
        return JsonResponse({"found": False, "message": " ".join(error.messages)}, status=400)
    target = result.microgrid_id or result.area_id
    area = Area.objects.filter(pk=target, kind__in=PUBLIC_PAGE_KINDS, is_active=True).first() if target else None
    if area is None:
        return JsonResponse({"found": False, "message": _("This point is outside every grid of the district.")})
    community = Area.objects.filter(pk=area.community_pk).values_list("name", flat=True).first() or ""
    query = urlencode({"lon": f"{result.lon:.7f}", "lat": f"{result.lat:.7f}", "via": "map"})
    return JsonResponse(
        {
            "found": True,
            "code": area.code,
            "name": area.name,
            "community": community,
            "lon": result.lon,
            "lat": result.lat,
            "report_url": f"{reverse('cases_public:report', args=[area.code])}?{query}",
        }
    )


@never_cache
def report(request, code):
    area = public_area_or_404(code)
    community = Area.objects.filter(pk=area.community_pk).only("name").first()
    if request.method != "POST":
        values = report_values(request.GET)
        values["category"] = ""
        values["idempotency_key"] = new_idempotency_key()  # never taken from the address bar
        return _render_report(request, area, community, FormState(values))

    state = FormState(report_values(request.POST))
    values = state.values
    address = public_intake.client_address(request)
    if public_intake.too_many_reports(address):
        state.errors["top"] = [_("Too many reports from this address; please try again later or call the community.")]
        return _render_report(request, area, community, state, status=429)
    channel = Channel.RESIDENT_MAP if values["via"] == "map" else Channel.RESIDENT_QR
    reporter = request.user if request.user.is_authenticated else None
    try:
        case, created = public_intake.submit(
            client=address,
            channel=channel,
            category=values["category"],
            description=values["description"],
            idempotency_key=values["idempotency_key"],
            by=reporter,
            area=area,
            lon=values["lon"] or None,
            lat=values["lat"] or None,
            crs=values["crs"],
            address=values["address"],
            reporter_name=values["reporter_name"],
            phone=values["phone"],
            anonymous=values["anonymous"],
            before_photos=request.FILES.getlist("photos"),
        )
    except ValidationError as error:
        state.refuse(error, REPORT_ERROR_FIELDS)
        if request.FILES.getlist("photos"):
            state.errors.setdefault("photos", []).append(_("Please choose your photos again."))
        return _render_report(request, area, community, state, status=400)
    except PermissionDenied as error:
        state.errors["top"] = [str(error)]
        return _render_report(request, area, community, state, status=403)
    return redirect("cases_public:reported", code=case.tracking_code)


def _render_report(request, area, community, state: FormState, status=200):
    context = {
        "area": area,
        "community": community,
        "values": state.values,
        "errors": state.errors,
        "category_groups": category_groups(),
        "located_by_map": state.values["via"] == "map" and state.values["lon"],
    }
    return render(request, "cases/public/report.html", context, status=status)


@never_cache
def reported(request, code):
    """After a report: the tracking code, big, and the way to the tracking page."""
    case = public_intake.tracked_case(code)
    return render(request, "cases/public/reported.html", {"case": case})


@never_cache
@require_GET
def suggest(request):
    """Suggested categories for what has been typed so far (an htmx fragment of buttons)."""
    text = (request.GET.get("text") or request.GET.get("description") or "")[:500]
    suggested = suggest_categories(text, limit=3)
    # Leaves of different branches may share a name (暴露垃圾 as a component and as an event): show the branch.
    parents = Category.objects.in_bulk({c.parent_id for c in suggested if c.parent_id})
    rows = [{"category": c, "parent": parents.get(c.parent_id)} for c in suggested]
    return render(request, "cases/public/_suggestions.html", {"suggested": rows})


@never_cache
@require_GET
def duplicates(request):
    """Open cases nearby or with the same words, shown before submitting (the resident may still submit)."""
    found = possible_duplicates_for(request.GET)
    return render(request, "cases/public/_duplicates.html", {"duplicates": found})


def possible_duplicates_for(params) -> list[Case]:
    """services.possible_duplicates from a form's fields; nothing when they do not say enough yet."""
    category = Category.objects.filter(code=params.get("category", "").strip(), is_active=True).first()
    area = Area.objects.filter(code=params.get("area", "").strip(), is_active=True).first()
    description = params.get("description", "")[:2000]
    lon = lat = None
    if params.get("lon") and params.get("lat"):
        try:
            lon, lat = coords.to_wgs84(params["lon"], params["lat"], params.get("crs") or coords.WGS84)
        except (ValidationError, TypeError, ValueError):
            lon = lat = None
    if lon is None and area is not None and area.centre_lon is not None and category is not None:
        lon, lat = area.centre_lon, area.centre_lat  # a QR code without GPS: the building's area
    if category is None and not (area is not None and len(description.strip()) >= 4):
        return []
    return services.possible_duplicates(category=category, lon=lon, lat=lat, area=area, description=description)


# ---- following a case --------------------------------------------------------------------------------


@never_cache
def track_lookup(request):
    """A small form to type a tracking code."""
    code = request.GET.get("code", "").strip().upper().replace(" ", "")
    if code:
        if Case.objects.filter(tracking_code=code).exists():
            return redirect("cases_public:track", code=code)
        return render(request, "cases/public/track_lookup.html", {"code": code, "unknown": True}, status=404)
    return render(request, "cases/public/track_lookup.html", {"code": ""})


@never_cache
def track(request, code):
    case = public_intake.tracked_case(code)
    return _render_track(request, case)


def _render_track(request, case, errors=None, values=None, status=200):
    public_events = CaseEvent.objects.filter(case=case, is_public=True).order_by("at", "pk")
    events = public_events.prefetch_related(
        Prefetch("attachments", queryset=CaseAttachment.objects.order_by("pk"), to_attr="photos")
    )
    merged_into = None
    if case.merged_into_id:
        merged_into = Case.objects.select_related("category").get(pk=case.merged_into_id)
    context = {
        "case": case,
        "community": Area.objects.filter(pk=case.community_pk).only("name").first(),
        "timeline": [{"event": e, "label": event_label(e.action), "photos": e.photos} for e in events],
        "merged_into": merged_into,
        "can_rate": case.state == CaseState.CLOSED,
        "can_check": case.state == CaseState.RESOLVED,
        "ratings": Rating.choices,
        "errors": errors or {},
        "values": values or {},
    }
    return render(request, "cases/public/track.html", context, status=status)


def event_label(action: str) -> str:
    transition = TRANSITIONS.get(action)
    if transition is not None:
        return str(transition.label)
    return str(OTHER_EVENT_LABELS.get(action, action))


def _acting_reporter(request, case):
    """The logged-in reporter acts in their own name; anyone else with the code acts as 'the reporter'."""
    user = request.user
    return user if user.is_authenticated and case.reporter_id == user.pk else None


@require_POST
def track_rate(request, code):
    case = public_intake.tracked_case(code)
    values = {
        "rating": request.POST.get("rating", ""),
        "comment": request.POST.get("comment", ""),
        "ask_reopen": request.POST.get("ask_reopen") == "on",
    }
    return _act(
        request,
        case,
        values,
        lambda: services.rate(
            case,
            by=_acting_reporter(request, case),
            rating=values["rating"],
            comment=values["comment"],
            ask_reopen=values["ask_reopen"],
            as_reporter=True,
            expected_version=_version(request),
        ),
        _("Thank you for your rating."),
        fields={"rating", "comment"},
    )


@require_POST
def track_check(request, code):
    """The reporter confirms the result (核查 passed) or says it is not done (rework, with a reason)."""
    case = public_intake.tracked_case(code)
    values = {"note": request.POST.get("note", ""), "outcome": request.POST.get("outcome", "")}
    by = _acting_reporter(request, case)
    photos_in = request.FILES.getlist("photos")
    common = {"by": by, "note": values["note"], "photos_in": photos_in, "as_reporter": True}
    if values["outcome"] == "confirm":
        step, thanks = services.verify, _("Thank you: you confirmed the result.")
    elif values["outcome"] == "reject":
        step, thanks = services.rework, _("Thank you: the case goes back to be handled again.")
    else:
        return _render_track(request, case, {"outcome": [_("Choose whether it is done.")]}, values, status=400)
    return _act(
        request,
        case,
        values,
        lambda: step(case, **common, expected_version=_version(request)),
        thanks,
        fields={"note", "photos"},
    )


def _version(request):
    raw = request.POST.get("expected_version", "")
    return int(raw) if raw.isdigit() else None


def _act(request, case, values, step, thanks, *, fields):
    try:
        step()
    except ValidationError as error:  # StaleRecord and WrongState too: their message says to reload
        state = FormState(values)
        state.refuse(error, fields)
        case.refresh_from_db()
        return _render_track(request, case, state.errors, values, status=400)
    except PermissionDenied as error:
        case.refresh_from_db()
        return _render_track(request, case, {"top": [str(error)]}, values, status=403)
    messages.success(request, thanks)
    return redirect("cases_public:track", code=case.tracking_code)


def track_photo(request, code, token):
    """A photo of a public step of this case: only to whoever holds the tracking code."""
    case = public_intake.tracked_case(code)
    attachment = get_object_or_404(CaseAttachment, case=case, token=token, event__is_public=True)
    return photo_response(attachment)


def photo_response(attachment: CaseAttachment) -> FileResponse:
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = f'inline; filename="{attachment.token}.{attachment.extension}"'
    return response
