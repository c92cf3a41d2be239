from django.contrib import admin

from .models import PatrolCheckIn, WorkLogEntry


@admin.register(PatrolCheckIn)
class PatrolCheckInAdmin(admin.ModelAdmin):
    list_display = ["user", "area", "at", "lon", "lat"]
    list_select_related = ["user", "area"]
    raw_id_fields = ["user", "area"]
    date_hierarchy = "at"


@admin.register(WorkLogEntry)
class WorkLogEntryAdmin(admin.ModelAdmin):
    list_display = ["user", "day", "area", "updated_at"]
    list_select_related = ["user", "area"]
    raw_id_fields = ["user", "area"]
    date_hierarchy = "day"
