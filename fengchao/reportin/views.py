"""The report-in pages, mounted at /report-in/: a party member reports this month and sees their past months;
community, street and district staff read a community's month (reported / not reported people and units),
record a unit's report, and download the list as .xlsx.

Reads come only from `reportin.queries` (out of scope: 404); every change goes through `reportin.services`.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from fengchao.accounts.access import guarded_by

from . import queries, services, sheets
from .forms import ReportForm, UnitForm, apply_errors

PAST_LIMIT = 24
COMMUNITY_LIMIT = 300


reporter_view = guarded_by(queries.is_reporter)
staff_view = guarded_by(queries.is_staff)


@never_cache
@reporter_view
def home(request):
    user = request.user
    communities = list(queries.my_communities(user))
    if not communities:
        raise Http404
    if request.method == "POST":
        form = ReportForm(request.POST, communities=communities)
        if form.is_valid():
            data = form.cleaned_data
            try:
                done, created = services.report_in(user, community=data.get("community"), note=data.get("note", ""))
            except ValidationError as error:
                apply_errors(form, error)
            except PermissionDenied as error:
                form.add_error(None, str(error))
            else:
                if created:
                    messages.success(request, _("Reported in to %(name)s.") % {"name": done.community.name})
                else:
                    messages.info(
                        request,
                        _("You have already reported in to %(name)s this month.") % {"name": done.community.name},
                    )
                return redirect("reportin:home")
    else:
        form = ReportForm(communities=communities, initial={"community": communities[0].pk})
    month = queries.month_of()
    past = list(queries.my_reports(user)[:PAST_LIMIT])
    done = {r.community_id for r in past if r.month == month}
    context = {
        "form": form,
        "month": month,
        "past": past,
        "pending": [c for c in communities if c.pk not in done],
        "single": len(communities) == 1,
    }
    return render(request, "reportin/home.html", context)


def _status_args(request):
    community = queries.staff_community_or_404(request.user, request.GET.get("area"))
    month = queries.parse_month(request.GET.get("month"))
    return community, month


@never_cache
@staff_view
def status_page(request):
    community, month = _status_args(request)
    report = queries.status(community, month)
    query = urlencode({"area": community.pk, "month": f"{month:%Y-%m}"})
    context = {
        "report": report,
        "community": community,
        "month": month,
        "month_text": f"{month:%Y-%m}",
        "is_this_month": month == queries.month_of(),
        "communities": queries.staff_communities(request.user)[:COMMUNITY_LIMIT],
        "query": query,
        "unit_form": UnitForm(),
    }
    return render(request, "reportin/status.html", context)


@never_cache
@staff_view
def status_xlsx(request):
    community, month = _status_args(request)
    report = queries.status(community, month)
    response = HttpResponse(sheets.status_xlsx(report), content_type=sheets.XLSX)
    response["Content-Disposition"] = f'attachment; filename="report-in-{community.pk}-{month:%Y-%m}.xlsx"'
    return response


@require_POST
@staff_view
def record_unit(request, organisation_id):
    unit = queries.unit_or_404(request.user, organisation_id)
    form = UnitForm(request.POST)
    note = form.cleaned_data.get("note", "") if form.is_valid() else ""
    try:
        _done, created = services.record_unit(unit, by=request.user, note=note)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        if created:
            messages.success(request, _("Recorded the report-in of %(name)s.") % {"name": unit.name})
        else:
            messages.info(request, _("%(name)s has already reported in this month.") % {"name": unit.name})
    url = reverse("reportin:status") + "?" + urlencode({"area": unit.community_pk})
    return redirect(url)
