from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows that only service functions write (areas) or that nobody may change (audit events)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
