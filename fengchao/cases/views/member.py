"""The micro-grid member's phone pages (/m/): quick report on patrol, and the cases waiting for them.

Members report only where they serve (the area picker offers nothing else; another area's code is a
404, and the service refuses a GPS point outside). Each action is a POST carrying the version the
page showed, so a member never acts on a case someone changed meanwhile.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from fengchao.areas.levels import AreaKind
from fengchao.areas.models import Area, subtree_q

from .. import queries, services
from ..choices import Channel
from ..models import CaseAttachment, CaseEvent
from ..workflow import available
from .public import FormState, category_groups, event_label, new_idempotency_key, photo_response
from .staff import can_work_cases

LIST_SIZE = 20
AREA_OPTIONS = 300
# Where a member may file a report: their micro-grids and grids, and dedicated grids.
REPORT_AREA_KINDS = (AreaKind.MICROGRID, AreaKind.GRID, AreaKind.DEDICATED)
# The steps offered on the phone; the rest (holds, whistles, …) are on the staff case page.
MEMBER_ACTIONS = ("take", "resolve", "verify", "rework", "escalate")
PHOTO_ACTIONS = frozenset({"resolve", "verify", "rework"})
NOTE_ACTIONS = frozenset({"resolve", "verify", "rework", "escalate"})

REPORT_FIELDS = ("area", "category", "description", "address", "lon", "lat", "crs")
REPORT_ERROR_FIELDS = {*REPORT_FIELDS, "photos", "after_photos", "location", "handled_on_spot"}


def member_view(view):
    """Logged in and serving somewhere in the closed loop; everyone else finds nothing here (404)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        # Everyone who handles or checks cases has the phone pages (residents follow theirs by code).
        if not can_work_cases(user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def is_grid_member(user) -> bool:
    return user.is_superuser or any(h.role in queries.GRID_ROLES for h in queries.held_roles(user))


def serving_areas(user):
    """The areas where this member may report: the subtrees of the grid roles they hold."""
    condition = Q(pk__in=[])
    for held in queries.held_roles(user):
        if held.role in queries.GRID_ROLES:
            condition |= subtree_q(held.path)
    if user.is_superuser:
        condition = Q()
    return Area.objects.filter(condition, is_active=True, kind__in=REPORT_AREA_KINDS).order_by("path")


# ---- home: my cases -------------------------------------------------------------------------------------


def case_card(user, case) -> dict:
    """The case with the phone steps this user may take on it now."""
    actors = queries.actors_for(user, case)
    steps = [
        {
            "name": t.name,
            "label": t.label,
            "photos": t.name in PHOTO_ACTIONS,
            "note": t.name in NOTE_ACTIONS,
            "note_required": t.note_required,
        }
        for t in available(case.state, actors)
        if t.name in MEMBER_ACTIONS
    ]
    return {"case": case, "actions": steps}


def _section(user, key, title, queryset):
    rows = list(queryset.select_related("area", "category")[: LIST_SIZE + 1])
    return {
        "key": key,
        "title": title,
        "cards": [case_card(user, case) for case in rows[:LIST_SIZE]],
        "more": len(rows) > LIST_SIZE,
    }


@never_cache
@member_view
def home(request):
    user = request.user
    sections = [
        _section(user, "mine", _("Waiting for me"), queries.inbox_mine(user).order_by("stage_deadline", "pk")),
        _section(user, "to_verify", _("To verify"), queries.inbox_to_verify(user).order_by("resolved_at", "pk")),
        _section(
            user,
            "reported",
            _("My reports"),
            queries.cases_visible_to(user).filter(reporter=user).order_by("-reported_at", "-pk"),
        ),
    ]
    context = {"sections": sections, "can_report": is_grid_member(user), "list_size": LIST_SIZE}
    return render(request, "cases/member/home.html", context)


@never_cache
@member_view
def case_page(request, pk):
    user = request.user
    case = queries.case_or_404(user, pk)
    events = CaseEvent.objects.filter(case=case).order_by("at", "pk")
    events = events.prefetch_related(
        Prefetch("attachments", queryset=CaseAttachment.objects.order_by("pk"), to_attr="photos")
    )
    context = {
        "card": case_card(user, case),
        "case": case,
        "timeline": [{"event": e, "label": event_label(e.action), "photos": e.photos} for e in events],
    }
    return render(request, "cases/member/case.html", context)


@member_view
def case_photo(request, pk, token):
    case = queries.case_or_404(request.user, pk)
    return photo_response(get_object_or_404(CaseAttachment, case=case, token=token))


@require_POST
@member_view
def act(request, pk, action):
    """One step from the phone: take, resolve (after photo), verify (photo), send back, escalate."""
    user = request.user
    case = queries.case_or_404(user, pk)
    if action not in MEMBER_ACTIONS:
        raise Http404
    raw_version = request.POST.get("expected_version", "")
    version = int(raw_version) if raw_version.isdigit() else None
    note = request.POST.get("note", "")
    photos_in = request.FILES.getlist("photos")
    steps = {
        "take": lambda: services.take(case, by=user, expected_version=version),
        "resolve": lambda: services.resolve(case, by=user, note=note, photos_in=photos_in, expected_version=version),
        "verify": lambda: services.verify(case, by=user, note=note, photos_in=photos_in, expected_version=version),
        "rework": lambda: services.rework(case, by=user, note=note, photos_in=photos_in, expected_version=version),
        "escalate": lambda: services.escalate(case, by=user, note=note, expected_version=version),
    }
    try:
        steps[action]()
    except (ValidationError, PermissionDenied) as error:  # StaleRecord too: its message says to reload
        texts = error.messages if isinstance(error, ValidationError) else [str(error)]
        messages.error(request, " ".join(texts))
    else:
        messages.success(request, _("Done: case %(number)s is now “%(state)s”.") % _done(case))
    if request.POST.get("back") == "case" and queries.cases_visible_to(user).filter(pk=case.pk).exists():
        return redirect("cases_member:case", pk=case.pk)
    return redirect("cases_member:home")


def _done(case) -> dict:
    return {"number": case.number, "state": case.get_state_display()}


# ---- quick report on patrol ---------------------------------------------------------------------------


def _area_or_404(user, code):
    """An area the member serves, by code; any other code is a 404 (it might as well not exist)."""
    if not code:
        return None
    area = serving_areas(user).filter(code=code).first()
    if area is None:
        raise Http404
    return area


@never_cache
@member_view
def report(request):
    user = request.user
    if not is_grid_member(user):
        raise Http404
    options = list(serving_areas(user).only("pk", "code", "name", "kind")[:AREA_OPTIONS])
    if request.method != "POST":
        chosen = _area_or_404(user, request.GET.get("area", "").strip())
        values = {name: "" for name in REPORT_FIELDS}
        default = chosen or (options[0] if len(options) == 1 else None)
        values.update(area=default.code if default else "", crs="wgs84", idempotency_key=new_idempotency_key())
        return _render_report(request, options, FormState(values))

    values = {name: request.POST.get(name, "").strip() for name in REPORT_FIELDS}
    values["crs"] = values["crs"] or "wgs84"
    values["handled_on_spot"] = request.POST.get("handled_on_spot") == "on"
    values["idempotency_key"] = request.POST.get("idempotency_key", "").strip() or new_idempotency_key()
    state = FormState(values)
    area = _area_or_404(user, values["area"])
    try:
        case, _created = services.submit_case(
            channel=Channel.MEMBER,
            category=values["category"],
            description=values["description"],
            idempotency_key=values["idempotency_key"],
            by=user,
            area=area,
            lon=values["lon"] or None,
            lat=values["lat"] or None,
            crs=values["crs"],
            address=values["address"],
            handled_on_spot=values["handled_on_spot"],
            before_photos=request.FILES.getlist("photos"),
            after_photos=request.FILES.getlist("after_photos"),
        )
    except ValidationError as error:
        state.refuse(error, REPORT_ERROR_FIELDS)
        if request.FILES:
            state.errors.setdefault("photos", []).append(_("Please choose your photos again."))
        return _render_report(request, options, state, status=400)
    except PermissionDenied as error:
        state.errors["top"] = [str(error)]
        return _render_report(request, options, state, status=403)
    messages.success(request, _("Reported: case %(number)s is “%(state)s”.") % _done(case))
    return redirect("cases_member:case", pk=case.pk)


def _render_report(request, options, state: FormState, status=200):
    context = {
        "area_options": options,
        "values": state.values,
        "errors": state.errors,
        "category_groups": category_groups(),
    }
    return render(request, "cases/member/report.html", context, status=status)
