"""The task pages: a member's tasks (due first), the assignment page with its submission form (evidence
refusals on the form), review (accept / return) by staff, the task list, publishing with fan-out progress, the
.xlsx export; scope (out of scope: 404) and query counts of the lists."""

import datetime as dt
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fengchao.work import services
from fengchao.work.choices import AssignmentState, TaskState
from fengchao.work.models import Assignment, Task
from tests.page_client import html, login

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def publish(tree, *, title="入户走访独居老人", days=3, area=None, **kw):
    return services.publish_task(
        tree.users["community_staff"], area=area or tree.community_a, title=title,
        due_at=timezone.now() + dt.timedelta(days=days), **kw,
    )  # fmt: skip


def mine(tree, task):
    return Assignment.objects.get(task=task, area=next(iter(tree.micro.values())))


def test_my_tasks_lists_open_assignments_due_first(client, tree):
    later = publish(tree, title="晚些的任务", days=5)
    sooner = publish(tree, title="更急的任务", days=1)
    page = html(login(client, tree, "microgrid_member"), reverse("work:mine"))
    assert page.index("更急的任务") < page.index("晚些的任务")
    assert f"assignment-{mine(tree, sooner).pk}" in page and f"assignment-{mine(tree, later).pk}" in page
    assert reverse("work:mine") in page  # the nav entry
    other = html(login(client, tree, "outsider_microgrid_member"), reverse("work:mine"))
    assert "更急的任务" not in other


def test_submitting_from_the_page_with_a_camera_photo_and_location(client, tree):
    task = publish(tree, need_photo=True, need_gps=True, checklist=["查看燃气"])
    assignment = mine(tree, task)
    login(client, tree, "microgrid_member")
    url = reverse("work:assignment", args=[assignment.pk])
    page = html(client, url)
    assert 'capture="environment"' in page and 'accept="image/*"' in page and "work/locate.js" in page
    refused = client.post(reverse("work:submit", args=[assignment.pk]), {"note": "x"})
    assert refused.status_code == 422
    assert "This task needs a photo." in refused.content.decode()
    assert "This task needs your location" in refused.content.decode()
    photo = SimpleUploadedFile("p.png", PNG, content_type="image/png")
    done = client.post(
        reverse("work:submit", args=[assignment.pk]),
        {"note": "已走访", "photos": [photo], "lon": "104.02", "lat": "30.62", "crs": "wgs84", "item-0": "on"},
    )
    assert done.status_code == 302
    assignment.refresh_from_db()
    assert assignment.state == AssignmentState.SUBMITTED and assignment.answers == [{"item": "查看燃气", "done": True}]
    [evidence] = assignment.evidence.all()
    staff = login(client, tree, "grid_leader")
    served = staff.get(reverse("work:evidence", args=[assignment.pk, evidence.token]))
    assert served.status_code == 200 and b"".join(served.streaming_content) == PNG
    login(client, tree, "outsider_grid_leader")
    assert client.get(reverse("work:evidence", args=[assignment.pk, evidence.token])).status_code == 404


def test_staff_accept_and_return_from_the_pages(client, tree):
    first, second = mine(tree, publish(tree, title="一")), mine(tree, publish(tree, title="二"))
    for a in (first, second):
        services.submit(a, by=tree.users["microgrid_member"])
    login(client, tree, "community_staff")
    assert "accept-button" in html(client, reverse("work:assignment", args=[first.pk]))
    assert client.post(reverse("work:accept", args=[first.pk])).status_code == 302
    assert client.post(reverse("work:return", args=[second.pk]), {"reason": "照片不清楚"}).status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == AssignmentState.ACCEPTED
    assert (second.state, second.return_reason) == (AssignmentState.OPEN, "照片不清楚")


def test_staff_publish_a_task_and_see_its_progress_and_export(client, tree):
    login(client, tree, "street_staff")
    form = html(client, reverse("work:new"))
    assert 'name="area"' in form
    due = (timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("work:new"),
        {
            "area": tree.street_a.pk, "title": "防汛隐患排查", "due_at": due,
            "assignee_role": "microgrid_member", "checklist": "排水沟\n地下室", "need_photo": "on",
        },
    )  # fmt: skip
    task = Task.objects.get(title="防汛隐患排查")
    assert response.status_code == 302 and task.state == TaskState.OPEN and task.checklist == ["排水沟", "地下室"]
    page = html(client, reverse("work:task", args=[task.pk]))
    assert "Sent out to 4 of 4 micro-grids" in page
    assert "防汛隐患排查" in html(client, reverse("work:tasks"))
    export = client.get(reverse("work:export", args=[task.pk]))
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    assert sheet.max_row == 5  # heading and 4 micro-grids
    bad = client.post(reverse("work:new"), {"area": tree.street_a.pk, "title": "", "assignee_role": "microgrid_member"})
    assert bad.status_code == 200 and not Task.objects.filter(title="").exists()


