"""Random walks through the closed loop (hypothesis, stateful): whatever anyone tries, the invariants hold.

Each step picks a case, a person (any factory user, including outsiders and the department's handlers,
the holder of a tracking code, or nobody), an action and its arguments, and calls the service. The only
acceptable outcomes are success or a refusal (ValidationError, which includes StaleRecord and WrongState,
or PermissionDenied). After every step:

- a case's state moved only along edges of `workflow.TRANSITIONS`, the first one by the action tried and
  allowed to the person's relations to the case as they were before the call (`actors_for`);
- every state change wrote exactly one case event with its from and to states, and its audit event;
- a case that moved has a higher version; a refused call left no event and no audit row behind;
- a closed or rated case has a verify event after its last resolve;
- no case was lost or added, and the tallies equal a rebuild from the cases.

Database reset between examples: the tree, users and categories are built once by the pytest test (inside
pytest-django's transaction); each example's state machine opens a savepoint in `__init__`, submits its
few cases, and rolls the savepoint back in `teardown`. Building the tree once keeps 30 examples well
under a minute, and the savepoint works alike on SQLite and PostgreSQL, where TransactionTestCase-style
flushing per example would be far slower.
"""

from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from fengchao.audit.models import AuditEvent
from fengchao.cases import queries, services
from fengchao.cases.choices import CaseState, Channel, Rating, Tier, WhistleLevel
from fengchao.cases.models import Case, CaseEvent, Category
from fengchao.cases.workflow import TRANSITIONS, Actor
from tests.case_factories import assert_tallies_match_a_rebuild, build_categories, photo, report

TRACKING_CODE = "tracking_code"  # holds the case's tracking code, not logged in: stands for the reporter
NOBODY = "nobody"
# The relations the tracking page gives its holder: the reporter, who also checks the result.
TRACKING_ACTORS = {Actor.REPORTER, Actor.VERIFIER}

OTHER_ACTIONS = ["whistle", "report_in", "report_part", "supervise", "follow_up", "add_note"]
ACTIONS = [*TRANSITIONS, *OTHER_ACTIONS]
NOTES = st.sampled_from(["", "情况说明"])
FORWARD = ["accept", "register", "dispatch", "take", "approve_hold", "resume", "resolve", "verify", "close", "rate"]


def fresh(pk) -> Case:
    return Case.objects.select_related("area", "category").get(pk=pk)


