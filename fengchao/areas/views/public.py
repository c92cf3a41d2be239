"""The public, login-free 亮身份 page of a micro-grid (or grid / dedicated grid), reached by its QR code.

It shows names, roles, identity tags and masked phones of the people serving the area, and nothing
else personal. The call button passes through the server so each call is audited and rate-limited.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, Q
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from fengchao.accounts.models import MemberTag, RoleAssignment
from fengchao.accounts.roles import PUBLIC_SERVING_ROLES, SCOPING_ROLES, IdentityTag
from fengchao.audit.models import AuditEvent
from fengchao.audit.services import record

from .. import qr
from ..levels import AreaKind
from ..models import Area
from .pages import PUBLIC_PAGE_KINDS

CALLS_PER_HOUR = getattr(settings, "PUBLIC_CALLS_PER_HOUR", 10)


class TelRedirect(HttpResponseRedirect):
    allowed_schemes = ["tel"]


def public_area_or_404(code) -> Area:
    return get_object_or_404(Area, code=code, kind__in=PUBLIC_PAGE_KINDS, is_active=True)


def serving_assignments(area: Area):
    """Who serves this area in public: the public serving roles held in it or its grid, and community police."""
    lineage = [pk for pk in (area.pk, area.parent_id, area.community_pk) if pk]
    role_order = {role: i for i, role in enumerate(PUBLIC_SERVING_ROLES)}
    rows = (
        RoleAssignment.objects.active()
        .filter(area_id__in=lineage, role__in=SCOPING_ROLES)
        .filter(Q(role__in=PUBLIC_SERVING_ROLES) | Q(user__tags__tag=IdentityTag.COMMUNITY_POLICE))
        .distinct()
        .select_related("user")
        .prefetch_related(Prefetch("user__tags", queryset=MemberTag.objects.order_by("tag")))
    )
    return sorted(rows, key=lambda a: (role_order.get(a.role, len(role_order)), a.user.display_name, a.pk))


def _client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


@never_cache
def grid_page(request, code):
    area = public_area_or_404(code)
    community = Area.objects.filter(pk=area.community_pk).only("name", "service_phone").first()
    grid = area.parent if area.kind == AreaKind.MICROGRID else None
    people = [
        {
            "assignment_id": a.pk,
            "name": a.user.display_name,
            "role": a.get_role_display(),
            "tags": [t.get_tag_display() for t in a.user.tags.all()],
            "masked_phone": a.user.masked_phone,
        }
        for a in serving_assignments(area)
    ]
    context = {
        "area": area,
        "grid": grid,
        "community": community,
        "people": people,
        "service_phone": area.service_phone or (community.service_phone if community else ""),
    }
    return render(request, "public/grid.html", context)


def call(request, code, assignment_id):
    area = public_area_or_404(code)
    assignment = next((a for a in serving_assignments(area) if a.pk == assignment_id), None)
    if assignment is None or not assignment.user.phone_cipher:
        raise Http404
    address = _client_address(request)
    # Counted from the audit log itself, so every app server enforces the same limit.
    calls = AuditEvent.objects.filter(
        action="public.call", data__address=address, at__gte=timezone.now() - timedelta(hours=1)
    ).count()
    if calls >= CALLS_PER_HOUR:
        return HttpResponse(_("Too many calls from this address; please try again later."), status=429)
    with transaction.atomic():
        record("public.call", assignment, area=area, called=assignment.user_id, role=assignment.role, address=address)
    return TelRedirect(f"tel:{assignment.user.phone}")


def qr_svg(request, code):
    area = public_area_or_404(code)
    return HttpResponse(qr.qr_svg_document(qr.public_url(request, area)), content_type="image/svg+xml")
