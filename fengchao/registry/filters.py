"""The filters of the registry's lists, in one place: list pages, the API and Excel exports use them alike.

Each `filter_<entity>(user, params)` starts from the `*_visible_to(user)` queryset and narrows it by a
dict of GET-style parameters (strings; empty values are ignored, unknown keys too). An `area` outside
the user's scope raises Http404, like a record outside it; a malformed value raises
ValidationError({key: message}) in the user's language. The querysets come back unordered: the caller
orders them (keyset pagination, exports by pk).
"""

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fengchao.areas.models import Area, subtree_q
from fengchao.core.privacy import FULL_WIDTH

from . import queries, search, search_keys, validation
from .choices import OrganisationKind, PlaceKind, ResidenceType, ResidentStatus
from .models import PLACE_SAFETY_FLAGS

MAX_ID = 2**63 - 1
ALL = "all"  # status=all: residents (or households) whatever their status

# Accepted keys per entity, with what each means (also shown in the API docs).
FILTER_KEYS: dict[str, dict[str, str]] = {
    "residents": {
        "area": gettext_lazy("area id: residents of that area and every area below it"),
        "q": gettext_lazy("search: name, pinyin, initials, last four digits, whole phone or ID number, address"),
        "care_tag": gettext_lazy("care tag code, e.g. elderly_alone"),
        "residence_type": gettext_lazy("residence type code"),
        "status": gettext_lazy("living (the default), moved_out, deceased, or all"),
        "building": gettext_lazy("building id: residents of households in that building"),
        "party_member": gettext_lazy("是/否 (or 1/0, true/false): party members only, or non-members only"),
    },
    "households": {
        "area": gettext_lazy("area id: households of that area and every area below it"),
        "q": gettext_lazy("address contains (simplified and traditional alike)"),
        "status": gettext_lazy("living (the default: households living here), moved_out, or all"),
        "building": gettext_lazy("building id"),
    },
    "buildings": {
        "area": gettext_lazy("area id: buildings of that area and every area below it"),
        "q": gettext_lazy("building name or address contains"),
        "status": gettext_lazy("active (the default), inactive, or all"),
    },
    "places": {
        "area": gettext_lazy("area id: places of that area and every area below it"),
        "q": gettext_lazy("name starts with (simplified and traditional alike)"),
        "kind": gettext_lazy("place kind code"),
        "flag": gettext_lazy(
            "safety flag field: is_crowded, is_fire_key_unit, is_small_venue, has_hazardous_materials"
        ),
        "building": gettext_lazy("building id"),
        "status": gettext_lazy("active (the default: open), inactive, or all"),
    },
    "organisations": {
        "area": gettext_lazy("area id: organisations of that area and every area below it"),
        "q": gettext_lazy("name starts with (simplified and traditional alike)"),
        "kind": gettext_lazy("organisation kind code"),
        "status": gettext_lazy("active (the default), inactive, or all"),
    },
}


# ---- parameter parsing -------------------------------------------------------------------------------


def _get(params: Mapping, key: str) -> str:
    value = params.get(key) if params is not None else None
    if isinstance(value, list | tuple):  # QueryDict.lists() style
        value = value[-1] if value else None
    return str(value).strip() if value not in (None, "") else ""


def _int(params: Mapping, key: str) -> int | None:
    raw = _get(params, key)
    if not raw:
        return None
    folded = raw.translate(FULL_WIDTH)
    if not folded.isdigit() or not 1 <= int(folded) <= MAX_ID:
        raise ValidationError({key: _("“%(value)s” is not a valid id.") % {"value": raw[:40]}})
    return int(folded)


def _choice(params: Mapping, key: str, choices) -> str:
    raw = _get(params, key)
    if not raw:
        return ""
    return validation.clean_choice(raw, choices, key)


def _flag(params: Mapping, key: str) -> bool | None:
    raw = _get(params, key)
    if not raw:
        return None
    return validation.clean_flag(raw, key)


def filter_area(user, params: Mapping) -> Area | None:
    """The area filtered on, if any: it must lie in the user's registry scope (else 404)."""
    pk = _int(params, "area")
    if pk is None:
        return None
    area = queries.areas_visible_to(user).filter(pk=pk).first()
    if area is None:
        raise Http404(_("No such area in your areas."))
    return area


def _in_area(qs: QuerySet, user, params: Mapping) -> QuerySet:
    area = filter_area(user, params)
    return qs.filter(subtree_q(area.path, "area__")) if area is not None else qs


