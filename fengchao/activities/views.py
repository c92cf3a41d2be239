"""The activities pages, mounted at /activities/: upcoming trainings, meetings and events with sign-up and the
waiting list; the detail with the organiser's attendance sheet (mark present / left, .xlsx, cancel); the
organiser's rotating check-in QR screen; the check-in page a member's phone camera opens; the publish form.

Activities come only from `activities.queries` (out of scope: 404); every change goes through
`activities.services`, whose refusals come back on the form or as a message.
"""

import datetime as dt
import io

import segno
import xlsxwriter
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from fengchao.accounts.access import role_holder_required
from fengchao.areas.models import Area
from fengchao.areas.scope import scope_q
from fengchao.cases.models import Category
from fengchao.points.choices import ClaimState, PointsKind
from fengchao.points.models import Claim
from fengchao.registry.views.common import keyset, next_url, query_without

from . import minutes as minutes_services
from . import queries, services
from .choices import HOURS_KINDS, ActivityKind, ActivityState, SignupState
from .forms import CancelForm, PublishForm, apply_errors
from .models import Activity, Attendance, Minutes, Signup

PAGE_SIZE = 20
MY_SIGNUPS = 10
SHEET_LIMIT = 2000
QR_REFRESH_SECONDS = 30
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ATTENDANCE_SOURCE = "activities.attendance"


activity_view = role_holder_required


def refusal_text(error) -> str:
    return " ".join(error.messages if isinstance(error, ValidationError) else [str(error)])


def attempt(request, call, form=None):
    """(True, result) or (False, None) with the refusal on the form or in the messages."""
    try:
        return True, call()
    except (ValidationError, PermissionDenied) as error:
        if form is not None and isinstance(error, ValidationError):
            apply_errors(form, error)
        elif form is not None:
            form.add_error(None, str(error))
        else:
            messages.error(request, refusal_text(error))
        return False, None


def organiser_areas(user):
    """Areas where the user may publish: the subtrees of their organiser roles."""
    return Area.objects.filter(scope_q(user, "", queries.ORGANISER_ROLES), is_active=True).order_by("path")


def confirmed_count():
    qs = (
        Signup.objects.filter(activity=OuterRef("pk"), state=SignupState.CONFIRMED)
        .order_by()
        .values("activity")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(qs), 0)


def with_counts(qs, user):
    mine = Signup.objects.filter(activity=OuterRef("pk"), user=user).values("state")[:1]
    return qs.annotate(n_confirmed=confirmed_count(), my_state=Subquery(mine))


def places_left(activity) -> int | None:
    if activity.capacity is None:
        return None
    return max(activity.capacity - activity.n_confirmed, 0)


def claim_of(attendance) -> Claim | None:
    if attendance is None:
        return None
    return (
        Claim.objects.filter(source_type=ATTENDANCE_SOURCE, source_id=str(attendance.pk), user_id=attendance.user_id)
        .order_by("-pk")
        .first()
    )


def claim_summary(claim) -> dict | None:
    if claim is None:
        return None
    return {
        "points": claim.points,
        "kind": str(PointsKind(claim.kind).label),
        "state": claim.state,
        "state_label": claim.get_state_display(),
        "granted": claim.state == ClaimState.GRANTED,
        "waiting": claim.state in (ClaimState.PENDING, ClaimState.LISTED),
    }


def _activity(request, pk):
    return queries.activity_or_404(request.user, pk)


def _organised(request, pk):
    activity = _activity(request, pk)
    if not queries.organises(request.user, activity):
        raise Http404
    return activity


# ---- lists ---------------------------------------------------------------------------------------------------


@never_cache
@activity_view
def home(request):
    """Upcoming activities I may see (kind, time, place, places left or waiting list), and my sign-ups."""
    user = request.user
    now = timezone.now()
    kind = request.GET.get("kind", "")
    qs = queries.activities_visible_to(user).filter(ends_at__gte=now, state=ActivityState.PUBLISHED)
    if kind in ActivityKind.values:
        qs = qs.filter(kind=kind)
    else:
        kind = ""
    qs = with_counts(qs.select_related("area"), user)
    rows, cursor = keyset(
        qs, ["starts_at", "pk"], lambda a: (a.starts_at.isoformat(), a.pk), request.GET.get("cursor"), PAGE_SIZE
    )
    for activity in rows:
        activity.places_left = places_left(activity)
    signups = list(
        queries.my_signups(user)
        .filter(state__in=[SignupState.CONFIRMED, SignupState.WAITLISTED], activity__ends_at__gte=now)
        .order_by("activity__starts_at", "pk")[:MY_SIGNUPS]
    )
    context = {
        "activities": rows,
        "signups": signups,
        "kinds": ActivityKind.choices,
        "kind": kind,
        "can_publish": organiser_areas(user).exists(),
        "next_url": next_url(request, cursor),
        "first_url": "?" + query_without(request, "cursor") if request.GET.get("cursor") else None,
    }
    return render(request, "activities/home.html", context)


