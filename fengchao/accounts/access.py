"""Who may open the pages every role-holder shares (points, activities, tasks): anyone signed in with a role."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404


def holds_a_role(user) -> bool:
    """Signed in and holding a role (any role, residents and merchants too), or a superuser."""
    if not getattr(user, "is_authenticated", False):
        return False
    from fengchao.cases.queries import held_roles

    return user.is_superuser or bool(held_roles(user))


def role_holder_required(view):
    """A page for role-holders: signed in (else the login page), holding a role (else 404: nothing to find here)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not holds_a_role(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped
