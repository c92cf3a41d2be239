"""The caller: who they are, their roles, and their own API tokens."""

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Path, Router
from ninja.responses import Status

from fengchao.accounts.models import ApiToken, RoleAssignment
from fengchao.accounts.roles import Role
from fengchao.accounts.services import issue_api_token, revoke_api_token

from .auth import session_auth
from .schemas import MeOut, NewTokenOut, TokenIn, TokenOut

router = Router(tags=["me"])

_ROLE_LABELS = dict(Role.choices)
TOKEN_FIELDS = ("id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")


@router.get("/me", response=MeOut, summary="You")
def me(request):
    user = request.auth
    assignments = (
        RoleAssignment.objects.active()
        .filter(user=user)
        .select_related("area", "department")
        .order_by("area__path", "role", "pk")
    )
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.display_name or user.username,
        "masked_phone": user.masked_phone,
        "roles": [
            {
                "role": a.role,
                "role_label": str(_ROLE_LABELS.get(a.role, a.role)),
                "area_id": a.area_id,
                "area_name": a.area.name,
                "area_code": a.area.code,
                "department": a.department.name if a.department else None,
            }
            for a in assignments
        ],
    }


@router.get("/tokens", response=list[TokenOut], summary="Your API tokens (never their secrets)")
def list_tokens(request):
    return list(ApiToken.objects.filter(user=request.auth).order_by("-created_at", "-pk").values(*TOKEN_FIELDS))


@router.post(
    "/tokens",
    response={201: NewTokenOut},
    auth=[session_auth],
    summary="Create an API token for yourself (signed-in browser session only)",
)
def create_token(request, payload: TokenIn):
    """The secret is in the response once; only its hash is stored. A token cannot mint further tokens."""
    token, raw = issue_api_token(request.auth, payload.name, by=request.auth, days=payload.days)
    row = {field: getattr(token, field) for field in TOKEN_FIELDS}
    return Status(201, {**row, "token": raw})


@router.delete("/tokens/{token_id}", response={204: None}, summary="Revoke one of your tokens")
def delete_token(request, token_id: int = Path(..., ge=1, le=2**63 - 1)):
    token = ApiToken.objects.filter(pk=token_id, user=request.auth).first()
    if token is None:
        raise Http404(_("No such token."))
    revoke_api_token(token, by=request.auth)
    return Status(204, None)
