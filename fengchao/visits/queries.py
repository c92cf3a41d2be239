"""The one place that scopes care-visit reads, and works out who is due a visit.

- Visitors are the people serving a grid (PATROL_ROLES, as for patrols): a role held in a micro-grid opens the
  residents of the parent grid; a grid (or dedicated-grid) leader's role opens the residents below their area.
  They record visits to those residents and read every visit made to them.
- Staff (STAFF_ROLES: district, street, community staff, grid leaders) read the visits, coverage and overdue
  lists of the areas in their subtrees.
- Anything else answers 404, like what does not exist.

Scoping filters on the lineage columns that residents' care tags and visits carry (no join on the area path).
The due list is three queries whatever the number of subjects: the planned care tags of the living residents
in scope (with the plan's interval, the resident's name and address joined), and the last visit of each.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max, Q
from django.http import Http404
from django.utils import timezone

from fengchao.areas.models import Area
from fengchao.areas.scope import scope_paths
from fengchao.core import privacy
from fengchao.patrols.choices import STAFF_ROLES
from fengchao.patrols.queries import is_patroller, patrol_paths, staff_area_or_404, staff_roots  # noqa: F401
from fengchao.patrols.queries import is_staff as patrols_is_staff
from fengchao.registry.choices import ResidentStatus
from fengchao.registry.models import CareTag, Resident, ResidentCareTag

from .choices import DUE_SOON_DAYS
from .models import CarePlan, Visit

COLUMN_OF_LEVEL = {1: "district_pk", 2: "street_pk", 3: "community_pk", 4: "grid_pk", 5: "area_id"}


def lineage_q(paths) -> Q:
    """Rows (with lineage columns) under any of these area paths."""
    if "/" in paths:
        return Q()
    if not paths:
        return Q(pk__in=[])
    condition = Q()
    for path in paths:
        pks = path.strip("/").split("/")
        condition |= Q(**{COLUMN_OF_LEVEL[len(pks)]: int(pks[-1])})
    return condition


def is_visitor(user) -> bool:
    """Serves a grid: may record visits to the residents there."""
    return is_patroller(user)


def is_staff(user) -> bool:
    return patrols_is_staff(user)


def can_use(user) -> bool:
    return is_visitor(user) or is_staff(user)


def visit_paths(user) -> list[str]:
    """The subtrees whose residents this user visits (those of patrols)."""
    return patrol_paths(user)


def staff_paths(user) -> list[str]:
    return scope_paths(user, STAFF_ROLES)


def visits_in(user, area: Area) -> bool:
    return any(p == "/" or area.path.startswith(p) for p in visit_paths(user))


def residents_to_visit(user):
    return Resident.objects.filter(lineage_q(visit_paths(user)))


def resident_to_visit_or_404(user, pk) -> Resident:
    """A resident (living or not) of the grids the user serves, for the record form."""
    found = None
    if str(pk).isdigit():
        found = residents_to_visit(user).filter(pk=pk).select_related("household", "area").first()
    if found is None:
        raise Http404("No such resident for you.")
    return found


def subject_or_404(user, pk) -> Resident:
    """A resident whose visit history the user reads: in the grids they serve, or under their staff areas."""
    if not str(pk).isdigit():
        raise Http404("No such resident for you.")
    condition = lineage_q(visit_paths(user)) | lineage_q(staff_paths(user))
    found = Resident.objects.filter(condition, pk=pk).select_related("household", "area").first()
    if found is None:
        raise Http404("No such resident for you.")
    return found


def visits_visible_to(user):
    """One's own visits, those made in the grids one serves, and those under one's staff areas."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Visit.objects.none()
    condition = Q(visitor=user) | lineage_q(visit_paths(user)) | lineage_q(staff_paths(user))
    return Visit.objects.filter(condition)


def visit_or_404(user, pk) -> Visit:
    found = None
    if str(pk).isdigit():
        found = (
            visits_visible_to(user)
            .filter(pk=pk)
            .select_related("resident__household", "visitor", "area", "case__category")
            .first()
        )
    if found is None:
        raise Http404("No such visit.")
    return found


def my_recent_visits(user, limit=20):
    return Visit.objects.filter(visitor=user).select_related("resident", "area").order_by("-at", "-pk")[:limit]


def history_of(user, resident: Resident, limit=100):
    return (
        visits_visible_to(user)
        .filter(resident=resident)
        .select_related("visitor", "case__category")
        .order_by("-at", "-pk")[:limit]
    )


def plans():
    return CarePlan.objects.select_related("tag", "updated_by").order_by("tag__position", "tag__code")


def plans_page_rows() -> list[CarePlan]:
    """A plan for every care tag in use: the saved one, or an unsaved placeholder (no plan yet, not in use)."""
    saved = {p.tag_id: p for p in plans()}
    rows = []
    for tag in CareTag.objects.filter(is_active=True).order_by("position", "code"):
        rows.append(saved.get(tag.pk) or CarePlan(tag=tag, every_days=30, is_active=False, version=0))
    return rows


