"""The double points ledger (双积分): accounts, transfers and their entries, earning rules and claims.

Every movement of points is one `Transfer` with two `Entry` rows that sum to zero: a grant takes
points from the platform's issuing account into a person's available account, an order freezes them,
verifying the order moves them to the merchant, and so on (`ledger.py`). The ledger is append-only;
`Account.balance` is a cache that `reconcile_points` proves equal to the sum of the account's entries.

Points are earned through a `Claim`: one per action, source and person (so a source never pays twice),
priced by the `Rule` that applies where the source happened, granted at once or after review and a
public listing (公示).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .choices import Action, Approval, ClaimState, PointsKind, Purpose, TransferKind


class Account(models.Model):
    """Points of one kind held for one purpose by a person, a merchant, or the platform itself."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="points_accounts"
    )
    merchant = models.ForeignKey(
        "mall.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="points_accounts"
    )
    kind = models.CharField(_("kind of points"), max_length=16, choices=PointsKind.choices)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    # A cache of the sum of this account's entries, changed only by ledger.post (compare-and-set). The
    # platform's own accounts keep none (it stays 0): their balance is the sum of their entries.
    balance = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "purpose"], condition=Q(user__isnull=False), name="one_account_per_person"
            ),
            models.UniqueConstraint(
                fields=["merchant", "kind", "purpose"],
                condition=Q(merchant__isnull=False),
                name="one_account_per_merchant",
            ),
            models.UniqueConstraint(
                fields=["kind", "purpose"],
                condition=Q(user__isnull=True, merchant__isnull=True),
                name="one_platform_account",
            ),
            models.CheckConstraint(
                condition=Q(balance__gte=0) | Q(purpose=Purpose.ISSUED), name="balance_not_negative"
            ),
        ]

    def __str__(self):
        holder = self.user_id and f"user {self.user_id}" or self.merchant_id and f"merchant {self.merchant_id}"
        return f"{holder or 'platform'} {self.kind} {self.purpose}: {self.balance}"

    @property
    def is_platform(self) -> bool:
        return self.user_id is None and self.merchant_id is None


class Rule(models.Model):
    """How many points an action earns where, with caps and the approval it needs. The nearest area's rule wins."""

    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    kind = models.CharField(_("kind of points"), max_length=16, choices=PointsKind.choices)
    points = models.PositiveIntegerField(_("points"), default=0)
    # Hours-based volunteering: points per verified hour, at most `max_hours` per activity.
    points_per_hour = models.PositiveIntegerField(_("points per hour"), default=0)
    max_hours = models.DecimalField(_("most hours per activity"), max_digits=5, decimal_places=2, null=True, blank=True)
    daily_cap = models.PositiveIntegerField(_("daily cap"), null=True, blank=True)
    monthly_cap = models.PositiveIntegerField(_("monthly cap"), null=True, blank=True)
    approval = models.CharField(_("approval"), max_length=16, choices=Approval.choices, default=Approval.AUTO)
    listing_days = models.PositiveSmallIntegerField(_("days of public listing"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        constraints = [models.UniqueConstraint(fields=["area", "action"], name="one_rule_per_action_and_area")]

    def __str__(self):
        return f"{self.get_action_display()} @ {self.area_id}"


class RuleRevision(models.Model):
    """A rule as it stood after each change (changes keep history)."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    values = models.JSONField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rule", "-version"]
        constraints = [models.UniqueConstraint(fields=["rule", "version"], name="one_rule_revision_per_version")]

    def __str__(self):
        return f"{self.rule_id} v{self.version}"


class Claim(models.Model):
    """A person's claim to the points of one action on one source (a case, a task, an attendance)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="points_claims")
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    source_type = models.CharField(max_length=40)  # app_label.model_name of the source
    source_id = models.CharField(max_length=40)
    source_label = models.CharField(_("source"), max_length=200, blank=True)
    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.PROTECT, related_name="claims")
    rule_version = models.PositiveIntegerField(null=True, blank=True)
    area = models.ForeignKey("areas.Area", on_delete=models.PROTECT, related_name="+", verbose_name=_("area"))
    kind = models.CharField(_("kind of points"), max_length=16, choices=PointsKind.choices)
    points = models.PositiveIntegerField(_("points"))
    hours = models.DecimalField(_("hours"), max_digits=6, decimal_places=2, null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)  # why fewer points than the rule (a cap)
    state = models.CharField(_("state"), max_length=16, choices=ClaimState.choices)
    earned_at = models.DateTimeField(_("earned"))
    listed_until = models.DateTimeField(_("listed until"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)  # of a rejection
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("points claim")
        verbose_name_plural = _("points claims")
        constraints = [
            # No points twice for the same source: a second claim for it fails here, under any concurrency.
            models.UniqueConstraint(fields=["action", "source_type", "source_id", "user"], name="one_claim_per_source")
        ]
        indexes = [
            models.Index(fields=["user", "action", "earned_at"]),
            models.Index(fields=["state", "listed_until"]),
            models.Index(fields=["area", "state"]),
        ]

    def __str__(self):
        return f"{self.user_id} {self.action} {self.source_type}:{self.source_id}"


class Transfer(models.Model):
    """One movement of points between two accounts, with why: its source, rule, approver and reason."""

    kind = models.CharField(_("movement"), max_length=16, choices=TransferKind.choices)
    points_kind = models.CharField(_("kind of points"), max_length=16, choices=PointsKind.choices)
    points = models.PositiveIntegerField(_("points"))
    # The person whose points moved (for their history); the merchant, for a spend or a refund.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="points_transfers"
    )
    merchant = models.ForeignKey("mall.Merchant", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    area = models.ForeignKey("areas.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    source_type = models.CharField(max_length=40, blank=True)
    source_id = models.CharField(max_length=40, blank=True)
    source_label = models.CharField(_("source"), max_length=200, blank=True)
    claim = models.ForeignKey(Claim, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers")
    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    at = models.DateTimeField(_("time"))
    # When points that came in by this transfer expire (grants and positive adjustments, under an expiry policy).
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    class Meta:
        verbose_name = _("points transfer")
        verbose_name_plural = _("points transfers")
        indexes = [
            models.Index(fields=["user", "at"]),
            models.Index(fields=["merchant", "at"]),
            models.Index(fields=["source_type", "source_id"]),
            models.Index(fields=["expires_at"]),
        ]

    def __str__(self):
        return f"{self.kind} {self.points} {self.points_kind}"


class Entry(models.Model):
    """One side of a transfer: the amount (signed) that one account gained or lost. Append-only."""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries", db_index=False)
    amount = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["account", "transfer"])]

    def __str__(self):
        return f"{self.account_id} {self.amount:+d}"


class ExpiryWarning(models.Model):
    """That a person was told their points of a kind expire on a date: each warning is sent once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=PointsKind.choices)
    expires_on = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind", "expires_on"], name="one_warning_per_expiry")]

    def __str__(self):
        return f"{self.user_id} {self.kind} {self.expires_on}"
