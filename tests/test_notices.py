import threading

import pytest
from django.db import transaction

from fengchao.core import loops
from fengchao.notices import outbox, services
from fengchao.notices.backends import ConsoleBackend
from fengchao.notices.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    ConsoleBackend.sent.clear()
    yield
    ConsoleBackend.sent.clear()


def test_notify_writes_one_row_per_person_and_skips_the_actor(tree):
    staff, member = tree.users["community_staff"], tree.users["microgrid_member"]
    with transaction.atomic():
        made = services.notify([staff.pk, member.pk, member.pk, None], kind="k", title="T", exclude=staff)
    assert made == 1
    assert list(Notification.objects.values_list("recipient_id", flat=True)) == [member.pk]
    assert services.unread_count(member) == 1
    assert services.mark_read(member) == 1
    assert services.unread_count(member) == 0


def test_a_query_of_users_notifies_each_once_without_reading_them(tree, django_assert_num_queries):
    from fengchao.accounts.models import RoleAssignment

    staff, member = tree.users["community_staff"], tree.users["microgrid_member"]
    everyone_twice = RoleAssignment.objects.values_list("user_id", flat=True).union(
        RoleAssignment.objects.values_list("user_id", flat=True), all=True
    )
    users = RoleAssignment.objects.filter(user_id__in=everyone_twice).values_list("user_id", flat=True)
    with django_assert_num_queries(1):
        made = services.notify(users, kind="k", title="全体", body="通知", url="/x/", exclude=staff)
    holders = set(RoleAssignment.objects.exclude(user=staff).values_list("user_id", flat=True))
    assert made == len(holders) > 1
    rows = Notification.objects.all()
    assert sorted(r.recipient_id for r in rows) == sorted(holders)  # one each, the actor left out
    assert {(r.kind, r.title, r.body, r.url, r.read_at, r.delivered_at) for r in rows} == {
        ("k", "全体", "通知", "/x/", None, None)
    }
    assert all(r.created_at is not None for r in rows)
    assert services.unread_count(member) == 1


def test_the_outbox_sends_each_notification_to_the_phone_once(tree):
    member = tree.users["microgrid_member"]
    with transaction.atomic():
        services.notify([member.pk], kind="k", title="有新的事件", body="请处理")
    ConsoleBackend.sent.clear()
    assert outbox.deliver_pending() == 1
    assert ConsoleBackend.sent == [(member.phone, "有新的事件 请处理")]
    assert Notification.objects.get().delivered_at is not None
    assert outbox.deliver_pending() == 0
    assert len(ConsoleBackend.sent) == 1


def test_a_notice_another_worker_claimed_is_not_sent_again(tree, monkeypatch):
    member = tree.users["microgrid_member"]
    services.notify([member.pk], kind="k", title="待办")
    listed_here = list(outbox._pending(10))  # this worker lists it ...
    assert outbox.deliver_pending() == 1  # ... another worker sends it meanwhile
    ConsoleBackend.sent.clear()
    monkeypatch.setattr(outbox, "_pending", lambda limit: listed_here)
    assert outbox.deliver_pending() == 0  # this worker's claim fails: not sent twice
    assert ConsoleBackend.sent == []


def test_the_outbox_loop_drains_until_stopped(tree, monkeypatch, settings):
    member = tree.users["microgrid_member"]
    services.notify([member.pk], kind="k", title="待办")
    stop, passes, drain = threading.Event(), [], outbox.deliver_pending

    def one_pass(limit=500):
        passes.append(drain(limit))
        stop.set()

    monkeypatch.setattr(outbox, "deliver_pending", one_pass)
    monkeypatch.setattr(loops, "close_old_connections", lambda: None)  # the test's own connection stays
    monkeypatch.setattr(loops.connection, "close", lambda: None)
    outbox.run_forever(stop, seconds=0)
    assert passes == [1] and ConsoleBackend.sent[-1] == (member.phone, "待办")
    settings.NOTICES_DELIVERY_SECONDS = 0
    assert outbox.start_outbox_thread(threading.Event()) is None  # turned off: a separate process drains it


def test_a_reporter_without_an_account_gets_the_tracking_code_by_text(
    tree, immediate_tasks, django_capture_on_commit_callbacks
):
    from tests.case_factories import build_categories, report

    categories = build_categories()
    with django_capture_on_commit_callbacks(execute=True):
        case = report(tree, categories.litter, phone="13800001111", anonymous=True)
    [text] = [text for phone, text in ConsoleBackend.sent if phone == "13800001111"]
    assert case.tracking_code in text and case.number in text
