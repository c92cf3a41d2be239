"""Accounts, roles, identity tags, tokens and lockout. Each change writes its audit event."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fengchao.audit.services import record
from fengchao.core import privacy

from .models import ApiToken, LoginFailure, MemberTag, RoleAssignment, User
from .roles import ROLE_AREA_KINDS, IdentityTag, Role


def _check_phone(phone: str, exclude_pk=None) -> str:
    value = privacy.normalise_phone(phone)
    if not privacy.is_mobile_phone(value):
        raise ValidationError(_("“%(phone)s” is not an 11-digit mainland mobile number.") % {"phone": phone})
    if User.objects.filter(phone_hash=privacy.keyed_hash(value)).exclude(pk=exclude_pk).exists():
        raise ValidationError(_("Another account already uses this mobile number."))
    return value


@transaction.atomic
def create_user(
    *,
    username: str,
    display_name: str,
    phone: str = "",
    password: str | None = None,
    by=None,
    password_hash: str | None = None,
) -> User:
    """Create an account. `password_hash` lets bulk seeding reuse one hash instead of hashing per user."""
    username = (username or "").strip()
    if not username:
        raise ValidationError(_("The account needs a username."))
    if User.objects.filter(username=username).exists():
        raise ValidationError(_("The username “%(username)s” is taken.") % {"username": username})
    if not (display_name or "").strip():
        raise ValidationError(_("The account needs the person's name."))
    user = User(username=username, display_name=display_name.strip())
    if phone:
        user.set_phone(_check_phone(phone))
    if password_hash:
        user.password = password_hash
    elif password:
        validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
        user.must_change_password = True
    user.save()
    record("user.created", user, actor=by)
    return user


@transaction.atomic
def update_phone(user: User, phone: str, *, by=None) -> User:
    user.set_phone(_check_phone(phone, exclude_pk=user.pk) if phone else "")
    user.save(update_fields=["phone_cipher", "phone_hash", "phone_last4"])
    record("user.phone_changed", user, actor=by)
    return user


@transaction.atomic
def change_password(user: User, new_password: str, *, by=None) -> None:
    validate_password(new_password, user)
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    record("user.password_changed", user, actor=by or user)


@transaction.atomic
def assign_role(user: User, role: str, area, *, by=None, department=None) -> RoleAssignment:
    if role not in Role.values:
        raise ValidationError(_("Unknown role “%(role)s”.") % {"role": role})
    if area.kind not in ROLE_AREA_KINDS[Role(role)]:
        raise ValidationError(
            _("A %(role)s is held in a %(kinds)s, not in “%(area)s”.")
            % {
                "role": Role(role).label,
                "kinds": _(" or ").join(sorted(str(k.label) for k in ROLE_AREA_KINDS[Role(role)])),
                "area": area.name,
            }
        )
    if role == Role.DEPARTMENT_HANDLER and department is None:
        raise ValidationError(_("A department handler must belong to a department."))
    try:
        with transaction.atomic():
            assignment = RoleAssignment.objects.create(user=user, role=role, area=area, department=department)
    except IntegrityError as exc:
        raise ValidationError(
            _("%(user)s already holds this role in “%(area)s”.") % {"user": user, "area": area.name}
        ) from exc
    record("role.assigned", assignment, actor=by, area=area, user=user.pk, role=role)
    return assignment


@transaction.atomic
def end_role(assignment: RoleAssignment, *, by=None) -> RoleAssignment:
    ended = RoleAssignment.objects.filter(pk=assignment.pk, ended_at__isnull=True).update(ended_at=timezone.now())
    if ended != 1:
        raise ValidationError(_("This role has already ended."))
    assignment.refresh_from_db()
    record("role.ended", assignment, actor=by, area=assignment.area, user=assignment.user_id, role=assignment.role)
    return assignment


@transaction.atomic
def set_identity_tags(user: User, tags: list[str], *, by=None) -> list[str]:
    unknown = set(tags) - set(IdentityTag.values)
    if unknown:
        raise ValidationError(_("Unknown identity tags: %(tags)s") % {"tags": ", ".join(sorted(unknown))})
    MemberTag.objects.filter(user=user).exclude(tag__in=tags).delete()
    existing = set(MemberTag.objects.filter(user=user).values_list("tag", flat=True))
    MemberTag.objects.bulk_create(MemberTag(user=user, tag=t) for t in sorted(set(tags) - existing))
    record("user.tags_set", user, actor=by, tags=sorted(set(tags)))
    return sorted(set(tags))


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def issue_api_token(user: User, name: str, *, by=None, days: int | None = 365) -> tuple[ApiToken, str]:
    """Return the token row and the raw token, which is shown once and never stored."""
    raw = "fc_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip() or _("API token"),
        prefix=raw[:8],
        key_hash=_token_hash(raw),
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    record("token.issued", token, actor=by or user, user=user.pk)
    return token, raw


@transaction.atomic
def revoke_api_token(token: ApiToken, *, by=None) -> None:
    if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()) != 1:
        raise ValidationError(_("This token was already revoked."))
    record("token.revoked", token, actor=by, user=token.user_id)


def user_for_token(raw: str) -> User | None:
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_token_hash(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None or (token.expires_at and token.expires_at <= now):
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # throttled: not a write per request
    return token.user


# --- login lockout -------------------------------------------------------------------------


def _lock_keys(username: str, address: str | None) -> list[str]:
    keys = ["user:" + privacy.keyed_hash(privacy.normalise_phone(username or "").lower())]
    if address:
        keys.append("addr:" + address)
    return keys


def is_locked_out(username: str, address: str | None) -> bool:
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_S)
    limit = settings.LOGIN_FAILURE_LIMIT
    for key in _lock_keys(username, address):
        # An address gets more tries than an account: a community office shares one NAT address.
        key_limit = limit * 4 if key.startswith("addr:") else limit
        if LoginFailure.objects.filter(key=key, at__gte=since).count() >= key_limit:
            return True
    return False


@transaction.atomic
def note_login_failure(username: str, address: str | None) -> None:
    LoginFailure.objects.bulk_create(LoginFailure(key=k) for k in _lock_keys(username, address))
    old = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_S * 4)
    LoginFailure.objects.filter(at__lt=old).delete()


@transaction.atomic
def note_login_success(user: User, username: str) -> None:
    LoginFailure.objects.filter(key__in=_lock_keys(username, None)).delete()
    record("user.logged_in", user, actor=user)
