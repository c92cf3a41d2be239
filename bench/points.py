"""Points figures on PostgreSQL (127.0.0.1:5432).

- `points.reconcile_1m_s`: seconds for `reconcile()` to prove a ledger of 1,000,000 entries (500,000
  transfers among 10,000 people: grants, orders' freezes and spends, expiries) — every transfer balances
  and every cached balance equals its entries; the median of three runs. The ledger is written once, by
  COPY, into `fengchao_bench_points` and kept between runs.
- `points.orders_per_s`: mall orders placed per second through `POST /api/mall/orders` by 4 client
  threads, each a different member with their own token, on an item with stock enough for the run
  (points frozen, stock taken, order and audit written), served by gunicorn with 2 workers, in
  `fengchao_bench_orders`.

Each part runs in a child process with its own DATABASE_URL, whatever database the other groups use.
"""

import random
import statistics
import sys
import time
from pathlib import Path

import _pg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RECONCILE_DB = "fengchao_bench_points"
ORDERS_DB = "fengchao_bench_orders"
PEOPLE = 10_000
TRANSFERS = 500_000  # two entries each
CLIENTS = 4
ORDER_S = 10.0
SEED = 20261201


def run(emit) -> None:
    for part, database in (("reconcile", RECONCILE_DB), ("orders", ORDERS_DB)):
        for name, value, unit in _pg.run_part(str(Path(__file__)), part, database):
            emit(name, value, unit)


# --- reconciling a million entries -------------------------------------------------------------------------


def _reconcile_part() -> None:
    from django.core.management import call_command

    from fengchao.points.models import Entry
    from fengchao.points.reconcile import reconcile

    call_command("migrate", verbosity=0)
    if Entry.objects.count() < 2 * TRANSFERS:
        _pg.note("points", f"writing a ledger of {2 * TRANSFERS:,} entries (once)")
        _write_ledger()
    timings = []
    for _round in range(3):
        report = reconcile()
        if not report.ok:
            raise SystemExit(f"the bench ledger does not reconcile: {report}")
        timings.append(report.seconds)
    _pg.note("points", f"reconciled {report.entries:,} entries in {report.accounts:,} accounts")
    _pg.figure("points.reconcile_1m_s", statistics.median(timings), "s")


