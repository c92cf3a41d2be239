"""Staff intake: a hotline call, a walk-in or a 12345 work order entered on behalf of the caller.

The form carries an idempotency key made when it is first shown, so a double click or a re-sent POST
returns the case already recorded. Possible duplicates are shown while the form is filled in.
"""

import secrets
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fengchao.areas.models import Area
from fengchao.areas.scope import scope_roots
from fengchao.areas.views.pages import map_feature

from .. import queries, services
from ..choices import Channel
from ..models import Category
from .staff import can_enter_cases, error_messages, leaf_category_groups, staff_view

STAFF_CHANNEL_ORDER = [Channel.HOTLINE, Channel.WALK_IN, Channel.HOTLINE_12345]
FIELDS = ("channel", "external_number", "reporter_name", "phone", "category", "description", "address", "lon", "lat")
AREA_PICKS = 20
MAP_ROOTS = 5  # the boundaries drawn on the intake map: the tops of the user's areas
# Service refusals about the place are shown by the area picker.
FIELD_OF_ERROR = {"location": "area", "after_photos": "photos"}


def intake_view(view):
    """Staff pages that only hotline/walk-in staff use: 404 for everyone else."""

    @staff_view
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not can_enter_cases(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def new_idempotency_key() -> str:
    return "staff-" + secrets.token_hex(12)


def _picked_area(user, raw) -> Area | None:
    raw = str(raw or "").strip()
    if not raw:
        return None
    area = Area.objects.visible_to(user).filter(pk=int(raw), is_active=True).first() if raw.isdigit() else None
    if area is None:
        raise ValidationError({"area": _("Choose an area in your areas.")})
    return area


def _category(code):
    code = str(code or "").strip()
    return Category.objects.filter(code=code, is_active=True).first() if code else None


@intake_view
def case_new(request):
    user = request.user
    values = {name: "" for name in FIELDS}
    values.update(channel=Channel.HOTLINE, idempotency_key=new_idempotency_key())
    errors: dict[str, list] = {}
    area = None
    if request.method == "POST":
        post = request.POST
        values.update({name: post.get(name, "").strip() for name in FIELDS})
        values["idempotency_key"] = post.get("idempotency_key", "")
        try:
            area = _picked_area(user, post.get("area"))
            case, created = services.submit_case(
                channel=values["channel"],
                category=values["category"],
                description=post.get("description", ""),
                idempotency_key=values["idempotency_key"],
                by=user,
                area=area,
                lon=values["lon"] or None,
                lat=values["lat"] or None,
                crs="wgs84",
                address=values["address"],
                reporter_name=values["reporter_name"],
                phone=values["phone"],
                external_number=values["external_number"],
                before_photos=request.FILES.getlist("photos"),
            )
        except ValidationError as error:
            for field, found in error_messages(error).items():
                errors.setdefault(FIELD_OF_ERROR.get(field, field), []).extend(found)
        except PermissionDenied as error:
            errors["__all__"] = [str(error)]
        else:
            if created:
                messages.success(request, _("Case %(number)s recorded.") % {"number": case.number})
            else:
                messages.info(request, _("Case %(number)s had already been recorded.") % {"number": case.number})
            return redirect("cases:detail", case.pk)
    known = set(FIELDS) | {"area", "photos", "idempotency_key"}
    context = {
        "values": values,
        "errors": errors,
        "other_errors": [m for field, found in errors.items() if field not in known for m in found],
        "channels": [(c.value, c.label) for c in STAFF_CHANNEL_ORDER],
        "category_groups": leaf_category_groups(),
        "area": area,
        "area_picks": [area] if area is not None else [],
        "duplicates": _duplicates_for(user, values, area) if errors else [],
        "map_data": {"features": [f for f in (map_feature(a, "self") for a in scope_roots(user)[:MAP_ROOTS]) if f]},
    }
    return render(request, "cases/staff/new.html", context)


@intake_view
def intake_areas(request):
    """Areas in the user's scope matching the typed name or code, as choices for the intake form."""
    query = request.GET.get("area_q", "").strip()[:40]
    picks = []
    if query:
        qs = Area.objects.visible_to(request.user).filter(is_active=True)
        match = qs.filter(name__icontains=query) | qs.filter(code__startswith=query)
        picks = list(match.order_by("path")[:AREA_PICKS])
    return render(request, "cases/staff/_area_picks.html", {"area_picks": picks, "searched": bool(query)})


@require_POST
@intake_view
def intake_duplicates(request):
    """Open cases like the one being entered (same or related category nearby, or near-identical text)."""
    values = {name: request.POST.get(name, "").strip() for name in ("category", "description", "lon", "lat")}
    try:
        area = _picked_area(request.user, request.POST.get("area"))
    except ValidationError:
        area = None
    return render(request, "cases/staff/_duplicates.html", {"duplicates": _duplicates_for(request.user, values, area)})


def _duplicates_for(user, values, area) -> list:
    category = _category(values.get("category"))
    if category is None:
        return []
    try:
        lon = float(values["lon"]) if values.get("lon") else None
        lat = float(values["lat"]) if values.get("lat") else None
    except ValueError:
        lon = lat = None
    if lon is None and area is not None and area.centre_lon is not None:
        lon, lat = area.centre_lon, area.centre_lat
    found = services.possible_duplicates(
        category=category, lon=lon, lat=lat, area=area, description=values.get("description", "")
    )
    if not found:
        return []
    visible = set(queries.cases_visible_to(user).filter(pk__in=[c.pk for c in found]).values_list("pk", flat=True))
    return [c for c in found if c.pk in visible]


@require_POST
@intake_view
def intake_suggest(request):
    """Categories suggested by the words of the description (the catalogue's keyword suggester)."""
    text = request.POST.get("description", "").strip()[:500]
    suggested = []
    if text:
        try:
            from ..suggest import suggest_categories
        except ImportError:  # the suggester is not installed in this build
            suggest_categories = None
        if suggest_categories is not None:
            suggested = suggest_categories(text, limit=3)
    return render(request, "cases/staff/_suggestions.html", {"suggested": suggested})
