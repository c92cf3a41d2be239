"""QR codes for the public 亮身份 pages, drawn as inline SVG with segno (no images on disk)."""

import segno
from django.urls import reverse


def public_path(area) -> str:
    return reverse("public:grid", args=[area.code])


def public_url(request, area) -> str:
    return request.build_absolute_uri(public_path(area))


def qr_svg(data: str, *, scale: int = 4) -> str:
    """An <svg> element that scales with CSS (viewBox, no fixed size) and carries no inline style."""
    return segno.make(data, error="m").svg_inline(scale=scale, omitsize=True)


def qr_svg_document(data: str, *, scale: int = 8) -> bytes:
    """A standalone SVG file, for /g/<code>/qr.svg."""
    import io

    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=scale, border=4)
    return buffer.getvalue()
