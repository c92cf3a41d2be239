"""The demo's field work in the pilot street over the last season (13 weeks): the tasks the street gives every
micro-grid and the schedules that publish them, the weekly patrols of each grid, a fire-safety sweep of its
buildings and places with what it found, and care visits by the visit plans.

Thousands of rows, not millions, so they go in with bulk_create (no audit event per row: the one `demo.seeded`
event covers the seed). Points come through the points seeder's own `claim` (passed in as `earn`), so balances,
the ledger and the mall's year of orders agree with the work done.
"""

import datetime as dt
import random
import struct
import zlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.utils import timezone

from fengchao.accounts.models import RoleAssignment
from fengchao.accounts.roles import Role
from fengchao.areas.levels import AreaKind
from fengchao.areas.models import Area, subtree_q
from fengchao.cases.choices import Channel
from fengchao.cases.models import Case
from fengchao.cases.photos import new_token
from fengchao.inspections.choices import SEED_TEMPLATE, Outcome, State
from fengchao.inspections.models import ChecklistTemplate, Inspection, InspectionItem
from fengchao.patrols.models import PatrolCheckIn
from fengchao.points.choices import Action
from fengchao.registry.models import Building, Place, Resident, ResidentCareTag
from fengchao.visits.models import CarePlan, Visit
from fengchao.work.choices import AssignmentState, Repeat, TaskState
from fengchao.work.models import Assignment, Task, TaskSchedule

SEASON_WEEKS = 13
SWEEP_DAYS = 28  # the fire-safety sweep ran over the last four weeks (the coverage pages show 30 days by default)
HAZARD_DAYS = 84  # members' reports of fire hazards this long back were found on inspections
MEMBER_ROLES = (Role.MICROGRID_MEMBER, Role.MICROGRID_LEADER)

# The recurring tasks the pilot street gives its micro-grids:
# (title, instructions, repeat, every N days, days to do it, checklist, photo, GPS, resident's signature).
SCHEDULES = [
    (
        "每周楼栋消防通道巡查",
        "走一遍本微网格的楼栋，查看消防通道、安全出口和楼道，发现问题当场劝导或一键上报。",
        Repeat.WEEKLY,
        None,
        3,
        ["消防通道、安全出口畅通", "楼道无杂物堆放", "无电动车飞线充电"],
        True,
        True,
        False,
    ),
    (
        "每月燃气安全入户提醒",
        "入户提醒燃气安全（软管老化、用后关阀），请住户签字确认。",
        Repeat.EVERY_N_DAYS,
        28,
        10,
        ["检查燃气软管", "提醒用后关阀"],
        False,
        False,
        True,
    ),
]


@dataclass
class FieldworkResult:
    counts: dict = field(default_factory=dict)


