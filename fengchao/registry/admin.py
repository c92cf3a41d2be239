"""The admin shows registry history read-only: changes go through the pages, the API or imports."""

from django.contrib import admin

from fengchao.core.admin import ReadOnlyAdmin

from .models import AccessLog, MoveRecord


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "subject_type", "subject_label", "count", "reason", "channel"]
    list_filter = ["action", "subject_type", "channel"]
    date_hierarchy = "at"


@admin.register(MoveRecord)
class MoveRecordAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "resident", "household", "from_address", "to_address", "reason"]
    date_hierarchy = "at"