def _write_ledger() -> None:
    """People with available and frozen accounts of both kinds, and transfers that keep every balance >= 0."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from fengchao.accounts.models import User
    from fengchao.points import ledger
    from fengchao.points.choices import PointsKind, Purpose, TransferKind
    from fengchao.points.models import Account, Entry, Transfer

    rnd = random.Random(SEED)
    kinds = PointsKind.values
    with transaction.atomic():
        Entry.objects.all().delete()
        Transfer.objects.all().delete()
        Account.objects.all().delete()
        User.objects.filter(username__startswith="bench-points-").delete()
        password = make_password(None)
        users = User.objects.bulk_create(
            User(username=f"bench-points-{n:05d}", display_name=f"积分压测{n}", password=password)
            for n in range(PEOPLE)
        )
        platform = {(kind, purpose): ledger.account_for(kind, purpose) for kind in kinds for purpose in Purpose.values}
        platform = {key: a for key, a in platform.items() if key[1] in (Purpose.ISSUED, Purpose.EXPIRED)}
        accounts = Account.objects.bulk_create(
            Account(user=user, kind=kind, purpose=purpose)
            for user in users
            for kind in kinds
            for purpose in (Purpose.AVAILABLE, Purpose.FROZEN)
        )
        held = {(a.user_id, a.kind, a.purpose): a for a in accounts}
        balance = dict.fromkeys(held, 0)
        now = timezone.now()
        transfers, entries = [], []
        next_transfer = 1
        for _n in range(TRANSFERS):
            user = rnd.choice(users)
            kind = rnd.choice(kinds)
            available, frozen = (user.pk, kind, Purpose.AVAILABLE), (user.pk, kind, Purpose.FROZEN)
            roll = rnd.random()
            if roll < 0.7 or balance[available] < 10:
                route, amount = (("platform", Purpose.ISSUED), available), rnd.randint(1, 20)
                movement = TransferKind.GRANT
            elif roll < 0.9:
                route, amount = (available, frozen), rnd.randint(1, balance[available])
                movement = TransferKind.FREEZE
            else:
                route, amount = (available, ("platform", Purpose.EXPIRED)), rnd.randint(1, balance[available])
                movement = TransferKind.EXPIRE
            sides = []
            for key, sign in zip(route, (-1, 1), strict=True):
                if key[0] == "platform":
                    sides.append((platform[(kind, key[1])].pk, sign * amount))
                else:
                    balance[key] += sign * amount
                    sides.append((held[key].pk, sign * amount))
            transfers.append((next_transfer, movement, kind, amount, user.pk, now, "", "", "", ""))
            entries.extend((next_transfer, account, change) for account, change in sides)
            next_transfer += 1
        with connection.cursor() as cursor:
            columns = ("id", "kind", "points_kind", "points", "user_id", "at")
            _copy(cursor, Transfer, (*columns, "source_type", "source_id", "source_label", "reason"), transfers)
            _copy(cursor, Entry, ("transfer_id", "account_id", "amount"), entries)
            # Only the cached balances that are not zero need writing.
            rows = [(held[key].pk, amount) for key, amount in balance.items() if amount]
            cursor.execute("CREATE TEMPORARY TABLE bench_balance (id BIGINT, balance BIGINT) ON COMMIT DROP")
            with cursor.cursor.copy("COPY bench_balance (id, balance) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            table = connection.ops.quote_name(Account._meta.db_table)
            cursor.execute(f"UPDATE {table} a SET balance = b.balance FROM bench_balance b WHERE a.id = b.id")  # noqa: S608
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{Transfer._meta.db_table}', 'id'), {next_transfer})")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _copy(cursor, model, columns, rows) -> None:
    from django.db import connection

    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


# --- ordering over HTTP ------------------------------------------------------------------------------------


def _orders_part() -> None:
    from django.core.management import call_command

    from fengchao.accounts.models import User
    from fengchao.accounts.services import issue_api_token
    from fengchao.demo.services import find_demo_district

    call_command("migrate", verbosity=0)
    if find_demo_district() is None:
        _pg.note("points", "seeding the small demo on PostgreSQL")
        call_command("seed_demo", scale="small", verbosity=0)
    item, members = _orders_setup()
    tokens = [issue_api_token(User.objects.get(pk=pk), "bench", days=1)[1] for pk in members]
    port = _pg.free_port()
    server = _pg.start_server(port)
    try:
        _pg.wait_until_up(port)
        stamp = f"{int(time.time())}"
        counters = [0] * CLIENTS

        def headers(slot: int) -> dict:
            counters[slot] += 1
            return {
                "Authorization": f"Bearer {tokens[slot]}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"bench-{stamp}-{slot}-{counters[slot]}",
            }

        def body(_slot: int) -> dict:
            return {"item": item, "quantity": 1}

        _pg.load(port, "/api/mall/orders", headers, body, seconds=2.0, clients=CLIENTS, group="points")
        count, seconds = _pg.load(
            port, "/api/mall/orders", headers, body, seconds=ORDER_S, clients=CLIENTS, group="points"
        )
        _pg.figure("points.orders_per_s", count / seconds, "orders/s")
    finally:
        _pg.stop_server(server)


def _orders_setup() -> tuple[int, list[int]]:
    """An item with plenty of stock in the demo's community, and CLIENTS members there with plenty of points."""
    from django.db import transaction

    from fengchao.accounts.models import RoleAssignment
    from fengchao.accounts.roles import Role
    from fengchao.mall.models import Item, Merchant
    from fengchao.points import ledger
    from fengchao.points.choices import PointsKind, TransferKind

    member_roles = RoleAssignment.objects.filter(role=Role.MICROGRID_MEMBER).select_related("area")
    community_pk = member_roles.order_by("pk").first().area.community_pk
    chosen = list(member_roles.filter(area__community_pk=community_pk).order_by("pk")[:CLIENTS])
    with transaction.atomic():
        merchant = Merchant.objects.filter(area_id=community_pk).first() or Merchant.objects.create(
            name="压测爱心超市", kind="charity_shop", area_id=community_pk
        )
        item = Item.objects.create(
            merchant=merchant, area_id=community_pk, name="压测大米 5kg", category="rice", price=1, stock=10_000_000
        )
        for role in chosen:
            ledger.post(TransferKind.GRANT, PointsKind.TASK, 10_000_000, user_id=role.user_id)
    return item.pk, [role.user_id for role in chosen]


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(HERE)]
    import django

    django.setup()
    {"reconcile": _reconcile_part, "orders": _orders_part}[sys.argv[1]]()
