"""The site's URLs plus /bench/bare-case: the same Case row as POST /api/cases inserts, with nothing else.

The caller signs in with the same bearer token as the intake (every request to the platform does);
beyond that, no validation, locating, suggestion, audit, tallies or notices: one JSON parse and one
`Case.objects.create`, the floor the intake endpoint is measured against (`cases.intake_vs_bare_insert`).
"""

import json
import secrets

from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from fengchao.accounts.services import user_for_token
from fengchao.areas.models import Area
from fengchao.cases.models import Case, Category
from fengchao.urls import urlpatterns as site

_categories: dict[str, Category] = {}
_areas: dict[int, Area] = {}


@csrf_exempt
def bare_case(request):
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if user_for_token(token) is None:
        return JsonResponse({"detail": "Unauthorized"}, status=401)
    data = json.loads(request.body)
    category = _categories.get(data["category"])
    if category is None:
        category = _categories[data["category"]] = Category.objects.get(code=data["category"])
    area = _areas.get(data["area"])
    if area is None:
        area = _areas[data["area"]] = Area.objects.get(pk=data["area"])
    case = Case.objects.create(
        channel="api",
        idempotency_scope="bench:bare",
        idempotency_key=data["idempotency_key"],
        tracking_code=secrets.token_hex(5).upper(),
        category=category,
        description=data["description"],
        address=data.get("address", ""),
        lon=data["lon"],
        lat=data["lat"],
        tier=category.default_tier,
        handling_mode=category.handling_mode,
        reported_at=timezone.now(),
        area=area,
        district_pk=area.district_pk,
        street_pk=area.street_pk,
        community_pk=area.community_pk,
        grid_pk=area.grid_pk,
    )
    return JsonResponse({"id": case.pk}, status=201)


urlpatterns = [path("bench/bare-case", bare_case), *site]
