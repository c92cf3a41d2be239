"""Every case service: its success path, each refusal (field and English message), its audit event, who is
told, and the tallies, which must equal a rebuild from the cases after every scenario.

The cases live in the first micro-grid of grid A1 (street A) unless a test says otherwise; the factory users
hold one role each there or above, and the `outsider_*` users hold the same roles in street B.
"""

import datetime as dt
from types import SimpleNamespace

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from fengchao.audit.models import AuditEvent
from fengchao.cases import queries, services, suggest
from fengchao.cases.choices import AttachmentKind, CaseState, Channel, Rating, SupervisionLevel, Tier
from fengchao.cases.models import Case, CaseEvent, Category, CoHandler, Supervision
from fengchao.cases.services import WrongState
from fengchao.core.errors import StaleRecord
from fengchao.departments.models import Department
from fengchao.notices.models import Notification
from tests.case_factories import assert_tallies_match_a_rebuild, build_categories, centre, photo, report
from tests.factories import first_micro

pytestmark = pytest.mark.django_db

S = CaseState


# ---- helpers -----------------------------------------------------------------------------------------------------


@pytest.fixture
def w(tree):
    """The tree, the test categories and a street-tier and a department-tier category; tallies checked after."""
    cats = build_categories()
    street_matter = Category.objects.create(
        code="T0104", name="联调事项", kind="event", parent=cats.parent, default_tier=Tier.STREET
    )
    department_matter = Category.objects.create(
        code="T0105",
        name="占道经营",
        kind="event",
        parent=cats.parent,
        default_tier=Tier.DEPARTMENT,
        default_department=tree.department,
    )
    yield SimpleNamespace(
        t=tree,
        u=tree.users,
        c=cats,
        street_matter=street_matter,
        department_matter=department_matter,
        micro=first_micro(tree, tree.grid_a1),
        micro_b=first_micro(tree, tree.grid_b1),
    )
    assert_tallies_match_a_rebuild()


def fresh(case) -> Case:
    return Case.objects.select_related("area", "category").get(pk=case.pk)


def refusal(call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


def denial(call) -> str:
    with pytest.raises(PermissionDenied) as caught:
        call()
    return str(caught.value)


def audits(case, action) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(object_type="cases.case", object_id=str(case.pk), action=f"case.{action}"))


def told(case, kind) -> set[str]:
    return set(Notification.objects.filter(case=case, kind=kind).values_list("recipient__username", flat=True))


def resident_case(w, category=None, **kw) -> Case:
    """A case the resident reported by scanning the micro-grid's QR code (logged in, so they follow it)."""
    return report(w.t, category or w.c.litter, by=w.u["resident"], channel=Channel.RESIDENT_QR, **kw)


def dispatcher_of(w, case):
    return w.u["community_staff"] if case.tier in (Tier.GRID, Tier.COMMUNITY) else w.u["street_staff"]


# Who handles (takes and resolves) a case at each tier when `advance` walks it.
HANDLER_OF_TIER = {
    Tier.GRID: "grid_leader",
    Tier.COMMUNITY: "community_staff",
    Tier.STREET: "street_staff",
    Tier.DEPARTMENT: "department_handler",
}


def handler_of(w, case):
    return w.u[HANDLER_OF_TIER[case.tier]]


HAPPY_PATH = ["accept", "register", "dispatch", "take", "resolve", "verify", "close", "rate"]


def advance(w, case, through: str) -> Case:
    """Walk the case along the happy path up to and including the step `through`, by the usual people."""
    for name in HAPPY_PATH[HAPPY_PATH.index(HAPPY_PATH_FROM[case.state]) : HAPPY_PATH.index(through) + 1]:
        case = fresh(case)
        if name in ("accept", "register", "close"):
            services.transition(case, name, by=dispatcher_of(w, case))
        elif name == "dispatch":
            services.dispatch(case, by=dispatcher_of(w, case), tier=case.tier, department=case.department)
        elif name == "take":
            services.take(case, by=handler_of(w, case))
        elif name == "resolve":
            services.resolve(case, by=handler_of(w, case), photos_in=[photo()])
        elif name == "verify":
            services.verify(case, by=w.u["microgrid_member"], photos_in=[photo()])
        elif name == "rate":
            services.rate(case, by=w.u["community_staff"], rating=Rating.SATISFIED)
    return fresh(case)


HAPPY_PATH_FROM = {
    S.REPORTED: "accept",
    S.ACCEPTED: "register",
    S.REGISTERED: "dispatch",
    S.DISPATCHED: "take",
    S.TAKEN: "resolve",
    S.RESOLVED: "verify",
    S.VERIFIED: "close",
    S.CLOSED: "rate",
}


# ---- intake ------------------------------------------------------------------------------------------------------


def test_resident_reports_by_qr_code_without_an_account(w):
    case, created = services.submit_case(
        channel=Channel.RESIDENT_QR,
        category=w.c.litter,
        description="3栋门口垃圾堆了三天",
        idempotency_key="qr-0000001",
        area=w.micro,
        reporter_name="王阿姨",
        phone="13912345678",
    )
    assert created
    assert (case.state, case.tier, case.area, case.grid_pk) == (S.REPORTED, Tier.GRID, w.micro, w.t.grid_a1.pk)
    assert case.reporter is None and case.reporter_name == "王阿姨"
    assert len(case.tracking_code) == 10 and case.stage_deadline is not None
    [event] = case.events.all()
    assert (event.action, event.to_state, event.is_public, event.actor_label) == (
        "report",
        S.REPORTED,
        True,
        "Resident",
    )
    [audit] = audits(case, "report")
    assert audit.data == {"channel": "resident_qr", "category": "T0101"} and audit.actor is None
    # The community's dispatchers are told; nobody in street B is.
    assert told(case, "case.report") == {"community_staff"}


def test_contact_phone_is_encrypted_at_rest_and_shown_masked(w):
    case = resident_case(w, phone="139 1234 5678")
    stored = Case.objects.values("phone_cipher", "phone_last4").get(pk=case.pk)
    assert "13912345678" not in stored["phone_cipher"] and stored["phone_last4"] == "5678"
    assert fresh(case).phone == "13912345678"
    assert fresh(case).masked_phone == "139****5678"


def test_bad_contact_phone_is_refused(w):
    assert "phone" in refusal(lambda: resident_case(w, phone="12345"))


def test_resident_reports_from_the_map_and_the_point_picks_the_micro_grid(w):
    lon, lat = centre(w.micro)
    case = report(w.t, w.c.litter, by=w.u["resident"], channel=Channel.RESIDENT_MAP, lon=lon, lat=lat)
    assert (case.area, case.reporter, case.reporter_name) == (w.micro, w.u["resident"], "resident")
    assert (case.lon, case.lat) == (lon, lat)