class _Season:
    def __init__(self, street: Area, now: dt.datetime, rnd: random.Random, earn):
        self.street, self.now, self.rnd, self.earn = street, now, rnd, earn
        self.microgrids = list(
            Area.objects.filter(subtree_q(street.path), kind=AreaKind.MICROGRID, is_active=True).order_by("path")
        )
        self.members: dict[int, list[int]] = defaultdict(list)  # micro-grid -> people serving it
        self.reviewer: dict[int, int] = {}  # grid -> its leader (or the community's staff)
        serving = RoleAssignment.objects.filter(subtree_q(street.path, "area__")).order_by("pk")
        for user, role, area_id, community_pk in serving.values_list(
            "user_id", "role", "area_id", "area__community_pk"
        ):
            if role in MEMBER_ROLES:
                self.members[area_id].append(user)
            elif role == Role.GRID_LEADER:
                self.reviewer.setdefault(area_id, user)
            elif role == Role.COMMUNITY_STAFF:
                self.reviewer.setdefault(-community_pk, user)
        self.members_of_grid: dict[int, list[int]] = defaultdict(list)
        for micro in self.microgrids:
            self.members_of_grid[micro.grid_pk or micro.parent_id].extend(self.members.get(micro.pk, []))
        staff = serving.filter(role=Role.STREET_STAFF, area=street).values_list("user_id", flat=True).first()
        self.street_staff = staff or next(iter(self.reviewer.values()), None)
        self.counts: dict[str, int] = defaultdict(int)

    def doers_near(self, area_id: int, grid_pk: int | None) -> list[int]:
        """Who serves the micro-grid; for a place sitting in a grid, who serves any of the grid's micro-grids."""
        return self.members.get(area_id) or self.members_of_grid.get(grid_pk or area_id, [])

    def reviewer_of(self, micro: Area) -> int | None:
        return self.reviewer.get(micro.grid_pk) or self.reviewer.get(-micro.community_pk)

    # tasks ----------------------------------------------------------------------------------------------------

    def tasks(self) -> None:
        """Each schedule's tasks of the season, published on time; every micro-grid's share done and reviewed,
        except that the latest still runs and a few shares of the one before are overdue."""
        if self.street_staff is None or not self.microgrids:
            return
        for spec in SCHEDULES:
            title, instructions, repeat, every, due_days, checklist, photo, gps, signature = spec
            step = dt.timedelta(days=7 if repeat == Repeat.WEEKLY else every)
            first = timezone.localtime(self.now - dt.timedelta(weeks=SEASON_WEEKS)).replace(
                hour=9, minute=0, second=0, microsecond=0
            )
            runs = []
            at = first
            while at <= self.now:
                runs.append(at)
                at += step
            fields = dict(
                title=title, instructions=instructions, area=self.street, created_by_id=self.street_staff,
                checklist=checklist, need_photo=photo, need_gps=gps, need_signature=signature,
            )  # fmt: skip
            schedule = TaskSchedule.objects.create(
                repeat=repeat, every_days=every, due_days=due_days, next_run_at=at, **fields
            )
            self.counts["task_schedule"] += 1
            for index, published in enumerate(runs):
                self.task(
                    schedule, fields, published, published + dt.timedelta(days=due_days), runs_left=len(runs) - index
                )

    def task(self, schedule, fields, published, due, *, runs_left) -> None:
        ended = due < self.now - dt.timedelta(days=7)
        task = Task.objects.create(
            schedule=schedule, due_at=due, state=TaskState.CLOSED if ended else TaskState.OPEN,
            total=len(self.microgrids), fanned_out=len(self.microgrids), **fields,
        )  # fmt: skip
        Task.objects.filter(pk=task.pk).update(created_at=published)
        rows = []
        for micro in self.microgrids:
            doers = self.members.get(micro.pk)
            roll = self.rnd.random()
            if not doers or (runs_left == 2 and roll < 0.08):
                rows.append(Assignment(task=task, area=micro, due_at=due))  # not done: overdue on the map
                continue
            if runs_left == 1 and roll < 0.45:
                rows.append(Assignment(task=task, area=micro, due_at=due))  # the latest: still to do
                continue
            doer = self.rnd.choice(doers)
            submitted = min(published + dt.timedelta(hours=self.rnd.randint(3, 60)), self.now)
            answers = [{"item": item, "done": True} for item in fields["checklist"]]
            reviewer = self.reviewer_of(micro)
            accepted = reviewer is not None and (runs_left > 1 or roll > 0.75)
            reviewed = min(submitted + dt.timedelta(hours=self.rnd.randint(2, 30)), self.now) if accepted else None
            lon, lat = (micro.centre_lon, micro.centre_lat) if fields["need_gps"] else (None, None)
            rows.append(
                Assignment(
                    task=task,
                    area=micro,
                    due_at=due,
                    submitted_at=submitted,
                    submitted_by_id=doer,
                    answers=answers,
                    lon=lon,
                    lat=lat,
                    state=AssignmentState.ACCEPTED if accepted else AssignmentState.SUBMITTED,
                    reviewed_by_id=reviewer if accepted else None,
                    reviewed_at=reviewed,
                )  # fmt: skip
            )
        made = Assignment.objects.bulk_create(rows, batch_size=2000)
        done = 0
        for assignment in made:
            if assignment.state == AssignmentState.ACCEPTED:
                done += 1
                label = f"{fields['title']}（{timezone.localtime(published):%m-%d}）"
                self.earn(assignment.submitted_by_id, Action.TASK_COMPLETED, "work.assignment", str(assignment.pk),
                          label, assignment.area_id, assignment.area.path, assignment.reviewed_at)  # fmt: skip
        Task.objects.filter(pk=task.pk).update(done=done)
        self.counts["task"] += 1
        self.counts["task_assignment"] += len(made)
        self.counts["task_assignment.accepted"] += done


