from django.contrib import admin

from fengchao.core.admin import ReadOnlyAdmin

from .models import Area


@admin.register(Area)
class AreaAdmin(ReadOnlyAdmin):
    """Read-only here: areas are created, edited and moved on the area pages, through the services."""

    list_display = ["name", "code", "kind", "level", "is_active"]
    list_filter = ["kind", "level"]
    search_fields = ["name", "code"]
    ordering = ["path"]
