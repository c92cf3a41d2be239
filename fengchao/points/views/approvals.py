"""Claims waiting for review (审核) and in public listing (公示): approve, reject with a reason, or reject on
an objection while listed; and the public listing board of an area (公示栏), open to everyone serving there.

Reviewers never decide their own claims. Each decision posts the version of the claim the page showed, so
two reviewers never both decide one claim (the second is told what happened).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from fengchao.areas.models import subtree_q
from fengchao.cases.views.staff import can_work_cases
from fengchao.core.errors import StaleRecord
from fengchao.registry.views.common import next_url, query_without

from .. import services
from ..choices import Action, ClaimState
from ..models import Claim
from ..queries import is_points_staff
from . import reads
from .common import area_options, back, refusal_messages, serving_area_options, serving_view, staff_view

PAGE_SIZE = 30
STALE = gettext_lazy("Someone else decided on this claim first. The list shows it as it is now.")
STATE_TABS = (ClaimState.PENDING, ClaimState.LISTED, ClaimState.GRANTED, ClaimState.REJECTED, ClaimState.CAPPED)
# Waiting claims are worked oldest first; decided ones are looked up newest first.
ORDER = {
    ClaimState.PENDING: (["earned_at", "pk"], lambda c: (c.earned_at.isoformat(), c.pk)),
    ClaimState.LISTED: (["listed_until", "pk"], lambda c: (c.listed_until.isoformat(), c.pk)),
}


def _filters(request):
    """The list's filters: state (pending by default), area (in the staff scope, else 404) and action."""
    user = request.user
    state = request.GET.get("state", ClaimState.PENDING)
    if state not in ClaimState.values:
        state = ClaimState.PENDING
    area = reads.staff_area_or_404(user, request.GET["area"]) if request.GET.get("area") else None
    action = request.GET.get("action", "")
    if action not in Action.values:
        action = ""
    return state, area, action


def claim_rows(user, qs, state, cursor, size=PAGE_SIZE):
    qs = qs.select_related("user", "area", "rule", "reviewed_by")
    if state in ORDER:
        fields, key = ORDER[state]
    else:
        fields, key = ["-earned_at", "-pk"], lambda c: (c.earned_at.isoformat(), c.pk)
    rows, next_cursor = reads.keyset_page(qs, fields, key, cursor, size)
    return [
        {
            "claim": claim,
            "own": claim.user_id == user.pk,
            "waiting": claim.state in reads.WAITING_STATES,
            "source_url": reads.source_url(claim.source_type, claim.source_id),
            "can_approve": claim.state == ClaimState.PENDING and claim.user_id != user.pk,
            "can_reject": claim.state in reads.WAITING_STATES and claim.user_id != user.pk,
        }
        for claim in rows
    ], next_cursor


@staff_view
def approvals(request):
    user = request.user
    state, area, action = _filters(request)
    qs = reads.staff_claims(user)
    if area is not None:
        qs = qs.filter(subtree_q(area.path, "area__"))
    if action:
        qs = qs.filter(action=action)
    counts = dict(qs.filter(state__in=reads.WAITING_STATES).values_list("state").annotate(n=Count("pk")).order_by())
    rows, cursor = claim_rows(user, qs.filter(state=state), state, request.GET.get("cursor"))
    rest = query_without(request, "cursor", "state")
    tabs = []
    for name in STATE_TABS:
        params = "&".join(p for p in (f"state={name}", rest) if p)
        tabs.append({"name": name, "label": ClaimState(name).label, "count": counts.get(name), "url": "?" + params})
    context = {
        "rows": rows,
        "state": state,
        "tabs": tabs,
        "area": area,
        "action": action,
        "area_choices": area_options(user, area, blank=_("All my areas")),
        "action_choices": [("", _("Any action"), not action)]
        + [(v, label, v == action) for v, label in Action.choices],
        "next_url": next_url(request, cursor),
        "first_url": "?" + query_without(request, "cursor") if request.GET.get("cursor") else None,
        "here": request.get_full_path(),
        "links_cases": can_work_cases(user),
        "tab": "approvals",
    }
    return render(request, "points/approvals.html", context)