def test_member_reports_on_patrol_with_gcj02_gps(w):
    from fengchao.areas.coords import wgs84_to_gcj02

    lon, lat = centre(w.micro)
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    case = report(w.t, w.c.litter, by=w.u["microgrid_member"], lon=gcj_lon, lat=gcj_lat, crs="gcj02")
    assert (case.channel, case.reporter, case.area) == (Channel.MEMBER, w.u["microgrid_member"], w.micro)
    # Stored in WGS84: the map SDK's offset (hundreds of metres here) is taken off.
    assert abs(case.lon - lon) < 1e-5 and abs(case.lat - lat) < 1e-5
    assert len(audits(case, "report")) == 1


def test_a_member_reports_anywhere_in_their_grid_but_not_in_the_next_grid(w):
    sibling = [a for a in w.t.micro.values() if a.parent_id == w.t.grid_a1.pk and a != w.micro][0]
    case = report(w.t, w.c.litter, by=w.u["microgrid_member"], lon=centre(sibling)[0], lat=centre(sibling)[1])
    assert case.area == sibling  # the members of a grid patrol each other's micro-grids
    other_grid = first_micro(w.t, w.t.grid_a2)
    lon, lat = centre(other_grid)
    assert refusal(lambda: report(w.t, w.c.litter, by=w.u["microgrid_member"], lon=lon, lat=lat)) == {
        "location": ["This place is outside the areas where you serve."]
    }


def test_member_reporting_outside_the_areas_where_they_serve_is_refused(w):
    lon, lat = centre(w.micro_b)
    assert refusal(lambda: report(w.t, w.c.litter, by=w.u["microgrid_member"], lon=lon, lat=lat)) == {
        "location": ["This place is outside the areas where you serve."]
    }
    assert not Case.objects.exists()


def test_only_grid_members_report_on_patrol(w):
    assert denial(lambda: report(w.t, w.c.litter, by=w.u["resident"], channel=Channel.MEMBER)) == (
        "Only grid members report on patrol."
    )


@pytest.mark.parametrize("channel", [Channel.HOTLINE, Channel.WALK_IN])
def test_staff_enter_a_call_or_a_visit_on_behalf_of_the_caller(w, channel):
    case = report(w.t, w.c.litter, by=w.u["community_staff"], channel=channel, reporter_name="张先生")
    # The caller reported it, not the staff member: they are not the reporter (and may verify it).
    assert (case.channel, case.reporter, case.reporter_name) == (channel, None, "张先生")
    assert audits(case, "report")[0].actor == w.u["community_staff"]


@pytest.mark.parametrize("channel", [Channel.HOTLINE, Channel.WALK_IN, Channel.HOTLINE_12345])
def test_only_staff_enter_hotline_and_walk_in_reports(w, channel):
    call = lambda: report(w.t, w.c.litter, by=w.u["resident"], channel=channel, external_number="12345-1")  # noqa: E731
    assert denial(call) == "Only staff enter hotline and walk-in reports."


def test_staff_entering_a_12345_work_order_give_its_number(w):
    staff = w.u["community_staff"]
    assert refusal(lambda: report(w.t, w.c.litter, by=staff, channel=Channel.HOTLINE_12345)) == {
        "external_number": ["Give the 12345 work-order number."]
    }
    case = report(w.t, w.c.litter, by=staff, channel=Channel.HOTLINE_12345, external_number="CD20261101-0042")
    assert case.external_number == "CD20261101-0042"


def test_staff_outside_their_community_are_refused(w):
    lon, lat = centre(w.micro_b)
    call = lambda: report(w.t, w.c.litter, by=w.u["community_staff"], channel=Channel.HOTLINE, lon=lon, lat=lat)  # noqa: E731
    assert refusal(call) == {"location": ["This place is outside the areas where you serve."]}


def test_api_channel_reports_anywhere_in_the_district(w):
    lon, lat = centre(w.micro_b)
    case = report(w.t, w.c.litter, by=w.u["resident"], channel=Channel.API, lon=lon, lat=lat)
    assert case.area == w.micro_b and case.reporter == w.u["resident"]


def test_unknown_channel_category_short_text_and_no_place_are_refused(w):
    assert refusal(lambda: report(w.t, w.c.litter, channel="fax")) == {"channel": ["Unknown channel “fax”."]}
    assert refusal(lambda: report(w.t, w.c.parent)) == {"category": ["Choose a category from the list."]}
    assert refusal(lambda: report(w.t, "NOPE")) == {"category": ["Choose a category from the list."]}
    assert refusal(lambda: report(w.t, w.c.litter, description=" 垃圾 ")) == {
        "description": ["Describe the matter in a few words (at least 4 characters)."]
    }
    assert refusal(lambda: report(w.t, w.c.litter, lon=None, lat=None)) == {
        "location": ["Give the place: scan the building's code, tap the map or allow GPS."]
    }
    assert refusal(lambda: report(w.t, w.c.litter, lon=120.0, lat=31.0)) == {
        "location": ["This point is outside every grid of the district."]
    }
    assert not Case.objects.exists() and not AuditEvent.objects.filter(action="case.report").exists()


def test_a_category_code_is_accepted_as_well_as_the_category(w):
    assert report(w.t, "T0103").category == w.c.dispute


def test_photo_required_category_needs_a_photo_and_keeps_it_as_before(w):
    assert refusal(lambda: resident_case(w, w.c.manhole)) == {"photos": ["A photo is required for “井盖缺失”."]}
    case = resident_case(w, w.c.manhole, before_photos=[photo()])
    [attachment] = case.attachments.all()
    assert attachment.kind == AttachmentKind.BEFORE and attachment.event.action == "report"


def test_a_file_that_is_not_a_photo_is_refused_by_its_bytes(w):
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("x.png", b"<script>alert(1)</script>", content_type="image/png")
    assert refusal(lambda: resident_case(w, before_photos=[fake])) == {
        "photos": ["x.png is not a JPEG, PNG or WebP photo."]
    }


def test_handled_on_the_spot_walks_every_step_to_resolved(w):
    member = w.u["microgrid_member"]
    case = report(w.t, w.c.litter, by=member, handled_on_spot=True, after_photos=[photo()])
    case = fresh(case)
    assert (case.state, case.assignee, case.resolved_by, case.handled_on_spot) == (S.RESOLVED, member, member, True)
    steps = list(case.events.order_by("pk").values_list("action", "from_state", "to_state"))
    assert steps == [
        ("report", "", S.REPORTED),
        ("accept", S.REPORTED, S.ACCEPTED),
        ("register", S.ACCEPTED, S.REGISTERED),
        ("dispatch", S.REGISTERED, S.DISPATCHED),
        ("take", S.DISPATCHED, S.TAKEN),
        ("resolve", S.TAKEN, S.RESOLVED),
    ]
    for action in ("report", "accept", "register", "dispatch", "take", "resolve"):
        assert len(audits(case, action)) == 1, action
    assert case.attachments.get().kind == AttachmentKind.AFTER
    # Someone other than the member checks it.
    assert told(case, "case.resolve") == {"grid_leader", "microgrid_leader", "community_staff"}


