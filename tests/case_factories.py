"""Categories and cases for tests, built through the services like real ones."""

import itertools
from dataclasses import dataclass

from fengchao.cases import services
from fengchao.cases.choices import Channel, HandlingMode, LimitUnit, Tier
from fengchao.cases.models import Category

_keys = itertools.count(1)


@dataclass
class Categories:
    parent: Category
    litter: Category  # grid tier, no photo needed
    manhole: Category  # photo required
    dispute: Category  # community tier, coordinated


def build_categories(department=None) -> Categories:
    parent = Category.objects.create(code="T01", name="测试大类", kind="event")
    common = {
        "parent": parent,
        "kind": "event",
        "accept_limit": 2,
        "accept_unit": LimitUnit.WORKING_HOURS,
        "dispatch_limit": 2,
        "dispatch_unit": LimitUnit.WORKING_HOURS,
        "take_limit": 2,
        "take_unit": LimitUnit.WORKING_HOURS,
        "handle_limit": 3,
        "handle_unit": LimitUnit.WORKING_DAYS,
        "verify_limit": 1,
        "verify_unit": LimitUnit.WORKING_DAYS,
    }
    litter = Category.objects.create(code="T0101", name="暴露垃圾", keywords="垃圾 堆放", **common)
    manhole = Category.objects.create(code="T0102", name="井盖缺失", photo_required=True, keywords="井盖", **common)
    dispute = Category.objects.create(
        code="T0103",
        name="邻里纠纷",
        default_tier=Tier.COMMUNITY,
        handling_mode=HandlingMode.COORDINATED,
        keywords="吵架 纠纷 噪音",
        **common,
    )
    return Categories(parent, litter, manhole, dispute)


def centre(area) -> tuple[float, float]:
    return (area.min_lon + area.max_lon) / 2, (area.min_lat + area.max_lat) / 2


def report(tree, category, *, by=None, area=None, channel=None, key=None, **kw):
    """Submit a case in a micro-grid of street A (the first one unless `area` says otherwise)."""
    area = area or next(iter(tree.micro.values()))
    lon, lat = centre(area)
    if channel is None:
        channel = Channel.MEMBER if by is not None else Channel.RESIDENT_QR
    case, _created = services.submit_case(
        channel=channel,
        category=category,
        description=kw.pop("description", "楼下垃圾堆了三天没人清"),
        idempotency_key=key or f"test-key-{next(_keys):06d}",
        by=by,
        lon=kw.pop("lon", lon),
        lat=kw.pop("lat", lat),
        **kw,
    )
    return case


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def photo(name="photo.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PNG, content_type="image/png")


def tally_rows() -> dict:
    """The running tallies, without their empty measures, keyed by cell."""
    from fengchao.cases.models import MEASURES, CaseTally

    rows = {}
    for row in CaseTally.objects.values():
        counts = {m: row[m] for m in MEASURES if row[m]}
        if counts:
            rows[(row["area_id"], row["month"], row["category_id"])] = counts
    return rows


def assert_tallies_match_a_rebuild() -> None:
    """The tallies kept step by step equal a recount from the cases (the recount is rolled back)."""
    from django.db import transaction

    from fengchao.cases import tallies

    running = tally_rows()
    with transaction.atomic():
        tallies.rebuild()
        rebuilt = tally_rows()
        transaction.set_rollback(True)
    assert running == rebuilt
