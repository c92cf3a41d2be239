"""Creating notifications, inside the change's transaction (the worker's outbox, `outbox.py`, sends them outside)."""

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import Notification


def notify(recipients, *, kind: str, title: str, body: str = "", url: str = "", case=None, exclude=None) -> int:
    """One in-app notification per user (deduplicated, skipping `exclude`); the worker's outbox sends it outside.

    `recipients` is a list of user pks, or a query of user pks (`….values("user_id")`): then the rows are
    written by one INSERT … SELECT, without reading the users first.
    """
    excluded = getattr(exclude, "pk", exclude)
    if isinstance(recipients, QuerySet):
        return _notify_query(recipients, excluded, [kind, title[:200], body, url, getattr(case, "pk", case)])
    ids = sorted({pk for pk in recipients if pk and pk != excluded})
    rows = Notification.objects.bulk_create(
        Notification(recipient_id=pk, kind=kind, title=title[:200], body=body, url=url, case=case) for pk in ids
    )
    return len(rows)


def _notify_query(users: QuerySet, excluded, values: list) -> int:
    quote = connection.ops.quote_name
    table = quote(Notification._meta.db_table)
    columns = ", ".join(quote(c) for c in ("recipient_id", "kind", "title", "body", "url", "case_id", "created_at"))
    inner, inner_params = users.query.sql_with_params()
    (column,) = users.query.values_select
    # Names come from the models and the compiled query; every value is a parameter.
    sql = (
        # DISTINCT makes PostgreSQL type the bare parameters as text, so the case's pk says what it is.
        f"INSERT INTO {table} ({columns}) SELECT DISTINCT r.{quote(column)}, %s, %s, %s, %s, CAST(%s AS BIGINT), %s "  # noqa: S608
        f"FROM ({inner}) r WHERE r.{quote(column)} IS NOT NULL"
    )
    params = [*values, timezone.now(), *inner_params]
    if excluded is not None:
        sql += f" AND r.{quote(column)} <> %s"
        params.append(excluded)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def text_case_contact(case, text: str) -> None:
    """A message to a case's contact phone (a reporter without an account), sent after commit.

    The task carries the case's pk, never the phone: task arguments are stored in the clear.
    """
    if case.phone_cipher:
        transaction.on_commit(lambda: _enqueue_text(case.pk, text))


def mark_read(user, ids=None) -> int:
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


def unread_count(user) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def _enqueue_text(case_pk, text):
    from .tasks import send_to_case_contact

    send_to_case_contact.enqueue(case_pk, text)
