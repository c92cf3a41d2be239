from django.http import JsonResponse
from django.urls import path, re_path
from django.utils.translation import gettext as _

from .main import api


def unknown_endpoint(request, rest=""):
    """API clients get JSON for a wrong URL too, not the site's HTML 404 page."""
    return JsonResponse({"detail": _("No such API endpoint.")}, status=404)


urlpatterns = [path("", api.urls), re_path(r"^(?P<rest>.*)$", unknown_endpoint)]