# ---- one activity ----------------------------------------------------------------------------------------------


def attendance_sheet(activity) -> list[dict]:
    """Everyone signed up (confirmed or waiting) and everyone present, one row each, in sign-up order."""
    rows: dict[int, dict] = {}
    signups = activity.signups.exclude(state=SignupState.CANCELLED).select_related("user").order_by("queued_at", "pk")
    for s in signups[:SHEET_LIMIT]:
        rows[s.user_id] = {"user": s.user, "signup": s, "attendance": None}
    for a in activity.attendances.select_related("user").order_by("checked_in_at", "pk")[:SHEET_LIMIT]:
        rows.setdefault(a.user_id, {"user": a.user, "signup": None, "attendance": None})["attendance"] = a
    return list(rows.values())


@never_cache
@activity_view
def detail(request, pk):
    user = request.user
    activity = _activity(request, pk)
    activity = with_counts(Activity.objects.filter(pk=activity.pk).select_related("area", "organiser"), user).get()
    signup = Signup.objects.filter(activity=activity, user=user).first()
    attendance = Attendance.objects.filter(activity=activity, user=user).first()
    organiser = queries.organises(user, activity)
    now = timezone.now()
    published = activity.state == ActivityState.PUBLISHED
    active_signup = signup if signup and signup.state != SignupState.CANCELLED else None
    context = {
        "activity": activity,
        "places_left": places_left(activity),
        "signup": active_signup,
        "position": services.waiting_position(active_signup),
        "attendance": attendance,
        "claim": claim_summary(claim_of(attendance)),
        "may_join": published and activity.ends_at >= now and services.may_join(user, activity),
        "open": published and activity.ends_at >= now,
        "hours_kind": activity.kind in HOURS_KINDS,
        "organiser": organiser,
        "sheet": attendance_sheet(activity) if organiser else [],
        "cancel_form": CancelForm() if organiser and published else None,
    }
    return render(request, "activities/detail.html", context)


@require_POST
@activity_view
def sign_up(request, pk):
    activity = _activity(request, pk)
    ok, signup = attempt(request, lambda: services.sign_up(request.user, activity))
    if ok:
        if signup.state == SignupState.CONFIRMED:
            messages.success(request, _("You are signed up."))
        else:
            messages.info(request, _("It is full: you are on the waiting list and will be told if a place frees up."))
    return redirect("activities:detail", pk=activity.pk)


@require_POST
@activity_view
def cancel_signup(request, pk):
    activity = _activity(request, pk)
    if attempt(request, lambda: services.cancel_signup(request.user, activity))[0]:
        messages.success(request, _("Your sign-up is cancelled."))
    return redirect("activities:detail", pk=activity.pk)


