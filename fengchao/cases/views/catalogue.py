"""The grid centre's settings pages: the category tree, one category with its history, the work calendar.

Only `catalogue.can_manage_catalogue` users open them; to everyone else they do not exist (404).
Writes go through `fengchao.cases.catalogue`; its refusals come back onto the form fields by name.
"""

import datetime as dt
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from fengchao.departments.models import Department
from fengchao.registry.forms import Form, apply_errors

from .. import catalogue
from ..choices import CategoryKind, HandlingMode, LimitUnit, Stage, Tier
from ..models import CalendarDay, Category, WorkSchedule
from ..suggest import normalise


def catalogue_view(view):
    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not catalogue.can_manage_catalogue(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


# ---- forms ---------------------------------------------------------------------------------------------


class CategoryForm(Form):
    """What the grid centre types; `catalogue` cleans and checks it (limits, tree, department)."""

    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=16,
        help_text=gettext_lazy("B… components (部件), S… events (事件), G… social governance; unique."),
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=60)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=CategoryKind.choices)
    parent = forms.ChoiceField(label=gettext_lazy("Parent"), required=False)
    default_tier = forms.ChoiceField(label=gettext_lazy("Handled at"), choices=Tier.choices)
    default_department = forms.ChoiceField(
        label=gettext_lazy("Department"),
        required=False,
        help_text=gettext_lazy("Needed when the category is handled by a department."),
    )
    handling_mode = forms.ChoiceField(label=gettext_lazy("Handling mode"), choices=HandlingMode.choices)
    photo_required = forms.BooleanField(label=gettext_lazy("A photo is required when reporting"), required=False)
    registration_standard = forms.CharField(
        label=gettext_lazy("Registration standard (立案标准)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("When a report is taken up as a case."),
    )
    closing_standard = forms.CharField(
        label=gettext_lazy("Closing standard (结案标准)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("What must be true on site before the case is closed."),
    )
    keywords = forms.CharField(
        label=gettext_lazy("Keywords"),
        required=False,
        max_length=300,
        help_text=gettext_lazy(
            "Words in a report that suggest this category, separated by spaces, e.g. 飞线 充电 电动车."
        ),
    )
    is_active = forms.BooleanField(
        label=gettext_lazy("In use"),
        required=False,
        initial=True,
        help_text=gettext_lazy("Taking a category out of use takes its subcategories out of use too."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, category: Category | None = None, parents=(), **kwargs):
        super().__init__(*args, **kwargs)
        for stage, label in Stage.choices:
            self.fields[f"{stage}_limit"] = forms.CharField(
                label=label, widget=forms.NumberInput(attrs={"min": 1, "max": 999, "inputmode": "numeric"})
            )
            self.fields[f"{stage}_unit"] = forms.ChoiceField(label=label, choices=LimitUnit.choices)
        self.fields["parent"].choices = [("", _("— none (a top-level class) —"))] + [
            (str(c.pk), "\u3000" * depth + str(c)) for c, depth in parents if category is None or c.pk != category.pk
        ]
        departments = Department.objects.filter(is_active=True).order_by("code")
        current = category.default_department if category is not None else None
        choices = [(str(d.pk), d.name) for d in departments]
        if current is not None and all(pk != str(current.pk) for pk, _label in choices):
            choices.append((str(current.pk), current.name))
        self.fields["default_department"].choices = [("", "—")] + choices

    def limit_rows(self):
        return [(label, self[f"{stage}_limit"], self[f"{stage}_unit"]) for stage, label in Stage.choices]

    def settings(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        return data


def initial_of(category: Category) -> dict:
    initial = {name: getattr(category, name) for name in catalogue.CATEGORY_FIELDS}
    initial["parent"] = str(category.parent_id or "")
    initial["default_department"] = str(category.default_department_id or "")
    initial["version"] = category.version
    return initial


class CalendarDayForm(Form):
    date = forms.CharField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    is_working = forms.TypedChoiceField(
        label=gettext_lazy("This day is"),
        coerce=lambda value: value == "1",
        choices=[
            ("0", gettext_lazy("a holiday (no work)")),
            ("1", gettext_lazy("a working day (weekend worked, 调休)")),
        ],
        widget=forms.RadioSelect,
        initial="0",
    )
    name = forms.CharField(
        label=gettext_lazy("Name"),
        required=False,
        max_length=50,
        help_text=gettext_lazy("e.g. 国庆节, or 国庆节调休上班"),
    )


class WorkingHoursForm(Form):
    morning_start = forms.CharField(label=gettext_lazy("Morning from"), widget=forms.TimeInput(attrs={"type": "time"}))
    morning_end = forms.CharField(label=gettext_lazy("Morning until"), widget=forms.TimeInput(attrs={"type": "time"}))
    afternoon_start = forms.CharField(
        label=gettext_lazy("Afternoon from"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    afternoon_end = forms.CharField(
        label=gettext_lazy("Afternoon until"), widget=forms.TimeInput(attrs={"type": "time"})
    )


# ---- categories ----------------------------------------------------------------------------------------


def tree_order(categories) -> list[tuple[Category, int]]:
    """Categories depth first under their parents (by code), each with its depth."""
    children: dict[int | None, list[Category]] = {}
    for category in sorted(categories, key=lambda c: c.code):
        children.setdefault(category.parent_id, []).append(category)
    ordered, stack = [], [(c, 0) for c in reversed(children.get(None, []))]
    while stack:
        category, depth = stack.pop()
        ordered.append((category, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(category.pk, [])))
    return ordered


@catalogue_view
def category_list(request):
    q = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    if kind not in CategoryKind.values:
        kind = ""
    ordered = tree_order(Category.objects.select_related("default_department"))
    has_children = {c.parent_id for c, _depth in ordered}
    rows = [{"category": c, "depth": depth, "is_leaf": c.pk not in has_children} for c, depth in ordered]
    if q or kind:
        rows = _matching_with_ancestors(rows, normalise(q), kind)
    context = {
        "rows": rows,
        "q": q,
        "kind": kind,
        "kinds": CategoryKind.choices,
        "filtered": bool(q or kind),
        "tab": "categories",
    }
    return render(request, "cases/catalogue/categories.html", context)


def _matching_with_ancestors(rows, q: str, kind: str) -> list[dict]:
    """The rows that match, and their ancestors for context (marked so the page can dim them)."""
    by_pk = {row["category"].pk: row for row in rows}
    keep: dict[int, bool] = {}
    for row in rows:
        c = row["category"]
        if kind and c.kind != kind:
            continue
        if q and not any(q in normalise(text) for text in (c.code, c.name, c.keywords)):
            continue
        keep[c.pk] = True
        parent_id = c.parent_id
        while parent_id is not None and parent_id not in keep:
            keep[parent_id] = False
            parent_id = by_pk[parent_id]["category"].parent_id if parent_id in by_pk else None
    return [{**row, "context_only": not keep[row["category"].pk]} for row in rows if row["category"].pk in keep]


@catalogue_view
def category_create(request):
    ordered = tree_order(Category.objects.all())
    initial = {"is_active": True}
    parent_pk = request.GET.get("parent", "")
    parent = next((c for c, _depth in ordered if str(c.pk) == parent_pk), None)
    template = parent or Category()
    initial.update(
        {name: getattr(template, name) for name in catalogue.CATEGORY_FIELDS if name not in ("code", "name")}
    )
    initial.update(
        parent=str(parent.pk) if parent else "", default_department=str(template.default_department_id or "")
    )
    if parent is not None:
        initial.update(code=parent.code, registration_standard="", closing_standard="", keywords="")
    form = CategoryForm(request.POST if request.method == "POST" else None, parents=ordered, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            category = catalogue.create_category(request.user, **form.settings())
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Category %(category)s added.") % {"category": category})
            return redirect("catalogue:category_edit", pk=category.pk)
    context = {"form": form, "title": _("Add a category"), "submit": _("Add"), "tab": "categories"}
    return render(request, "cases/catalogue/category_form.html", context)


@catalogue_view
def category_edit(request, pk):
    category = Category.objects.select_related("parent", "default_department").filter(pk=pk).first()
    if category is None:
        raise Http404
    ordered = tree_order(Category.objects.all())
    form = CategoryForm(
        request.POST if request.method == "POST" else None,
        category=category,
        parents=ordered,
        initial=initial_of(category),
    )
    if request.method == "POST" and form.is_valid():
        expected = form.cleaned_data.get("version")
        try:
            category = catalogue.update_category(category, request.user, expected, **form.settings())
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Category %(category)s saved.") % {"category": category})
            return redirect("catalogue:category_edit", pk=category.pk)
    context = {
        "form": form,
        "category": category,
        "title": str(category),
        "submit": _("Save"),
        "history": catalogue.history(category),
        "add_child_url": reverse("catalogue:category_create") + f"?parent={category.pk}",
        "tab": "categories",
    }
    return render(request, "cases/catalogue/category_form.html", context)


# ---- the work calendar ---------------------------------------------------------------------------------


def _year(raw, default: int) -> int:
    try:
        year = int(raw)
    except (TypeError, ValueError):
        return default
    return year if catalogue.FIRST_YEAR <= year <= catalogue.LAST_YEAR else default


def _calendar_page(request, year: int, *, day_form=None, hours_form=None):
    today = timezone.localdate()
    days = list(CalendarDay.objects.filter(date__gte=dt.date(year, 1, 1), date__lt=dt.date(year + 1, 1, 1)))
    months: dict[int, list[CalendarDay]] = {}
    for day in days:
        months.setdefault(day.date.month, []).append(day)
    if day_form is None:
        chosen = next((d for d in days if d.date.isoformat() == request.GET.get("date")), None)
        initial = {"date": request.GET.get("date", ""), "is_working": "0"}
        if chosen is not None:
            initial.update(is_working="1" if chosen.is_working else "0", name=chosen.name)
        day_form = CalendarDayForm(initial=initial)
    if hours_form is None:
        schedule = WorkSchedule.objects.order_by("pk").first() or WorkSchedule()
        hours_form = WorkingHoursForm(
            initial={
                name: _hhmm(getattr(schedule, name))
                for name in ("morning_start", "morning_end", "afternoon_start", "afternoon_end")
            }
        )
    context = {
        "year": year,
        "years": [year - 1, year, year + 1],
        "months": [{"first": dt.date(year, m, 1), "days": months[m]} for m in sorted(months)],
        "holiday_count": sum(1 for d in days if not d.is_working),
        "working_count": sum(1 for d in days if d.is_working),
        "missing_years": catalogue.years_without_holidays(today),
        "day_form": day_form,
        "hours_form": hours_form,
        "today": today,
        "tab": "calendar",
    }
    return render(request, "cases/catalogue/calendar.html", context)


def _hhmm(value) -> str:
    return value.strftime("%H:%M") if isinstance(value, dt.time) else str(value)[:5]


@catalogue_view
def calendar_page(request):
    return _calendar_page(request, _year(request.GET.get("year"), timezone.localdate().year))


@catalogue_view
@require_POST
def calendar_day(request):
    form = CalendarDayForm(request.POST)
    year = _year(request.POST.get("date", "")[:4], timezone.localdate().year)
    if form.is_valid():
        data = form.cleaned_data
        try:
            entry = catalogue.set_calendar_day(request.user, data["date"], data["is_working"], data["name"])
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("%(date)s saved.") % {"date": entry.date.isoformat()})
            return redirect(reverse("catalogue:calendar") + f"?year={entry.date.year}")
    return _calendar_page(request, year, day_form=form)


@catalogue_view
@require_POST
def calendar_day_remove(request):
    raw = request.POST.get("date", "")
    year = _year(raw[:4], timezone.localdate().year)
    try:
        catalogue.clear_calendar_day(request.user, raw)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("%(date)s follows the weekday rule again.") % {"date": raw})
    return redirect(reverse("catalogue:calendar") + f"?year={year}")


@catalogue_view
@require_POST
def working_hours(request):
    form = WorkingHoursForm(request.POST)
    if form.is_valid():
        try:
            catalogue.set_working_hours(request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Working hours saved."))
            return redirect("catalogue:calendar")
    return _calendar_page(request, _year(request.GET.get("year"), timezone.localdate().year), hours_form=form)
