"""Writing the demo district: one transaction, one "demo.seeded" audit event.

create_area and create_user per row would take minutes for 7,400 areas and 9,600 people, so
the seeder bulk-inserts rows that are exactly what those services would write: the same codes,
paths ('/<district pk>/<street pk>/.../'), lineage columns, boundary GeoJSON and bounding boxes,
and encrypted phones with their keyed hashes. Every seeded account shares one password hash.
The registry's population (buildings, households, residents, places, organisations) is written the
same way by population.py, in the same transaction and under the same audit event. A large seed on
SQLite writes with a rollback journal instead of the WAL (`_sqlite_bulk_journal`).
"""

import contextlib
import time
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.db.models import CharField, F, OuterRef, ProtectedError, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext as _

from fengchao.accounts.models import MemberTag, RoleAssignment, User
from fengchao.areas.geometry import measure, to_geojson
from fengchao.areas.levels import LEVEL_OF_KIND, LINEAGE_FIELD_OF_LEVEL, AreaKind
from fengchao.areas.models import Area, DutyItem, subtree_q
from fengchao.areas.services import bump_spatial_version
from fengchao.audit.models import AuditEvent
from fengchao.audit.services import record
from fengchao.departments.models import Department

from . import cases as demo_cases
from . import names
from .accounts import DEMO_PASSWORD
from .cases import VERSION as CASES_VERSION
from .cases import CasesResult, remove_cases, seed_cases
from .fieldwork import remove_fieldwork
from .layout import DEFAULT_SEED, DemoLayout, build_layout
from .points import VERSION as POINTS_VERSION
from .points import remove_points, seed_points
from .population import VERSION as POPULATION_VERSION
from .population import PopulationResult, remove_population, write_population

SEEDED_ACTION = "demo.seeded"
BATCH = 500


@dataclass
class SeedResult:
    district: Area
    created: bool
    counts: dict
    seconds: float


def find_demo_district() -> Area | None:
    return Area.objects.filter(code=names.DISTRICT_CODE, level=1).first()


def seed_demo(scale: str = "small", seed: int = DEFAULT_SEED, reset: bool = False) -> SeedResult:
    """Seed the demo district, or reuse it when it is already there (unless `reset`)."""
    started = time.perf_counter()
    existing = find_demo_district()
    if existing is not None and not reset:
        return SeedResult(existing, False, {}, time.perf_counter() - started)
    layout = build_layout(scale, seed)
    large = demo_cases.TOTAL.get(scale, 0) >= demo_cases.LARGE
    with _sqlite_bulk_journal(large), transaction.atomic():
        if existing is not None:
            remove_demo()
        elif Area.objects.exists():
            raise ValidationError(
                _("The demo district is seeded only into a database without areas; this one already has some.")
            )
        district, user_pks, population = _write(layout)
        cases = seed_cases(district, scale, seed=seed)
        points = seed_points(district, seed=seed)
        counts = {**layout.counts(), **population.counts, **_case_counts(cases), **points.counts}
        record(
            SEEDED_ACTION,
            district,
            area=district,
            scale=scale,
            seed=seed,
            counts=counts,
            # The seeded accounts, so a reset can tell them from anyone added later.
            user_pk_range=[min(user_pks), max(user_pks)],
            user_count=len(user_pks),
            # The seeded registry rows, likewise, and how long writing them took.
            population=population.pk_ranges,
            population_version=POPULATION_VERSION,
            population_s=round(population.seconds, 2),
            # The seeded cases (a year of them, ending at the seeding), likewise.
            cases=cases.pk_ranges,
            cases_version=CASES_VERSION,
            cases_s=round(cases.seconds, 2),
            # The pilot street's points and mall, likewise.
            points=points.pk_ranges,
            points_version=POINTS_VERSION,
            points_s=round(points.seconds, 2),
        )
    return SeedResult(district, True, counts, time.perf_counter() - started)


def _case_counts(cases: CasesResult) -> dict:
    """The case figures among the seeding's counts: cases, their events and whistles, and cases by state."""
    counts = {name: n for name, n in cases.counts.items() if name != "states"}
    counts.update({f"case.{state}": n for state, n in cases.counts.get("states", {}).items()})
    return counts