def test_fanning_out_page_refreshes_and_shows_progress(client, tree, settings, django_capture_on_commit_callbacks):
    settings.WORK_FANOUT_INLINE = 1
    task = publish(tree)
    assert task.state == TaskState.FANNING_OUT
    page = html(login(client, tree, "community_staff"), reverse("work:task", args=[task.pk]))
    assert 'http-equiv="refresh"' in page and "Sent out to 0 of 4 micro-grids" in page


def test_out_of_scope_pages_answer_404(client, tree):
    task = publish(tree)
    assignment = mine(tree, task)
    for who in ("outsider_community_staff", "outsider_grid_leader"):
        login(client, tree, who)
        html(client, reverse("work:task", args=[task.pk]), 404)
        html(client, reverse("work:export", args=[task.pk]), 404)
        html(client, reverse("work:assignment", args=[assignment.pk]), 404)
        assert client.post(reverse("work:accept", args=[assignment.pk])).status_code == 404
    login(client, tree, "outsider_microgrid_member")
    html(client, reverse("work:assignment", args=[assignment.pk]), 404)
    html(client, reverse("work:tasks"), 404)  # not staff
    login(client, tree, "resident")
    html(client, reverse("work:assignment", args=[assignment.pk]), 404)
    client.logout()
    assert client.get(reverse("work:mine")).status_code == 302  # to the login page


def test_a_grid_leader_sees_a_district_task_with_only_their_grid_s_assignments(client, tree):
    task = services.publish_task(
        tree.users["district_admin"], area=tree.district, title="全区安全排查",
        due_at=timezone.now() + dt.timedelta(days=2),
    )  # fmt: skip
    page = html(login(client, tree, "grid_leader"), reverse("work:task", args=[task.pk]))
    shown = {a.pk for a in Assignment.objects.filter(task=task) if f"assignment-{a.pk}" in page}
    assert shown == set(Assignment.objects.filter(task=task, area__parent=tree.grid_a1).values_list("pk", flat=True))


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_pages_take_queries_constant_in_their_length(client, tree):
    publish(tree)
    login(client, tree, "community_staff")
    one = publish(tree)
    counts = {
        "tasks": _count(client, reverse("work:tasks")),
    }
    member = login(client, tree, "microgrid_member")
    counts["mine"] = _count(member, reverse("work:mine"))
    for n in range(5):
        publish(tree, title=f"任务{n}")
    login(client, tree, "community_staff")
    assert _count(client, reverse("work:tasks")) == counts["tasks"]
    admin = login(client, tree, "district_admin")
    small = _count(admin, reverse("work:task", args=[one.pk]))  # 4 assignments
    whole = services.publish_task(
        tree.users["district_admin"], area=tree.district, title="全区", due_at=timezone.now() + dt.timedelta(days=1)
    )
    assert _count(admin, reverse("work:task", args=[whole.pk])) == small  # 6 assignments
    assert _count(login(client, tree, "microgrid_member"), reverse("work:mine")) == counts["mine"]


def test_a_case_found_on_a_task_is_reported_from_the_assignment_page(client, tree):
    from fengchao.cases.models import Case
    from tests.case_factories import build_categories

    cats = build_categories()
    assignment = mine(tree, publish(tree))
    login(client, tree, "microgrid_member")
    page = html(client, reverse("work:assignment", args=[assignment.pk]))
    assert "report-case" in page and cats.litter.name in page
    response = client.post(
        reverse("work:report_case", args=[assignment.pk]),
        {"category": cats.litter.code, "description": "楼道堆放杂物", "idempotency_key": "work-page-0001"},
    )
    assert response.status_code == 302
    assert [str(m) for m in response.wsgi_request._messages] == [f"Case {Case.objects.get().number} reported."]
    assignment.refresh_from_db()
    assert assignment.found_cases == [Case.objects.get().pk]


def test_named_tasks_show_only_to_the_named_person(client, tree):
    task = publish(tree, assignee_role="named", named_users=[tree.users["microgrid_member"]], title="点名任务")
    assert task.assignments.count() == 1
    assert "点名任务" in html(login(client, tree, "microgrid_member"), reverse("work:mine"))
    assert "点名任务" not in html(login(client, tree, "microgrid_leader"), reverse("work:mine"))


@pytest.mark.zh_hans
def test_pages_render_in_the_default_language(client, tree):
    task = publish(tree, checklist=["查看燃气"], need_signature=True)
    login(client, tree, "microgrid_member")
    assert "入户走访独居老人" in html(client, reverse("work:mine"))
    html(client, reverse("work:assignment", args=[mine(tree, task).pk]))
    login(client, tree, "community_staff")
    for url in (reverse("work:tasks"), reverse("work:new"), reverse("work:task", args=[task.pk])):
        html(client, url)
