"""The page of one person who serves, as seen by a colleague: scoped like everything else."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render

from fengchao.areas.scope import scope_q

from .models import RoleAssignment
from .queries import people_visible_to


@login_required
def member_detail(request, user_id):
    person = get_object_or_404(people_visible_to(request.user).prefetch_related("tags"), pk=user_id)
    # Only the roles held in areas the viewer may see: a person's other posts are not the viewer's business.
    roles = (
        RoleAssignment.objects.active()
        .filter(scope_q(request.user, "area__"), user=person)
        .select_related("area", "department")
        .order_by("area__path", "role")
    )
    context = {
        "person": person,
        "roles": roles,
        "tags": [t.get_tag_display() for t in person.tags.all()],
    }
    return render(request, "people/detail.html", context)