def _version(request):
    raw = request.POST.get("version", "").strip()
    if not raw.isdigit():
        raise ValidationError({"version": _("This form is out of date: reload the page and try again.")})
    return int(raw)


def decide(request, pk, decision):
    """Approve or reject one claim; the outcome (or the refusal) is told on the page it came from."""
    user = request.user
    claim = reads.visible_claim_or_404(user, pk)
    fallback = reverse("points:approvals")
    try:
        version = _version(request)
        if decision == "approve":
            services.approve_claim(claim, by=user, expected_version=version)
        else:
            services.reject_claim(claim, by=user, reason=request.POST.get("reason", ""), expected_version=version)
    except StaleRecord:
        messages.warning(request, STALE)
    except (ValidationError, PermissionDenied) as error:
        for message in refusal_messages(error):
            messages.error(request, message)
    else:
        messages.success(request, outcome(claim))
    return back(request, fallback)


def outcome(claim: Claim) -> str:
    who = claim.user.display_name or claim.user.username
    if claim.state == ClaimState.GRANTED:
        return _("Approved: %(n)d points granted to %(who)s.") % {"n": claim.points, "who": who}
    if claim.state == ClaimState.LISTED:
        until = timezone.localtime(claim.listed_until).strftime("%Y-%m-%d %H:%M")
        return _("Approved: the claim of %(who)s is publicly listed until %(until)s.") % {"who": who, "until": until}
    return _("Rejected: the claim of %(who)s.") % {"who": who}


@require_POST
@staff_view
def approve(request, pk):
    return decide(request, pk, "approve")


@require_POST
@staff_view
def reject(request, pk):
    return decide(request, pk, "reject")


@require_POST
@staff_view
def approve_selected(request):
    """Approve the ticked claims (each `claim` value is 'pk:version'); each is decided on its own."""
    user = request.user
    done = stale = 0
    refused = []
    picked = request.POST.getlist("claim")[: PAGE_SIZE * 2]
    for value in picked:
        pk, _sep, version = value.partition(":")
        if not (pk.isdigit() and version.isdigit()):
            continue
        claim = reads.staff_claims(user).filter(pk=int(pk)).select_related("rule", "area", "user").first()
        if claim is None:
            continue
        try:
            services.approve_claim(claim, by=user, expected_version=int(version))
        except StaleRecord:
            stale += 1
        except (ValidationError, PermissionDenied) as error:
            refused += refusal_messages(error)
        else:
            done += 1
    if not picked:
        messages.info(request, _("Tick the claims to approve first."))
    if done:
        messages.success(request, _("%(n)d claims approved.") % {"n": done})
    if stale:
        messages.warning(request, _("%(n)d claims were decided by someone else first.") % {"n": stale})
    for message in dict.fromkeys(refused):
        messages.error(request, message)
    return back(request, reverse("points:approvals"))


# ---- the public listing board (公示栏) -------------------------------------------------------------------


@serving_view
def listing(request):
    user = request.user
    area = reads.serving_area_or_404(user, request.GET["area"]) if request.GET.get("area") else None
    qs = reads.listed_claims(user, area).select_related("user", "area")
    rows, cursor = reads.keyset_page(
        qs, ["listed_until", "pk"], lambda c: (c.listed_until.isoformat(), c.pk), request.GET.get("cursor"), PAGE_SIZE
    )
    context = {
        "rows": rows,
        "area": area,
        "area_choices": serving_area_options(user, area),
        "next_url": next_url(request, cursor),
        "first_url": "?" + query_without(request, "cursor") if request.GET.get("cursor") else None,
        "is_staff": is_points_staff(user),
        "tab": "listing",
    }
    return render(request, "points/listing.html", context)
