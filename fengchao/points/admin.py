"""The points ledger in the admin is read-only: points move only through the services (pages, API, worker),
which post balanced transfers and write the audit log. Rules are set on the rules pages (versions kept)."""

from django.contrib import admin

from fengchao.core.admin import ReadOnlyAdmin

from .models import Account, Claim, Entry, ExpiryWarning, Rule, RuleRevision, Transfer


class EntryInline(admin.TabularInline):
    model = Entry
    extra = 0
    can_delete = False
    fields = ["account", "amount"]
    readonly_fields = ["account", "amount"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["pk", "user", "merchant", "kind", "purpose", "balance"]
    list_filter = ["kind", "purpose"]
    list_select_related = ["user", "merchant"]
    search_fields = ["user__username", "user__display_name", "merchant__name"]


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["at", "kind", "points_kind", "points", "user", "merchant", "area", "source_label", "reason"]
    list_filter = ["kind", "points_kind"]
    list_select_related = ["user", "merchant", "area"]
    search_fields = ["user__username", "user__display_name", "source_label", "reason"]
    date_hierarchy = "at"
    inlines = [EntryInline]


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = ["earned_at", "user", "action", "source_label", "area", "kind", "points", "hours", "state"]
    list_filter = ["state", "kind", "action"]
    list_select_related = ["user", "area"]
    search_fields = ["user__username", "user__display_name", "source_label"]
    date_hierarchy = "earned_at"


class RuleRevisionInline(admin.TabularInline):
    model = RuleRevision
    extra = 0
    can_delete = False
    fields = ["version", "values", "changed_by", "changed_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Rule)
class RuleAdmin(ReadOnlyAdmin):
    list_display = ["action", "area", "kind", "points", "points_per_hour", "approval", "listing_days", "is_active"]
    list_filter = ["action", "kind", "approval", "is_active"]
    list_select_related = ["area"]
    inlines = [RuleRevisionInline]


@admin.register(ExpiryWarning)
class ExpiryWarningAdmin(ReadOnlyAdmin):
    list_display = ["user", "kind", "expires_on", "sent_at"]
    list_filter = ["kind"]
    list_select_related = ["user"]