def test_handled_on_the_spot_needs_a_result_photo_and_a_member(w):
    assert refusal(lambda: report(w.t, w.c.litter, by=w.u["microgrid_member"], handled_on_spot=True)) == {
        "after_photos": ["A matter handled on the spot needs a photo of the result."]
    }
    call = lambda: resident_case(w, handled_on_spot=True, after_photos=[photo()])  # noqa: E731
    assert refusal(call) == {"handled_on_spot": ["Only a grid member on patrol handles a matter on the spot."]}


def test_a_retried_submission_returns_the_first_case(w):
    first = resident_case(w, key="retry-key-1")
    again, created = services.submit_case(
        channel=Channel.RESIDENT_QR,
        category=w.c.dispute,
        description="完全不同的描述也一样",
        idempotency_key="retry-key-1",
        by=w.u["resident"],
        area=w.micro,
    )
    assert (again.pk, created) == (first.pk, False)
    assert Case.objects.count() == 1 and CaseEvent.objects.count() == 1 and len(audits(first, "report")) == 1
    # Keys are per submitter: another person's key is theirs.
    other = report(w.t, w.c.litter, by=w.u["microgrid_member"], key="retry-key-1")
    assert other.pk != first.pk


def test_a_retry_gets_the_first_case_even_when_its_checks_would_now_fail(w):
    first = resident_case(w, key="retry-key-2")
    Category.objects.filter(pk=first.category_id).update(is_active=False)  # retired since
    suggest.clear_cache()
    retry = dict(channel=Channel.RESIDENT_QR, category=first.category.code, description="楼下垃圾没清理", area=w.micro)
    again, created = services.submit_case(idempotency_key="retry-key-2", by=w.u["resident"], **retry)
    assert (again.pk, created) == (first.pk, False)
    with pytest.raises(ValidationError) as refused:  # a new submission with the same content is refused
        services.submit_case(idempotency_key="retry-key-3", by=w.u["resident"], **retry)
    assert "category" in refused.value.message_dict
    assert Case.objects.count() == 1


def test_each_submission_needs_a_well_formed_idempotency_key(w):
    for key in ("", "short", "has space in it", "x" * 65):
        call = lambda key=key: services.submit_case(  # noqa: E731
            channel=Channel.RESIDENT_QR,
            category=w.c.litter,
            description="垃圾没人清",
            idempotency_key=key,
            area=w.micro,
        )
        assert refusal(call) == {
            "idempotency_key": ["Each submission needs an idempotency key of 8 to 64 letters, digits, - or _."]
        }


def test_anonymous_report_hides_the_name_but_the_reporter_still_follows_it(w):
    case = resident_case(w, anonymous=True, reporter_name="李四")
    assert (case.is_anonymous, case.reporter_name, case.reporter) == (True, "", w.u["resident"])
    case = advance(w, case, "close")
    services.rate(case, by=w.u["resident"], rating=Rating.SATISFIED)
    # Nothing on the public timeline names them.
    public_labels = set(case.events.filter(is_public=True).values_list("actor_label", flat=True))
    assert "resident" not in public_labels and "李四" not in public_labels
    assert "case.public" in {n.kind for n in Notification.objects.filter(recipient=w.u["resident"], case=case)}


# ---- accept, reject, register, dispatch --------------------------------------------------------------------------


def test_accept_register_and_dispatch_to_a_grid(w):
    case = resident_case(w)
    case = services.transition(case, "accept", by=w.u["street_staff"])
    assert case.state == S.ACCEPTED and case.accepted_at is not None
    assert told(case, "case.accept") == {"community_staff"}
    case = services.transition(fresh(case), "register", by=w.u["community_staff"])
    assert case.state == S.REGISTERED and case.due_at is not None and case.stage == "dispatch"
    case = services.dispatch(fresh(case), by=w.u["community_staff"], tier=Tier.GRID)
    assert (case.state, case.tier, case.assignee) == (S.DISPATCHED, Tier.GRID, None)
    assert told(case, "case.dispatch") == {"grid_leader", "microgrid_leader", "microgrid_member"}
    for action, source, target in (
        ("accept", S.REPORTED, S.ACCEPTED),
        ("register", S.ACCEPTED, S.REGISTERED),
        ("dispatch", S.REGISTERED, S.DISPATCHED),
    ):
        [audit] = audits(case, action)
        assert (audit.data["from_state"], audit.data["to_state"]) == (source, target)
    assert audits(case, "dispatch")[0].data["tier"] == "grid"
    # The reporter hears of public steps only (registering is internal).
    kinds = list(CaseEvent.objects.filter(case=case, is_public=True).order_by("pk").values_list("action", flat=True))
    assert kinds == ["report", "accept", "dispatch"]
    assert Notification.objects.filter(recipient=w.u["resident"], case=case, kind="case.public").count() == 2


def test_only_dispatchers_accept(w):
    case = resident_case(w)
    assert denial(lambda: services.transition(case, "accept", by=w.u["grid_leader"])) == (
        "“Accept” is not yours to do on this case."
    )
    assert fresh(case).state == S.REPORTED and not audits(case, "accept")


def test_reject_needs_a_reason_and_tells_the_reporter(w):
    case = resident_case(w)
    assert refusal(lambda: services.reject(case, by=w.u["community_staff"], note="  ")) == {"note": ["Give a reason."]}
    case = services.reject(fresh(case), by=w.u["community_staff"], note="不属于本平台受理范围")
    assert case.state == S.REJECTED and case.stage_deadline is None
    assert audits(case, "reject")[0].actor == w.u["community_staff"]
    assert "resident" in told(case, "case.public")


def test_a_step_from_the_wrong_state_or_an_old_version_is_refused(w):
    case = resident_case(w)
    with pytest.raises(WrongState) as caught:
        services.transition(case, "register", by=w.u["community_staff"])
    assert caught.value.messages == [f"Case {case.number} is now “Reported”; reload it to see what happened."]
    shown = case.version
    services.transition(fresh(case), "accept", by=w.u["community_staff"])
    with pytest.raises(StaleRecord) as caught:
        services.transition(fresh(case), "register", by=w.u["street_staff"], expected_version=shown)
    assert caught.value.messages == ["Someone else changed this record in the meantime. Reload it and try again."]
    assert refusal(lambda: services.transition(fresh(case), "fly", by=w.u["community_staff"])) == {
        "action": ["Unknown action “fly”."]
    }


def test_a_stale_in_memory_case_loses_the_compare_and_set(w):
    case = advance(w, resident_case(w), "register")
    seen_by_two = fresh(case), fresh(case)
    services.dispatch(seen_by_two[0], by=w.u["community_staff"], tier=Tier.GRID)
    with pytest.raises(StaleRecord):
        # The second dispatcher's copy still says "registered": the version no longer matches.
        services.dispatch(seen_by_two[1], by=w.u["street_staff"], tier=Tier.COMMUNITY)
    assert fresh(case).tier == Tier.GRID and len(audits(case, "dispatch")) == 1


