"""Who may open a page: signed in, and passing the page's own check (holding a role, being staff …), else 404."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404


def holds_a_role(user) -> bool:
    """Signed in and holding a role (any role, residents and merchants too), or a superuser."""
    if not getattr(user, "is_authenticated", False):
        return False
    from fengchao.cases.queries import held_roles

    return user.is_superuser or bool(held_roles(user))


def holds_role_over(user, roles, area) -> bool:
    """Does the user hold one of `roles` (active) in `area` or above it, or is a superuser?"""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    from fengchao.cases.queries import held_roles

    return any(h.role in roles and area.path.startswith(h.path) for h in held_roles(user))


def guarded_by(check):
    """A view decorator: signed in (else the login page) and `check(user)` true (else 404: nothing to find here)."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not check(request.user):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# Pages for anyone holding a role (points, activities, tasks).
role_holder_required = guarded_by(holds_a_role)
