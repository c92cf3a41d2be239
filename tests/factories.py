"""A small, fully tiled district for tests, built through the real service functions.

    district 510108 (box 104.00-104.20 E, 30.60-30.70 N)
      street A (west half)                  street B (east half)
        community A1                          community B1
          grid A1a, grid A1b                    grid B1a
            2 micro-grids each                    2 micro-grids
          dedicated grid A1x (hospital, inside grid A1a's box, no micro-grids)

Users: one per role, named after the role, each holding it in the first area of the
right kind under street A; `outsider_*` users hold the same roles under street B.
"""

from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password

from fengchao.accounts import services as accounts
from fengchao.accounts.roles import Role
from fengchao.areas import services as areas
from fengchao.departments.models import Department

PASSWORD = "Fengchao2026demo"


def box(west, south, east, north):
    return {
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    }


@dataclass
class Tree:
    district: object = None
    street_a: object = None
    street_b: object = None
    community_a: object = None
    community_b: object = None
    grid_a1: object = None
    grid_a2: object = None
    grid_b1: object = None
    dedicated_a: object = None
    micro: dict = field(default_factory=dict)  # name -> Area
    users: dict = field(default_factory=dict)  # role or 'outsider_<role>' -> User
    department: object = None


def build_tree(with_users=True) -> Tree:
    t = Tree()
    new = areas.create_area
    t.district = new(
        parent=None, kind="district", name="成华区", local_code="510108", boundary=box(104.0, 30.6, 104.2, 30.7)
    ).area
    t.street_a = new(
        parent=t.district, kind="street", name="保和街道", local_code="1", boundary=box(104.0, 30.6, 104.1, 30.7)
    ).area
    t.street_b = new(
        parent=t.district, kind="street", name="青龙街道", local_code="2", boundary=box(104.1, 30.6, 104.2, 30.7)
    ).area
    t.community_a = new(
        parent=t.street_a, kind="community", name="和美社区", local_code="1", boundary=box(104.0, 30.6, 104.1, 30.7)
    ).area
    t.community_b = new(
        parent=t.street_b, kind="community", name="致强社区", local_code="1", boundary=box(104.1, 30.6, 104.2, 30.7)
    ).area
    t.grid_a1 = new(
        parent=t.community_a, kind="grid", name="和美一网格", local_code="1", boundary=box(104.0, 30.6, 104.05, 30.7)
    ).area
    t.grid_a2 = new(
        parent=t.community_a, kind="grid", name="和美二网格", local_code="2", boundary=box(104.05, 30.6, 104.1, 30.7)
    ).area
    t.grid_b1 = new(
        parent=t.community_b, kind="grid", name="致强一网格", local_code="1", boundary=box(104.1, 30.6, 104.2, 30.7)
    ).area
    t.dedicated_a = new(
        parent=t.community_a,
        kind="dedicated",
        name="和美医院专属网格",
        local_code="901",
        dedicated_kind="hospital",
        boundary=box(104.01, 30.61, 104.02, 30.62),
    ).area
    for grid, (west, east) in ((t.grid_a1, (104.0, 104.05)), (t.grid_a2, (104.05, 104.1)), (t.grid_b1, (104.1, 104.2))):
        for i, (south, north) in enumerate(((30.6, 30.65), (30.65, 30.7)), start=1):
            name = f"{grid.name}{i}号微网格"
            t.micro[name] = new(
                parent=grid, kind="microgrid", name=name, local_code=str(i), boundary=box(west, south, east, north)
            ).area
    t.department = Department.objects.create(name="区城管局", code="CG", area=t.district)
    if with_users:
        add_users(t)
    return t


def first_micro(t: Tree, grid):
    return next(a for a in t.micro.values() if a.parent_id == grid.pk)


def add_users(t: Tree) -> None:
    password_hash = make_password(PASSWORD)
    homes = {
        Role.DISTRICT_ADMIN: (t.district, t.district),
        Role.STREET_STAFF: (t.street_a, t.street_b),
        Role.COMMUNITY_STAFF: (t.community_a, t.community_b),
        Role.GRID_LEADER: (t.grid_a1, t.grid_b1),
        Role.MICROGRID_LEADER: (first_micro(t, t.grid_a1), first_micro(t, t.grid_b1)),
        Role.MICROGRID_MEMBER: (first_micro(t, t.grid_a1), first_micro(t, t.grid_b1)),
        Role.DEDICATED_LEADER: (t.dedicated_a, None),
        Role.DEPARTMENT_HANDLER: (t.street_a, t.street_b),
        Role.MERCHANT: (t.community_a, t.community_b),
        Role.RESIDENT: (first_micro(t, t.grid_a1), first_micro(t, t.grid_b1)),
        Role.AUDITOR: (t.street_a, t.street_b),
    }
    for n, (role, (inside, outside)) in enumerate(homes.items()):
        for prefix, area in (("", inside), ("outsider_", outside)):
            if area is None or (prefix and role == Role.DISTRICT_ADMIN):
                continue
            user = accounts.create_user(
                username=f"{prefix}{role}",
                display_name=f"{prefix}{role}",
                phone=f"139{n:02d}{1 if prefix else 0}00{n:04d}"[:11],
                password_hash=password_hash,
            )
            department = t.department if role == Role.DEPARTMENT_HANDLER else None
            accounts.assign_role(user, role, area, department=department)
            t.users[f"{prefix}{role}"] = user
