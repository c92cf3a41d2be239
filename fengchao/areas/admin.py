from django.contrib import admin

from .models import Area


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    """Read-only here: areas are created, edited and moved on the area pages, through the services."""

    list_display = ["name", "code", "kind", "level", "is_active"]
    list_filter = ["kind", "level"]
    search_fields = ["name", "code"]
    ordering = ["path"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
