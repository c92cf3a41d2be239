"""Photo uploads for cases: checked by their first bytes (not the name or the browser's word) and size."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SIGNATURES = [
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
]


def max_bytes() -> int:
    return getattr(settings, "CASES_PHOTO_MAX_BYTES", 8 * 1024 * 1024)


def max_count() -> int:
    return getattr(settings, "CASES_PHOTO_MAX_COUNT", 6)


def check_photos(files, field: str = "photos") -> list[tuple]:
    """[(file, extension, content type)] for each upload, or a refusal naming the bad one."""
    files = [f for f in files or [] if f]
    if len(files) > max_count():
        raise ValidationError({field: _("At most %(n)d photos at a time.") % {"n": max_count()}})
    checked = []
    for upload in files:
        name = getattr(upload, "name", "") or _("photo")
        size = upload.size
        if size > max_bytes():
            raise ValidationError(
                {field: _("%(name)s is larger than %(mb)d MB.") % {"name": name, "mb": max_bytes() // (1024 * 1024)}}
            )
        upload.seek(0)
        head = upload.read(16)
        upload.seek(0)
        kind = _photo_kind(head)
        if kind is None:
            raise ValidationError({field: _("%(name)s is not a JPEG, PNG or WebP photo.") % {"name": name}})
        checked.append((upload, *kind))
    return checked


def _photo_kind(head: bytes):
    for signature, extension, content_type in SIGNATURES:
        if head.startswith(signature):
            return extension, content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp", "image/webp"
    return None


def new_token() -> str:
    return secrets.token_hex(16)
