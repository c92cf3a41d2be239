"""Admin for accounts. Saves go through the service functions, so the admin writes audit events too."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import services
from .models import ApiToken, RoleAssignment, User
from .roles import IdentityTag


class UserAdminForm(forms.ModelForm):
    phone = forms.CharField(label=_("Mobile number"), required=False)
    tags = forms.MultipleChoiceField(
        label=_("Identity tags"), choices=IdentityTag.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    new_password = forms.CharField(
        label=_("Initial password"),
        required=False,
        widget=forms.PasswordInput,
        help_text=_("Leave empty to make the person choose one at first login."),
    )

    class Meta:
        model = User
        fields = ["username", "display_name", "is_active", "is_staff"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["phone"].initial = self.instance.masked_phone
            self.fields["phone"].help_text = _("Shown masked; type a new number to change it.")
            self.fields["tags"].initial = list(self.instance.tags.values_list("tag", flat=True))


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    form = UserAdminForm
    list_display = ["display_name", "username", "masked_phone", "is_active", "last_login"]
    search_fields = ["display_name", "username"]
    list_filter = ["is_active", "is_staff"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if not change:
                created = services.create_user(
                    username=data["username"],
                    display_name=data["display_name"],
                    phone=data["phone"],
                    password=data["new_password"] or None,
                    by=request.user,
                )
                obj.pk = created.pk
            else:
                obj.save(update_fields=["username", "display_name", "is_active", "is_staff"])
                if data["phone"] and "*" not in data["phone"]:
                    services.update_phone(obj, data["phone"], by=request.user)
                if data["new_password"]:
                    services.change_password(obj, data["new_password"], by=request.user)
            services.set_identity_tags(User.objects.get(pk=obj.pk), data["tags"], by=request.user)
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "area", "department", "started_at", "ended_at"]
    list_filter = ["role"]
    search_fields = ["user__display_name", "user__username", "area__name", "area__code"]
    autocomplete_fields = ["user"]
    raw_id_fields = ["area", "department"]
    actions = ["end_roles"]
    fields = ["user", "role", "area", "department"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # roles end; they are never deleted, so history stays

    def save_model(self, request, obj, form, change):
        try:
            created = services.assign_role(obj.user, obj.role, obj.area, department=obj.department, by=request.user)
            obj.pk = created.pk
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))

    @admin.action(description=_("End the selected roles"))
    def end_roles(self, request, queryset):
        for assignment in queryset.filter(ended_at__isnull=True):
            services.end_role(assignment, by=request.user)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    readonly_fields = ["name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            services.revoke_api_token(token, by=request.user)
