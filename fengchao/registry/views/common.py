"""What the registry pages share: who may open them, area pickers, keyset lists, filter bars, export links."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from fengchao.areas.levels import LEVEL_OF_KIND, AreaKind
from fengchao.areas.models import Area, subtree_q
from fengchao.areas.scope import can_see_area
from fengchao.core.keyset import keyset_page

from .. import queries
from ..forms import RecordField, area_label

PAGE_SIZE = 30
# Areas offered in the filter bars: down to grids (micro-grids are reached from their grid's page).
FILTER_AREA_MAX_LEVEL = LEVEL_OF_KIND[AreaKind.GRID]
FILTER_AREA_OPTIONS = 300


def registry_view(view):
    """Logged in and holding a registry role somewhere; everyone else finds nothing here (404)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not queries.can_use_registry(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def editable_or_404(user, obj):
    """Registry records are edited by those who may edit in their area; to others they do not exist."""
    if not queries.can_edit_in(user, obj.area):
        raise Http404
    return obj


def check_editable_area(user, area) -> None:
    if area is not None and not queries.can_edit_in(user, area):
        raise Http404


def posted(request):
    """The POST data to bind a form to (even when empty, so a blank form is told what is missing), or None."""
    return request.POST if request.method == "POST" else None


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


# ---- areas ---------------------------------------------------------------------------------------------


def crumbs(user, area: Area) -> list[dict]:
    """The area and its ancestors as crumbs; those outside the user's sight carry no link."""
    trail = list(Area.objects.filter(pk__in=[*area.ancestor_pks(), area.pk]).only("pk", "name", "path", "kind"))
    trail.sort(key=lambda a: len(a.path))
    return [{"area": a, "linked": can_see_area(user, a)} for a in trail]


def area_field(user, kinds, *, within: Area | None = None, label=None, required=True, initial=None) -> RecordField:
    """A picker of the areas in the user's registry scope where this kind of record may sit."""
    qs = queries.areas_visible_to(user).filter(kind__in=kinds, is_active=True)
    options = qs.order_by("path")
    if within is not None:
        options = options.filter(subtree_q(within.path))
    field = RecordField(
        qs,
        options=options,
        label_of=area_label,
        label=label or _("Area"),
        required=required,
        help_text="",
    )
    if field.truncated:
        field.help_text = _("Only the first areas are listed: open this form from an area's page to pick within it.")
    if initial is not None:
        field.add_option(initial, area_label(initial))
        field.initial = initial.pk
    return field


def building_field(user, *, within: Area | None = None, initial=None, required=False) -> RecordField:
    qs = queries.buildings_visible_to(user).filter(is_active=True).select_related("area")
    options = qs.order_by("area__path", "name", "pk")
    if within is not None:
        options = options.filter(subtree_q(within.path, "area__"))

    def label(b):
        return f"{b.area.name} · {b.name}"

    field = RecordField(qs, options=options, label_of=label, label=_("Building"), required=required)
    if field.truncated:
        field.help_text = _("Only the first buildings are listed: open this form from the building's page.")
    if initial is not None:
        field.add_option(initial, label(initial))
        field.initial = initial.pk
    return field


def area_from_param(user, request, name="area") -> Area | None:
    """An area named in the query string (?area=…): in the user's registry scope, else 404."""
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404
    return queries.object_or_404(queries.areas_visible_to(user), int(raw))


def current_filter_area(user, request) -> Area | None:
    """The list's area filter (404 outside the scope); a malformed one is reported by the list's filter."""
    from .. import filters

    try:
        return filters.filter_area(user, request.GET)
    except ValidationError:
        return None


def filter_area_options(user, current: Area | None) -> list[tuple[str, str]]:
    areas = list(
        queries.areas_visible_to(user)
        .filter(is_active=True, level__lte=FILTER_AREA_MAX_LEVEL)
        .order_by("path")
        .only("pk", "name", "kind", "level")[:FILTER_AREA_OPTIONS]
    )
    top = min((a.level for a in areas), default=0)
    options = [(str(a.pk), "\u3000" * (a.level - top) + a.name) for a in areas]
    if current is not None and all(a.pk != current.pk for a in areas):
        options.insert(0, (str(current.pk), current.name))
    return [("", _("All my areas")), *options]


def create_label(entity: str) -> str:
    return {
        "residents": _("Add a resident"),
        "households": _("Add a household"),
        "buildings": _("Add a building"),
        "places": _("Add a place"),
        "organisations": _("Add an organisation"),
    }[entity]


def grouped(form, groups) -> dict:
    """Fields of a form shown in fieldsets: groups of (legend, [field names]); the other fields follow."""
    placed = {name for _legend, names in groups for name in names}
    return {
        "groups": [
            {"legend": legend, "fields": [form[name] for name in names if name in form.fields]}
            for legend, names in groups
        ],
        "rest": [form[name] for name in form.fields if name not in placed and not form[name].is_hidden],
    }


# ---- lists ---------------------------------------------------------------------------------------------


def keyset(qs, fields, key, cursor: str | None, size: int = PAGE_SIZE):
    """One page ordered by `fields` ('-' for descending, all in the same direction), and the next cursor."""
    return keyset_page(qs, fields, key, cursor, size)


def query_without(request, *drop) -> str:
    params = [(k, v) for k, values in request.GET.lists() for v in values if k not in drop and v != ""]
    return urlencode(params)


def next_url(request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    rest = query_without(request, "cursor")
    return "?" + (f"{rest}&" if rest else "") + urlencode({"cursor": cursor})


def export_url(request, entity: str) -> str | None:
    """The Excel export of this list with the same filters (None until the export pages exist)."""
    try:
        base = reverse("registry_excel:export", args=[entity])
    except NoReverseMatch:
        return None
    rest = query_without(request, "cursor")
    return f"{base}?{rest}" if rest else base


def filter_errors(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [m for messages in error.message_dict.values() for m in messages]
    return list(error.messages)


def control(name, label, request, *, options=None, placeholder=""):
    """One control of a list's filter bar (registry/list.html): the first is the search box, the others selects."""
    return {
        "name": name,
        "label": label,
        "value": request.GET.get(name, ""),
        "options": options,
        "placeholder": placeholder,
    }


CREATE_URLS = {
    "residents": "registry:resident_create",
    "households": "registry:household_create",
    "buildings": "registry:building_create",
    "places": "registry:place_create",
    "organisations": "registry:organisation_create",
}


def list_template(request, context) -> str:
    return context["results_template"] if is_htmx(request) else "registry/list.html"


def list_context(request, *, entity, rows, cursor, controls, errors=(), title, current_area=None, **extra) -> dict:
    create_url = reverse(CREATE_URLS[entity])
    if current_area is not None:
        create_url += "?" + urlencode({"area": current_area.pk})
    return {
        "entity": entity,
        "results_template": f"registry/_{entity}_results.html",
        "create_url": create_url,
        "create_label": create_label(entity),
        "current_area": current_area,
        "title": title,
        "rows": rows,
        "next_url": next_url(request, cursor),
        "first_url": "?" + query_without(request, "cursor") if request.GET.get("cursor") else None,
        "controls": controls,
        "filters_open": any(c["value"] for c in controls[1:]),
        "errors": list(errors),
        "export_url": export_url(request, entity),
        "query_string": query_without(request, "cursor"),
        **extra,
    }
