from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from . import services
from .models import ChecklistTemplate, Inspection, InspectionItem


class TemplateForm(forms.ModelForm):
    class Meta:
        model = ChecklistTemplate
        fields = ["code", "name", "description", "applies_to_buildings", "applies_to_places", "items", "is_active"]

    def clean_items(self):
        try:
            return services.clean_items(self.cleaned_data.get("items"))
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict.get("items", error.messages)) from None


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    """Managers add and edit checklists here; a change to the items bumps the version (inspections keep theirs)."""

    form = TemplateForm

    list_display = ["code", "name", "applies_to_buildings", "applies_to_places", "is_active", "version"]
    search_fields = ["code", "name"]

    def save_model(self, request, obj, form, change):
        services.save_template(request.user, obj)


class ItemInline(admin.TabularInline):
    model = InspectionItem
    extra = 0
    fields = ["code", "text", "outcome", "fixed_on_spot", "case", "rectified_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(Inspection)
class InspectionAdmin(admin.ModelAdmin):
    list_display = ["pk", "template", "building", "place", "inspector", "at", "state"]
    list_select_related = ["template", "building", "place", "inspector"]
    list_filter = ["state", "template"]
    raw_id_fields = ["building", "place", "inspector", "area", "follows"]
    date_hierarchy = "at"
    inlines = [ItemInline]

    def has_change_permission(self, request, obj=None):
        return False  # inspections change through the services only

    def has_add_permission(self, request):
        return False