def test_dispatch_refusals_name_the_field(w):
    case = advance(w, resident_case(w), "register")
    staff = w.u["community_staff"]
    assert refusal(lambda: services.dispatch(case, by=staff, tier="moon")) == {
        "tier": ["Choose where to send the case."]
    }
    assert refusal(lambda: services.dispatch(case, by=staff, tier=Tier.DEPARTMENT)) == {
        "department": ["Choose the department that takes the case."]
    }
    closed = Department.objects.create(name="已撤销局", code="XX", area=w.t.district, is_active=False)
    assert refusal(lambda: services.dispatch(case, by=staff, tier=Tier.DEPARTMENT, department=closed)) == {
        "department": ["Choose the department that takes the case."]
    }
    assert refusal(lambda: services.dispatch(case, by=staff, tier=Tier.GRID, assignee=w.u["outsider_grid_leader"])) == {
        "assignee": ["outsider_grid_leader does not handle cases there."]
    }
    call = lambda: services.dispatch(case, by=staff, tier=Tier.GRID, assignee=w.u["department_handler"])  # noqa: E731
    assert refusal(call) == {"assignee": ["department_handler does not handle cases there."]}
    assert denial(lambda: services.dispatch(case, by=w.u["grid_leader"], tier=Tier.GRID)) == (
        "“Dispatch” is not yours to do on this case."
    )
    assert fresh(case).state == S.REGISTERED and not audits(case, "dispatch")


def test_dispatch_to_one_member_tells_only_them(w):
    case = advance(w, resident_case(w), "register")
    case = services.dispatch(case, by=w.u["community_staff"], tier=Tier.GRID, assignee=w.u["microgrid_member"])
    assert case.assignee == w.u["microgrid_member"]
    assert told(case, "case.dispatch") == {"microgrid_member"}


def test_dispatch_to_a_department_makes_its_handlers_the_handlers(w):
    case = advance(w, resident_case(w), "register")
    handler = w.u["department_handler"]
    assert queries.Actor.HANDLER not in queries.actors_for(handler, case)
    assert not queries.cases_visible_to(handler).filter(pk=case.pk).exists()
    case = services.dispatch(
        case, by=w.u["community_staff"], tier=Tier.DEPARTMENT, department=w.t.department, assignee=handler
    )
    assert (case.tier, case.department, case.assignee) == (Tier.DEPARTMENT, w.t.department, handler)
    assert queries.Actor.HANDLER in queries.actors_for(handler, case)
    assert queries.cases_visible_to(handler).filter(pk=case.pk).exists()
    assert audits(case, "dispatch")[0].data["department"] == w.t.department.pk
    services.take(fresh(case), by=handler)
    assert fresh(case).state == S.TAKEN


# ---- take, return, escalate --------------------------------------------------------------------------------------


def test_take_makes_the_handler_the_assignee(w):
    case = advance(w, resident_case(w), "dispatch")
    assert denial(lambda: services.take(case, by=w.u["resident"])) == "“Take” is not yours to do on this case."
    assert (
        denial(lambda: services.take(case, by=w.u["outsider_grid_leader"])) == "“Take” is not yours to do on this case."
    )
    case = services.take(fresh(case), by=w.u["microgrid_leader"])
    assert (case.state, case.assignee, case.responded_on_time) == (S.TAKEN, w.u["microgrid_leader"], True)
    assert case.taken_at is not None and case.stage == "handle"
    assert audits(case, "take")[0].actor == w.u["microgrid_leader"]
    with pytest.raises(WrongState):
        services.take(fresh(case), by=w.u["grid_leader"])


def test_return_to_the_dispatcher_needs_a_reason(w):
    case = advance(w, resident_case(w), "take")
    leader = w.u["grid_leader"]
    assert refusal(lambda: services.return_to_dispatcher(case, by=leader, note="")) == {"note": ["Give a reason."]}
    case = services.return_to_dispatcher(fresh(case), by=leader, note="不在本网格职责范围")
    assert (case.state, case.assignee) == (S.REGISTERED, None)
    assert told(case, "case.return") == {"community_staff"}
    assert audits(case, "return")[0].data["to_state"] == S.REGISTERED


def test_escalate_up_the_tiers_to_a_department(w):
    case = advance(w, resident_case(w), "take")
    community, street = w.u["community_staff"], w.u["street_staff"]
    assert refusal(lambda: services.escalate(case, by=w.u["grid_leader"], note="")) == {"note": ["Give a reason."]}
    # The grid hands it up (小事不出小区 failed): the community's queue.
    case = services.escalate(fresh(case), by=w.u["grid_leader"], note="需社区协调")
    assert (case.state, case.tier, case.assignee) == (S.REGISTERED, Tier.COMMUNITY, None)
    assert told(case, "case.escalate") == {"community_staff"}
    case = services.escalate(fresh(case), by=community, note="需街道联调")
    assert case.tier == Tier.STREET
    assert told(case, "case.escalate") == {"community_staff", "street_staff"}
    call = lambda: services.escalate(fresh(case), by=community, note="再上报", department=w.t.department)  # noqa: E731
    assert denial(call) == "“Escalate” is not yours to do on this case."
    assert refusal(lambda: services.escalate(fresh(case), by=street, note="部门领办")) == {
        "department": ["Choose the department that takes the case."]
    }
    case = services.escalate(fresh(case), by=street, note="部门领办", department=w.t.department)
    assert (case.tier, case.department) == (Tier.DEPARTMENT, w.t.department)
    assert refusal(lambda: services.escalate(fresh(case), by=street, note="还要上报")) == {
        "tier": ["A department case has no tier above; ask the grid centre to supervise."]
    }
    assert [a.data["tier"] for a in sorted(audits(case, "escalate"), key=lambda a: a.pk)] == [
        "community",
        "street",
        "department",
    ]


def test_escalating_to_the_department_tier_uses_the_category_default_department(w):
    case = advance(w, resident_case(w, w.street_matter), "register")
    assert case.tier == Tier.STREET
    case.category.default_department = w.t.department
    case.category.save()
    case = services.escalate(fresh(case), by=w.u["street_staff"], note="部门领办")
    assert (case.tier, case.department) == (Tier.DEPARTMENT, w.t.department)


# ---- holds -------------------------------------------------------------------------------------------------------


def test_hold_request_approve_and_resume(w):
    case = advance(w, resident_case(w), "take")
    leader = w.u["grid_leader"]
    assert refusal(lambda: services.transition(case, "request_hold", by=leader)) == {"note": ["Give a reason."]}
    case = services.transition(fresh(case), "request_hold", by=leader, note="等待物业维修基金审批")
    assert case.state == S.HOLD_REQUESTED and case.stage == ""
    assert told(case, "case.request_hold") == {"street_staff", "district_admin"}
    with pytest.raises(PermissionDenied):
        services.transition(fresh(case), "approve_hold", by=w.u["community_staff"])
    case = services.transition(fresh(case), "approve_hold", by=w.u["street_staff"])
    assert case.state == S.ON_HOLD and case.stage_deadline is None
    case = services.transition(fresh(case), "resume", by=leader)
    assert case.state == S.TAKEN and case.stage_deadline is not None
    for action in ("request_hold", "approve_hold", "resume"):
        assert len(audits(case, action)) == 1


