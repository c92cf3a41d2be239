from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class MixedCharacterValidator:
    """Passwords mix letters and digits, so a 10-character password is not one repeated word."""

    def validate(self, password, user=None):
        if not (any(c.isalpha() for c in password) and any(c.isdigit() for c in password)):
            raise ValidationError(_("The password must contain both letters and digits."), code="password_not_mixed")

    def get_help_text(self):
        return _("Your password must contain both letters and digits.")
