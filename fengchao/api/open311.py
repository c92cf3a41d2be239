"""Open311 GeoReport v2, a thin adapter over the cases services for existing Open311 clients.

Services are the leaf categories; a request is a case reported on the `api` channel by the signed-in
caller (token or session: Open311's api_key is not used). GeoReport has no idempotency key: send one
in the `Idempotency-Key` header, or the request's own fields stand in for it, so a resent request
returns the first case instead of making a second one. Points are WGS84, as the standard says.
"""

import hashlib

from django.utils.translation import gettext as _
from ninja import Form, Path, Router
from ninja.responses import Status

from fengchao.cases import services
from fengchao.cases.choices import FINAL_STATES
from fengchao.cases.models import Case, Category

from .cases import MAX_ID, field_error, visible_case
from .registry import refusals

router = Router(tags=["open311"])


def _service_request(case) -> dict:
    return {
        "service_request_id": str(case.pk),
        "status": "closed" if case.state in FINAL_STATES else "open",
        "status_notes": case.get_state_display(),
        "service_name": case.category.name,
        "service_code": case.category.code,
        "description": case.description,
        "requested_datetime": case.reported_at.isoformat(),
        "updated_datetime": case.updated_at.isoformat(),
        "address": case.address,
        "lat": case.lat,
        "long": case.lon,
        "media_url": "",
    }


@router.get("/services.json", summary="Open311: the service list (leaf categories)")
def services_list(request):
    categories = Category.objects.filter(is_active=True, children__isnull=True).select_related("parent")
    return [
        {
            "service_code": c.code,
            "service_name": c.name,
            "description": c.closing_standard or c.name,
            "metadata": False,
            "type": "realtime",
            "keywords": ",".join(c.keywords.split()),
            "group": c.parent.name if c.parent_id else "",
        }
        for c in categories.order_by("code")
    ]


@router.post("/requests.json", summary="Open311: report a case", response={200: list[dict], 201: list[dict]})
@refusals
def create_request(
    request,
    service_code: str = Form(..., max_length=16),
    lat: float | None = Form(None, ge=-90, le=90, allow_inf_nan=False),
    long: float | None = Form(None, ge=-180, le=180, allow_inf_nan=False),
    address_string: str = Form("", max_length=200),
    description: str = Form("", max_length=2000),
    first_name: str = Form("", max_length=25),
    last_name: str = Form("", max_length=25),
    phone: str = Form("", max_length=40),
):
    """application/x-www-form-urlencoded, as GeoReport v2 says. 201 first time, 200 for a resent request."""
    if lat is None or long is None:
        raise field_error("lat", _("Give lat and long (WGS84)."))
    user = request.auth
    key = request.headers.get("Idempotency-Key", "")
    if not key:
        fields = "\x1f".join(map(str, (user.pk, service_code, lat, long, address_string, description)))
        key = "open311-" + hashlib.sha256(fields.encode()).hexdigest()[:48]
    case, created = services.submit_case(
        channel="api",
        category=service_code,
        description=description,
        idempotency_key=key,
        by=user,
        lon=long,
        lat=lat,
        address=address_string,
        reporter_name=f"{last_name}{first_name}".strip(),
        phone=phone,
    )
    answer = [{"service_request_id": str(case.pk), "service_notice": case.number, "account_id": None}]
    return Status(201 if created else 200, answer)


@router.get("/requests/{request_id}.json", summary="Open311: one request")
def get_request(request, request_id: int = Path(..., ge=1, le=MAX_ID)):
    case: Case = visible_case(request.auth, request_id)
    return [_service_request(case)]
