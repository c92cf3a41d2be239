import datetime as dt

import pytest
import time_machine
from django.db import transaction

from fengchao.notices import services
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


def test_delivery_reaches_the_phone_after_commit_once(tree, immediate_tasks, django_capture_on_commit_callbacks):
    member = tree.users["microgrid_member"]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.notify([member.pk], kind="k", title="有新的事件", body="请处理")
    assert ConsoleBackend.sent == [(member.phone, "有新的事件 请处理")]
    assert Notification.objects.get().delivered_at is not None


def test_a_notification_whose_enqueue_was_lost_is_queued_again_and_sent_once(tree, immediate_tasks, monkeypatch):
    member = tree.users["microgrid_member"]
    with monkeypatch.context() as lost:  # a task backend outside the database lost the delivery
        lost.setattr(services, "_enqueue_delivery", lambda pks: None)
        with transaction.atomic():
            services.notify([member.pk], kind="k", title="待办")
    assert ConsoleBackend.sent == []
    assert services.requeue_undelivered() == 0  # too recent: its own enqueue may still be coming
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)):
        assert services.requeue_undelivered() == 1
        assert services.requeue_undelivered() == 0
    assert ConsoleBackend.sent == [(member.phone, "待办")]


def test_a_reporter_without_an_account_gets_the_tracking_code_by_text(
    tree, immediate_tasks, django_capture_on_commit_callbacks
):
    from tests.case_factories import build_categories, report

    categories = build_categories()
    with django_capture_on_commit_callbacks(execute=True):
        case = report(tree, categories.litter, phone="13800001111", anonymous=True)
    [text] = [text for phone, text in ConsoleBackend.sent if phone == "13800001111"]
    assert case.tracking_code in text and case.number in text
