"""Refusals shared by every domain's services."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class StaleRecord(ValidationError):
    """Someone else changed the record since it was loaded, or it is no longer in the state assumed."""

    def __init__(self, message=None):
        super().__init__(message or _("Someone else changed this record in the meantime. Reload it and try again."))
