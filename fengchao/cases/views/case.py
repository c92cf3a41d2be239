"""The case page for staff: facts, map, deadlines, co-handlers, the whole timeline, duplicates and actions.

The action panel offers only what this user may do now (the workflow table and the user's relations to
the case). Every action posts the version of the case the user saw; a step somebody else made first is
answered with the fresh page and a word about it, never with a step made on stale facts.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from fengchao.areas.views.pages import map_feature
from fengchao.core.errors import StaleRecord
from fengchao.departments.models import Department
from fengchao.registry.views.common import crumbs

from .. import queries, services, workflow
from ..choices import FINAL_STATES, TIER_ORDER, CaseState, Rating, SupervisionLevel, Tier, WhistleLevel
from ..models import CaseAttachment, CoHandler, pk_from_number
from ..workflow import Actor
from .staff import (
    assignee_candidates,
    assignee_or_none,
    department_or_none,
    departments_over,
    error_messages,
    staff_view,
)

# Case events that are not transitions of the workflow table, as the timeline names them.
EVENT_LABELS = {
    "report": gettext_lazy("Reported"),
    "whistle": gettext_lazy("Whistle blown"),
    "report_in": gettext_lazy("Department reported in"),
    "part_done": gettext_lazy("Department's part done"),
    "supervise": gettext_lazy("Supervised"),
    "follow_up": gettext_lazy("Follow-up"),
    "note": gettext_lazy("Note"),
    "merged_in": gettext_lazy("Duplicate merged in"),
    "warn": gettext_lazy("Deadline near"),
    "overdue": gettext_lazy("Overdue"),
    "report_late": gettext_lazy("Department late to report in"),
}
# Actions beside the workflow's transitions; each has its own form on the page.
EXTRA_ACTIONS = {
    "whistle": gettext_lazy("Blow the whistle"),
    "report_in": gettext_lazy("Report in"),
    "report_part": gettext_lazy("Report our part done"),
    "supervise": gettext_lazy("Supervise"),
    "follow_up": gettext_lazy("Record a follow-up"),
    "note": gettext_lazy("Add a note"),
}
# Steps whose forms take photos, and those whose photo is required in the usual case.
PHOTO_ACTIONS = {"resolve", "verify", "rework", "report_part", "note"}


def _case_or_404(user, pk):
    qs = queries.cases_visible_to(user).select_related("department", "assignee", "merged_into", "category__parent")
    return queries.case_or_404(user, pk, queryset=qs)


@staff_view
def case_detail(request, pk):
    case = _case_or_404(request.user, pk)
    return render(request, "cases/staff/detail.html", detail_context(request.user, case))


def detail_context(user, case, *, failed=None) -> dict:
    """Everything the case page shows; `failed` is the refused action, its messages and what was typed."""
    now = timezone.now()
    actors = queries.actors_for(user, case)
    events = list(case.events.prefetch_related("attachments").order_by("at", "pk"))
    co_handlers = list(CoHandler.objects.filter(case=case).select_related("department").order_by("pk"))
    supervisions = list(case.supervisions.select_related("area").order_by("at", "pk"))
    people = _names_of_people(events)
    departments = _names_of_departments(events)
    timeline = [_timeline_entry(event, case, people, departments) for event in events]
    for row in co_handlers:
        row.late_now = row.is_late or (row.reported_at is None and row.report_deadline < now)
    forms = action_forms(user, case, actors, co_handlers)
    context = {
        "case": case,
        "crumbs": crumbs(user, case.area),
        "reporter": _reporter(case),
        "map_data": _map_data(case),
        "timeline": timeline,
        "co_handlers": co_handlers,
        "co_handlers_late": [row for row in co_handlers if row.late_now],
        "supervisions": supervisions,
        "waiting_on": waiting_on_label(case),
        "due_late": case.due_at is not None and case.state not in FINAL_STATES and now > case.due_at,
        "failed": failed or {},
        "actions": forms,
        # A refusal of a step no longer on offer (someone changed the case, or it never was) shows above the forms.
        "refusal": [] if not failed or failed["action"] in {f["name"] for f in forms} else _flat(failed["errors"]),
        "duplicates": _duplicates(user, case, actors),
        "tracking_url": services.public_url(case),
    }
    return context


def _flat(errors: dict) -> list[str]:
    return [message for found in errors.values() for message in found]


def _reporter(case) -> dict:
    if case.is_anonymous:
        name = _("Anonymous")
    else:
        name = case.reporter_name or (case.reporter.display_name if case.reporter_id else "") or _("Not given")
    return {"name": name, "phone": case.masked_phone}


def _map_data(case) -> dict:
    features = [f for f in [map_feature(case.area, "self")] if f]
    data = {"features": features}
    if case.lon is not None and case.lat is not None:
        data["point"] = [case.lon, case.lat]
    return data


def _names_of_people(events) -> dict:
    pks = {e.data.get("assignee") for e in events if isinstance(e.data, dict)} - {None}
    if not pks:
        return {}
    users = get_user_model().objects.filter(pk__in=pks).only("pk", "display_name", "username")
    return {u.pk: u.display_name or u.username for u in users}


def _names_of_departments(events) -> dict:
    pks = set()
    for e in events:
        data = e.data if isinstance(e.data, dict) else {}
        if isinstance(data.get("department"), int):
            pks.add(data["department"])
        pks.update(pk for pk in data.get("departments", []) or [] if isinstance(pk, int))
    if not pks:
        return {}
    return dict(Department.objects.filter(pk__in=pks).values_list("pk", "name"))


def _timeline_entry(event, case, people, departments) -> dict:
    transition = workflow.TRANSITIONS.get(event.action)
    label = transition.label if transition else EVENT_LABELS.get(event.action, event.action)
    data = event.data if isinstance(event.data, dict) else {}
    details = []
    if data.get("tier") in Tier.values:
        details.append(_("to the %(tier)s tier") % {"tier": Tier(data["tier"]).label})
    if isinstance(data.get("department"), int) and data["department"] in departments:
        details.append(departments[data["department"]])
    if data.get("assignee") in people:
        details.append(_("to %(name)s") % {"name": people[data["assignee"]]})
    if data.get("departments"):
        details.append("、".join(departments.get(pk, str(pk)) for pk in data["departments"]))
    if data.get("level") in WhistleLevel.values:
        details.append(WhistleLevel(data["level"]).label)
    elif event.action == "supervise" and data.get("level") in SupervisionLevel.values:
        details.append(SupervisionLevel(data["level"]).label)
    if data.get("late"):
        details.append(_("late"))
    if data.get("rating") in Rating.values:
        details.append(Rating(data["rating"]).label)
    return {
        "event": event,
        "label": label,
        "to_state": CaseState(event.to_state).label if transition and event.to_state in CaseState.values else "",
        "details": details,
        "photos": list(event.attachments.all()),
    }


def waiting_on_label(case) -> str:
    """Whom the case waits on now, in words: the party that is late when the case is overdue."""
    state = case.state
    tier = Tier(case.tier).label
    if state in (CaseState.REPORTED, CaseState.ACCEPTED, CaseState.REGISTERED):
        return _("the dispatcher at the %(tier)s tier") % {"tier": tier}
    if state in (CaseState.DISPATCHED, CaseState.TAKEN, CaseState.ON_HOLD):
        if case.assignee_id:
            return case.assignee.display_name or case.assignee.username
        if case.department_id:
            return case.department.name
        return _("the handlers at the %(tier)s tier") % {"tier": tier}
    if state == CaseState.HOLD_REQUESTED:
        return _("the grid centre, to approve the hold")
    if state == CaseState.RESOLVED:
        return _("a check on site")
    if state == CaseState.VERIFIED:
        return _("the dispatcher, to close it")
    if state == CaseState.CLOSED:
        return _("the reporter's rating")
    return ""


def _duplicates(user, case, actors) -> list:
    """Open cases nearby or alike, for a dispatcher who may still merge this one into one of them."""
    if Actor.DISPATCHER not in actors or case.state not in workflow.TRANSITIONS["merge"].sources:
        return []
    found = services.duplicates_of(case)
    if not found:
        return []
    visible = set(queries.cases_visible_to(user).filter(pk__in=[c.pk for c in found]).values_list("pk", flat=True))
    return [c for c in found if c.pk in visible]


# ---- the action panel ----------------------------------------------------------------------------------


def action_forms(user, case, actors, co_handlers) -> list[dict]:
    """One form per step this user may take now, with what each form needs to offer."""
    forms = []
    for t in workflow.available(case.state, actors):
        form = {"name": t.name, "label": t.label, "note_required": t.note_required, "photos": t.name in PHOTO_ACTIONS}
        if t.name == "dispatch":
            departments = list(departments_over(case))
            form.update(
                tiers=[(tier.value, tier.label) for tier in TIER_ORDER],
                current_tier=case.tier,
                departments=departments,
                current_department=case.department_id,
                candidates=assignee_candidates(case, departments),
            )
        elif t.name == "escalate":
            position = TIER_ORDER.index(case.tier)
            if position + 1 >= len(TIER_ORDER):
                continue  # a department case has no tier above: the grid centre supervises it instead
            above = TIER_ORDER[position + 1]
            form["above"] = Tier(above).label
            if above == Tier.DEPARTMENT:
                form["departments"] = list(departments_over(case))
                form["current_department"] = case.category.default_department_id
        elif t.name == "rate":
            form["ratings"] = Rating.choices
        elif t.name == "verify":
            form["photo_required"] = case.reporter_id != user.pk
        elif t.name == "resolve":
            form["photo_required"] = case.category.photo_required
        forms.append(form)
    final = case.state in FINAL_STATES
    whistles = {Actor.DISPATCHER, Actor.SUPERVISOR} & actors and case.tier != Tier.DEPARTMENT
    if whistles and not final:
        forms.append(
            {
                "name": "whistle",
                "label": EXTRA_ACTIONS["whistle"],
                "levels": WhistleLevel.choices,
                "departments": list(departments_over(case)),
            }
        )
    if Actor.CO_HANDLER in actors:
        mine = [row for row in co_handlers if row.department_id in queries.department_ids(user)]
        if any(row.reported_at is None for row in mine):
            forms.append({"name": "report_in", "label": EXTRA_ACTIONS["report_in"]})
        elif any(row.part_done_at is None for row in mine):
            forms.append({"name": "report_part", "label": EXTRA_ACTIONS["report_part"], "photos": True})
    if Actor.SUPERVISOR in actors and not final:
        levels = [(value, label) for value, label in SupervisionLevel.choices if value > SupervisionLevel.NONE]
        forms.append({"name": "supervise", "label": EXTRA_ACTIONS["supervise"], "levels": levels})
    if Actor.STAFF in actors and case.state in (CaseState.CLOSED, CaseState.RATED):
        forms.append({"name": "follow_up", "label": EXTRA_ACTIONS["follow_up"], "ratings": Rating.choices})
    if actors - {Actor.REPORTER}:
        forms.append({"name": "note", "label": EXTRA_ACTIONS["note"], "photos": True})
    return forms


def _note(request) -> str:
    return request.POST.get("note", "")


def _photos(request):
    return request.FILES.getlist("photos")


def _dispatch(request, case, version):
    tier = request.POST.get("tier", "")
    department = department_or_none(case, request.POST.get("department")) if tier == Tier.DEPARTMENT else None
    services.dispatch(
        case,
        by=request.user,
        tier=tier,
        department=department,
        assignee=assignee_or_none(case, tier, department, request.POST.get("assignee")),
        note=_note(request),
        expected_version=version,
    )


def _escalate(request, case, version):
    services.escalate(
        case,
        by=request.user,
        note=_note(request),
        department=department_or_none(case, request.POST.get("department")),
        expected_version=version,
    )


def _merge(request, case, version):
    raw = request.POST.get("into", "").strip()
    pk = pk_from_number(raw)
    into = queries.cases_visible_to(request.user).filter(pk=pk).select_related("category").first() if pk else None
    if into is None:
        raise ValidationError({"into": _("No case with the number “%(number)s” in your areas.") % {"number": raw[:20]}})
    services.merge(case, into=into, by=request.user, note=_note(request), expected_version=version)


def _rate(request, case, version):
    services.rate(
        case,
        by=request.user,
        rating=request.POST.get("rating", ""),
        comment=request.POST.get("comment", ""),
        ask_reopen=request.POST.get("ask_reopen") == "1",
        expected_version=version,
    )


def _with_photos(step):
    def act(request, case, version):
        step(case, by=request.user, note=_note(request), photos_in=_photos(request), expected_version=version)

    return act


def _with_note(step):
    def act(request, case, version):
        step(case, by=request.user, note=_note(request), expected_version=version)

    return act


def _transition(name):
    def act(request, case, version):
        services.transition(case, name, by=request.user, note=_note(request), expected_version=version)

    return act


def _whistle(request, case, version):
    picked = [raw for raw in request.POST.getlist("departments") if raw.strip()]
    departments = [department_or_none(case, raw, field="departments") for raw in picked]
    services.blow_whistle(
        case,
        by=request.user,
        level=request.POST.get("level", ""),
        departments=departments,
        reason=request.POST.get("reason", ""),
    )


def _report_in(request, case, version):
    services.report_in(case, by=request.user)


def _report_part(request, case, version):
    services.report_part(case, by=request.user, note=_note(request), photos_in=_photos(request))


def _supervise(request, case, version):
    services.supervise(
        case, by=request.user, level=request.POST.get("level", ""), instruction=request.POST.get("instruction", "")
    )


def _follow_up(request, case, version):
    services.follow_up(case, by=request.user, note=_note(request), rating=request.POST.get("rating", ""))


def _add_note(request, case, version):
    services.add_note(case, by=request.user, note=_note(request), photos_in=_photos(request))


ACTION_HANDLERS = {
    "accept": _transition("accept"),
    "reject": _with_note(services.reject),
    "register": _transition("register"),
    "dispatch": _dispatch,
    "take": _with_note(services.take),
    "return": _with_note(services.return_to_dispatcher),
    "escalate": _escalate,
    "request_hold": _transition("request_hold"),
    "approve_hold": _transition("approve_hold"),
    "refuse_hold": _transition("refuse_hold"),
    "resume": _transition("resume"),
    "resolve": _with_photos(services.resolve),
    "verify": _with_photos(services.verify),
    "rework": _with_photos(services.rework),
    "close": _with_note(services.close),
    "rate": _rate,
    "reopen": _with_note(services.reopen),
    "merge": _merge,
    "cancel": _with_note(services.cancel),
    "whistle": _whistle,
    "report_in": _report_in,
    "report_part": _report_part,
    "supervise": _supervise,
    "follow_up": _follow_up,
    "note": _add_note,
}


def _posted_version(request, case) -> int:
    """The version the user saw; the steps outside the workflow table are checked against it here."""
    raw = request.POST.get("expected_version", "").strip()
    if not raw.isdigit():
        raise ValidationError({"expected_version": _("This form is out of date: reload the case and try again.")})
    version = int(raw)
    if version != case.version:
        raise StaleRecord
    return version


@require_POST
@staff_view
def case_action(request, pk, action):
    handler = ACTION_HANDLERS.get(action)
    if handler is None:
        raise Http404
    user = request.user
    case = _case_or_404(user, pk)
    try:
        version = _posted_version(request, case)
        handler(request, case, version)
    except StaleRecord as error:
        messages.warning(request, _("Someone else acted on this case first. Here it is as it is now."))
        if isinstance(error, services.WrongState):
            messages.info(request, error.messages[0])
        return redirect("cases:detail", case.pk)
    except (ValidationError, PermissionDenied) as error:
        refusal = error_messages(error) if isinstance(error, ValidationError) else {"__all__": [str(error)]}
        failed = {"action": action, "errors": refusal, "data": request.POST}
        fresh = _case_or_404(user, pk)
        status = 403 if isinstance(error, PermissionDenied) else 200
        return render(request, "cases/staff/detail.html", detail_context(user, fresh, failed=failed), status=status)
    label = workflow.TRANSITIONS[action].label if action in workflow.TRANSITIONS else EXTRA_ACTIONS[action]
    messages.success(request, _("Done: %(action)s.") % {"action": label})
    if not queries.cases_visible_to(user).filter(pk=case.pk).exists():
        return redirect("cases:list")  # the step took the case out of this user's sight
    return redirect("cases:detail", case.pk)


@staff_view
def case_photo(request, pk, token):
    """A photo of a case, only to those who see the case; media files are never served by their path."""
    case = queries.case_or_404(request.user, pk)
    attachment = CaseAttachment.objects.filter(case=case, token=token).first()
    if attachment is None:
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=attachment.content_type)
    response["Cache-Control"] = "private, max-age=86400"
    return response
