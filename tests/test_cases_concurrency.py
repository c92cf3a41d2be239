"""Cases under real concurrency, on PostgreSQL: threads with their own connections act at the same moment.

SQLite takes the write lock at BEGIN (IMMEDIATE), so writers there queue up and never race in the way
these tests need; the compare-and-set and the unique idempotency key are what keep PostgreSQL honest.
"""

import itertools
import queue
import threading

import pytest
from django.db import connection

from fengchao.audit.models import AuditEvent
from fengchao.cases import services
from fengchao.cases.choices import CaseState, Channel, Tier
from fengchao.cases.models import Case, CaseEvent, CaseTally
from fengchao.core.errors import StaleRecord
from tests.case_factories import assert_tallies_match_a_rebuild, build_categories, report
from tests.concurrency import in_threads
from tests.factories import first_micro

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises writers at BEGIN, so nothing races (set DATABASE_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]


def fresh(pk) -> Case:
    return Case.objects.select_related("area", "category").get(pk=pk)


def test_two_dispatchers_at_once_only_one_wins(tree):
    cats = build_categories()
    u = tree.users
    # Each round: the community and the street dispatch the same case to different tiers at the same moment.
    for _round in range(5):
        case = report(tree, cats.litter, by=u["microgrid_member"])
        for step in ("accept", "register"):
            services.transition(fresh(case.pk), step, by=u["community_staff"])
        contenders = [(u["community_staff"], Tier.GRID), (u["street_staff"], Tier.COMMUNITY)]
        barrier = threading.Barrier(len(contenders))
        outcomes = {}

        def dispatch(n, case=case, contenders=contenders, barrier=barrier, outcomes=outcomes):
            by, tier = contenders[n]
            mine = fresh(case.pk)  # both read the case as "registered", version v
            barrier.wait(timeout=60)
            try:
                services.dispatch(mine, by=by, tier=tier)
                outcomes[n] = "won"
            except StaleRecord as lost:  # WrongState is a StaleRecord too
                outcomes[n] = lost

        in_threads(len(contenders), dispatch)
        winners = [n for n, outcome in outcomes.items() if outcome == "won"]
        assert len(winners) == 1, outcomes
        assert all(isinstance(outcome, StaleRecord) for n, outcome in outcomes.items() if n not in winners)
        after = fresh(case.pk)
        assert (after.state, after.tier) == (CaseState.DISPATCHED, contenders[winners[0]][1])
        assert after.events.filter(action="dispatch").count() == 1
        assert AuditEvent.objects.filter(action="case.dispatch", object_id=str(case.pk)).count() == 1
    assert_tallies_match_a_rebuild()


def test_a_thousand_submissions_each_retried_at_once_make_a_thousand_cases(tree):
    cats = build_categories()
    micro = first_micro(tree, tree.grid_a1)
    submissions, retries, workers = 1000, 3, 6
    # Each key's attempts sit next to each other in the queue, so different threads pick them up together.
    work = queue.Queue()
    for key, _attempt in itertools.product(range(submissions), range(retries)):
        work.put(key)
    answers = {}  # key -> [(case pk, created)]
    lock = threading.Lock()

    def submit(_n):
        while True:
            try:
                key = work.get_nowait()
            except queue.Empty:
                return
            case, created = services.submit_case(
                channel=Channel.RESIDENT_QR,
                category=cats.litter,
                description=f"第{key}号楼下垃圾堆放",
                idempotency_key=f"load-{key:06d}",
                area=micro,
            )
            with lock:
                answers.setdefault(key, []).append((case.pk, created))

    in_threads(workers, submit)

    assert len(answers) == submissions
    for key, attempts in answers.items():
        assert len(attempts) == retries, key
        assert len({pk for pk, _created in attempts}) == 1, (key, attempts)  # every retry got the first case
        assert sum(created for _pk, created in attempts) == 1, (key, attempts)
    assert Case.objects.count() == submissions
    assert CaseEvent.objects.filter(action="report").count() == submissions
    assert AuditEvent.objects.filter(action="case.report").count() == submissions
    assert_tallies_match_a_rebuild()
    # Each level above the micro-grid counts each case once.
    for area_pk in (micro.district_pk, micro.street_pk, micro.community_pk, micro.grid_pk):
        assert sum(row.reported for row in CaseTally.objects.filter(area_id=area_pk)) == submissions
