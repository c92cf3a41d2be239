import time

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect


class AbsoluteSessionTimeoutMiddleware:
    """Idle sessions expire by SESSION_COOKIE_AGE; this also ends any session older than the absolute limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            started = request.session.get("login_at")
            now = int(time.time())
            if started is None:
                request.session["login_at"] = now
            elif now - started > settings.SESSION_ABSOLUTE_TIMEOUT_S:
                logout(request)
                if not request.path.startswith("/api/"):
                    return redirect(settings.LOGIN_URL)
        return self.get_response(request)
