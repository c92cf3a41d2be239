"""A member's day (今日): the open tasks due first, the care visits due by today, and the events of the coming
week the caller signed up for or could join. Each section comes from its own app's scoped queries, so this
endpoint shows nothing the caller could not read elsewhere. Answers 401 without a session or token.
"""

import datetime as dt

from ninja import Router, Schema
from pydantic import Field

from fengchao.today.summary import day_of

router = Router(tags=["today"])


class TaskDue(Schema):
    assignment: int
    task: str
    area: str
    due_at: dt.datetime
    overdue: bool
    returned: bool = Field(description="handed in and returned by the reviewer, to do again")


class VisitDue(Schema):
    resident: int
    name: str
    address: str
    tags: list[str]
    due_on: dt.date
    overdue: bool
    last_visited_at: dt.datetime | None


class EventAhead(Schema):
    activity: int
    title: str
    starts_at: dt.datetime
    place: str
    signup: str | None = Field(description="confirmed or waitlisted; null: not signed up, could join")


class Counted(Schema):
    total: int
    overdue: int


class DayOut(Schema):
    on: dt.date
    tasks: Counted
    visits: Counted
    check_ins_today: int
    task_rows: list[TaskDue]
    visit_rows: list[VisitDue]
    events: list[EventAhead]


@router.get("", response=DayOut, summary="My day: tasks due, visits due, events ahead")
def today(request):
    day = day_of(request.user)
    now = dt.datetime.now(dt.UTC)
    return {
        "on": day.on,
        "tasks": {"total": day.tasks.total, "overdue": day.tasks.urgent},
        "visits": {"total": day.visits.total, "overdue": day.visits.urgent},
        "check_ins_today": day.check_ins_today,
        "task_rows": [
            {
                "assignment": a.pk,
                "task": a.task.title,
                "area": a.area.name,
                "due_at": a.due_at,
                "overdue": a.due_at < now,
                "returned": bool(a.return_reason),
            }
            for a in day.tasks.rows
        ],
        "visit_rows": [
            {
                "resident": v["resident"],
                "name": v["name"],
                "address": v["address"],
                "tags": list(v["tags"]),
                "due_on": v["due_on"],
                "overdue": v["overdue"],
                "last_visited_at": v["last_visited_at"],
            }
            for v in day.visits.rows
        ],
        "events": [
            {
                "activity": s.activity_id,
                "title": s.activity.title,
                "starts_at": s.activity.starts_at,
                "place": s.activity.place,
                "signup": s.state,
            }
            for s in day.events
        ]
        + [
            {"activity": a.pk, "title": a.title, "starts_at": a.starts_at, "place": a.place, "signup": None}
            for a in day.open_events
        ],
    }
