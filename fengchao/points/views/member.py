"""A person's own points (/points/): both kinds side by side, what expires soon, history, waiting claims;
and their volunteer service record (志愿服务记录证明), printable or as .xlsx."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header

from fengchao.cases.views.staff import can_work_cases
from fengchao.registry.views.common import next_url, query_without

from .. import certificate
from ..choices import PointsKind
from ..forms import PeriodForm
from ..queries import is_points_staff
from . import reads
from .common import signed_in_view

HISTORY_SIZE = 20


def history_context(request, person_id: int, *, size=HISTORY_SIZE) -> dict:
    """A page of history, filtered by kind (?kind=), with the links to the next and the first page."""
    kind = request.GET.get("kind", "")
    if kind not in PointsKind.values:
        kind = ""
    rows, cursor = reads.history_page(person_id, request.GET.get("cursor"), size, kind=kind or None)
    rest = query_without(request, "cursor")
    return {
        "history": [reads.describe(t) for t in rows],
        "history_kind": kind,
        "history_kinds": PointsKind.choices,
        "next_url": next_url(request, cursor),
        "first_url": ("?" + rest if rest else request.path) if request.GET.get("cursor") else None,
        "links_cases": can_work_cases(request.user),
    }


@signed_in_view
def mine(request):
    user = request.user
    context = {
        "balances": reads.balances(user.pk),
        "waiting": reads.waiting_claims(user.pk),
        "is_staff": is_points_staff(user),
        "serves": reads.serves_somewhere(user),
        **history_context(request, user.pk),
    }
    return render(request, "points/mine.html", context)


def record_page(request, person, *, mine: bool):
    form = PeriodForm(request.GET or None)
    start, end = form.period()
    result = certificate.build(person, start, end)
    certificate.note_view(result, by=request.user)
    context = {"record": result, "form": form, "mine": mine, "query": request.GET.urlencode()}
    return render(request, "points/record.html", context)


def record_download(request, person, page_url: str):
    form = PeriodForm(request.GET or None)
    if form.is_bound and not form.is_valid():  # the page shows what is wrong with the period
        return redirect(f"{page_url}?{request.GET.urlencode()}")
    start, end = form.period()
    result = certificate.build(person, start, end)
    data, filename = certificate.export(result, by=request.user)
    response = HttpResponse(data, content_type=certificate.XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename.replace("/", "-"))
    return response


@signed_in_view
def my_record(request):
    return record_page(request, request.user, mine=True)


@signed_in_view
def my_record_xlsx(request):
    return record_download(request, request.user, reverse("points:my_record"))