def test_refusing_a_hold_needs_a_reason_and_sends_it_back_to_the_handler(w):
    case = advance(w, resident_case(w), "take")
    case = services.transition(case, "request_hold", by=w.u["grid_leader"], note="等待审批")
    supervisor = w.u["district_admin"]
    assert refusal(lambda: services.transition(fresh(case), "refuse_hold", by=supervisor)) == {
        "note": ["Give a reason."]
    }
    case = services.transition(fresh(case), "refuse_hold", by=supervisor, note="可以先行处置")
    assert (case.state, case.assignee) == (S.TAKEN, w.u["grid_leader"])
    assert told(case, "case.refuse_hold") == {"grid_leader"}
    assert len(audits(case, "refuse_hold")) == 1


# ---- resolve, verify, rework, close ------------------------------------------------------------------------------


def test_resolve_a_photo_required_case_needs_the_after_photo(w):
    case = advance(w, resident_case(w, w.c.manhole, before_photos=[photo()]), "take")
    leader = w.u["grid_leader"]
    assert refusal(lambda: services.resolve(case, by=leader)) == {"photos": ["Add a photo of the result."]}
    assert denial(lambda: services.resolve(fresh(case), by=w.u["resident"], photos_in=[photo()])) == (
        "“Resolve” is not yours to do on this case."
    )
    case = services.resolve(fresh(case), by=leader, note="已更换井盖", photos_in=[photo()])
    assert (case.state, case.resolved_by) == (S.RESOLVED, leader)
    assert case.attachments.filter(kind=AttachmentKind.AFTER).count() == 1
    assert told(case, "case.resolve") == {"microgrid_leader", "microgrid_member", "community_staff"}
    assert len(audits(case, "resolve")) == 1


def test_resolve_without_a_photo_when_none_is_required(w):
    case = advance(w, resident_case(w), "take")
    assert services.resolve(case, by=w.u["grid_leader"], note="已清运").state == S.RESOLVED


def test_verify_is_never_by_the_resolver_and_needs_a_photo_unless_by_the_reporter(w):
    case = advance(w, resident_case(w), "resolve")
    with pytest.raises(PermissionDenied):
        services.verify(case, by=w.u["grid_leader"], photos_in=[photo()])
    assert refusal(lambda: services.verify(fresh(case), by=w.u["microgrid_member"])) == {
        "photos": ["Add a photo taken on site when verifying."]
    }
    case = services.verify(fresh(case), by=w.u["resident"], note="已经清理干净了")
    assert case.state == S.VERIFIED and case.verified_at is not None
    assert told(case, "case.verify") == {"community_staff"}
    assert audits(case, "verify")[0].actor == w.u["resident"]


def test_verify_by_a_member_keeps_the_photo_and_by_tracking_code_needs_none(w):
    case = advance(w, resident_case(w), "resolve")
    case = services.verify(case, by=w.u["community_staff"], photos_in=[photo()])
    assert case.attachments.get(event__action="verify").kind == AttachmentKind.VERIFY
    other = advance(w, resident_case(w), "resolve")
    other = services.verify(other, by=None, as_reporter=True)
    assert other.state == S.VERIFIED
    assert other.events.get(action="verify").actor_label == "Resident"


def test_rework_counts_and_goes_back_to_the_handler(w):
    case = advance(w, resident_case(w), "resolve")
    member = w.u["microgrid_member"]
    assert refusal(lambda: services.rework(case, by=member, note="")) == {"note": ["Give a reason."]}
    case = services.rework(fresh(case), by=member, note="垃圾还在", photos_in=[photo()])
    assert (case.state, case.rework_count, case.resolved_by, case.assignee) == (S.TAKEN, 1, None, w.u["grid_leader"])
    assert told(case, "case.rework") == {"grid_leader"}
    case = services.resolve(fresh(case), by=w.u["grid_leader"])
    case = services.rework(fresh(case), by=None, as_reporter=True, note="还是没清")
    assert fresh(case).rework_count == 2 and len(audits(case, "rework")) == 2


def test_close_only_after_verification(w):
    case = advance(w, resident_case(w), "resolve")
    staff = w.u["community_staff"]
    assert refusal(lambda: services.close(case, by=staff)) == {
        "action": ["A case is closed only after it has been verified."]
    }
    case = advance(w, case, "verify")
    assert denial(lambda: services.close(case, by=w.u["grid_leader"])) == "“Close” is not yours to do on this case."
    case = services.close(fresh(case), by=staff, note="办结")
    assert (case.state, case.closed_on_time, case.stage) == (S.CLOSED, True, "")
    assert len(audits(case, "close")) == 1
    assert "resident" in told(case, "case.public")


def test_a_reopened_case_cannot_close_on_its_old_verification(w):
    case = advance(w, resident_case(w), "close")
    case = services.reopen(case, by=w.u["community_staff"], note="居民反映问题复发")
    case = advance(w, case, "resolve")
    with pytest.raises(ValidationError):
        services.close(fresh(case), by=w.u["community_staff"])
    assert fresh(case).state == S.RESOLVED


# ---- rate, reopen, follow-up -------------------------------------------------------------------------------------


def test_the_reporter_rates_a_closed_case(w):
    case = advance(w, resident_case(w), "close")
    resident = w.u["resident"]
    assert refusal(lambda: services.rate(case, by=resident, rating="great")) == {
        "rating": ["Choose satisfied, basically satisfied or dissatisfied."]
    }
    assert refusal(lambda: services.rate(case, by=resident, rating=Rating.SATISFIED, ask_reopen=True)) == {
        "rating": ["Only a dissatisfied rating reopens a case."]
    }
    assert denial(lambda: services.rate(case, by=w.u["microgrid_member"], rating=Rating.SATISFIED)) == (
        "“Rate” is not yours to do on this case."
    )
    case = services.rate(fresh(case), by=resident, rating=Rating.BASICALLY_SATISFIED, comment="还行")
    assert (case.state, case.rating, case.rating_comment) == (S.RATED, Rating.BASICALLY_SATISFIED, "还行")
    assert audits(case, "rate")[0].data["rating"] == Rating.BASICALLY_SATISFIED
    with pytest.raises(WrongState):
        services.rate(fresh(case), by=resident, rating=Rating.SATISFIED)


def test_staff_record_a_rating_taken_by_phone_and_the_tracking_code_holder_rates(w):
    case = advance(w, resident_case(w), "close")
    assert services.rate(case, by=w.u["grid_leader"], rating=Rating.SATISFIED).state == S.RATED
    other = advance(w, resident_case(w), "close")
    other = services.rate(other, by=None, as_reporter=True, rating=Rating.SATISFIED)
    assert other.events.get(action="rate").actor_label == "Resident"


def test_a_dissatisfied_rating_can_reopen_the_case(w):
    case = advance(w, resident_case(w), "close")
    case = services.rate(case, by=w.u["resident"], rating=Rating.DISSATISFIED, comment="没修好", ask_reopen=True)
    case = fresh(case)
    assert (case.state, case.rating) == (S.REGISTERED, Rating.DISSATISFIED)  # the last rating is kept
    actions = list(case.events.order_by("pk").values_list("action", "from_state", "to_state"))[-2:]
    assert actions == [("rate", S.CLOSED, S.RATED), ("reopen", S.RATED, S.REGISTERED)]
    assert len(audits(case, "rate")) == 1 and len(audits(case, "reopen")) == 1
    assert "community_staff" in told(case, "case.reopen")