@contextlib.contextmanager
def _sqlite_bulk_journal(large: bool, db=connection):
    """SQLite, a large seed outside any transaction: a rollback journal and no syncs until it is written.

    In WAL mode each of the gigabytes written would go to the WAL first (again whenever a spilled page
    changes) and be copied into the database by the checkpoint after commit. With a rollback journal,
    pages that did not exist before the transaction (nearly all of them in a fresh database) are written
    once, in place, and need no journal; the pages that did exist are journaled, so a failure still rolls
    back. Without syncs a power cut during the seed may spoil the database (it has to be made again).
    Skipped (the WAL stays) when another connection holds the database, which the switch needs alone.
    """
    if not large or db.vendor != "sqlite" or db.in_atomic_block:
        yield
        return
    with db.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        (journal,) = cursor.fetchone()
        cursor.execute("PRAGMA synchronous")
        (synchronous,) = cursor.fetchone()
        with contextlib.suppress(OperationalError):  # another connection has the database open
            cursor.execute("PRAGMA journal_mode = TRUNCATE")
        cursor.execute("PRAGMA synchronous = OFF")
    try:
        yield
    finally:
        with db.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous = {int(synchronous)}")
            with contextlib.suppress(OperationalError):
                cursor.execute(f"PRAGMA journal_mode = {journal}")


# --- writing -------------------------------------------------------------------------------


def _write(layout: DemoLayout) -> tuple[Area, list[int], PopulationResult]:
    by_code = _write_areas(layout)
    district = by_code[layout.district.code]
    departments = _write_departments(district)
    user_pks = _write_people(layout, by_code, departments)
    _write_duties(district, names.DUTIES)
    adapted = next((a for a in by_code.values() if a.name == names.ADAPTED_COMMUNITY and a.level == 3), None)
    if adapted is not None:
        _write_duties(adapted, names.ADAPTED_DUTIES)
    population = write_population(layout, by_code, scale=layout.scale, seed=layout.seed)
    bump_spatial_version()
    return district, user_pks, population


def _area_row(planned, parent: Area | None) -> Area:
    size = measure(planned.geometry)
    return Area(
        parent=parent,
        kind=planned.kind,
        level=LEVEL_OF_KIND[AreaKind(planned.kind)],
        dedicated_kind=planned.dedicated_kind,
        name=planned.name,
        local_code=planned.local_code,
        code=planned.code,
        path=f"/new-{planned.code}/",  # replaced once the pk is known, as create_area does
        boundary=to_geojson(planned.geometry),
        min_lon=size.min_lon,
        min_lat=size.min_lat,
        max_lon=size.max_lon,
        max_lat=size.max_lat,
        centre_lon=size.centre_lon,
        centre_lat=size.centre_lat,
        address=planned.address,
        service_phone=planned.service_phone,
        households=planned.households,
    )


def _write_areas(layout: DemoLayout) -> dict[str, Area]:
    clashes = list(Area.objects.filter(code__in=[a.code for a in layout.areas()]).values_list("code", flat=True)[:3])
    if clashes:
        raise ValidationError(_("The area codes %(codes)s are already in use.") % {"codes": ", ".join(clashes)})
    by_code: dict[str, Area] = {}
    level = [(layout.district, None)]
    while level:
        rows = [_area_row(planned, parent) for planned, parent in level]
        Area.objects.bulk_create(rows, batch_size=BATCH)
        _set_paths_and_lineage(rows[0].level)
        for row in rows:
            parent = row.parent
            row.path = f"{parent.path if parent else '/'}{row.pk}/"
            for depth, field_name in LINEAGE_FIELD_OF_LEVEL.items():
                if depth < row.level:
                    setattr(row, field_name, parent.lineage_pk(depth))
                elif depth == row.level:
                    setattr(row, field_name, row.pk)
            by_code[row.code] = row
        level = [(child, by_code[planned.code]) for planned, _parent in level for child in planned.children]
    return by_code


def _set_paths_and_lineage(level: int) -> None:
    """One UPDATE per level: path = parent's path + pk + '/', lineage copied from the parent.

    Much faster than bulk_update's CASE per row; the rows in memory are given the same values.
    """
    parent = Area.objects.filter(pk=OuterRef("parent_id"))
    parent_path = Subquery(parent.values("path")[:1]) if level > 1 else Value("/")
    changes = {"path": Concat(parent_path, Cast("pk", CharField()), Value("/"), output_field=CharField())}
    for depth, field_name in LINEAGE_FIELD_OF_LEVEL.items():
        if depth < level:
            changes[field_name] = Subquery(parent.values(field_name)[:1])
        elif depth == level:
            changes[field_name] = F("pk")
    Area.objects.filter(level=level, path__startswith="/new-").update(**changes)