# What members write after a visit, and now and then a need.
FINDINGS = [
    "老人身体状况良好，精神不错，家中整洁。",
    "血压偏高，已提醒按时服药，子女每周来看望。",
    "家中燃气、用电正常，已提醒冬季取暖安全。",
    "老人腿脚不便，平时由邻居帮忙买菜。",
    "情绪稳定，近期参加了社区老年活动。",
    "电话联系，本人在家，近况平稳。",
]
NEEDS = ["希望有人帮忙代购药品", "卫生间扶手松动，需要维修", "想了解长者食堂助餐", "冬季需要取暖设施检查"]


class _Walks:
    """Weekly patrols (两小时网格全走访): in most weeks one of each grid's members walks the grid in one go, checking
    in at each micro-grid about a quarter of an hour apart; this week only some grids have been walked yet."""

    def __init__(self, season: "_Season"):
        self.season = season

    def run(self) -> None:
        season = self.season
        grids: dict[int, list[Area]] = defaultdict(list)
        for micro in season.microgrids:
            grids[micro.grid_pk or micro.parent_id].append(micro)
        today = timezone.localtime(season.now)
        monday = (today - dt.timedelta(days=today.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        rows = []
        for week in range(SEASON_WEEKS, -1, -1):
            start = monday - dt.timedelta(weeks=week)
            for grid_pk, micros in grids.items():
                walkers = season.members_of_grid.get(grid_pk)
                if not walkers or season.rnd.random() > (0.5 if week == 0 else 0.9):
                    continue
                days = (today - start).days if week == 0 else 6
                at = start + dt.timedelta(days=season.rnd.randint(0, days), hours=season.rnd.uniform(8.5, 16))
                walker = season.rnd.choice(walkers)
                for micro in micros:
                    if at >= season.now:
                        break
                    if micro.centre_lon is None or season.rnd.random() > 0.93:
                        continue  # a gap in the walk
                    rows.append(
                        PatrolCheckIn(user_id=walker, area=micro, at=at, lon=micro.centre_lon, lat=micro.centre_lat)
                    )
                    at += dt.timedelta(minutes=season.rnd.randint(8, 20))
        PatrolCheckIn.objects.bulk_create(rows, batch_size=5000)
        season.counts["patrol_check_in"] += len(rows)


def _photo() -> bytes:
    """A small grey PNG standing in for the photo a member takes of a failed item."""
    width = height = 32
    raw = b"".join(b"\x00" + b"\x90\x90\x90" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


class _Sweep:
    """The fire-safety sweep of the last four weeks: most buildings and places inspected once, item by item.

    The hazards are the seeded cases of the checklist's categories (blocked exits, flying-wire charging, clutter,
    gas…) that members reported in the last twelve weeks: each such case is the failed item of an inspection of a
    building in its micro-grid, by its reporter, on the day it was reported; once the case was resolved, a
    re-inspection records the rectification. A few other failures were fixed on the spot. So no case is written
    here, and the cases, the hazards and their rectification tell one story.
    """

    def __init__(self, season: "_Season"):
        self.season = season
        self.photo = _photo()

    def hazard_cases(self, template, since) -> dict[int, list[dict]]:
        """Member-reported cases of the checklist's categories in the sweep's weeks, by micro-grid."""
        item_of = {}
        for item in template.items:
            item_of.setdefault(item.get("category"), item)
        cases = Case.objects.filter(
            street_pk=self.season.street.pk, channel=Channel.MEMBER, reporter__isnull=False, reported_at__gte=since,
            category__code__in=[code for code in item_of if code],
        ).order_by("reported_at", "pk")  # fmt: skip
        found: dict[int, list[dict]] = defaultdict(list)
        for row in cases.values("pk", "area_id", "reporter_id", "reported_at", "resolved_at", "category__code"):
            row["item"] = item_of[row["category__code"]]
            found[row["area_id"]].append(row)
        return found

    def run(self) -> None:
        season = self.season
        template = ChecklistTemplate.objects.filter(code=SEED_TEMPLATE, is_active=True).first()
        if template is None:
            return
        sweep_start = timezone.localtime(season.now - dt.timedelta(days=SWEEP_DAYS)).replace(hour=9, minute=0)
        hazards = self.hazard_cases(template, season.now - dt.timedelta(days=HAZARD_DAYS))
        targets = [("building", b) for b in Building.objects.filter(street_pk=season.street.pk, is_active=True)]
        targets += [("place", p) for p in Place.objects.filter(street_pk=season.street.pk, is_active=True)]
        targets.sort(key=lambda t: (t[1].area_id, t[0], t[1].pk))
        areas = {a.pk: a for a in Area.objects.filter(pk__in={t.area_id for _k, t in targets})}
        inspections, answers, rechecks = [], [], []
        for kind, target in targets:
            case = hazards[target.area_id].pop() if kind == "building" and hazards.get(target.area_id) else None
            doers = season.doers_near(target.area_id, target.grid_pk)
            if case is None and (not doers or season.rnd.random() > 0.8):
                continue  # not inspected in this sweep: shows on the coverage page
            at = sweep_start + dt.timedelta(days=season.rnd.uniform(0, SWEEP_DAYS - 1), hours=season.rnd.uniform(0, 8))
            inspection = Inspection(
                template=template, template_version=template.version, state=State.PASSED, **{kind: target},
                inspector_id=case["reporter_id"] if case else season.rnd.choice(doers),
                at=case["reported_at"] if case else min(at, season.now - dt.timedelta(hours=2)),
            )  # fmt: skip
            inspection.place_in(areas[target.area_id])
            rows = []
            for position, item in enumerate(template.items):
                row = InspectionItem(position=position, code=item["code"], text=item["text"], outcome=Outcome.PASS)
                if case and item is case["item"]:
                    self.hazard(inspection, row, case, rechecks)
                elif season.rnd.random() < 0.015:
                    self.fixed_on_the_spot(inspection, row)
                elif season.rnd.random() < 0.02:
                    row.outcome = Outcome.NA
                rows.append(row)
            inspections.append(inspection)
            answers.append(rows)
        Inspection.objects.bulk_create(inspections, batch_size=2000)
        for inspection, rows in zip(inspections, answers, strict=True):
            for row in rows:
                row.inspection = inspection
        InspectionItem.objects.bulk_create([row for rows in answers for row in rows], batch_size=2000)
        for original, row in rechecks:
            self.recheck(original, row)
        for inspection in inspections:
            season.earn(inspection.inspector_id, Action.INSPECTION_DONE, "inspections.inspection", str(inspection.pk),
                        f"{inspection.target}（{timezone.localtime(inspection.at):%m-%d}）", inspection.area_id,
                        inspection.area.path, inspection.at)  # fmt: skip
        season.counts["inspection"] += len(inspections)

    def failed(self, row, note: str) -> None:
        row.outcome, row.note = Outcome.FAIL, note
        row.photo.save(f"{new_token()}.png", ContentFile(self.photo), save=False)
        row.photo_type = "image/png"

    def fixed_on_the_spot(self, inspection, row) -> None:
        self.failed(row, "已现场劝导整改")
        row.fixed_on_spot = True
        row.rectified_at, row.rectified_by_id = inspection.at, inspection.inspector_id
        self.season.counts["inspection_item.fixed_on_spot"] += 1

    def hazard(self, inspection, row, case: dict, rechecks: list) -> None:
        """The failed item behind a reported case; rectified on a re-inspection once the case was resolved."""
        self.failed(row, "现场发现隐患，已上报")
        row.case_id = case["pk"]
        self.season.counts["inspection_item.hazard"] += 1
        if case["resolved_at"] is not None:
            row.rectified_at = case["resolved_at"] + dt.timedelta(hours=self.season.rnd.randint(2, 48))
            row.rectified_at = min(row.rectified_at, self.season.now - dt.timedelta(minutes=30))
            row.rectified_by_id = inspection.inspector_id
            inspection.state = State.RECTIFIED
            rechecks.append((inspection, row))
        else:
            inspection.state = State.OPEN

    def recheck(self, original, row) -> None:
        """The re-inspection that found the failed item put right."""
        again = Inspection(
            template=original.template, template_version=original.template_version, building=original.building,
            place=original.place, inspector_id=row.rectified_by_id, at=row.rectified_at, state=State.PASSED,
            follows=original, note="复查：已整改",
        )  # fmt: skip
        again.place_in(original.area)
        again.save()
        InspectionItem.objects.create(inspection=again, position=row.position, code=row.code, text=row.text,
                                      outcome=Outcome.PASS, note="复查合格")  # fmt: skip


class _Rounds:
    """Care visits by plan: each care subject's latest visit (in time for most, overdue for about one in six), and
    for one in three the visit before it."""

    def __init__(self, season: "_Season"):
        self.season = season

    def run(self) -> None:
        season = self.season
        plans = dict(CarePlan.objects.filter(is_active=True).values_list("tag_id", "every_days"))
        every: dict[int, int] = {}
        links = ResidentCareTag.objects.filter(street_pk=season.street.pk, is_living=True, tag_id__in=list(plans))
        for resident, tag in links.values_list("resident_id", "tag_id"):
            every[resident] = min(every.get(resident, 999), plans[tag])
        lineage = ("district_pk", "street_pk", "community_pk", "grid_pk")
        residents = Resident.objects.filter(street_pk=season.street.pk, pk__in=list(every)).only("pk", "area", *lineage)
        residents = residents.order_by("pk")
        paths = dict(Area.objects.filter(subtree_q(season.street.path)).values_list("pk", "path"))
        season_start = season.now - dt.timedelta(weeks=SEASON_WEEKS)
        visits = []
        for resident in residents:
            doers = season.doers_near(resident.area_id, resident.grid_pk)
            if not doers:
                continue
            interval = every[resident.pk]
            # The latest visit: in time for most, overdue for about one in six.
            at = season.now - dt.timedelta(days=season.rnd.uniform(0.1, interval * 1.2), hours=season.rnd.uniform(0, 3))
            # The one before it, for one subject in three: enough history to read, few enough rows that the
            # district-scale seed (tens of thousands of care subjects in the pilot street) stays quick.
            earlier = season.rnd.random() < 1 / 3
            for _ in range(2 if earlier else 1):
                if at <= season_start:
                    break
                visit = Visit(
                    resident_id=resident.pk, visitor_id=season.rnd.choice(doers), at=at, area_id=resident.area_id,
                    findings=season.rnd.choice(FINDINGS), needs=season.rnd.choice(NEEDS) if season.rnd.random() < 0.04
                    else "", **{name: getattr(resident, name) for name in lineage},
                )  # fmt: skip
                visits.append(visit)
                at -= dt.timedelta(days=interval * season.rnd.uniform(0.8, 1.0))
        Visit.objects.bulk_create(visits, batch_size=2000)
        for visit in visits:
            season.earn(visit.visitor_id, Action.VISIT_DONE, "visits.visit", str(visit.pk), "入户走访", visit.area_id,
                        paths[visit.area_id], visit.at)  # fmt: skip
        season.counts["care_visit"] += len(visits)


def seed_fieldwork(street: Area, *, now: dt.datetime, rnd: random.Random, earn) -> FieldworkResult:
    """The season's field work in the street (caller's transaction); `earn(user, action, source_type, source_id,
    label, area_id, path, at)` books the points each piece of work earned."""
    season = _Season(street, now, rnd, earn)
    season.tasks()
    _Walks(season).run()
    _Sweep(season).run()
    _Rounds(season).run()
    return FieldworkResult(counts=dict(season.counts))


def remove_fieldwork() -> None:
    """Delete the demo's field work before its cases, people and areas go (a demo database holds nothing else)."""
    InspectionItem.objects.all().delete()
    Inspection.objects.filter(follows__isnull=False).delete()
    for model in (Inspection, Visit, PatrolCheckIn, Assignment, Task, TaskSchedule):
        model.objects.all().delete()
