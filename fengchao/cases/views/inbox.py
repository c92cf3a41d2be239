"""The case list with its inbox tabs, its filters and its Excel export; the count shown in the navigation."""

import contextlib

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fengchao.registry.views.common import filter_errors, keyset, next_url, query_without

from .. import filters, queries
from ..choices import CaseState, Channel, Tier
from ..exporting import export_cases
from .staff import area_filter_options, can_enter_cases, category_filter_options, is_htmx, staff_view

PAGE_SIZE = 30
TAB_LABELS = {
    "to_dispatch": gettext_lazy("To dispatch"),
    "mine": gettext_lazy("Mine to handle"),
    "overdue": gettext_lazy("Overdue"),
    "supervised": gettext_lazy("Supervised"),
    "whistles": gettext_lazy("Whistles waiting for me"),
    "to_verify": gettext_lazy("To verify"),
}
# The inboxes that wait on the user themself: their sum is the count in the navigation.
ACTIONABLE = ("to_dispatch", "mine", "to_verify", "whistles")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def actionable_count(user) -> int:
    """Cases in any of the user's actionable inboxes, each counted once: one COUNT query."""
    combined = None
    for name in ACTIONABLE:
        inbox = queries.INBOXES[name](user)
        combined = inbox if combined is None else combined | inbox
    return combined.count()


def tabs_for(user) -> list[str]:
    """The inboxes that can ever hold something for this user's roles, in the order of the issue."""
    roles = {h.role for h in queries.held_roles(user)}
    handler_roles = set().union(*queries.HANDLER_ROLES.values())
    shown = {
        "to_dispatch": user.is_superuser or bool(roles & set(queries.QUEUE_ROLE_OF_TIER.values())),
        "mine": user.is_superuser or bool(roles & handler_roles),
        "overdue": True,
        "supervised": True,
        "whistles": bool(queries.department_ids(user)),
        "to_verify": user.is_superuser or bool(roles & queries.VERIFIER_ROLES),
    }
    return [name for name in TAB_LABELS if shown[name]]


def case_rows(qs, cursor, size=None):
    qs = qs.select_related("category", "area", "department", "assignee")
    return keyset(qs, ["-pk"], lambda c: (c.pk,), cursor, size or PAGE_SIZE)


def controls(user, request):
    """The filter bar: the search box, the dates, and selects with the current choice marked."""
    current_area = None
    with contextlib.suppress(ValidationError):  # a malformed area is reported by the list itself
        current_area = filters.filter_area(user, request.GET)
    value = request.GET.get
    selects = [
        ("area", _("Area"), area_filter_options(user, current_area)),
        ("category", _("Category"), category_filter_options()),
        ("state", _("State"), [("", _("Any state")), (filters.OPEN, _("Open (still waiting)")), *CaseState.choices]),
        ("channel", _("Channel"), [("", _("Any channel")), *Channel.choices]),
        ("tier", _("Tier"), [("", _("Any tier")), *Tier.choices]),
    ]
    return {
        "q": value("q", ""),
        "from": value("from", ""),
        "to": value("to", ""),
        "selects": [
            {
                "name": name,
                "label": label,
                "options": [(str(v), text, str(v) == value(name, "")) for v, text in options],
            }
            for name, label, options in selects
        ],
    }


@staff_view
def case_list(request):
    user = request.user
    inbox = request.GET.get("inbox", "")
    errors = []
    try:
        qs = filters.filter_cases(user, request.GET)
        rows, cursor = case_rows(qs, request.GET.get("cursor"))
    except ValidationError as error:
        errors, rows, cursor = filter_errors(error), [], None
    rest = query_without(request, "cursor")
    export_url = reverse("cases:export") + (f"?{rest}" if rest else "")
    context = {
        "rows": rows,
        "errors": errors,
        "next_url": next_url(request, cursor),
        "first_url": "?" + rest if request.GET.get("cursor") else None,
        "export_url": export_url,
        "inbox": inbox,
        "can_enter": can_enter_cases(user),
    }
    if is_htmx(request):
        return render(request, "cases/staff/_results.html", context)
    filter_rest = query_without(request, "cursor", "inbox")
    tabs = [{"name": "", "label": _("All"), "count": None}]
    for name in tabs_for(user):
        count = queries.INBOXES[name](user).count() if name in ACTIONABLE else None
        tabs.append({"name": name, "label": TAB_LABELS[name], "count": count})
    for tab in tabs:
        params = "&".join(p for p in (f"inbox={tab['name']}" if tab["name"] else "", filter_rest) if p)
        tab["url"] = "?" + params if params else request.path
    context.update(tabs=tabs, controls=controls(user, request), filters_open=bool(filter_rest))
    return render(request, "cases/staff/list.html", context)


@staff_view
def case_export(request):
    """The list as .xlsx with the same filters (and the same scope): `exporting.export_cases` writes it."""
    user = request.user
    back = reverse("cases:list") + ("?" + query_without(request) if request.GET else "")
    try:
        qs = filters.filter_cases(user, request.GET).order_by("pk")
        data, filename = export_cases(qs, user, filters=request.GET.dict())
    except ValidationError as error:
        for message in filter_errors(error):
            messages.error(request, message)
        return redirect(back)
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
