"""The figures pages: an area's cases by state and category, the three rates and more, per child area; per department.

Anyone with a case role sees the areas of their scope (an area outside it is 404); department handlers see
their own department's page only, district administrators every department of their districts.
"""

import datetime as dt
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from fengchao.accounts.roles import Role
from fengchao.areas.models import Area
from fengchao.areas.scope import path_is_visible, scope_paths, scope_roots
from fengchao.departments.models import Department

from .. import kpis, queries
from ..choices import CaseState
from ..exporting import export_kpis, figure_columns
from ..models import Category
from ..queries import CASE_ROLES, held_roles

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MONTHS_MAX = 36


# --- who may see what ------------------------------------------------------------------------------


def sees_areas(user) -> bool:
    return bool(scope_paths(user, CASE_ROLES))


def sees_figures(user) -> bool:
    """Area figures for case roles; a department's figures for its handlers."""
    return sees_areas(user) or bool(queries.department_roles(user))


def visible_departments(user):
    """The departments whose figures the user may see: their own (handlers), those of their districts (admins)."""
    if user.is_superuser:
        return Department.objects.all()
    own = queries.department_ids(user)
    districts = [h.path for h in held_roles(user) if h.role == Role.DISTRICT_ADMIN]
    visible = Department.objects.filter(pk__in=own)
    for path in districts:
        visible = visible | Department.objects.filter(area__path__startswith=path)
    return visible.distinct()


def area_or_404(user, pk) -> Area:
    area = get_object_or_404(Area, pk=pk)
    if not path_is_visible(user, area.path, CASE_ROLES):
        raise Http404
    return area


# --- the filters ------------------------------------------------------------------------------------


class Period:
    """The months and category chosen on the page (?from=YYYY-MM&to=YYYY-MM&category=code), checked."""

    def __init__(self, params):
        self.errors: list[str] = []
        default_since, default_until = kpis.last_months(12)
        self.since = self._month(params.get("from"), default_since, "from")
        self.until = self._month(params.get("to"), default_until, "to")
        if self.until < self.since:
            self.errors.append(_("The last month is before the first; showing the last 12 months."))
            self.since, self.until = default_since, default_until
        elif kpis.add_months(self.since, MONTHS_MAX - 1) < self.until:
            self.errors.append(_("At most %(n)d months at a time; showing the last of them.") % {"n": MONTHS_MAX})
            self.since = kpis.add_months(self.until, 1 - MONTHS_MAX)
        code = (params.get("category") or "").strip()
        self.category = Category.objects.filter(code=code).first() if code else None
        if code and self.category is None:
            self.errors.append(_("Unknown category “%(code)s”; showing every category.") % {"code": code[:20]})

    def _month(self, raw, default: dt.date, name: str) -> dt.date:
        raw = (raw or "").strip()
        if not raw:
            return default
        try:
            return dt.datetime.strptime(raw[:7], "%Y-%m").date()
        except ValueError:
            self.errors.append(_("“%(value)s” is not a month (YYYY-MM); using the default.") % {"value": raw[:20]})
            return default

    def query(self, **extra) -> str:
        params = {"from": f"{self.since:%Y-%m}", "to": f"{self.until:%Y-%m}"}
        if self.category is not None:
            params["category"] = self.category.code
        params.update(extra)
        return urlencode(params)

    def case_list_query(self, area: Area) -> str:
        """The same cases as filters of the case list (and its export): reported from the first day to the last."""
        last_day = kpis.add_months(self.until, 1) - dt.timedelta(days=1)
        params = {"area": area.pk, "from": self.since.isoformat(), "to": last_day.isoformat()}
        if self.category is not None:
            params["category"] = self.category.code
        return urlencode(params)

    @property
    def label(self) -> str:
        return f"{self.since:%Y-%m} – {self.until:%Y-%m}"

    def kwargs(self) -> dict:
        return {"since": self.since, "until": self.until, "category": self.category}


def category_options() -> list[tuple[str, str]]:
    """Parent categories (the levels above the leaves) to filter by, indented; leaves are too many for a select."""
    rows = list(Category.objects.order_by("code").values_list("pk", "code", "name", "parent_id"))
    parents = {parent for *_rest, parent in rows if parent is not None}
    parent_of = {pk: parent for pk, _code, _name, parent in rows}

    def depth(pk):
        steps = 0
        while parent_of.get(pk) is not None and steps < 5:
            pk, steps = parent_of[pk], steps + 1
        return steps

    return [(code, "\u3000" * depth(pk) + f"{code} {name}") for pk, code, name, _parent in rows if pk in parents]


# --- pages -----------------------------------------------------------------------------------------------


@login_required
def figures_home(request):
    """Straight to the user's one area (or department); a choice when there are several."""
    user = request.user
    if not sees_areas(user):
        departments = list(visible_departments(user)[:2])
        if len(departments) == 1:
            return redirect("cases_figures:department", pk=departments[0].pk)
        if departments:
            return redirect("cases_figures:departments")
        raise Http404
    roots = list(scope_roots(user, CASE_ROLES).order_by("path"))
    if len(roots) == 1:
        return redirect("cases_figures:area", pk=roots[0].pk)
    return render(
        request,
        "cases/figures/home.html",
        {"roots": roots, "has_departments": visible_departments(user).exists()},
    )


def _breadcrumbs(user, area: Area) -> list[dict]:
    ancestors = Area.objects.filter(pk__in=area.ancestor_pks()).order_by("level")
    return [{"area": a, "linked": path_is_visible(user, a.path, CASE_ROLES)} for a in ancestors]


