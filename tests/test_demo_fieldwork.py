"""The demo's season of field work in the pilot street: recurring schedules and the tasks they published (done and
reviewed, the latest still running, a few shares overdue), the fire-safety sweep (the hazards are the reported
cases, each rectified by a re-inspection once resolved), care visits by plan, and the points all of it earned."""

import pytest
from django.db.models import Count
from django.urls import reverse

from fengchao.accounts.models import User
from fengchao.inspections.choices import Outcome, State
from fengchao.inspections.models import Inspection, InspectionItem
from fengchao.points.choices import Action
from fengchao.points.models import Claim
from fengchao.visits import queries as visits
from fengchao.visits.models import Visit
from fengchao.work.choices import AssignmentState, TaskState
from fengchao.work.models import Assignment, Task, TaskSchedule

pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("demo")]


@pytest.fixture(scope="module")
def seeded(seeded_demo):
    return seeded_demo


def test_schedules_published_a_season_of_tasks_mostly_done(seeded):
    schedules = list(TaskSchedule.objects.filter(active=True))
    assert len(schedules) == 2 and all(s.tasks.count() >= 3 for s in schedules)
    states = dict(Assignment.objects.values_list("state").annotate(n=Count("pk")))
    assert states[AssignmentState.ACCEPTED] > 10 * states[AssignmentState.SUBMITTED] > 0
    assert Task.objects.filter(state=TaskState.CLOSED).exists() and Task.objects.filter(state=TaskState.OPEN).exists()
    accepted = Assignment.objects.filter(state=AssignmentState.ACCEPTED).count()
    assert Claim.objects.filter(action=Action.TASK_COMPLETED).count() == accepted


def test_the_sweep_found_the_reported_hazards_and_rectified_the_resolved_ones(seeded):
    failed = InspectionItem.objects.filter(inspection__follows__isnull=True, outcome=Outcome.FAIL)
    assert failed.count() > 20 and not failed.filter(photo="").exists()  # a failure always has its photo
    hazards = failed.filter(fixed_on_spot=False)
    assert hazards.count() >= 10 and not hazards.filter(case__isnull=True).exists()  # every hazard is a case
    assert not failed.filter(fixed_on_spot=True, case__isnull=False).exists()
    for item in hazards.select_related("case", "inspection"):
        assert item.inspection.inspector_id == item.case.reporter_id and item.inspection.at == item.case.reported_at
        assert (item.rectified_at is None) == (item.case.resolved_at is None)  # rectified once the case was resolved
        assert item.inspection.state == (State.OPEN if item.rectified_at is None else State.RECTIFIED)
    rectified = Inspection.objects.filter(state=State.RECTIFIED)
    assert rectified.exists() and all(i.reinspections.exists() for i in rectified)
    first = Inspection.objects.filter(follows__isnull=True).count()
    assert Claim.objects.filter(action=Action.INSPECTION_DONE).count() == first


def test_care_subjects_were_visited_by_plan_and_some_are_overdue(seeded):
    member = User.objects.get(username="demo_member")
    due = visits.due_for(member)
    assert (
        Visit.objects.count() > 100 and Claim.objects.filter(action=Action.VISIT_DONE).count() == Visit.objects.count()
    )
    assert all(row["last_visited_at"] for row in due[:5])  # visited before, coming round again


def test_the_demo_member_s_day_and_the_staff_map_have_something_to_show(seeded, client):
    client.login(username="demo_member", password="Fengchao2026")
    page = client.get(reverse("today:today")).content.decode()
    assert 'id="today-task-count">0<' not in page
    client.login(username="demo_street", password="Fengchao2026")
    street_map = client.get(reverse("coverage:map") + "?layer=inspected").content.decode()
    assert 'data-status="good"' in street_map and 'data-status="bad"' in street_map
