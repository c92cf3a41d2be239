from django.contrib.auth.backends import ModelBackend

from fengchao.core import privacy

from .models import User


class PhoneOrUsernameBackend(ModelBackend):
    """Log in with a mobile number (found by keyed hash) or a username."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or not password:
            return None
        phone = privacy.normalise_phone(username)
        try:
            if privacy.is_mobile_phone(phone):
                user = User.objects.get_by_phone(phone)
            else:
                user = User.objects.get(username=username.strip())
        except User.DoesNotExist:
            User().set_password(password)  # same work as a real check, so timing does not reveal accounts
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
