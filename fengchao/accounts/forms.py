from django import forms
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _

from . import services


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Mobile number or username"), max_length=150)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)

    def __init__(self, request, *args, **kwargs):
        self.request = request
        self.user = None
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})

    def client_address(self):
        return self.request.META.get("REMOTE_ADDR")

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return self.cleaned_data
        if services.is_locked_out(username, self.client_address()):
            raise forms.ValidationError(
                _(
                    "Too many failed attempts. This account is locked for a while; "
                    "try again later or ask your administrator."
                ),
                code="locked",
            )
        self.user = authenticate(self.request, username=username, password=password)
        if self.user is None:
            services.note_login_failure(username, self.client_address())
            raise forms.ValidationError(_("The mobile number/username or the password is wrong."), code="invalid")
        return self.cleaned_data


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("Current password"), strip=False, widget=forms.PasswordInput)
    new_password1 = forms.CharField(label=_("New password"), strip=False, widget=forms.PasswordInput)
    new_password2 = forms.CharField(label=_("New password again"), strip=False, widget=forms.PasswordInput)

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_old_password(self):
        value = self.cleaned_data["old_password"]
        if not self.user.check_password(value):
            raise forms.ValidationError(_("The current password is wrong."))
        return value

    def clean(self):
        a, b = self.cleaned_data.get("new_password1"), self.cleaned_data.get("new_password2")
        if a and b and a != b:
            self.add_error("new_password2", _("The two new passwords differ."))
        return self.cleaned_data