def test_the_dispatcher_reopens_with_a_reason(w):
    case = advance(w, resident_case(w), "rate")
    staff = w.u["community_staff"]
    assert refusal(lambda: services.reopen(case, by=staff, note="")) == {"note": ["Give a reason."]}
    assert (
        denial(lambda: services.reopen(case, by=w.u["grid_leader"], note="复发"))
        == "“Reopen” is not yours to do on this case."
    )
    case = services.reopen(fresh(case), by=staff, note="复发")
    assert (case.state, case.assignee, case.resolved_by) == (S.REGISTERED, None, None)
    assert case.rating == Rating.SATISFIED  # kept until it is rated again
    assert len(audits(case, "reopen")) == 1


def test_staff_record_a_follow_up(w):
    case = advance(w, resident_case(w), "rate")
    staff = w.u["community_staff"]
    assert denial(lambda: services.follow_up(case, by=w.u["microgrid_member"], note="回访")) == (
        "Only staff record follow-ups."
    )
    assert refusal(lambda: services.follow_up(case, by=staff, note=" ")) == {"note": ["Say what the reporter said."]}
    assert refusal(lambda: services.follow_up(case, by=staff, note="回访", rating="great")) == {
        "rating": ["Choose satisfied, basically satisfied or dissatisfied."]
    }
    version = fresh(case).version
    event = services.follow_up(fresh(case), by=staff, note="电话回访，居民满意", rating=Rating.SATISFIED)
    assert (event.action, event.data, event.is_public) == ("follow_up", {"rating": "satisfied"}, False)
    assert fresh(case).version == version + 1 and fresh(case).state == S.RATED
    assert audits(case, "follow_up")[0].data == {"rating": "satisfied"}


# ---- merge, cancel, notes ----------------------------------------------------------------------------------------


def test_merge_points_the_duplicate_to_the_original_and_both_reporters_hear_the_outcome(w):
    original = resident_case(w)
    duplicate = report(w.t, w.c.litter, by=w.u["microgrid_leader"])
    staff = w.u["community_staff"]
    assert refusal(lambda: services.merge(duplicate, into=duplicate, by=staff)) == {
        "into": ["A case cannot be merged into itself."]
    }
    rejected = services.reject(resident_case(w), by=staff, note="无效")
    assert refusal(lambda: services.merge(duplicate, into=rejected, by=staff)) == {
        "into": [f"Case {rejected.number} is already finished."]
    }
    with pytest.raises(PermissionDenied):
        services.merge(fresh(duplicate), into=original, by=w.u["grid_leader"])
    duplicate = services.merge(fresh(duplicate), into=original, by=staff)
    assert (duplicate.state, duplicate.merged_into) == (S.MERGED, original)
    assert original.events.filter(action="merged_in", data__case=duplicate.pk).count() == 1
    assert len(audits(duplicate, "merge")) == 1
    assert "microgrid_leader" in told(duplicate, "case.public")
    advance(w, original, "close")
    reporters_told_of_close = set(
        Notification.objects.filter(case=original, kind="case.public", title__contains="Closed").values_list(
            "recipient__username", flat=True
        )
    )
    assert reporters_told_of_close == {"resident", "microgrid_leader"}


def test_merging_a_dispatched_case_is_refused(w):
    original = resident_case(w)
    case = advance(w, resident_case(w), "dispatch")
    with pytest.raises(WrongState):
        services.merge(case, into=original, by=w.u["community_staff"])


def test_the_reporter_or_the_dispatcher_cancels_with_a_reason(w):
    case = resident_case(w)
    assert refusal(lambda: services.cancel(case, by=w.u["resident"], note="")) == {"note": ["Give a reason."]}
    assert (
        denial(lambda: services.cancel(case, by=w.u["grid_leader"], note="x"))
        == "“Cancel” is not yours to do on this case."
    )
    case = services.cancel(fresh(case), by=w.u["resident"], note="已自行解决")
    assert case.state == S.CANCELLED and len(audits(case, "cancel")) == 1
    by_code = services.cancel(resident_case(w), by=None, as_reporter=True, note="搞错了")
    assert by_code.state == S.CANCELLED
    taken = advance(w, resident_case(w), "take")
    with pytest.raises(WrongState):
        services.cancel(taken, by=w.u["community_staff"], note="不办了")


def test_notes_on_the_timeline(w):
    case = advance(w, resident_case(w), "take")
    assert denial(lambda: services.add_note(case, by=w.u["outsider_grid_leader"], note="看看")) == (
        "You may not add notes to this case."
    )
    assert denial(lambda: services.add_note(case, by=w.u["merchant"], note="看看")) == (
        "You may not add notes to this case."
    )
    assert refusal(lambda: services.add_note(case, by=w.u["grid_leader"], note=" ")) == {
        "note": ["Write a note or add a photo."]
    }
    version = fresh(case).version
    event = services.add_note(fresh(case), by=w.u["grid_leader"], note="已联系物业", photos_in=[photo()])
    assert (event.action, event.is_public, event.attachments.get().kind) == ("note", False, AttachmentKind.OTHER)
    assert services.add_note(fresh(case), by=w.u["resident"], note="补充：还有异味").action == "note"
    assert fresh(case).version == version + 2 and fresh(case).state == S.TAKEN
    assert len(audits(case, "note")) == 2


# ---- whistles ----------------------------------------------------------------------------------------------------


@pytest.fixture
def whistled(w):
    """A community-tier case (a dispute) dispatched to the community, whistled to the 城管 department."""
    case = advance(w, resident_case(w, w.c.dispute), "take")
    services.blow_whistle(
        case, by=w.u["community_staff"], level="tough", departments=[w.t.department], reason="占道经营引发纠纷"
    )
    return fresh(case)


def test_blowing_a_whistle_calls_the_departments_in(w):
    case = advance(w, resident_case(w, w.c.dispute), "register")
    staff = w.u["community_staff"]
    call = services.blow_whistle
    assert refusal(lambda: call(case, by=staff, level="loud", departments=[w.t.department], reason="r")) == {
        "level": ["Choose daily, tough or emergency."]
    }
    assert refusal(lambda: call(case, by=staff, level="daily", departments=[], reason="r")) == {
        "departments": ["Name at least one department."]
    }
    assert refusal(lambda: call(case, by=staff, level="daily", departments=[w.t.department], reason=" ")) == {
        "reason": ["Give a reason."]
    }
    assert denial(
        lambda: call(case, by=w.u["grid_leader"], level="daily", departments=[w.t.department], reason="r")
    ) == ("Only the community or street handling the case blows the whistle.")
    handler = w.u["department_handler"]
    assert not queries.cases_visible_to(handler).filter(pk=case.pk).exists()
    version = fresh(case).version
    whistle = call(fresh(case), by=staff, level="emergency", departments=[w.t.department], reason="需城管执法")
    [row] = whistle.co_handlers.all()
    assert row.department == w.t.department and row.reported_at is None
    assert row.report_deadline - whistle.blown_at == dt.timedelta(minutes=30)
    assert fresh(case).version == version + 1 and fresh(case).state == S.REGISTERED
    assert told(case, "whistle") == {"department_handler"}  # not the department's handler in street B
    assert audits(case, "whistle")[0].data == {"level": "emergency", "departments": [w.t.department.pk]}
    assert queries.cases_visible_to(handler).filter(pk=case.pk).exists()
    assert queries.inbox_whistles(handler).filter(pk=case.pk).exists()
    assert queries.Actor.CO_HANDLER in queries.actors_for(handler, case)
    assert refusal(lambda: call(fresh(case), by=staff, level="daily", departments=[w.t.department], reason="再吹")) == {
        "departments": ["These departments are already working on this case."]
    }