# ---- who is due -----------------------------------------------------------------------------------------------


def planned_tags(condition: Q):
    """Care tags of living residents whose tag is in use and has a plan in use."""
    return ResidentCareTag.objects.filter(
        condition, is_living=True, tag__is_active=True, tag__care_plan__is_active=True
    ).order_by()


def last_visits(subjects) -> dict[int, dt.datetime]:
    """The last visit (by anyone) of each resident of the queryset of care tags `subjects`: one query."""
    rows = (
        Visit.objects.filter(resident_id__in=subjects.values("resident_id"))
        .values("resident_id")
        .annotate(last=Max("at"))
        .order_by()
    )
    return {row["resident_id"]: row["last"] for row in rows}


def due_on(last_at, every_days: int, since, today: dt.date) -> dt.date:
    """When the next visit is due: the last visit's day plus the interval; never visited, due today, or earlier
    (overdue) once the interval has passed since the tag was given (when that is known)."""
    if last_at is not None:
        return timezone.localdate(last_at) + dt.timedelta(days=every_days)
    if since is not None:
        return min(today, since + dt.timedelta(days=every_days))
    return today


@dataclass
class Subject:
    resident_id: int
    every_days: int
    since: dt.date | None
    key: int | None = None
    tags: list | None = None
    last_at: dt.datetime | None = None
    due: dt.date | None = None


def subjects_of(condition: Q, on: dt.date, key_column: str = "area_id", extra=()) -> tuple[dict, dict]:
    """{resident pk: Subject} under `condition` with the shortest interval of their planned tags and their due
    day, and {resident pk: first row's extra values}. Two queries."""
    tags = planned_tags(condition)
    fields = ["resident_id", key_column, "since", "tag__care_plan__every_days", "tag__name", *extra]
    subjects: dict[int, Subject] = {}
    details: dict[int, dict] = {}
    for row in tags.values(*fields).order_by("tag__position", "tag__code"):
        pk, every, since = row["resident_id"], row["tag__care_plan__every_days"], row["since"]
        found = subjects.get(pk)
        if found is None:
            subjects[pk] = Subject(pk, every, since, key=row[key_column], tags=[row["tag__name"]])
            details[pk] = row
            continue
        found.every_days = min(found.every_days, every)
        if since is not None and (found.since is None or since < found.since):
            found.since = since
        found.tags.append(row["tag__name"])
    last = last_visits(tags) if subjects else {}
    for subject in subjects.values():
        subject.last_at = last.get(subject.resident_id)
        subject.due = due_on(subject.last_at, subject.every_days, subject.since, on)
    return subjects, details


PERSON_FIELDS = ("resident__name", "resident__household__address", "resident__phone_cipher", "area__name")


def _rows(condition: Q, on: dt.date, keep) -> list[dict]:
    condition &= Q(resident__status=ResidentStatus.LIVING)
    subjects, details = subjects_of(condition, on, extra=PERSON_FIELDS)
    rows = []
    for pk, s in subjects.items():
        if not keep(s):
            continue
        d = details[pk]
        cipher = d["resident__phone_cipher"]
        rows.append(
            {
                "resident": pk,
                "name": d["resident__name"],
                "address": d["resident__household__address"] or "",
                "masked_phone": privacy.mask_phone(privacy.decrypt(cipher)) if cipher else "",
                "area": s.key,
                "area_name": d["area__name"],
                "tags": s.tags,
                "every_days": s.every_days,
                "last_visited_at": s.last_at,
                "due_on": s.due,
                "overdue": s.due < on,
                "due_in_days": (s.due - on).days,
                "days_overdue": max(0, (on - s.due).days),
            }
        )
    rows.sort(key=lambda r: (not r["overdue"], r["due_on"], r["name"], r["resident"]))
    return rows


def due_for(user, on: dt.date | None = None) -> list[dict]:
    """The care subjects in the grids the user serves who are overdue, due today or due within DUE_SOON_DAYS,
    overdue first then by due day. Each: resident (pk), name, address, masked_phone, area (pk), area_name, tags,
    every_days, last_visited_at, due_on, overdue, due_in_days, days_overdue."""
    on = on or timezone.localdate()
    paths = visit_paths(user)
    if not paths:
        return []
    horizon = on + dt.timedelta(days=DUE_SOON_DAYS)
    return _rows(lineage_q(paths), on, lambda s: s.due <= horizon)


def overdue_in(area: Area, on: dt.date | None = None) -> list[dict]:
    """The overdue care subjects under an area (rows as in `due_for`), most overdue first."""
    on = on or timezone.localdate()
    return _rows(lineage_q([area.path]), on, lambda s: s.due < on)
