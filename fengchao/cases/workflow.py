"""The state machine of a case, written as one table.

Each transition names the states it leaves from, the state it goes to, and the relations to the
case (`Actor`) that allow a user to make it. `services.transition` is the only code that moves a
case, and it does so by compare-and-set on the case's version, so two people acting at once
cannot both succeed.
"""

import enum
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .choices import CaseState as S
from .choices import Stage


class Actor(enum.StrEnum):
    """How a user stands to a case. `queries.actors_for` works these out."""

    REPORTER = "reporter"  # reported it (or holds its tracking code)
    DISPATCHER = "dispatcher"  # accepts, registers, dispatches and closes at the case's tier
    HANDLER = "handler"  # handles at the tier (or department) it is dispatched to
    CO_HANDLER = "co_handler"  # a department called in by a whistle
    VERIFIER = "verifier"  # checks the result on site; never the person who resolved it
    SUPERVISOR = "supervisor"  # the grid centre: street staff and district administrators
    STAFF = "staff"  # staff in scope: may record a follow-up or a rating taken by phone


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset
    target: str
    actors: frozenset
    note_required: bool = False
    public: bool = False  # shown on the reporter's timeline, and the reporter is told


def _t(name, label, sources, target, actors, **kw) -> Transition:
    return Transition(name, label, frozenset(sources), target, frozenset(actors), **kw)


A = Actor
TRANSITIONS = {
    t.name: t
    for t in [
        _t("accept", _("Accept"), [S.REPORTED], S.ACCEPTED, [A.DISPATCHER], public=True),
        _t("reject", _("Reject as invalid"), [S.REPORTED], S.REJECTED, [A.DISPATCHER], note_required=True, public=True),
        _t("register", _("Register"), [S.ACCEPTED], S.REGISTERED, [A.DISPATCHER]),
        _t("dispatch", _("Dispatch"), [S.REGISTERED], S.DISPATCHED, [A.DISPATCHER], public=True),
        _t("take", _("Take"), [S.DISPATCHED], S.TAKEN, [A.HANDLER], public=True),
        _t("return", _("Return to dispatcher"), [S.DISPATCHED, S.TAKEN], S.REGISTERED, [A.HANDLER], note_required=True),
        _t(
            "escalate",
            _("Escalate"),
            [S.REGISTERED, S.DISPATCHED, S.TAKEN],
            S.REGISTERED,
            [A.HANDLER, A.DISPATCHER],
            note_required=True,
        ),
        _t("request_hold", _("Ask to put on hold"), [S.TAKEN], S.HOLD_REQUESTED, [A.HANDLER], note_required=True),
        _t("approve_hold", _("Approve the hold"), [S.HOLD_REQUESTED], S.ON_HOLD, [A.SUPERVISOR], public=True),
        _t("refuse_hold", _("Refuse the hold"), [S.HOLD_REQUESTED], S.TAKEN, [A.SUPERVISOR], note_required=True),
        _t("resume", _("Resume"), [S.ON_HOLD], S.TAKEN, [A.HANDLER, A.SUPERVISOR], public=True),
        _t("resolve", _("Resolve"), [S.TAKEN], S.RESOLVED, [A.HANDLER], public=True),
        _t("verify", _("Verify on site"), [S.RESOLVED], S.VERIFIED, [A.VERIFIER], public=True),
        _t("rework", _("Send back for rework"), [S.RESOLVED], S.TAKEN, [A.VERIFIER], note_required=True, public=True),
        _t("close", _("Close"), [S.VERIFIED], S.CLOSED, [A.DISPATCHER], public=True),
        _t("rate", _("Rate"), [S.CLOSED], S.RATED, [A.REPORTER, A.STAFF], public=True),
        _t("reopen", _("Reopen"), [S.CLOSED, S.RATED], S.REGISTERED, [A.DISPATCHER], note_required=True, public=True),
        _t(
            "merge",
            _("Merge into another case"),
            [S.REPORTED, S.ACCEPTED, S.REGISTERED],
            S.MERGED,
            [A.DISPATCHER],
            public=True,
        ),
        _t(
            "cancel",
            _("Cancel"),
            [S.REPORTED, S.ACCEPTED, S.REGISTERED, S.DISPATCHED],
            S.CANCELLED,
            [A.REPORTER, A.DISPATCHER],
            note_required=True,
            public=True,
        ),
    ]
}

# The stage (and so the time limit) a case is in while in each state; states not listed run no clock.
STAGE_OF_STATE = {
    S.REPORTED: Stage.ACCEPT,
    S.ACCEPTED: Stage.DISPATCH,
    S.REGISTERED: Stage.DISPATCH,
    S.DISPATCHED: Stage.TAKE,
    S.TAKEN: Stage.HANDLE,
    S.RESOLVED: Stage.VERIFY,
}

# The timestamp each transition sets the first time (later passes keep the first value).
TIMESTAMP_OF_TRANSITION = {
    "accept": "accepted_at",
    "dispatch": "dispatched_at",
    "take": "taken_at",
    "resolve": "resolved_at",
    "verify": "verified_at",
    "close": "closed_at",
}


def available(state: str, actors: set) -> list[Transition]:
    """The transitions these relations allow from this state, in table order."""
    return [t for t in TRANSITIONS.values() if state in t.sources and t.actors & actors]


def allowed(name: str, state: str, actors: set) -> bool:
    t = TRANSITIONS.get(name)
    return t is not None and state in t.sources and bool(t.actors & actors)
