"""Where handed-in work was done: the submitted point is located; outside the assignment's micro-grid the reviewer
sees a warning (in which micro-grid, or in none) on the assignment page, the task page and in the API. It is never
refused: phone GPS near a boundary is often off by tens of metres."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from fengchao.audit.models import AuditEvent
from fengchao.work import services
from fengchao.work.choices import AssignmentState
from fengchao.work.models import Assignment
from tests.page_client import html, login

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("locator_checks_every_call")]

INSIDE = (104.02, 30.62)  # grid A1's micro-grid 1, the member's
NEIGHBOUR = (104.02, 30.67)  # grid A1's micro-grid 2
NOWHERE = (105.5, 31.5)  # outside the district


def assignment(tree, **kw):
    task = services.publish_task(
        tree.users["community_staff"], area=tree.community_a, title="入户走访",
        due_at=timezone.now() + dt.timedelta(days=2), **kw,
    )  # fmt: skip
    return Assignment.objects.select_related("task", "area").get(task=task, area=next(iter(tree.micro.values())))


def submit(tree, point, **kw):
    a = assignment(tree, **kw)
    lon, lat = point if point else (None, None)
    services.submit(a, by=tree.users["microgrid_member"], lon=lon, lat=lat)
    return Assignment.objects.select_related("located_area").get(pk=a.pk)


def test_a_point_inside_the_micro_grid_is_not_flagged(tree):
    a = submit(tree, INSIDE)
    assert a.located_area_id == a.area_id and a.location_outside is False


def test_a_point_in_another_micro_grid_is_flagged_but_accepted(tree):
    a = submit(tree, NEIGHBOUR, need_gps=True)
    assert a.state == AssignmentState.SUBMITTED
    assert a.location_outside is True and a.located_area.name == "和美一网格2号微网格"
    event = AuditEvent.objects.get(action="work.submitted", object_id=str(a.pk))
    assert event.data["outside"] is True and event.data["located_area"] == a.located_area_id


def test_a_point_outside_every_micro_grid_is_flagged(tree):
    a = submit(tree, NOWHERE)
    assert a.location_outside is True and a.located_area is None


def test_no_point_no_flag(tree):
    a = submit(tree, None)
    assert a.location_outside is False and a.located_area is None


def test_the_reviewer_sees_the_warning_on_the_pages(client, tree):
    near = submit(tree, NEIGHBOUR)
    far = submit(tree, NOWHERE)
    fine = submit(tree, INSIDE)
    login(client, tree, "community_staff")
    page = html(client, reverse("work:assignment", args=[near.pk]))
    assert "Submitted outside the micro-grid (in 和美一网格2号微网格)" in page
    assert "Submitted outside every micro-grid" in html(client, reverse("work:assignment", args=[far.pk]))
    assert "location-outside" not in html(client, reverse("work:assignment", args=[fine.pk]))
    task_page = html(client, reverse("work:task", args=[near.task_id]))
    assert f"location-outside-{near.pk}" in task_page


def test_the_api_says_where_the_point_fell(tree, as_):
    near = submit(tree, NEIGHBOUR)
    fine = submit(tree, INSIDE)
    got = as_("community_staff").get(f"/api/work/assignments/{near.pk}").json()
    assert got["location_outside"] is True
    assert got["located_area"] == {"id": near.located_area_id, "name": "和美一网格2号微网格"}
    got = as_("community_staff").get(f"/api/work/assignments/{fine.pk}").json()
    assert got["location_outside"] is False and got["located_area"]["id"] == fine.area_id
    listed = as_("community_staff").get(f"/api/work/tasks/{near.task_id}/assignments?state=submitted").json()
    assert [i["location_outside"] for i in listed["items"]] == [True]