def _active_status(qs: QuerySet, params: Mapping, field: str = "is_active") -> QuerySet:
    status = _get(params, "status").lower()
    if status in ("", "active"):
        return qs.filter(**{field: True})
    if status == "inactive":
        return qs.filter(**{field: False})
    if status == ALL:
        return qs
    raise ValidationError({"status": _("Choose active, inactive or all.")})


def _building(user, params: Mapping):
    pk = _int(params, "building")
    if pk is None:
        return None
    building = queries.buildings_visible_to(user).filter(pk=pk).first()
    if building is None:
        raise Http404(_("No such building in your areas."))
    return building


# ---- one function per entity ------------------------------------------------------------------------


def filter_residents(user, params: Mapping) -> QuerySet:
    qs = _in_area(queries.residents_visible_to(user), user, params)
    status = _get(params, "status")
    if status.lower() == ALL:
        status_code = ALL
    else:
        status_code = validation.clean_choice(status, ResidentStatus, "status", required=False) or ResidentStatus.LIVING
    q = _get(params, "q")
    if q:
        qs = search.search_residents(qs, q, include_left=True)
    if status_code != ALL:
        qs = qs.filter(status=status_code)
    care_tag = _get(params, "care_tag")
    if care_tag:
        from .models import CareTag

        if not CareTag.objects.filter(code=care_tag).exists():
            raise ValidationError({"care_tag": _("“%(value)s” is not a care tag.") % {"value": care_tag[:40]}})
        qs = qs.filter(care_tag_links__tag__code=care_tag)
    residence_type = _choice(params, "residence_type", ResidenceType)
    if residence_type:
        qs = qs.filter(residence_type=residence_type)
    building = _building(user, params)
    if building is not None:
        qs = qs.filter(household__room__building=building)
    party = _flag(params, "party_member")
    if party is not None:
        qs = qs.filter(is_party_member=party)
    return qs


def filter_households(user, params: Mapping) -> QuerySet:
    qs = _in_area(queries.households_visible_to(user), user, params)
    status = _get(params, "status").lower()
    if status in ("", ResidentStatus.LIVING, "active"):
        qs = qs.filter(is_active=True)
    elif status in (ResidentStatus.MOVED_OUT, "inactive"):
        qs = qs.filter(is_active=False)
    elif status != ALL:
        raise ValidationError({"status": _("Choose living, moved_out or all.")})
    q = _get(params, "q")
    if q:
        key = search_keys.name_key(q)
        qs = qs.filter(address_key__contains=key) if key else qs.none()
    building = _building(user, params)
    if building is not None:
        qs = qs.filter(room__building=building)
    return qs


def filter_buildings(user, params: Mapping) -> QuerySet:
    qs = _active_status(_in_area(queries.buildings_visible_to(user), user, params), params)
    q = " ".join(_get(params, "q").split())
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(address__contains=q))
    return qs


def _name(qs: QuerySet, params: Mapping) -> QuerySet:
    q = _get(params, "q")
    if not q:
        return qs
    condition = search.name_filter(q)
    return qs.filter(condition) if condition is not None else qs.none()


def filter_places(user, params: Mapping) -> QuerySet:
    qs = _active_status(_in_area(queries.places_visible_to(user), user, params), params)
    qs = _name(qs, params)
    kind = _choice(params, "kind", PlaceKind)
    if kind:
        qs = qs.filter(kind=kind)
    flag = _get(params, "flag")
    if flag:
        if flag not in PLACE_SAFETY_FLAGS:
            raise ValidationError({"flag": _("Choose one of: %(flags)s.") % {"flags": ", ".join(PLACE_SAFETY_FLAGS)}})
        qs = qs.filter(**{flag: True})
    building = _building(user, params)
    if building is not None:
        qs = qs.filter(building=building)
    return qs


def filter_organisations(user, params: Mapping) -> QuerySet:
    qs = _active_status(_in_area(queries.organisations_visible_to(user), user, params), params)
    qs = _name(qs, params)
    kind = _choice(params, "kind", OrganisationKind)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


FILTERS = {
    "residents": filter_residents,
    "households": filter_households,
    "buildings": filter_buildings,
    "places": filter_places,
    "organisations": filter_organisations,
}


def filter_entity(entity: str, user, params: Mapping) -> QuerySet:
    try:
        fn = FILTERS[entity]
    except KeyError:
        raise Http404 from None
    return fn(user, params)


def clean_params(entity: str, params: Mapping) -> dict[str, str]:
    """Only the accepted, non-empty keys of `params`, as plain strings (stored with export jobs and logs)."""
    return {key: _get(params, key) for key in FILTER_KEYS.get(entity, {}) if _get(params, key)}
