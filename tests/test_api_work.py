"""The platform-task API: a member's assignments and handing one in (multipart; missing evidence refused by
field), staff publishing a task, listing tasks, a task's progress and assignments, accept (points once) and
return; scope (404) and query counts of the lists."""

import datetime as dt

import orjson
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fengchao.points import ledger
from fengchao.points import services as points
from fengchao.points.choices import Action
from fengchao.work import services
from fengchao.work.models import Assignment
from tests.api_client import fields_of, post

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def publish(tree, *, title="入户走访", area=None, **kw):
    return services.publish_task(
        tree.users["community_staff"], area=area or tree.community_a, title=title,
        due_at=timezone.now() + dt.timedelta(days=2), **kw,
    )  # fmt: skip


def mine(tree, task):
    return Assignment.objects.get(task=task, area=next(iter(tree.micro.values())))


def test_openapi_lists_the_work_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/work/tasks", "/api/work/assignments", "/api/work/assignments/{assignment_id}/submit"} <= set(paths)


def test_staff_publish_and_follow_a_task(tree, as_):
    due = (timezone.now() + dt.timedelta(days=2)).isoformat()
    body = {"area_id": tree.street_a.pk, "title": "防汛排查", "due_at": due, "checklist": ["排水沟"], "need_gps": True}
    created = post(as_("street_staff"), "/api/work/tasks", body)
    assert created.status_code == 201, created.content
    task = created.json()
    assert (task["state"]["code"], task["total"], task["fanned_out"]) == ("open", 4, 4)
    assert as_("street_staff").get(f"/api/work/tasks/{task['id']}").json()["fanned_out"] == 4
    assert [t["id"] for t in as_("street_staff").get("/api/work/tasks").json()["items"]] == [task["id"]]
    listed = as_("grid_leader").get(f"/api/work/tasks/{task['id']}/assignments").json()["items"]
    assert len(listed) == 2  # only grid A1's micro-grids
    refused = post(as_("street_staff"), "/api/work/tasks", {**body, "title": " ", "due_at": "2000-01-01T00:00:00Z"})
    assert fields_of(refused) == {"title", "due_at"}
    assert fields_of(post(as_("outsider_street_staff"), "/api/work/tasks", body)) == {"area_id"}
    assert as_("microgrid_member").get("/api/work/tasks").status_code == 404


def test_a_member_lists_and_hands_in_with_evidence(tree, as_):
    task = publish(tree, need_photo=True, need_gps=True, checklist=["查看燃气", "查看烟感"])
    assignment = mine(tree, task)
    member = as_("microgrid_member")
    items = member.get("/api/work/assignments").json()["items"]
    assert [a["id"] for a in items] == [assignment.pk]
    url = f"/api/work/assignments/{assignment.pk}/submit"
    assert fields_of(member.post(url, {"note": "x"})) == {"photos", "location"}
    assert fields_of(member.post(url, {"answers": "nope"})) == {"answers"}
    photo = SimpleUploadedFile("p.png", PNG, content_type="image/png")
    ticks = orjson.dumps([True]).decode()
    done = member.post(url, {"photos": [photo], "lon": "104.02", "lat": "30.62", "crs": "gcj02", "answers": ticks})
    assert done.status_code == 200, done.content
    assert done.json()["state"]["code"] == "submitted" and done.json()["answers"][0] == {
        "item": "查看燃气",
        "done": True,
    }
    assert member.get("/api/work/assignments").json()["items"] == []
    assert [a["id"] for a in member.get("/api/work/assignments?state=submitted").json()["items"]] == [assignment.pk]


def test_accept_grants_points_once_and_return_needs_a_reason(tree, as_):
    points.save_rule(
        by=tree.users["district_admin"], area=tree.district, action=Action.TASK_COMPLETED, kind="task", points=6
    )
    first, second = mine(tree, publish(tree, title="一")), mine(tree, publish(tree, title="二"))
    for a in (first, second):
        services.submit(a, by=tree.users["microgrid_member"])
    leader = as_("grid_leader")
    assert post(leader, f"/api/work/assignments/{first.pk}/accept").json()["state"]["code"] == "accepted"
    assert post(leader, f"/api/work/assignments/{first.pk}/accept").status_code == 422
    assert ledger.balance(tree.users["microgrid_member"].pk, "task") == 6
    assert post(as_("microgrid_member"), f"/api/work/assignments/{second.pk}/accept").status_code == 403
    assert fields_of(post(leader, f"/api/work/assignments/{second.pk}/return", {"reason": " "})) == {"reason"}
    returned = post(leader, f"/api/work/assignments/{second.pk}/return", {"reason": "照片不清楚"}).json()
    assert (returned["state"]["code"], returned["return_reason"]) == ("open", "照片不清楚")


def test_out_of_scope_answers_404(tree, as_):
    task = publish(tree)
    assignment = mine(tree, task)
    for who in ("outsider_community_staff", "outsider_grid_leader", "outsider_microgrid_member", "resident"):
        client = as_(who)
        assert client.get(f"/api/work/assignments/{assignment.pk}").status_code == 404
        assert post(client, f"/api/work/assignments/{assignment.pk}/accept").status_code == 404
        assert client.post(f"/api/work/assignments/{assignment.pk}/submit", {}).status_code == 404
    assert as_("outsider_community_staff").get(f"/api/work/tasks/{task.pk}").status_code == 404
    assert as_("outsider_community_staff").get(f"/api/work/tasks/{task.pk}/assignments").status_code == 404


def _count(client, url) -> int:
    client.get(url)  # the first call of a token also notes when it was last used
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_lists_take_queries_constant_in_their_length(tree, as_):
    task = publish(tree)
    staff, member = as_("community_staff"), as_("microgrid_member")
    before = {
        "tasks": _count(staff, "/api/work/tasks"),
        "mine": _count(member, "/api/work/assignments"),
        "assignments": _count(staff, f"/api/work/tasks/{task.pk}/assignments?limit=1"),
    }
    for n in range(4):
        publish(tree, title=f"任务{n}")
    assert _count(staff, "/api/work/tasks") == before["tasks"]
    assert _count(member, "/api/work/assignments") == before["mine"]
    assert _count(staff, f"/api/work/tasks/{task.pk}/assignments") == before["assignments"]


def test_staff_create_and_list_recurring_tasks(tree, as_):
    first = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    body = {"area_id": tree.community_a.pk, "title": "每周消防巡查", "repeat": "weekly", "first_run_at": first}
    created = post(as_("community_staff"), "/api/work/schedules", body)
    assert created.status_code == 201, created.content
    assert created.json()["repeat"]["code"] == "weekly" and created.json()["active"] is True
    assert [s["id"] for s in as_("street_staff").get("/api/work/schedules").json()["items"]] == [created.json()["id"]]
    assert as_("outsider_street_staff").get("/api/work/schedules").json()["items"] == []
    assert fields_of(post(as_("community_staff"), "/api/work/schedules", {**body, "repeat": "days"})) == {"every_days"}
