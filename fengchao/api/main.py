"""The one JSON API of Fengchao: OpenAPI 3.1 at /api/openapi.json, reference at /api/docs."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError

from .areas import router as areas_router
from .auth import token_or_session
from .docs import ServerRenderedDocs
from .me import router as me_router
from .renderers import ORJSONRenderer

api = NinjaAPI(
    title="Fengchao API",
    version="1",
    description=(
        "Grid-based community governance: areas, the people serving them, where a point falls, the registry, "
        "and the closed loop of cases."
    ),
    urls_namespace="api",
    auth=token_or_session,
    renderer=ORJSONRenderer(),
    docs=ServerRenderedDocs(),
)


def _detail(request, message, status):
    return api.create_response(request, {"detail": str(message)}, status=status)


@api.exception_handler(Http404)
def not_found(request, exc):
    # Our own 404s carry a translated message; anything else (no such route) gets a generic one.
    message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else _("Not found.")
    return _detail(request, message, 404)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return _detail(request, _("Sign in, or send a valid token: Authorization: Bearer fc_…"), 401)


@api.exception_handler(HttpError)
def http_error(request, exc):
    if exc.status_code == 403 and "CSRF" in exc.message:
        return _detail(request, _("CSRF check failed: reload the page and try again."), 403)
    return _detail(request, exc.message, exc.status_code)


@api.exception_handler(DjangoValidationError)
def invalid(request, exc):
    return _detail(request, " ".join(str(m) for m in exc.messages), 422)


api.add_router("", me_router)
api.add_router("", areas_router)

# Department layers (多网合一) live in their own app, which owns its router.
api.add_router("/layers", "fengchao.departments.api.router", tags=["layers"])

# The registry (people, places, organisations) and its Excel imports and exports.
api.add_router("/registry", "fengchao.api.registry.router")
api.add_router("/registry", "fengchao.api.registry_jobs.router")

# Cases (the closed loop): intake, lists, detail, steps and photos; residents' intake and tracking
# without an account; the caller's notifications.
api.add_router("/cases", "fengchao.api.cases.router")
api.add_router("/public/cases", "fengchao.api.cases_public.router")
api.add_router("/notifications", "fengchao.api.notifications.router")
# Open311 GeoReport v2 over the same services, for existing Open311 clients.
api.add_router("/open311/v2", "fengchao.api.open311.router")
# Points (双积分: the ledger, rules, claims, adjustments) and the points mall (merchants, items, orders).
api.add_router("/points", "fengchao.api.points.router")
api.add_router("/mall", "fengchao.api.mall.router")
api.add_router("/activities", "fengchao.api.activities.router")
api.add_router("/work", "fengchao.api.work.router")
api.add_router("/patrols", "fengchao.api.patrols.router")
api.add_router("/inspections", "fengchao.api.inspections.router")
api.add_router("/visits", "fengchao.api.visits.router")
api.add_router("/today", "fengchao.api.today.router")
api.add_router("/report-in", "fengchao.api.reportin.router")
