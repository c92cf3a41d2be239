"""Cases in the admin are read-only: every change goes through the services (pages, API, worker)."""

from django.contrib import admin

from fengchao.core.admin import ReadOnlyAdmin

from .models import Case, CaseEvent, Supervision


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ["pk", "reported_at", "category", "area", "state", "tier", "is_overdue", "supervision"]
    list_filter = ["state", "tier", "channel", "is_overdue"]
    date_hierarchy = "reported_at"
    exclude = ["phone_cipher", "phone_hash", "idempotency_key", "idempotency_scope", "tracking_code"]


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "case", "action", "from_state", "to_state", "actor_label"]
    list_filter = ["action"]
    date_hierarchy = "at"


@admin.register(Supervision)
class SupervisionAdmin(ReadOnlyAdmin):
    list_display = ["at", "case", "level", "stage", "by"]
    list_filter = ["level"]
