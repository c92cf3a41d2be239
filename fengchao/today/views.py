"""The member's day page (/today/): tasks due, care visits due, events ahead, patrol check-ins today."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from .summary import day_of


@login_required
def today(request):
    now = timezone.now()
    return render(request, "today/today.html", {"day": day_of(request.user, now), "now": now})