def _write_duties(area: Area, duties: dict[str, list[tuple[str, str]]]) -> None:
    """The rows replace_duties would write, without an audit event per list (demo.seeded covers them)."""
    DutyItem.objects.bulk_create(
        DutyItem(area=area, role=role, position=position, title=title, detail=detail)
        for role, items in duties.items()
        for position, (title, detail) in enumerate(items)
    )


def _write_departments(district: Area) -> dict[str, Department]:
    rows = [Department(name=name, code=code, area=district, phone=phone) for code, name, phone in names.DEPARTMENTS]
    Department.objects.bulk_create(rows)
    return {row.code: row for row in rows}


def _write_people(layout: DemoLayout, by_code: dict[str, Area], departments: dict[str, Department]) -> list[int]:
    usernames = [p.username for p in layout.people]
    taken = list(User.objects.filter(username__in=usernames).values_list("username", flat=True)[:3])
    if taken:
        raise ValidationError(_("The usernames %(names)s are already taken.") % {"names": ", ".join(taken)})
    password_hash = make_password(DEMO_PASSWORD)
    users = []
    for person in layout.people:
        user = User(username=person.username, display_name=person.display_name, password=password_hash)
        user.set_phone(person.phone)
        users.append(user)
    User.objects.bulk_create(users, batch_size=BATCH)
    RoleAssignment.objects.bulk_create(
        (
            RoleAssignment(
                user=user,
                role=person.role,
                area=by_code[person.area_code],
                department=departments.get(person.department_code),
            )
            for user, person in zip(users, layout.people, strict=True)
        ),
        batch_size=BATCH,
    )
    MemberTag.objects.bulk_create(
        (
            MemberTag(user=user, tag=tag)
            for user, person in zip(users, layout.people, strict=True)
            for tag in person.tags
        ),
        batch_size=BATCH,
    )
    return [user.pk for user in users]


# --- reset ---------------------------------------------------------------------------------


def remove_demo() -> None:
    """Delete the demo district, its departments and seeded accounts, refusing if anything else exists.

    The database must hold nothing but the demo: no area outside the demo district, no account
    the seeder did not create, nothing from other apps that points at the demo's areas or people.
    """
    district = find_demo_district()
    event = (
        AuditEvent.objects.filter(action=SEEDED_ACTION, object_type="areas.area", object_id=str(district.pk))
        .order_by("-at", "-pk")
        .first()
        if district
        else None
    )
    if event is None:
        raise ValidationError(
            _("This database holds areas that the demo did not create; reset works only on a demo database.")
        )
    if Area.objects.exclude(subtree_q(district.path)).exists():
        raise ValidationError(
            _("This database holds areas outside the demo district; reset works only on a demo database.")
        )
    first_pk, last_pk = event.data["user_pk_range"]
    seeded_users = User.objects.filter(pk__range=(first_pk, last_pk))
    if User.objects.exclude(pk__range=(first_pk, last_pk)).exists() or seeded_users.count() > event.data["user_count"]:
        raise ValidationError(
            _("This database holds accounts that the demo did not create; reset works only on a demo database.")
        )
    try:
        with transaction.atomic():
            remove_fieldwork()
            remove_points(district, event.data.get("points", {}))
            remove_cases(district, event.data.get("cases", {}))
            remove_population(event.data.get("population", {}))
            RoleAssignment.objects.filter(user__in=seeded_users).delete()
            seeded_users.delete()
            Department.objects.filter(area=district).delete()
            for level in range(5, 0, -1):
                Area.objects.filter(subtree_q(district.path), level=level).delete()
    except ProtectedError as exc:
        kinds = sorted({obj._meta.verbose_name_plural for obj in exc.protected_objects})
        raise ValidationError(
            _("The demo is in use (%(what)s refer to it); reset works only on a database with nothing but the demo.")
            % {"what": ", ".join(str(k) for k in kinds)}
        ) from exc
    bump_spatial_version()
    record("demo.removed", event, area=None, seed=event.data.get("seed"), scale=event.data.get("scale"))
