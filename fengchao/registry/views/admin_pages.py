"""Pages for managers and auditors: the care-tag set, and the log of who saw personal data in full."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.accounts.roles import Role
from fengchao.areas.scope import scope_paths

from .. import queries, services
from ..forms import AccessLogFilterForm, CareTagForm, apply_errors
from ..models import AccessLogSubject, CareTag
from .common import PAGE_SIZE, keyset, next_url, posted, query_without

CARE_TAG_ROLES = frozenset({Role.DISTRICT_ADMIN})


def can_configure_care_tags(user) -> bool:
    """District administrators only: the care-tag set is one for the whole deployment."""
    return bool(scope_paths(user, CARE_TAG_ROLES))


def _care_tags_or_404(user):
    if not can_configure_care_tags(user):
        raise Http404


@login_required
def care_tags(request):
    _care_tags_or_404(request.user)
    tags = CareTag.objects.order_by("position", "code")
    return render(request, "registry/care_tags.html", {"tags": tags})


@login_required
def care_tag_form(request, pk=None):
    user = request.user
    _care_tags_or_404(user)
    tag = queries.object_or_404(CareTag.objects.all(), pk) if pk is not None else None
    form = CareTagForm(posted(request), tag=tag)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.save_care_tag(
                user,
                code=tag.code if tag else data["code"],
                name=data["name"],
                position=data["position"],
                description=data["description"],
                is_active=data["is_active"],
                tag=tag,
            )
        except ValidationError as error:
            apply_errors(form, error)
        except IntegrityError:
            form.add_error("code", _("A care tag with this code exists."))
        else:
            messages.success(request, _("Care tag saved."))
            return redirect("registry:care_tags")
    context = {
        "form": form,
        "title": _("Edit care tag %(name)s") % {"name": tag.name} if tag else _("Add a care tag"),
        "submit": _("Save") if tag else _("Add"),
        "back_url": reverse("registry:care_tags"),
    }
    return render(request, "registry/form.html", context)


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@login_required
def access_log(request):
    user = request.user
    if not queries.can_audit(user):
        raise Http404
    form = AccessLogFilterForm(request.GET or None)
    qs = queries.access_log_visible_to(user).select_related("actor", "area")
    subject = None
    rows, cursor = [], None
    if form.is_bound and not form.is_valid():
        pass
    else:
        data = form.cleaned_data if form.is_bound else {}
        if data.get("who"):
            who = data["who"]
            qs = qs.filter(Q(actor__username__icontains=who) | Q(actor__display_name__icontains=who))
        if data.get("whom"):
            qs = qs.filter(subject_label__icontains=data["whom"])
        if data.get("since"):
            qs = qs.filter(at__gte=_day_start(data["since"]))
        if data.get("until"):
            qs = qs.filter(at__lt=_day_start(data["until"] + datetime.timedelta(days=1)))
        if data.get("resident"):
            # One resident: the times they were viewed, and the exports that held them.
            subject = queries.residents_visible_to(user).filter(pk=data["resident"]).first()
            in_exports = AccessLogSubject.objects.filter(subject_type="resident", subject_id=data["resident"])
            qs = qs.filter(
                Q(subject_type="resident", subject_id=data["resident"]) | Q(pk__in=in_exports.values("log_id"))
            )
        rows, cursor = keyset(qs, ["-pk"], lambda log: (log.pk,), request.GET.get("cursor"), PAGE_SIZE)
    context = {
        "form": form,
        "rows": rows,
        "subject": subject,
        "next_url": next_url(request, cursor),
        "first_url": "?" + query_without(request, "cursor") if request.GET.get("cursor") else None,
    }
    return render(request, "registry/access_log.html", context)
