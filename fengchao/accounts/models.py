from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fengchao.core import privacy

from .roles import IdentityTag, Role


class FengchaoUserManager(UserManager):
    def get_by_phone(self, phone: str):
        return self.get(phone_hash=privacy.keyed_hash(privacy.normalise_phone(phone)))


class User(AbstractUser):
    """A person who logs in. Their phone is personal data: stored encrypted, found by keyed hash."""

    display_name = models.CharField(_("name"), max_length=50)
    phone_cipher = models.TextField(editable=False, blank=True)
    phone_hash = models.CharField(max_length=64, null=True, unique=True, editable=False)
    phone_last4 = models.CharField(max_length=4, blank=True, editable=False)
    must_change_password = models.BooleanField(_("must change password"), default=False)

    objects = FengchaoUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.display_name or self.username

    @property
    def phone(self) -> str:
        return privacy.decrypt(self.phone_cipher)

    def set_phone(self, raw: str) -> None:
        phone = privacy.normalise_phone(raw) if raw else ""
        self.phone_cipher = privacy.encrypt(phone)
        self.phone_hash = privacy.keyed_hash(phone) if phone else None
        self.phone_last4 = phone[-4:]

    @property
    def masked_phone(self) -> str:
        return privacy.mask_phone(self.phone) if self.phone_cipher else ""


class RoleAssignmentQuerySet(models.QuerySet):
    def active(self):
        return self.filter(ended_at__isnull=True)


class RoleAssignment(models.Model):
    """A role held by a user in an area. Ending a role keeps the row as history."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles", verbose_name=_("user"))
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    area = models.ForeignKey(
        "areas.Area", on_delete=models.PROTECT, related_name="role_assignments", verbose_name=_("area")
    )
    department = models.ForeignKey(
        "departments.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handlers",
        verbose_name=_("department"),
    )
    started_at = models.DateTimeField(_("since"), default=timezone.now)
    ended_at = models.DateTimeField(_("until"), null=True, blank=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "area"],
                condition=models.Q(ended_at__isnull=True),
                name="one_active_role_per_area",
            )
        ]
        indexes = [models.Index(fields=["area", "role"]), models.Index(fields=["user", "ended_at"])]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} · {self.area}"


class MemberTag(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tags")
    tag = models.CharField(_("identity"), max_length=32, choices=IdentityTag.choices)

    class Meta:
        verbose_name = _("identity tag")
        verbose_name_plural = _("identity tags")
        constraints = [models.UniqueConstraint(fields=["user", "tag"], name="unique_member_tag")]

    def __str__(self):
        return self.get_tag_display()


class ApiToken(models.Model):
    """A bearer token for the API. Only a hash is stored; the token is shown once at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class LoginFailure(models.Model):
    """A failed login, counted per account and per client address for lockout."""

    key = models.CharField(max_length=128, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return f"{self.key} {self.at:%Y-%m-%d %H:%M}"