class CaseLoop(RuleBasedStateMachine):
    world: SimpleNamespace  # the tree and categories, set by the test before the run

    def __init__(self):
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        w, u = self.world, self.world.t.users
        self.submissions = [
            dict(category=w.c.litter, by=u["resident"], channel=Channel.RESIDENT_QR, phone="13912345678"),
            dict(category=w.c.dispute, by=u["microgrid_member"]),
            dict(category=w.department_matter, by=u["community_staff"], channel=Channel.HOTLINE, phone="13800001111"),
            dict(category=w.c.manhole, before_photos=[photo()], anonymous=True),
            dict(category=w.c.litter, by=u["microgrid_leader"], handled_on_spot=True, after_photos=[photo()]),
        ]
        self.keys = [f"prop-{n:04d}-key" for n in range(len(self.submissions))]
        self.pks = [
            report(w.t, key=key, **dict(submission)).pk
            for key, submission in zip(self.keys, self.submissions, strict=True)
        ]
        self.total = Case.objects.count()

    def teardown(self):
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    # ---- steps ----------------------------------------------------------------------------------------------

    @rule(data=st.data(), index=st.integers(0, 4), action=st.sampled_from(ACTIONS))
    def anyone_tries_anything(self, data, index, action):
        who = data.draw(st.sampled_from(self.people()), label="who")
        self.step(data, self.pks[index], who, action)

    @rule(data=st.data(), index=st.integers(0, 4))
    def anyone_tries_a_step_the_state_offers(self, data, index):
        state = fresh(self.pks[index]).state
        offered = [name for name, t in TRANSITIONS.items() if state in t.sources] or ACTIONS
        action = data.draw(st.sampled_from(offered), label="action")
        who = data.draw(st.sampled_from(self.people()), label="who")
        self.step(data, self.pks[index], who, action)

    @rule(data=st.data(), index=st.integers(0, 4))
    def someone_allowed_tries_a_step(self, data, index):
        """The person has a relation the step allows (its arguments may still be refused)."""
        self.allowed_step(data, index, TRANSITIONS)

    @rule(data=st.data(), index=st.integers(0, 4))
    def the_loop_moves_on(self, data, index):
        """Like the rule above, but only steps towards rated, so walks reach the end of the loop."""
        self.allowed_step(data, index, FORWARD)

    def allowed_step(self, data, index, names):
        case = fresh(self.pks[index])
        relations = {who: self.actors(who, case) for who in self.people()}
        choices = [
            (name, who)
            for name in names
            if case.state in TRANSITIONS[name].sources
            for who, actors in relations.items()
            if TRANSITIONS[name].actors & actors
        ]
        if choices:
            name, who = data.draw(st.sampled_from(choices), label="action, who")
            self.step(data, case.pk, who, name)

    @rule(index=st.integers(0, 4))
    def a_retried_submission_returns_the_first_case(self, index):
        submission = dict(self.submissions[index])
        for key in ("before_photos", "after_photos"):
            if key in submission:
                submission[key] = [photo()]
        w = self.world
        case = report(w.t, key=self.keys[index], **submission)
        assert case.pk == self.pks[index]

    # ---- invariants over all cases ------------------------------------------------------------------------------

    @invariant()
    def no_case_is_lost_or_added(self):
        assert Case.objects.count() == self.total

    @invariant()
    def a_closed_or_rated_case_was_verified_after_its_last_resolve(self):
        for case in Case.objects.filter(state__in=[CaseState.CLOSED, CaseState.RATED]):
            actions = list(case.events.order_by("pk").values_list("action", flat=True))
            assert "resolve" in actions, case.pk
            last_resolve = len(actions) - 1 - actions[::-1].index("resolve")
            assert "verify" in actions[last_resolve:], (case.pk, actions)

    # ---- one step and its checks -------------------------------------------------------------------------------

    def people(self) -> list[str]:
        return [*sorted(self.world.t.users), TRACKING_CODE, NOBODY]

    def user(self, who):
        return None if who in (TRACKING_CODE, NOBODY) else self.world.t.users[who]

    def actors(self, who, case) -> set:
        if who == TRACKING_CODE:
            return set(TRACKING_ACTORS)
        return queries.actors_for(self.user(who), case)

    def step(self, data, pk, who, action):
        case = fresh(pk)
        before = {c.pk: (c.state, c.version) for c in Case.objects.all()}
        last_event = CaseEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        last_audit = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        actors = self.actors(who, case)
        options = self.call(data, case, who, action)
        if options is None:
            self.check_refused(case, before, last_event, last_audit)
        else:
            self.check_moved(case, before, last_event, last_audit, action, actors, options)

    def call(self, data, case, who, action):
        """Call the service; the options drawn, or None if it refused."""
        by, code = self.user(who), who == TRACKING_CODE
        draw = data.draw
        version = draw(st.sampled_from([None, case.version, case.version - 1]), label="expected_version")
        w = self.world
        options = {"ask_reopen": False}
        try:
            if action == "dispatch":
                tier = draw(st.sampled_from(list(Tier)), label="tier")
                department = draw(st.sampled_from([None, w.t.department]), label="department")
                assignee = draw(st.none() | st.sampled_from(sorted(w.t.users)), label="assignee")
                services.dispatch(
                    case,
                    by=by,
                    tier=tier,
                    department=department,
                    assignee=self.user(assignee) if assignee else None,
                    expected_version=version,
                )
            elif action == "take":
                services.take(case, by=by, expected_version=version)
            elif action == "return":
                services.return_to_dispatcher(case, by=by, note=draw(NOTES), expected_version=version)
            elif action == "escalate":
                department = draw(st.sampled_from([None, w.t.department]), label="department")
                services.escalate(case, by=by, note=draw(NOTES), department=department, expected_version=version)
            elif action == "resolve":
                services.resolve(case, by=by, photos_in=self.photos(draw), expected_version=version)
            elif action == "verify":
                services.verify(case, by=by, photos_in=self.photos(draw), as_reporter=code, expected_version=version)
            elif action == "rework":
                services.rework(case, by=by, note=draw(NOTES), as_reporter=code, expected_version=version)
            elif action == "close":
                services.close(case, by=by, expected_version=version)
            elif action == "rate":
                rating = draw(st.sampled_from([*Rating.values, "great"]), label="rating")
                options["ask_reopen"] = draw(st.booleans(), label="ask_reopen")
                services.rate(
                    case,
                    by=by,
                    rating=rating,
                    ask_reopen=options["ask_reopen"],
                    as_reporter=code,
                    expected_version=version,
                )
            elif action == "reopen":
                services.reopen(case, by=by, note=draw(NOTES), expected_version=version)
            elif action == "reject":
                services.reject(case, by=by, note=draw(NOTES), expected_version=version)
            elif action == "cancel":
                services.cancel(case, by=by, note=draw(NOTES), as_reporter=code, expected_version=version)
            elif action == "merge":
                into = fresh(draw(st.sampled_from(self.pks), label="into"))
                services.merge(case, into=into, by=by, expected_version=version)
            elif action in TRANSITIONS:
                services.transition(case, action, by=by, note=draw(NOTES), as_reporter=code, expected_version=version)
            elif action == "whistle":
                services.blow_whistle(
                    case,
                    by=by,
                    level=draw(st.sampled_from([*WhistleLevel.values, "loud"]), label="level"),
                    departments=draw(st.sampled_from([[], [w.t.department]]), label="departments"),
                    reason=draw(NOTES),
                )
            elif action == "report_in":
                services.report_in(case, by=by)
            elif action == "report_part":
                services.report_part(case, by=by, note=draw(NOTES))
            elif action == "supervise":
                level = draw(st.sampled_from([0, 1, 2, 3, "x"]), label="level")
                services.supervise(case, by=by, level=level, instruction=draw(NOTES))
            elif action == "follow_up":
                services.follow_up(case, by=by, note=draw(NOTES), rating=draw(st.sampled_from(["", "satisfied"])))
            elif action == "add_note":
                services.add_note(case, by=by, note=draw(NOTES), photos_in=self.photos(draw))
            else:
                raise AssertionError(action)
        except (ValidationError, PermissionDenied):
            return None
        return options

    @staticmethod
    def photos(draw):
        return [photo()] if draw(st.booleans(), label="with photo") else []

    def check_refused(self, case, before, last_event, last_audit):
        """A refusal leaves nothing behind: no state change, no event, no audit row."""
        for c in Case.objects.all():
            assert (c.state, c.version) == before[c.pk]
        assert not CaseEvent.objects.filter(pk__gt=last_event).exists()
        assert not AuditEvent.objects.filter(pk__gt=last_audit).exists()

    def check_moved(self, case, before, last_event, last_audit, action, actors, options):
        after = fresh(case.pk)
        old_state, old_version = before[case.pk]
        moves = list(CaseEvent.objects.filter(case=case, pk__gt=last_event).exclude(to_state="").order_by("pk"))
        # Only the acted-on case moves; others (a merge's original) at most gain a stateless event.
        for c in Case.objects.exclude(pk=case.pk):
            assert c.state == before[c.pk][0]
        assert not CaseEvent.objects.filter(pk__gt=last_event).exclude(case=case).exclude(to_state="").exists()

        if action not in TRANSITIONS:
            assert moves == [] and after.state == old_state
            assert after.version >= old_version
            assert_tallies_match_a_rebuild()
            return
        assert moves, f"{action} succeeded without a case event"
        state = old_state
        for n, event in enumerate(moves):
            t = TRANSITIONS[event.action]
            assert event.from_state == state and state in t.sources and event.to_state == t.target, event
            if n == 0:
                assert event.action == action
                assert t.actors & actors, (action, actors)
            else:
                # The one step that makes two moves: a dissatisfied reporter asks to reopen as they rate.
                assert (moves[0].action, event.action, n, options["ask_reopen"]) == ("rate", "reopen", 1, True)
            state = event.to_state
        assert after.state == state
        assert after.version > old_version
        audited = list(
            AuditEvent.objects.filter(pk__gt=last_audit, object_type="cases.case", object_id=str(case.pk))
            .filter(action__in=[f"case.{name}" for name in TRANSITIONS])
            .order_by("pk")
            .values_list("action", flat=True)
        )
        assert audited == [f"case.{event.action}" for event in moves]
        assert_tallies_match_a_rebuild()  # (a refusal writes nothing, so checking after changes is enough)


@pytest.mark.django_db
def test_random_walks_through_the_loop_keep_the_invariants(tree):
    cats = build_categories()
    department_matter = Category.objects.create(
        code="T0105",
        name="占道经营",
        kind="event",
        parent=cats.parent,
        default_tier=Tier.DEPARTMENT,
        default_department=tree.department,
    )
    CaseLoop.world = SimpleNamespace(t=tree, c=cats, department_matter=department_matter)
    run_state_machine_as_test(
        CaseLoop,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
