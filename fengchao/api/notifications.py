"""Your in-app notifications: unread first, then newest; mark some or all as read."""

from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils.translation import gettext as _
from ninja import Query, Router

from fengchao.notices import services as notices
from fengchao.notices.models import Notification

from . import cases_schemas as s
from .pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from .registry import refusals

router = Router(tags=["notifications"])

ROW = ("id", "kind", "title", "body", "url", "case_id", "created_at", "read_at", "is_read")


@router.get("", response=s.NotificationPage, summary="Your notifications, unread first")
def list_notifications(
    request,
    cursor: str | None = Query(None, max_length=2000, description="next_cursor of the previous page"),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"page size, at most {MAX_LIMIT}"),
):
    mine = Notification.objects.filter(recipient=request.auth)
    # Order: unread (0) before read (1), then newest first; a cursor is (is_read, id) of the last row seen.
    qs = mine.annotate(
        is_read=Case(When(read_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("is_read", "-pk")
    if cursor:
        values = decode_cursor(cursor, 2)
        if not all(isinstance(v, int) for v in values):
            raise ValidationError(_("The cursor is not valid: start again from the first page."))
        read, last = values
        qs = qs.filter(Q(is_read__gt=read) | Q(is_read=read, pk__lt=last))
    rows = list(qs.values(*ROW)[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1]["is_read"], rows[-1]["id"]])
    return {"items": rows, "next_cursor": next_cursor, "unread": notices.unread_count(request.auth)}


@router.post("/read", response=s.ReadOut, summary="Mark notifications as read")
@refusals
def mark_read(request, payload: s.ReadIn):
    """`{"ids": [1, 2]}` for some, `{"all": true}` for every unread one."""
    if not payload.all and not payload.ids:
        raise ValidationError({"ids": _("Name the notifications, or send all: true.")})
    return {"marked": notices.mark_read(request.auth, None if payload.all else payload.ids)}