def test_a_department_case_is_not_whistled(w):
    case = advance(w, resident_case(w, w.department_matter), "register")
    assert case.tier == Tier.DEPARTMENT
    call = lambda: services.blow_whistle(  # noqa: E731
        case, by=w.u["district_admin"], level="daily", departments=[w.t.department], reason="r"
    )
    assert denial(call) == "Only the community or street handling the case blows the whistle."


def test_a_finished_case_is_not_whistled(w):
    case = services.reject(resident_case(w), by=w.u["community_staff"], note="无效")
    with pytest.raises(WrongState):
        services.blow_whistle(case, by=w.u["community_staff"], level="daily", departments=[w.t.department], reason="r")


def test_the_called_department_reports_in_on_time(w, whistled):
    handler = w.u["department_handler"]
    assert denial(lambda: services.report_in(whistled, by=w.u["microgrid_member"])) == (
        "Your department has not been called on this case."
    )
    assert denial(lambda: services.report_in(whistled, by=w.u["outsider_department_handler"])) == (
        "Your department has not been called on this case."
    )
    row = services.report_in(whistled, by=handler)
    assert row.reported_by == handler and row.is_late is False
    assert audits(whistled, "report_in")[0].data == {"department": w.t.department.pk, "late": False}
    assert refusal(lambda: services.report_in(fresh(whistled), by=handler)) == {
        "action": ["Your department has already reported in."]
    }


def test_reporting_in_after_the_limit_is_recorded_as_late(w, whistled):
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=31), tick=False):
        row = services.report_in(whistled, by=w.u["department_handler"])
    assert row.is_late is True
    assert audits(whistled, "report_in")[0].data["late"] is True
    assert whistled.events.get(action="report_in").data["late"] is True


def test_the_case_closes_only_when_every_called_department_has_done_its_part(w, whistled):
    handler = w.u["department_handler"]
    assert refusal(lambda: services.report_part(whistled, by=handler, note="已处理")) == {
        "action": ["Report in first."]
    }
    services.report_in(whistled, by=handler)
    case = advance(w, whistled, "verify")
    assert refusal(lambda: services.close(case, by=w.u["community_staff"])) == {
        "action": ["Still waiting for the part of: 区城管局."]
    }
    assert refusal(lambda: services.report_part(fresh(case), by=handler, note=" ")) == {
        "note": ["Say what your department did."]
    }
    row = services.report_part(fresh(case), by=handler, note="已依法清理占道摊点", photos_in=[photo()])
    assert row.part_done_at is not None and row.part_note == "已依法清理占道摊点"
    assert told(case, "parts_done") == {"community_staff"}  # the assignee
    assert len(audits(case, "part_done")) == 1
    assert refusal(lambda: services.report_part(fresh(case), by=handler, note="again")) == {
        "action": ["Your department has already reported its part."]
    }
    assert services.close(fresh(case), by=w.u["community_staff"]).state == S.CLOSED
    assert CoHandler.objects.get(case=case).part_done_at is not None


# ---- supervision -------------------------------------------------------------------------------------------------


def test_the_grid_centre_supervises_with_an_instruction(w):
    case = advance(w, resident_case(w), "take")
    street = w.u["street_staff"]
    assert denial(lambda: services.supervise(case, by=w.u["community_staff"], level=1, instruction="快办")) == (
        "Only the grid centre supervises cases."
    )
    for level in ("x", 0, 9):
        assert refusal(lambda level=level: services.supervise(case, by=street, level=level, instruction="快办")) == {
            "level": ["Choose supervised, yellow card or red card."]
        }
    assert refusal(lambda: services.supervise(case, by=street, level=1, instruction=" ")) == {
        "instruction": ["Give an instruction."]
    }
    row = services.supervise(fresh(case), by=street, level=SupervisionLevel.YELLOW, instruction="今天下班前办结")
    assert (row.level, row.area, row.by) == (SupervisionLevel.YELLOW, w.t.community_a, street)
    assert fresh(case).supervision == SupervisionLevel.YELLOW
    assert audits(case, "supervise")[0].data == {"level": 2, "stage": ""}
    # The handler is told, and at yellow the other supervisors too.
    assert told(case, "supervision") == {"grid_leader", "district_admin"}
    assert queries.inbox_supervised(w.u["grid_leader"]).filter(pk=case.pk).exists()
    # A lower level is recorded but never lowers the case's level.
    services.supervise(fresh(case), by=street, level=SupervisionLevel.NORMAL, instruction="跟进")
    assert fresh(case).supervision == SupervisionLevel.YELLOW and Supervision.objects.filter(case=case).count() == 2


def test_closing_clears_supervision_and_finished_cases_are_not_supervised(w):
    case = advance(w, resident_case(w), "take")
    services.supervise(case, by=w.u["district_admin"], level=SupervisionLevel.RED, instruction="红牌督办")
    case = advance(w, case, "close")
    assert case.supervision == SupervisionLevel.NONE
    with pytest.raises(WrongState):
        services.supervise(case, by=w.u["district_admin"], level=1, instruction="再督办")


# ---- notifications along the loop --------------------------------------------------------------------------------


def test_each_step_tells_the_people_the_case_now_waits_on_and_the_reporter_hears_public_steps(w):
    u = w.u
    case = resident_case(w)
    expected = {"report": {"community_staff"}}
    case = services.transition(case, "accept", by=u["street_staff"])
    expected["accept"] = {"community_staff"}
    case = services.transition(fresh(case), "register", by=u["street_staff"])
    expected["register"] = {"community_staff"}
    case = services.dispatch(fresh(case), by=u["community_staff"], tier=Tier.GRID)
    expected["dispatch"] = {"grid_leader", "microgrid_leader", "microgrid_member"}
    case = services.take(fresh(case), by=u["grid_leader"])
    expected["take"] = set()  # the taker is the one it waits on
    case = services.resolve(fresh(case), by=u["grid_leader"])
    expected["resolve"] = {"microgrid_leader", "microgrid_member", "community_staff"}
    case = services.verify(fresh(case), by=u["microgrid_member"], photos_in=[photo()])
    expected["verify"] = {"community_staff"}
    case = services.close(fresh(case), by=u["community_staff"])
    expected["close"] = set()
    for action, people in expected.items():
        assert told(case, f"case.{action}") == people, action
    public = Notification.objects.filter(case=case, kind="case.public")
    assert set(public.values_list("recipient__username", flat=True)) == {"resident"}
    assert public.count() == 6  # accept, dispatch, take, resolve, verify, close
    assert not Notification.objects.filter(recipient__username__startswith="outsider_").exists()


