"""The points mall on the test district (tests/factories.build_tree), built through the real services.

    community A (和美社区): 爱心超市 (charity shop; the `merchant` user signs in for it)
        大米 5kg   (rice, 100 points, stock 10, at most 2 per person)
        菜籽油     (daily goods, 60 points, stock 5)
    street A (保和街道):   街道食堂 (restaurant, street-level, no users)
        午餐券     (meal, 20 points, stock 100, offered in the whole street)
    community B (致强社区): 致强便民店 (grocery; the `outsider_merchant` user signs in for it)
        鸡蛋       (daily goods, 30 points, stock 20)

Members of street A (micro-grid members, grid leaders, residents …) see the first three items; the
`outsider_*` users of street B see only the eggs.
"""

from types import SimpleNamespace

from django.db import transaction

from fengchao.mall import services
from fengchao.points import ledger
from fengchao.points.choices import TransferKind
from tests.case_factories import PNG


def grant(user, points: int, kind: str = "task"):
    with transaction.atomic():
        return ledger.post(TransferKind.GRANT, kind, points, user_id=user.pk)


def picture(name="rice.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PNG, content_type="image/png")


def build_mall(tree, *, with_picture: bool = False) -> SimpleNamespace:
    u = tree.users
    staff, street_staff, outsider_staff = u["community_staff"], u["street_staff"], u["outsider_community_staff"]
    shop = services.create_merchant(
        by=staff,
        area=tree.community_a,
        name="和美爱心超市",
        kind="charity_shop",
        address="和美路1号",
        users=[u["merchant"]],
    )
    rice = services.create_item(
        by=staff,
        merchant=shop,
        name="大米 5kg",
        category="rice",
        description="东北大米",
        price=100,
        stock=10,
        per_person_limit=2,
        picture=picture() if with_picture else None,
    )
    oil = services.create_item(by=staff, merchant=shop, name="菜籽油", category="daily", price=60, stock=5)
    canteen = services.create_merchant(by=street_staff, area=tree.street_a, name="保和街道食堂", kind="restaurant")
    meal = services.create_item(by=street_staff, merchant=canteen, name="午餐券", category="meal", price=20, stock=100)
    other = services.create_merchant(
        by=outsider_staff, area=tree.community_b, name="致强便民店", kind="grocery", users=[u["outsider_merchant"]]
    )
    eggs = services.create_item(by=outsider_staff, merchant=other, name="鸡蛋", category="daily", price=30, stock=20)
    return SimpleNamespace(shop=shop, rice=rice, oil=oil, canteen=canteen, meal=meal, other=other, eggs=eggs)
