"""Points for tests, through the real services: rules set by the district, claims earned on activities or
cases, grants posted to the ledger."""

import itertools
from dataclasses import dataclass

from django.db import transaction

from fengchao.points import ledger, services
from fengchao.points.choices import Action, Approval, PointsKind, TransferKind

_numbers = itertools.count(1)


class _Meta:
    label_lower = "events.activity"


class Activity:
    """A stand-in source (an event's sign-in, a training): anything with a label and a pk earns points."""

    _meta = _Meta()

    def __init__(self, label: str = "社区志愿服务活动", pk=None):
        self.pk = pk or next(_numbers)
        self.label = label

    def __str__(self):
        return self.label


@dataclass
class Rules:
    handled: object  # case.handled: 10 task points at once
    training: object  # training.attended: 5 participation points after review
    hours: object  # volunteer.hours: 10 participation points an hour (at most 4 h), review then 3 days' listing
    meeting: object  # meeting.attended: 3 participation points after review


def district_rules(tree) -> Rules:
    admin = tree.users["district_admin"]
    district = tree.district
    return Rules(
        handled=services.save_rule(
            by=admin, area=district, action=Action.CASE_HANDLED, kind=PointsKind.TASK, points=10
        ),
        training=services.save_rule(
            by=admin,
            area=district,
            action=Action.TRAINING_ATTENDED,
            kind=PointsKind.PARTICIPATION,
            points=5,
            approval=Approval.REVIEW,
        ),
        hours=services.save_rule(
            by=admin,
            area=district,
            action=Action.VOLUNTEER_HOURS,
            kind=PointsKind.PARTICIPATION,
            points_per_hour=10,
            max_hours="4",
            approval=Approval.LISTING,
            listing_days=3,
        ),
        meeting=services.save_rule(
            by=admin,
            area=district,
            action=Action.MEETING_ATTENDED,
            kind=PointsKind.PARTICIPATION,
            points=3,
            approval=Approval.REVIEW,
        ),
    )


def claim(user, action, area, *, label="社区志愿服务活动", hours=None, at=None, source=None):
    """A claim of `user` for a new activity (or `source`) in `area`."""
    with transaction.atomic():
        return services.earn(user, action, source=source or Activity(label), area=area, hours=hours, at=at)


def grant(user, points, kind=PointsKind.TASK, *, area=None, reason="测试发放", at=None, **about):
    """Points posted straight to the ledger (a grant with no claim behind it)."""
    with transaction.atomic():
        return ledger.post(TransferKind.GRANT, kind, points, user_id=user.pk, area=area, reason=reason, at=at, **about)
