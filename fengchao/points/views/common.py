"""What the points pages share: who may open them, area pickers, safe redirects back to a list."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from fengchao.accounts.access import guarded_by
from fengchao.accounts.roles import SCOPING_ROLES
from fengchao.areas.levels import LEVEL_OF_KIND, AreaKind
from fengchao.areas.models import Area
from fengchao.areas.scope import scope_q

from ..queries import STAFF_ROLES, is_points_staff
from .reads import serves_somewhere

AREA_OPTIONS = 300
AREA_MAX_LEVEL = LEVEL_OF_KIND[AreaKind.GRID]


def signed_in_view(view):
    """Anyone signed in: their own points. Never cached (balances change)."""
    return never_cache(login_required(view))


def staff_view(view):
    """District, street, community staff and grid leaders; to everyone else these pages do not exist (404)."""
    return never_cache(guarded_by(is_points_staff)(view))


def serving_view(view):
    """Anyone who serves in an area (members too): the public listing board."""
    return never_cache(guarded_by(serves_somewhere)(view))


def area_options(user, current: Area | None, *, roles=STAFF_ROLES, blank=None, max_level=AREA_MAX_LEVEL):
    """(value, label, selected) for an area select: the user's areas down to grids, indented by level."""
    areas = list(
        Area.objects.filter(scope_q(user, roles=roles), is_active=True, level__lte=max_level)
        .order_by("path")
        .only("pk", "name", "level")[:AREA_OPTIONS]
    )
    top = min((a.level for a in areas), default=0)
    options = [(str(a.pk), "\u3000" * (a.level - top) + a.name) for a in areas]
    if current is not None and all(a.pk != current.pk for a in areas):
        options.insert(0, (str(current.pk), current.name))
    if blank is not None:
        options.insert(0, ("", blank))
    chosen = str(current.pk) if current is not None else ""
    return [(value, label, value == chosen) for value, label in options]


def serving_area_options(user, current):
    return area_options(user, current, roles=SCOPING_ROLES, blank=_("All my areas"))


def safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
        and target.startswith("/")
    ):
        return target
    return fallback


def back(request, fallback: str):
    return redirect(safe_next(request, fallback))


def refusal_messages(error) -> list[str]:
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return [m for messages in error.message_dict.values() for m in messages]
        return list(error.messages)
    return [str(error) or _("Your role does not allow this here.")]
