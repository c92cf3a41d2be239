"""The user's in-app notifications: a list (newest first, keyset pages), read one, read all."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from fengchao.registry.views.common import keyset, next_url, query_without

from . import services
from .models import Notification

PAGE_SIZE = 30


@login_required
def notification_list(request):
    qs = Notification.objects.filter(recipient=request.user)
    unread_only = request.GET.get("unread") == "1"
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    rows, cursor = keyset(qs, ["-pk"], lambda n: (n.pk,), request.GET.get("cursor"), PAGE_SIZE)
    rest = query_without(request, "cursor")
    context = {
        "rows": rows,
        "unread_only": unread_only,
        "unread": services.unread_count(request.user),
        "next_url": next_url(request, cursor),
        "first_url": "?" + rest if request.GET.get("cursor") else None,
    }
    return render(request, "notices/list.html", context)


@require_POST
@login_required
def mark_one_read(request, pk):
    """Marks one notification read; with `open`, goes on to what it is about (a page of this site only)."""
    notification = get_object_or_404(Notification, pk=pk, recipient=request.user)
    services.mark_read(request.user, [notification.pk])
    target = notification.url
    safe = target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    if request.POST.get("open") and safe:
        return redirect(target)
    return redirect(_back(request))


@require_POST
@login_required
def mark_all_read(request):
    marked = services.mark_read(request.user)
    if marked:
        messages.success(request, _("All notifications marked as read."))
    return redirect(_back(request))


def _back(request) -> str:
    back = request.POST.get("next", "")
    if back.startswith("/notifications/") and url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        return back
    return "notices:list"
