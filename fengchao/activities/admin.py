"""Activities in the admin are read-only: they change only through the services (the activities pages, the
API), which check who may act, keep the waiting list in order and write the audit."""

from django.contrib import admin

from fengchao.core.admin import ReadOnlyAdmin

from .models import Activity, Attendance, Signup


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "area", "starts_at", "ends_at", "capacity", "state", "organiser"]
    list_filter = ["kind", "state", "audience"]
    search_fields = ["title", "place"]
    date_hierarchy = "starts_at"
    exclude = ["qr_secret"]


@admin.register(Signup)
class SignupAdmin(ReadOnlyAdmin):
    list_display = ["activity", "user", "state", "queued_at"]
    list_filter = ["state"]


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyAdmin):
    list_display = ["activity", "user", "checked_in_at", "checked_out_at", "method", "hours"]
    list_filter = ["method"]
