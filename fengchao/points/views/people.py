"""People's points, for staff: the people serving in their areas with their balances, one person's balances,
history and waiting claims, the adjustment form (补录/扣减, always with a reason), and their volunteer
service record. A person out of the staff member's areas answers 404."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from fengchao.accounts.models import RoleAssignment
from fengchao.accounts.roles import SCOPING_ROLES
from fengchao.areas.models import subtree_q
from fengchao.registry.forms import apply_errors
from fengchao.registry.views.common import next_url, query_without

from .. import services
from ..choices import PointsKind
from ..forms import AdjustForm
from ..queries import STAFF_ROLES, holders_visible_to, holds_any
from . import reads
from .common import area_options, staff_view
from .member import history_context, record_download, record_page

PAGE_SIZE = 30


@staff_view
def people(request):
    user = request.user
    area = reads.staff_area_or_404(user, request.GET["area"]) if request.GET.get("area") else None
    q = request.GET.get("q", "").strip()[:50]
    qs = holders_visible_to(user).filter(is_active=True)
    if area is not None:
        serving = RoleAssignment.objects.active().filter(subtree_q(area.path, "area__"), role__in=SCOPING_ROLES)
        qs = qs.filter(pk__in=serving.values("user_id"))
    if q:
        qs = qs.filter(Q(display_name__icontains=q) | Q(username__icontains=q))
    rows, cursor = reads.keyset_page(
        qs.only("pk", "display_name", "username"),
        ["display_name", "pk"],
        lambda u: (u.display_name, u.pk),
        request.GET.get("cursor"),
        PAGE_SIZE,
    )
    balances = reads.person_accounts([u.pk for u in rows])
    context = {
        "rows": [{"person": u, "by_kind": [balances[u.pk][k] for k in PointsKind.values]} for u in rows],
        "kinds": PointsKind.choices,
        "area": area,
        "q": q,
        "area_choices": area_options(user, area, blank=_("All my areas")),
        "next_url": next_url(request, cursor),
        "first_url": "?" + query_without(request, "cursor") if request.GET.get("cursor") else None,
        "tab": "people",
    }
    return render(request, "points/people.html", context)


def adjust_areas(user, person, roles):
    """Where this staff member may book an adjustment of this person: the person's serving areas in their scope."""
    if user.pk == person.pk:
        return []
    areas = {}
    for held in roles:
        if held.area_id not in areas and holds_any(user, STAFF_ROLES, held.area):
            areas[held.area_id] = held.area
    return list(areas.values())


def _person_page(request, person, form=None, status=200):
    user = request.user
    roles = reads.serving_roles(person)
    areas = adjust_areas(user, person, roles)
    if form is None and areas:
        form = AdjustForm(areas=areas, initial={"kind": PointsKind.TASK})
    context = {
        "person": person,
        "roles": [{"area": r.area, "label": reads.role_label(r.role)} for r in roles],
        "balances": reads.balances(person.pk),
        "waiting": reads.waiting_claims(person.pk),
        "form": form if areas else None,
        "own": user.pk == person.pk,
        "tab": "people",
        **history_context(request, person.pk),
    }
    return render(request, "points/person.html", context, status=status)


@staff_view
def person(request, pk):
    return _person_page(request, reads.holder_or_404(request.user, pk))


@staff_view
def adjust(request, pk):
    user = request.user
    person = reads.holder_or_404(user, pk)
    if request.method != "POST":
        return redirect("points:person", pk=person.pk)
    areas = adjust_areas(user, person, reads.serving_roles(person))
    if not areas:
        if person.pk == user.pk:
            messages.error(request, _("Your own points are adjusted by someone else."))
        else:
            messages.error(request, _("This person serves outside the areas where you adjust points."))
        return redirect("points:person", pk=person.pk)
    form = AdjustForm(request.POST, areas=areas)
    if form.is_valid():
        data = form.cleaned_data
        try:
            transfer = services.adjust(
                person,
                kind=data["kind"],
                points=data["points"],
                reason=data["reason"],
                by=user,
                area=form.chosen_area(),
            )
        except PermissionDenied as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            apply_errors(form, error)
        else:
            sign = "+" if int(data["points"]) > 0 else "−"
            messages.success(
                request,
                _("%(sign)s%(n)d %(kind)s for %(who)s: %(reason)s")
                % {
                    "sign": sign,
                    "n": transfer.points,
                    "kind": PointsKind(transfer.points_kind).label,
                    "who": person.display_name or person.username,
                    "reason": transfer.reason,
                },
            )
            return redirect("points:person", pk=person.pk)
    return _person_page(request, person, form=form)


@staff_view
def person_record(request, pk):
    person = reads.holder_or_404(request.user, pk)
    return record_page(request, person, mine=person.pk == request.user.pk)


@staff_view
def person_record_xlsx(request, pk):
    person = reads.holder_or_404(request.user, pk)
    return record_download(request, person, reverse("points:person_record", args=[person.pk]))
