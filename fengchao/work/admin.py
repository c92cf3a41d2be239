"""Platform tasks in the admin are read-only: they change only through the services (the task pages, the API,
the schedule sweep), which check who may act, keep states compare-and-set and write the audit."""

from django.contrib import admin

from fengchao.core.admin import ReadOnlyAdmin

from .models import Assignment, Evidence, Task, TaskSchedule


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ["title", "area", "assignee_role", "due_at", "state", "total", "fanned_out", "done"]
    list_filter = ["state", "assignee_role"]
    search_fields = ["title"]
    date_hierarchy = "created_at"


@admin.register(TaskSchedule)
class TaskScheduleAdmin(ReadOnlyAdmin):
    list_display = ["title", "area", "repeat", "every_days", "next_run_at", "active"]
    list_filter = ["repeat", "active"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["task", "area", "assignee", "state", "due_at", "submitted_at", "reviewed_at"]
    list_filter = ["state"]
    raw_id_fields = ["task", "area", "assignee", "submitted_by", "reviewed_by"]


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    list_display = ["assignment", "kind", "content_type", "size", "uploaded_at"]
    exclude = ["token"]
