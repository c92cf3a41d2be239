"""The points report of an area for a year: points granted per month and kind, top earners, claims by state,
and the areas within (a street's communities, a community's grids)."""

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from . import reads
from .common import area_options, staff_view

FIRST_YEAR = 2000


def _year(raw) -> int:
    this_year = timezone.localdate().year
    try:
        year = int(raw)
    except (TypeError, ValueError):
        return this_year
    return year if FIRST_YEAR <= year <= this_year + 1 else this_year


@staff_view
def report(request):
    user = request.user
    raw = request.GET.get("area", "")
    area = reads.staff_area_or_404(user, raw) if raw else reads.default_staff_area(user)
    if area is None:
        raise Http404
    year = _year(request.GET.get("year"))
    figures = reads.report(area, year)
    this_year = timezone.localdate().year
    context = {
        "area": area,
        "figures": figures,
        "year": year,
        "years": list(range(this_year, max(FIRST_YEAR, this_year - 5) - 1, -1)),
        "area_choices": area_options(user, area),
        "crumbs": reads.staff_crumbs(user, area),
        "tab": "report",
    }
    return render(request, "points/report.html", context)
