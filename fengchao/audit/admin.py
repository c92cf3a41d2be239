from django.contrib import admin

from fengchao.core.admin import ReadOnlyAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id", "area"]
    list_filter = ["action", "object_type"]
    date_hierarchy = "at"
