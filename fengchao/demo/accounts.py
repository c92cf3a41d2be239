"""The demo accounts: one per role, all in 保和街道 / 和美社区 so the small demo has them too.

Every seeded account (these and the thousands of seeded members) shares DEMO_PASSWORD: the
seeder hashes it once and reuses the hash, since hashing ten thousand passwords takes minutes.
"""

import unicodedata
from dataclasses import dataclass

from fengchao.accounts.roles import Role

DEMO_PASSWORD = "Fengchao2026"  # noqa: S105 -- published on purpose: the demo has only synthetic people


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    display_name: str
    # Where the role is held: 'district', 'street' (保和街道), 'community' (和美社区), or the first
    # grid / micro-grid / dedicated grid of 和美社区.
    place: str
    department_code: str = ""


DEMO_ACCOUNTS = [
    DemoAccount("demo_district_admin", Role.DISTRICT_ADMIN, "演示区网格中心", "district"),
    DemoAccount("demo_street", Role.STREET_STAFF, "演示街道干部", "street"),
    DemoAccount("demo_community", Role.COMMUNITY_STAFF, "演示社区工作者", "community"),
    DemoAccount("demo_grid", Role.GRID_LEADER, "演示网格长", "grid"),
    DemoAccount("demo_microgrid_leader", Role.MICROGRID_LEADER, "演示微网格长", "microgrid"),
    DemoAccount("demo_member", Role.MICROGRID_MEMBER, "演示微网格员", "microgrid"),
    DemoAccount("demo_dedicated", Role.DEDICATED_LEADER, "演示专属网格长", "dedicated"),
    DemoAccount("demo_department", Role.DEPARTMENT_HANDLER, "演示城管队员", "street", department_code="CG"),
    DemoAccount("demo_merchant", Role.MERCHANT, "演示商家", "community"),
    DemoAccount("demo_resident", Role.RESIDENT, "演示居民", "microgrid"),
]


def demo_account_rows() -> list[tuple[str, str, str]]:
    """(username, role, area) for each demo account present in the database, in DEMO_ACCOUNTS order."""
    from fengchao.accounts.models import RoleAssignment

    wanted = {account.username: account for account in DEMO_ACCOUNTS}
    held = {
        (ra.user.username, ra.role): ra.area.name
        for ra in RoleAssignment.objects.active()
        .filter(user__username__in=wanted)
        .select_related("user", "area")
        .only("role", "user__username", "area__name")
    }
    return [
        (account.username, str(Role(account.role).label), held[(account.username, account.role)])
        for account in DEMO_ACCOUNTS
        if (account.username, account.role) in held
    ]


def _display_width(text: str) -> int:
    """Columns a terminal gives the text: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def format_account_table(rows: list[tuple[str, str, str]]) -> str:
    header = ("username", "role", "area")
    widths = [max(_display_width(str(row[i])) for row in [header, *rows]) for i in range(3)]

    def line(cells) -> str:
        return "  ".join(str(c) + " " * (widths[i] - _display_width(str(c))) for i, c in enumerate(cells)).rstrip()

    lines = [line(header), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]
    lines.append(f"password for every demo account: {DEMO_PASSWORD}")
    return "\n".join(lines)