@login_required
def area_figures(request, pk):
    user = request.user
    area = area_or_404(user, pk)
    period = Period(request.GET)
    figures = kpis.area_kpis(area, **period.kwargs())
    figures["open"] = kpis.open_count(figures)
    children = list(area.children.filter(is_active=True).order_by("code"))
    by_child = kpis.children_kpis(area, **period.kwargs()) if children else {}
    columns = figure_columns()
    child_rows = []
    for child in children:
        child_figures = by_child.get(child.pk) or kpis.empty_child_figures()
        child_rows.append(
            {
                "area": child,
                "url": reverse("cases_figures:area", args=[child.pk]) + "?" + period.query(),
                "cells": [_cell(column, child_figures) for column in columns],
            }
        )
    states = _states(figures)
    chart = _chart(figures, states)
    context = {
        "area": area,
        "crumbs": _breadcrumbs(user, area),
        "period": period,
        "errors": period.errors,
        "figures": figures,
        "tiles": _tiles(figures),
        "stage_rows": _stage_rows(figures),
        "states": states,
        "top_leaves": figures["by_category"]["leaf"][:10],
        "columns": [c[0] for c in columns],
        "child_rows": child_rows,
        "total_cells": [_cell(column, figures) for column in columns],
        "chart": chart,
        "category_options": category_options(),
        "form": {
            "from": f"{period.since:%Y-%m}",
            "to": f"{period.until:%Y-%m}",
            "category": period.category.code if period.category else "",
        },
        "export_url": reverse("cases_figures:area_export", args=[area.pk]) + "?" + period.query(),
        "cases_url": reverse("cases:list") + "?" + period.case_list_query(area),
        "cases_export_url": reverse("cases:export") + "?" + period.case_list_query(area),
        "has_departments": visible_departments(user).exists(),
    }
    return render(request, "cases/figures/area.html", context)


@login_required
def area_figures_export(request, pk):
    user = request.user
    area = area_or_404(user, pk)
    period = Period(request.GET)
    children = list(area.children.filter(is_active=True).order_by("code"))
    by_child = kpis.children_kpis(area, **period.kwargs()) if children else {}
    totals = kpis.area_kpis(area, **period.kwargs())
    totals["open"] = kpis.open_count(totals)
    rows = [(child, by_child.get(child.pk) or kpis.empty_child_figures()) for child in children]
    try:
        data, filename = export_kpis(area, rows, totals, user, period=period.label)
    except ValidationError as error:  # pragma: no cover -- export_kpis refuses nothing today
        raise Http404 from error
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def departments(request):
    user = request.user
    visible = list(visible_departments(user).order_by("code"))
    if not visible:
        raise Http404
    period = Period(request.GET)
    rows = [
        {
            "department": d,
            "url": reverse("cases_figures:department", args=[d.pk]) + "?" + period.query(),
        }
        for d in visible
    ]
    return render(request, "cases/figures/departments.html", {"rows": rows, "period": period})


@login_required
def department_figures(request, pk):
    user = request.user
    department = visible_departments(user).filter(pk=pk).first()
    if department is None:
        raise Http404
    period = Period(request.GET)
    figures = kpis.department_kpis(department, **period.kwargs())
    figures["open"] = kpis.open_count(figures)
    states = _states(figures)
    chart = _chart(figures, states)
    context = {
        "department": department,
        "period": period,
        "errors": period.errors,
        "figures": figures,
        "tiles": _tiles(figures),
        "stage_rows": _stage_rows(figures),
        "states": states,
        "top_leaves": figures["by_category"]["leaf"][:10],
        "chart": chart,
        "category_options": category_options(),
        "form": {
            "from": f"{period.since:%Y-%m}",
            "to": f"{period.until:%Y-%m}",
            "category": period.category.code if period.category else "",
        },
        "show_all_departments": visible_departments(user).count() > 1,
    }
    return render(request, "cases/figures/department.html", context)


# --- presentation ------------------------------------------------------------------------------------------


def _states(figures) -> list[tuple]:
    return [(CaseState(s).label, n) for s, n in figures["by_state"].items() if n]


def _chart(figures, states) -> dict:
    """The data the state and category charts draw (passed to figures.js with json_script)."""
    return {
        "states": [[str(label), n] for label, n in states],
        "categories": [[row["name"], row["count"]] for row in figures["by_category"]["top"][:12]],
        "labels": {"cases": _("Cases")},
    }


def _percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _hours(value) -> str:
    return "—" if value is None else f"{value:.1f}"


def _cell(column, figures) -> str:
    _heading, _width, value, kind = column
    v = value(figures)
    if kind == "percent":
        return _percent(v)
    if kind == "hours":
        return _hours(v)
    return str(v)


def _tiles(figures) -> list[dict]:
    rates = figures["rates"]
    return [
        {"key": "response", "label": _("Response rate"), "value": _percent(rates["response"]),
         "formula": _("responded on time / dispatched")},
        {"key": "resolution", "label": _("Resolution rate"), "value": _percent(rates["resolution"]),
         "formula": _("resolved / accepted")},
        {"key": "satisfaction", "label": _("Satisfaction rate"), "value": _percent(rates["satisfaction"]),
         "formula": _("satisfied and basically satisfied / rated")},
        {"key": "on_time_closing", "label": _("On-time closing rate"), "value": _percent(rates["on_time_closing"]),
         "formula": _("closed on time / closed")},
        {"key": "rework", "label": _("Rework rate"), "value": _percent(rates["rework"]),
         "formula": _("reworked / resolved")},
    ]  # fmt: skip


def _stage_rows(figures) -> list[tuple[str, str]]:
    names = {
        "accept": _("Accept"),
        "dispatch": _("Dispatch"),
        "take": _("Respond"),
        "handle": _("Handle"),
        "verify": _("Verify"),
    }
    return [(names[stage], _hours(hours)) for stage, hours in figures["stage_hours"].items()]