@require_POST
@activity_view
def cancel_activity(request, pk):
    activity = _organised(request, pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the activity is cancelled."))
    elif attempt(
        request, lambda: services.cancel_activity(activity, by=request.user, reason=form.cleaned_data["reason"])
    )[0]:
        messages.success(request, _("The activity is cancelled; everyone signed up is told."))
    return redirect("activities:detail", pk=activity.pk)


@require_POST
@activity_view
def mark(request, pk):
    """The organiser records someone present (`present`) or leaving (`left`), by user id."""
    activity = _organised(request, pk)
    raw = request.POST.get("user", "")
    person = get_user_model().objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    if person is None:
        messages.error(request, _("Choose a person."))
        return redirect("activities:detail", pk=activity.pk)
    if request.POST.get("action") == "left":
        call, done = services.mark_departure, _("%(name)s left.")
    else:
        call, done = services.mark_attendance, _("%(name)s is present.")
    if attempt(request, lambda: call(activity, person, by=request.user))[0]:
        messages.success(request, done % {"name": person.display_name or person.username})
    return redirect(reverse("activities:detail", args=[activity.pk]) + "#sheet")


@activity_view
def sheet_xlsx(request, pk):
    activity = _organised(request, pk)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False})
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    bold = book.add_format({"bold": True})
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    ws = book.add_worksheet(_("Attendance")[:31])
    top = [
        (_("Activity"), activity.title),
        (_("Kind"), str(activity.get_kind_display())),
        (_("Place"), activity.place),
        (_("Starts"), activity.starts_at),
        (_("Ends"), activity.ends_at),
    ]
    for row, (label, value) in enumerate(top):
        ws.write_string(row, 0, str(label), bold)
        if isinstance(value, str):
            ws.write_string(row, 1, value)
        else:
            ws.write_datetime(row, 1, timezone.localtime(value).replace(tzinfo=None), when)
    columns = [(_("Name"), 16), (_("Account"), 16), (_("Sign-up"), 16), (_("Checked in"), 17)]
    columns += [(_("Checked out"), 17), (_("How"), 18), (_("Hours"), 8)]
    first = len(top) + 1
    for col, (label, width) in enumerate(columns):
        ws.set_column(col, col, width)
        ws.write_string(first, col, str(label), header)
    for row, entry in enumerate(attendance_sheet(activity), start=first + 1):
        person, signup, present = entry["user"], entry["signup"], entry["attendance"]
        ws.write_string(row, 0, str(person.display_name or ""))
        ws.write_string(row, 1, person.username)
        ws.write_string(row, 2, str(signup.get_state_display()) if signup else "")
        if present:
            ws.write_datetime(row, 3, timezone.localtime(present.checked_in_at).replace(tzinfo=None), when)
            if present.checked_out_at:
                ws.write_datetime(row, 4, timezone.localtime(present.checked_out_at).replace(tzinfo=None), when)
            ws.write_string(row, 5, str(present.get_method_display()))
            if present.hours is not None:
                ws.write_number(row, 6, float(present.hours))
    book.close()
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="attendance_{activity.pk}.xlsx"'
    return response


# ---- QR check-in -------------------------------------------------------------------------------------------------


def qr_data_uri(data: str) -> str:
    """The QR code as an SVG data URI (an <img> the CSP allows; nothing on disk)."""
    return segno.make(data, error="m").svg_data_uri(scale=6, border=2)


@never_cache
@activity_view
def qr(request, pk):
    """The organiser's screen: the current check-in code, refreshing itself (a meta refresh, no script)."""
    activity = _organised(request, pk)
    url = request.build_absolute_uri(services.checkin_url(activity))
    context = {
        "activity": activity,
        "qr": qr_data_uri(url),
        "checkin_url": url,
        "refresh": QR_REFRESH_SECONDS,
        "present": activity.attendances.count(),
    }
    return render(request, "activities/qr.html", context)


@never_cache
@activity_view
def check_in(request, pk):
    """What the phone camera opens: GET asks to confirm (and changes nothing); POST checks in, or checks out
    of an hours-based activity when already checked in, and shows the points."""
    user = request.user
    activity = _activity(request, pk)
    token = (request.POST.get("t") if request.method == "POST" else request.GET.get("t")) or ""
    existing = Attendance.objects.filter(activity=activity, user=user).first()
    hours_kind = activity.kind in HOURS_KINDS
    checking_out = hours_kind and existing is not None and existing.checked_out_at is None
    context = {
        "activity": activity,
        "token": token[:200],
        "hours_kind": hours_kind,
        "checking_out": checking_out,
        "existing": existing,
        "error": "",
        "done": None,
        "claim": None,
    }
    if request.method == "POST":
        step = services.check_out if checking_out else services.check_in
        try:
            attendance = step(user, activity, token)
        except (ValidationError, PermissionDenied) as error:
            context["error"] = refusal_text(error)
        else:
            context["done"] = attendance
            context["claim"] = claim_summary(claim_of(attendance))
            context["checked_out"] = checking_out
    return render(request, "activities/check_in.html", context)


# ---- publishing --------------------------------------------------------------------------------------------------


@never_cache
@activity_view
def new(request):
    user = request.user
    areas = organiser_areas(user)
    if not areas.exists():
        raise Http404
    initial = {}
    raw = request.GET.get("area", "")
    if raw.isdigit():
        area = areas.filter(pk=int(raw)).first()
        if area is None:
            raise Http404
        initial["area"] = area.pk
    form = PublishForm(request.POST or None, areas=areas, initial=initial)
    if request.method == "POST" and form.is_valid():
        ok, activity = attempt(request, lambda: services.publish(user, **form.service_data()), form=form)
        if ok:
            messages.success(request, _("Published: the people it is for can now sign up."))
            return redirect("activities:detail", pk=activity.pk)
    return render(request, "activities/new.html", {"form": form})


