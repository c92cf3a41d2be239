"""Showing an ID number or phone in full: a POST with a reason, answered through access.reveal (logged).

The initial pages carry masked values only; the full values travel in the answer to this POST, which
htmx swaps in place of the masked ones (without JavaScript the whole page comes back with them).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from .. import access, queries
from ..models import OrganisationMember
from .common import client_ip, is_htmx, registry_view


def subject_or_404(user, kind: str, pk: int):
    if kind == "resident":
        qs = queries.residents_visible_to(user).select_related("household", "area")
    elif kind == "place":
        qs = queries.places_visible_to(user).select_related("area")
    elif kind == "organisation":
        qs = queries.organisations_visible_to(user).select_related("area")
    elif kind == "member":
        qs = OrganisationMember.objects.filter(
            organisation__in=queries.organisations_visible_to(user).values("pk")
        ).select_related("organisation__area")
    else:
        raise Http404
    return queries.object_or_404(qs, pk)


def masked_values(kind: str, obj) -> list[tuple[str, str]]:
    """(field, masked value) of the sensitive fields the record holds, in display order."""
    if kind == "resident":
        pairs = [
            ("id_number", obj.masked_id_number),
            ("phone", obj.masked_phone),
            ("contact_phone", obj.masked_contact_phone),
        ]
    else:
        pairs = [("phone", obj.masked_phone)]
    return [(f, v) for f, v in pairs if v]


@require_POST
@registry_view
def reveal(request, kind, pk):
    user = request.user
    obj = subject_or_404(user, kind, pk)
    area = access.area_of(obj)
    if not queries.can_unmask(user, area):
        raise PermissionDenied
    errors, revealed = [], None
    try:
        revealed = access.reveal(
            user, obj, reason=request.POST.get("reason", ""), channel="page", ip=client_ip(request)
        )
    except ValidationError as error:
        errors = [m for ms in error.message_dict.values() for m in ms]
    context = {
        "kind": kind,
        "subject": obj,
        "masked": masked_values(kind, obj),
        "revealed": revealed,
        "reveal_errors": errors,
        "can_unmask": True,
        "reason": request.POST.get("reason", ""),
    }
    if is_htmx(request):
        return render(request, "registry/_sensitive.html", context)
    context["back_url"] = back_url(kind, obj)
    return render(request, "registry/reveal_page.html", context)


def back_url(kind: str, obj) -> str:
    if kind == "member":
        return reverse("registry:organisation_detail", args=[obj.organisation_id])
    return reverse(f"registry:{kind}_detail", args=[obj.pk])
