"""Platform tasks: publishing fans out one assignment per micro-grid (re-running adds none), the worker path for
big areas, recurring schedules that publish once however often they run, the evidence a task requires, accepting
(task points, once) and returning with a reason, and a case reported from a task."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from fengchao.audit.models import AuditEvent
from fengchao.cases.models import Case
from fengchao.points import ledger
from fengchao.points import services as points
from fengchao.points.choices import Action
from fengchao.points.models import Claim
from fengchao.work import fanout, services
from fengchao.work.choices import AssigneeRole, AssignmentState, Repeat, TaskState
from fengchao.work.models import Assignment, Evidence, Task
from tests.case_factories import build_categories, centre

pytestmark = pytest.mark.django_db

DUE = timezone.now().replace(microsecond=0) + dt.timedelta(days=3)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def photo(name="p.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


@pytest.fixture
def u(tree):
    return tree.users


def publish(tree, *, by="community_staff", area=None, **kw):
    return services.publish_task(
        tree.users[by], area=area or tree.community_a, title="入户走访独居老人", due_at=DUE, **kw
    )


def refusal(call) -> dict:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.message_dict


def mine(tree, task):
    micro = next(iter(tree.micro.values()))  # the member's micro-grid (grid A1, first)
    return Assignment.objects.select_related("task", "area").get(task=task, area=micro)


def test_publishing_fans_out_one_assignment_per_microgrid_and_opens_the_task(tree, u):
    task = publish(tree, by="street_staff", area=tree.street_a)
    under_a = {a.pk for a in tree.micro.values() if a.path.startswith(tree.street_a.path)}
    assert set(task.assignments.values_list("area_id", flat=True)) == under_a and len(under_a) == 4
    assert (task.state, task.total, task.fanned_out, task.done) == (TaskState.OPEN, 4, 4, 0)
    assert AuditEvent.objects.filter(action="work.published", object_id=str(task.pk)).exists()
    assert AuditEvent.objects.filter(action="work.fanned_out", object_id=str(task.pk)).exists()


def test_running_the_fan_out_again_adds_none_and_fills_in_missing_ones(tree, u):
    task = publish(tree, by="district_admin", area=tree.district)
    assert task.assignments.count() == 6
    Assignment.objects.filter(task=task, area=tree.micro[next(iter(tree.micro))]).delete()
    again = fanout.fan_out(task.pk, batch=2)
    assert again.assignments.count() == 6 and (again.total, again.fanned_out) == (6, 6)
    fanout.fan_out(task.pk)
    assert Task.objects.get(pk=task.pk).assignments.count() == 6
    assert AuditEvent.objects.filter(action="work.fanned_out", object_id=str(task.pk)).count() == 1


def test_big_areas_fan_out_in_the_worker_after_commit(tree, u, settings, django_capture_on_commit_callbacks):
    settings.WORK_FANOUT_INLINE = 2
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        task = publish(tree, by="district_admin", area=tree.district)
    assert (task.state, task.total, task.assignments.count()) == (TaskState.FANNING_OUT, 6, 0)
    assert len(callbacks) == 1  # the worker's job, queued on commit
    callbacks[0]()
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.filter(
        task_path="fengchao.work.fanout.fan_out_task", args_kwargs__args=[task.pk]
    ).exists()
    fanout.fan_out(task.pk, batch=4)  # what the worker runs
    task.refresh_from_db()
    assert (task.state, task.fanned_out) == (TaskState.OPEN, 6)


def test_who_may_publish_and_what_is_refused(tree, u):
    with pytest.raises(PermissionDenied):
        publish(tree, by="microgrid_member")
    with pytest.raises(PermissionDenied):
        publish(tree, by="outsider_community_staff")
    assert publish(tree, by="grid_leader", area=tree.grid_a1).total == 2
    assert set(
        refusal(
            lambda: services.publish_task(
                u["community_staff"], area=tree.community_a, title=" ", due_at=timezone.now(), assignee_role="x"
            )
        )
    ) == {"title", "due_at", "assignee_role"}
    assert "area" in refusal(lambda: publish(tree, area=tree.dedicated_a))  # no micro-grids under it


def test_named_people_get_the_assignments_of_their_microgrids(tree, u):
    task = publish(tree, assignee_role=AssigneeRole.NAMED, named_users=[u["microgrid_member"]])
    [only] = task.assignments.all()
    assert only.assignee == u["microgrid_member"] and only.area == next(iter(tree.micro.values()))


def test_a_due_schedule_publishes_one_task_however_often_it_runs(tree, u):
    now = timezone.now().replace(microsecond=0)
    schedule = services.create_schedule(
        u["community_staff"], area=tree.community_a, title="每周安全巡查", repeat=Repeat.WEEKLY,
        first_run_at=now - dt.timedelta(minutes=1), due_days=2,
    )  # fmt: skip
    [task] = services.run_due_schedules(now)
    assert services.run_due_schedules(now) == []
    assert services.run_due_schedules(now + dt.timedelta(days=1)) == []
    assert Task.objects.filter(schedule=schedule).count() == 1 and task.assignments.count() == 4
    schedule.refresh_from_db()
    assert schedule.next_run_at == now - dt.timedelta(minutes=1) + dt.timedelta(days=7)
    assert len(services.run_due_schedules(now + dt.timedelta(days=7))) == 1


def test_every_n_days_skips_missed_runs_and_bad_schedules_are_refused(tree, u):
    now = timezone.now().replace(microsecond=0)
    schedule = services.create_schedule(
        u["community_staff"], area=tree.community_a, title="消防通道检查", repeat=Repeat.EVERY_N_DAYS,
        every_days=3, first_run_at=now - dt.timedelta(days=7),
    )  # fmt: skip
    assert len(services.run_due_schedules(now)) == 1  # one task for the missed runs, not three
    schedule.refresh_from_db()
    assert now < schedule.next_run_at <= now + dt.timedelta(days=3)
    assert set(
        refusal(
            lambda: services.create_schedule(
                u["community_staff"],
                area=tree.community_a,
                title="x",
                repeat=Repeat.EVERY_N_DAYS,
                every_days=0,
                first_run_at=None,
                due_days=0,
            )  # fmt: skip
        )
    ) == {"every_days", "first_run_at", "due_days"}


def test_required_evidence_is_refused_naming_each_missing_field(tree, u):
    task = publish(tree, need_photo=True, need_gps=True, need_signature=True, checklist=["查看燃气", "查看烟感"])
    assignment = mine(tree, task)
    member = u["microgrid_member"]
    assert refusal(lambda: services.submit(assignment, by=member)) == {
        "photos": ["This task needs a photo."],
        "signature": ["This task needs a photo of the visited resident's signature."],
        "location": ["This task needs your location: allow the browser to read it."],
    }
    bad = SimpleUploadedFile("x.png", b"<html>", content_type="image/png")
    assert "photos" in refusal(
        lambda: services.submit(assignment, by=member, photos=[bad], signatures=[photo()], lon=104.02, lat=30.62)
    )
    assert "location" in refusal(
        lambda: services.submit(assignment, by=member, photos=[photo()], signatures=[photo()], lon="x", lat=1)
    )
    assert not Evidence.objects.exists()
    lon, lat = centre(assignment.area)
    done = services.submit(
        assignment, by=member, note="老人身体健康", photos=[photo()], signatures=[photo("s.png")], lon=lon, lat=lat,
        crs="gcj02", answers=[True],
    )  # fmt: skip
    done.refresh_from_db()
    assert done.state == AssignmentState.SUBMITTED and done.submitted_by == member
    assert done.answers == [{"item": "查看燃气", "done": True}, {"item": "查看烟感", "done": False}]
    assert abs(done.lon - lon) > 1e-4  # converted from GCJ-02 to WGS84
    assert sorted(done.evidence.values_list("kind", flat=True)) == ["photo", "signature"]
    assert AuditEvent.objects.filter(action="work.submitted", object_id=str(done.pk)).exists()
    assert "assignment" in refusal(lambda: services.submit(done, by=member))  # once handed in


def test_only_its_doers_may_submit(tree, u):
    task = publish(tree)
    assignment = mine(tree, task)
    for who in ("outsider_microgrid_member", "community_staff", "resident"):
        with pytest.raises(PermissionDenied):
            services.submit(assignment, by=u[who])
    assert services.submit(assignment, by=u["microgrid_leader"]).state == AssignmentState.SUBMITTED


def test_accepting_grants_the_task_points_once(tree, u):
    points.save_rule(by=u["district_admin"], area=tree.district, action=Action.TASK_COMPLETED, kind="task", points=8)
    task = publish(tree)
    assignment = services.submit(mine(tree, task), by=u["microgrid_member"])
    with pytest.raises(PermissionDenied):
        services.accept(assignment, by=u["outsider_grid_leader"])
    with pytest.raises(PermissionDenied):
        services.accept(assignment, by=u["microgrid_leader"])
    services.accept(assignment, by=u["grid_leader"])
    assert ledger.balance(u["microgrid_member"].pk, "task") == 8
    assert "assignment" in refusal(lambda: services.accept(assignment, by=u["grid_leader"]))
    assert Claim.objects.filter(action=Action.TASK_COMPLETED, user=u["microgrid_member"]).count() == 1
    assert Task.objects.get(pk=task.pk).done == 1
    assert AuditEvent.objects.filter(action="work.accepted", object_id=str(assignment.pk)).exists()


def test_returning_needs_a_reason_and_the_work_can_be_handed_in_again(tree, u):
    task = publish(tree)
    assignment = services.submit(mine(tree, task), by=u["microgrid_member"])
    assert refusal(lambda: services.return_(assignment, by=u["community_staff"], reason=" ")) == {
        "reason": ["Say why the work goes back."]
    }
    services.return_(assignment, by=u["community_staff"], reason="照片看不清")
    assignment.refresh_from_db()
    assert (assignment.state, assignment.return_reason) == (AssignmentState.OPEN, "照片看不清")
    assert AuditEvent.objects.filter(action="work.returned", data__reason="照片看不清").exists()
    services.submit(assignment, by=u["microgrid_member"], note="重新拍了")
    services.accept(assignment, by=u["community_staff"])
    assignment.refresh_from_db()
    assert assignment.state == AssignmentState.ACCEPTED and assignment.return_reason == ""


def test_a_stale_copy_is_refused(tree, u):
    task = publish(tree)
    assignment = mine(tree, task)
    stale = mine(tree, task)
    services.submit(assignment, by=u["microgrid_member"])
    services.return_(assignment, by=u["grid_leader"], reason="补拍")
    with pytest.raises(ValidationError):
        services.submit(stale, by=u["microgrid_member"])


def test_closing_a_task_stops_submissions(tree, u):
    task = publish(tree)
    services.close_task(task, by=u["community_staff"])
    assert "assignment" in refusal(lambda: services.submit(mine(tree, task), by=u["microgrid_member"]))


def test_a_case_found_while_doing_a_task_is_reported_in_one_tap(tree, u):
    cats = build_categories()
    task = publish(tree)
    assignment = mine(tree, task)
    lon, lat = centre(assignment.area)
    case = services.report_case_from(
        assignment, by=u["microgrid_member"], category=cats.litter, description="走访时发现楼道堆放杂物",
        idempotency_key="work-case-0001", lon=lon, lat=lat,
    )  # fmt: skip
    assignment.refresh_from_db()
    assert assignment.found_cases == [case.pk] and Case.objects.get(pk=case.pk).channel == "member"
    with pytest.raises(PermissionDenied):
        services.report_case_from(
            assignment, by=u["outsider_microgrid_member"], category=cats.litter, description="x",
            idempotency_key="work-case-0002",
        )  # fmt: skip


def test_the_sweep_can_be_turned_off_and_publishes_each_due_schedule_once(tree, u, settings):
    import threading

    from fengchao.work import clock

    settings.WORK_SCHEDULE_SECONDS = 0
    assert clock.start_work_thread(threading.Event()) is None
    services.create_schedule(
        u["community_staff"], area=tree.community_a, title="每日巡查", repeat=Repeat.EVERY_N_DAYS, every_days=1,
        first_run_at=timezone.now() - dt.timedelta(seconds=1),
    )  # fmt: skip
    services.run_due_schedules()  # what each pass of the sweep calls
    services.run_due_schedules()
    assert Task.objects.filter(title="每日巡查").count() == 1


def test_a_schedule_whose_publisher_lost_the_role_stops(tree, u):
    from fengchao.accounts.models import RoleAssignment

    schedule = services.create_schedule(
        u["community_staff"], area=tree.community_a, title="每周巡查", repeat=Repeat.WEEKLY,
        first_run_at=timezone.now() - dt.timedelta(minutes=1),
    )  # fmt: skip
    RoleAssignment.objects.filter(user=u["community_staff"]).delete()
    u["community_staff"].__dict__.pop("_held_roles", None)
    assert services.run_due_schedules() == []
    schedule.refresh_from_db()
    assert not schedule.active and AuditEvent.objects.filter(action="work.schedule_stopped").exists()