# ---- possible duplicates -----------------------------------------------------------------------------------------


def test_possible_duplicates_nearby_or_with_near_identical_text(w):
    lon, lat = centre(w.micro)
    original = resident_case(w, description="小区东门垃圾桶满了没人清运", lon=lon, lat=lat)
    metres = 1 / 111_320  # degrees of latitude per metre

    def near(dy, category=w.c.litter, **kw):
        return services.possible_duplicates(category=category, lon=lon, lat=lat + dy * metres, **kw)

    assert near(100) == [original]
    assert near(400) == []
    assert near(100, category=w.c.dispute) == [original]  # a sibling category is related
    unrelated_parent = Category.objects.create(code="T02", name="其他大类", kind="event")
    unrelated = Category.objects.create(code="T0201", name="其他", kind="event", parent=unrelated_parent)
    assert near(100, category=unrelated) == []
    assert near(100, exclude_pk=original.pk) == []
    assert near(100, at=timezone.now() + dt.timedelta(days=8)) == []
    by_text = services.possible_duplicates(
        category=unrelated, area=w.micro, description="小区东门垃圾桶满了，没人清运！"
    )
    assert by_text == [original]
    other_text = services.possible_duplicates(category=unrelated, area=w.micro, description="路灯不亮已经一周了")
    assert other_text == []
    # Another community's identical text is not the same matter.
    assert services.possible_duplicates(category=unrelated, area=w.micro_b, description=original.description) == []
    # A finished case is no longer offered.
    services.reject(original, by=w.u["community_staff"], note="重复")
    assert near(100) == []


# ---- who may do what, at each tier -------------------------------------------------------------------------------

TRACKING_CODE = "tracking_code"  # whoever holds the case's tracking code, not logged in
NOBODY = "anonymous"

TIER_DISPATCHERS = {
    Tier.GRID: {"district_admin", "street_staff", "community_staff"},
    Tier.COMMUNITY: {"district_admin", "street_staff", "community_staff"},
    Tier.STREET: {"district_admin", "street_staff"},
    Tier.DEPARTMENT: {"district_admin", "street_staff"},
}
TIER_HANDLERS = {
    Tier.GRID: {"grid_leader", "microgrid_leader", "microgrid_member"},
    Tier.COMMUNITY: {"community_staff"},
    Tier.STREET: {"street_staff"},
    # The department's handlers who serve the case's area: 区城管局's handler in street B does not.
    Tier.DEPARTMENT: {"department_handler"},
}
VERIFIERS = {"grid_leader", "microgrid_leader", "microgrid_member", "community_staff", "resident", TRACKING_CODE}
SUPERVISORS = {"district_admin", "street_staff"}
STAFF = {"district_admin", "street_staff", "community_staff", "grid_leader"}
IN_AREA = {"district_admin", "street_staff", "community_staff", "grid_leader", "microgrid_leader", "microgrid_member"}


def expected_access(tier) -> dict[str, set]:
    dispatchers, handlers = TIER_DISPATCHERS[tier], TIER_HANDLERS[tier]
    resolver = HANDLER_OF_TIER[tier]
    return {
        "see": IN_AREA | {"resident"} | (TIER_HANDLERS[Tier.DEPARTMENT] if tier == Tier.DEPARTMENT else set()),
        "accept": dispatchers,
        "cancel": dispatchers | {"resident", TRACKING_CODE},
        "dispatch": dispatchers,
        "take": handlers,
        "request_hold": handlers,
        "approve_hold": SUPERVISORS,
        "resolve": handlers,
        "verify": VERIFIERS - {resolver},
        "close": dispatchers,
        "rate": STAFF | {"resident", TRACKING_CODE},
        "reopen": dispatchers,
        "supervise": SUPERVISORS,
        "whistle": set() if tier == Tier.DEPARTMENT else dispatchers | SUPERVISORS,
        "follow_up": STAFF,
    }


# The state each action is tried from, reached along the happy path (holds by their own steps).
ACTION_FROM = {
    "see": None,
    "accept": None,
    "cancel": None,
    "dispatch": "register",
    "take": "dispatch",
    "request_hold": "take",
    "approve_hold": "take",
    "resolve": "take",
    "verify": "resolve",
    "close": "verify",
    "rate": "close",
    "reopen": "close",
    "supervise": "take",
    "whistle": "register",
    "follow_up": "close",
}


def attempt(w, action, case, who) -> None:
    by = None if who in (TRACKING_CODE, NOBODY) else w.u[who]
    code = who == TRACKING_CODE
    if action == "see":
        if by is None or not queries.cases_visible_to(by).filter(pk=case.pk).exists():
            raise PermissionDenied
    elif action == "cancel":
        services.cancel(case, by=by, note="不需要了", as_reporter=code)
    elif action == "dispatch":
        services.dispatch(case, by=by, tier=case.tier, department=case.department)
    elif action == "resolve":
        services.resolve(case, by=by, photos_in=[photo()])
    elif action == "verify":
        services.verify(case, by=by, photos_in=[photo()], as_reporter=code)
    elif action == "rate":
        services.rate(case, by=by, rating=Rating.SATISFIED, as_reporter=code)
    elif action == "supervise":
        services.supervise(case, by=by, level=1, instruction="尽快办理")
    elif action == "whistle":
        services.blow_whistle(case, by=by, level="daily", departments=[w.t.department], reason="需要部门协同")
    elif action == "follow_up":
        services.follow_up(case, by=by, note="电话回访")
    else:
        services.transition(case, action, by=by, note="理由")


@pytest.mark.parametrize("tier", list(Tier))
def test_who_may_do_what_at_each_tier(w, tier):
    category = {
        Tier.GRID: w.c.litter,
        Tier.COMMUNITY: w.c.dispute,
        Tier.STREET: w.street_matter,
        Tier.DEPARTMENT: w.department_matter,
    }[tier]
    base = resident_case(w, category)
    assert base.tier == tier
    people = [*sorted(w.u), TRACKING_CODE, NOBODY]
    actual = {}
    for action, through in ACTION_FROM.items():
        actual[action] = set()
        with transaction.atomic():
            case = advance(w, base, through) if through else fresh(base)
            if action == "approve_hold":
                services.transition(case, "request_hold", by=handler_of(w, case), note="等待审批")
            for who in people:
                with transaction.atomic():
                    try:
                        attempt(w, action, fresh(case), who)
                    except (PermissionDenied, ValidationError) as refused:
                        assert not isinstance(refused, StaleRecord), (action, who)
                    else:
                        actual[action].add(who)
                    transaction.set_rollback(True)
            transaction.set_rollback(True)
    assert actual == expected_access(tier)
