from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from . import services
from .forms import LoginForm, PasswordChangeForm
from .models import RoleAssignment
from .roles import SCOPING_ROLES


@never_cache
@csrf_protect
def login_view(request):
    form = LoginForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.user)
        services.note_login_success(form.user, form.cleaned_data["username"])
        target = request.POST.get("next") or request.GET.get("next") or ""
        if form.user.must_change_password:
            return redirect("password_change")
        if url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return redirect(target)
        return redirect("home")
    return render(request, "accounts/login.html", {"form": form, "next": request.GET.get("next", "")})


@require_POST
def logout_view(request):
    logout(request)
    return redirect("login")


@login_required
def password_change_view(request):
    form = PasswordChangeForm(request.user, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.change_password(request.user, form.cleaned_data["new_password1"], by=request.user)
        except ValidationError as exc:
            form.add_error("new_password1", exc)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("Your password has been changed."))
            return redirect("home")
    return render(request, "accounts/password_change.html", {"form": form})


@login_required
def home_view(request):
    assignments = (
        RoleAssignment.objects.active()
        .filter(user=request.user)
        .select_related("area", "department")
        .order_by("area__path")
    )
    return render(
        request,
        "accounts/home.html",
        {"assignments": assignments, "scoping_roles": SCOPING_ROLES},
    )
