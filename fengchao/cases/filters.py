"""The filters of case lists, in one place: list pages, inboxes, the API and exports use them alike.

`filter_cases(user, params)` starts from `cases_visible_to(user)` (or an inbox of it) and narrows it by
GET-style parameters; empty values are ignored. An area outside the user's scope is 404; a malformed
value is ValidationError({key: message}). The queryset comes back unordered: callers order it
(keyset pagination on -pk, exports by pk).
"""

import datetime as dt
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fengchao.areas.models import Area
from fengchao.registry.filters import _get, _int
from fengchao.registry.validation import clean_choice

from . import queries
from .choices import FINAL_STATES, CaseState, Channel, Tier
from .models import Category, pk_from_number

OPEN = "open"

FILTER_KEYS = {
    "inbox": gettext_lazy("to_dispatch, mine, overdue, supervised, whistles or to_verify"),
    "area": gettext_lazy("area id: cases in that area and every area below it"),
    "category": gettext_lazy("category code: that category and the ones under it"),
    "state": gettext_lazy("state code, or open (every state still waiting on someone)"),
    "channel": gettext_lazy("channel code"),
    "tier": gettext_lazy("tier code: grid, community, street or department"),
    "department": gettext_lazy("department id"),
    "from": gettext_lazy("reported on or after this date (YYYY-MM-DD)"),
    "to": gettext_lazy("reported on or before this date (YYYY-MM-DD)"),
    "overdue": gettext_lazy("1: overdue cases only"),
    "q": gettext_lazy("case number, or words in the description or address"),
}

LINEAGE_OF_LEVEL = queries.LINEAGE_OF_LEVEL


def filter_cases(user, params: Mapping):
    inbox = _get(params, "inbox")
    if inbox:
        if inbox not in queries.INBOXES:
            raise ValidationError({"inbox": _("Unknown inbox “%(value)s”.") % {"value": inbox[:40]}})
        qs = queries.INBOXES[inbox](user)
    else:
        qs = queries.cases_visible_to(user)
    area = filter_area(user, params)
    if area is not None:
        qs = qs.filter(**{LINEAGE_OF_LEVEL[area.level]: area.pk})
    code = _get(params, "category")
    if code:
        category = Category.objects.filter(code=code).first()
        if category is None:
            raise ValidationError({"category": _("Unknown category “%(value)s”.") % {"value": code[:40]}})
        qs = qs.filter(Q(category=category) | Q(category__parent=category) | Q(category__parent__parent=category))
    state = _get(params, "state")
    if state == OPEN:
        qs = qs.exclude(state__in=FINAL_STATES)
    elif state:
        qs = qs.filter(state=clean_choice(state, CaseState, "state"))
    for key, choices in (("channel", Channel), ("tier", Tier)):
        value = _get(params, key)
        if value:
            qs = qs.filter(**{key: clean_choice(value, choices, key)})
    department = _int(params, "department")
    if department is not None:
        qs = qs.filter(department_id=department)
    start, end = _date(params, "from"), _date(params, "to")
    if start and end and start > end:
        raise ValidationError({"to": _("The end date is before the start date.")})
    if start:
        qs = qs.filter(reported_at__gte=_midnight(start))
    if end:
        qs = qs.filter(reported_at__lt=_midnight(end + dt.timedelta(days=1)))
    if _get(params, "overdue") in ("1", "true", "yes"):
        qs = qs.filter(is_overdue=True)
    text = _get(params, "q")
    if text:
        pk = pk_from_number(text)
        qs = qs.filter(pk=pk) if pk else qs.filter(Q(description__contains=text) | Q(address__contains=text))
    return qs


def filter_area(user, params: Mapping) -> Area | None:
    pk = _int(params, "area")
    if pk is None:
        return None
    area = Area.objects.filter(pk=pk).first()
    if area is None or not (user.is_superuser or any(area.path.startswith(h.path) for h in queries.held_roles(user))):
        raise Http404(_("No such area in your areas."))
    return area


def _date(params, key) -> dt.date | None:
    raw = _get(params, key)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({key: _("Give a date as YYYY-MM-DD.")}) from None


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))