# ---- minutes (会议纪要) ---------------------------------------------------------------------------------------------


def _minutes_page(request, pk):
    """The activity, its minutes (or None) and whether the user organises it; unpublished minutes: organisers only."""
    activity = _activity(request, pk)
    organiser = queries.organises(request.user, activity)
    minutes = Minutes.objects.filter(activity=activity).select_related("written_by").first()
    if not organiser and (minutes is None or minutes.published_at is None):
        raise Http404
    return activity, minutes, organiser


def leaf_categories():
    return Category.objects.filter(is_active=True, parent__isnull=False).order_by("code")


def _parse_date(value):
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


@never_cache
@activity_view
def minutes(request, pk):
    activity, found, organiser = _minutes_page(request, pk)
    if request.method == "POST":
        if not organiser:
            raise Http404
        ok, found_after = attempt(
            request,
            lambda: minutes_services.write_minutes(
                activity,
                by=request.user,
                agenda=request.POST.get("agenda", ""),
                decisions=request.POST.get("decisions", ""),
                expected_version=request.POST.get("version") or None,
            ),
        )
        if ok:
            messages.success(request, _("Minutes saved."))
        return redirect("activities:minutes", pk=activity.pk)
    present = list(minutes_services.attendees(activity))
    context = {
        "activity": activity,
        "minutes": found,
        "organiser": organiser,
        "attendees": present,
        # who may own a follow-up: the people present, and the organiser
        "owners": present if any(p.pk == activity.organiser_id for p in present) else [*present, activity.organiser],
        "follow_ups": _follow_ups(found, organiser),
        "categories": leaf_categories() if organiser else [],
        "today": timezone.localdate(),
    }
    return render(request, "activities/minutes.html", context)


def _follow_ups(found, organiser) -> list:
    if found is None:
        return []
    rows = list(minutes_services.with_open_shares(found.follow_ups.select_related("owner", "task", "case")))
    for f in rows:
        f.minutes = found
        f.editable = organiser and not minutes_services.follow_up_done(f)
        f.version = minutes_services.follow_up_version(f)
    return rows


@require_POST
@activity_view
def minutes_follow_up_edit(request, pk, follow_up_pk):
    activity, found, organiser = _minutes_page(request, pk)
    if not organiser or found is None:
        raise Http404
    follow_up = found.follow_ups.select_related("owner", "task", "case").filter(pk=follow_up_pk).first()
    if follow_up is None:
        raise Http404
    follow_up.minutes = found
    owner = minutes_services.attendees(activity).filter(pk=request.POST.get("owner") or 0).first()
    if owner is None and str(request.POST.get("owner")) == str(activity.organiser_id):
        owner = activity.organiser
    ok, _edited = attempt(
        request,
        lambda: minutes_services.edit_follow_up(
            follow_up,
            by=request.user,
            text=request.POST.get("text", ""),
            owner=owner,
            due_on=_parse_date(request.POST.get("due_on")),
            expected_version=request.POST.get("version") or None,
        ),
    )
    if ok:
        messages.success(request, _("Follow-up changed."))
    return redirect("activities:minutes", pk=activity.pk)


@require_POST
@activity_view
def minutes_follow_up(request, pk):
    activity, found, organiser = _minutes_page(request, pk)
    if not organiser:
        raise Http404
    if found is None:
        messages.error(request, _("Write the minutes first."))
        return redirect("activities:minutes", pk=activity.pk)
    owner = minutes_services.attendees(activity).filter(pk=request.POST.get("owner") or 0).first()
    if owner is None and str(request.POST.get("owner")) == str(activity.organiser_id):
        owner = activity.organiser
    code = request.POST.get("category", "").strip()
    category = Category.objects.filter(code=code).first() if code else None
    ok, _added = attempt(
        request,
        lambda: minutes_services.add_follow_up(
            found,
            by=request.user,
            text=request.POST.get("text", ""),
            owner=owner,
            due_on=_parse_date(request.POST.get("due_on")),
            kind=request.POST.get("kind", ""),
            category=category,
        ),
    )
    if ok:
        messages.success(request, _("Follow-up added."))
    return redirect("activities:minutes", pk=activity.pk)


@require_POST
@activity_view
def minutes_publish(request, pk):
    activity, found, organiser = _minutes_page(request, pk)
    if not organiser or found is None:
        raise Http404
    ok, _published = attempt(request, lambda: minutes_services.publish_minutes(found, by=request.user))
    if ok:
        messages.success(request, _("Minutes published to the area's board."))
    return redirect("activities:minutes", pk=activity.pk)
