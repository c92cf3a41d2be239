from django.contrib import admin
from django.db import transaction

from fengchao.audit.services import record

from .models import Department


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "area", "is_active"]
    search_fields = ["name", "code"]
    raw_id_fields = ["area"]

    def has_delete_permission(self, request, obj=None):
        return False  # cases and handlers point at departments; deactivate instead

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        obj.save()
        record(
            "department.changed" if change else "department.created",
            obj,
            actor=request.user,
            area=obj.area,
            fields=sorted(form.changed_data),
        )
