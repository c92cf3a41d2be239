"""Platform-task figures over the district-scale demo (var/bench/district.sqlite3, seeded if needed).

- `work.fanout_6316_s`: seconds to fan one task out to all 6,316 micro-grids of the district — the
  assignments written by `bulk_create` in batches of 1,000 with the task's progress counted after each batch,
  then the task opened and audited — run synchronously (what the worker's job does). Budget: < 10 s.

The bench task, its assignments and its audit events are deleted afterwards, so the database stays as seeded.
"""

import datetime as dt
import time

BUDGET_S = 10.0


def run(emit) -> None:
    import _setup
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from fengchao.areas.models import Area
    from fengchao.audit.models import AuditEvent
    from fengchao.work import fanout
    from fengchao.work.choices import TaskState
    from fengchao.work.models import Assignment, Task

    _setup.ensure_district_db()
    district = Area.objects.filter(kind="district").order_by("pk").first()
    by = get_user_model().objects.order_by("pk").first()
    total = fanout.microgrids_under(district).count()
    with transaction.atomic():
        task = Task.objects.create(
            title="bench: 全区安全排查",
            area=district,
            created_by=by,
            due_at=timezone.now() + dt.timedelta(days=3),
            state=TaskState.FANNING_OUT,
            total=total,
        )
    try:
        started = time.perf_counter()
        done = fanout.fan_out(task.pk)
        elapsed = time.perf_counter() - started
        if (done.state, done.fanned_out) != (TaskState.OPEN, total):
            raise SystemExit(f"work: fan-out incomplete: {done.state} {done.fanned_out}/{total}")
    finally:
        with transaction.atomic():
            Assignment.objects.filter(task_id=task.pk).delete()
            AuditEvent.objects.filter(object_type="work.task", object_id=str(task.pk)).delete()
            Task.objects.filter(pk=task.pk).delete()
    if total < 6000:
        print(f"work: only {total} micro-grids in the district database", flush=True)
    emit(f"work.fanout_{total}_s" if total != 6316 else "work.fanout_6316_s", elapsed, "s")
