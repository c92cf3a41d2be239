"""The monthly report-in (双报到): a party member reports once a month (a second time answers the first), refusals
(not a party member, a community where they do not serve), staff record a stationed unit's report, the status
lists who has and has not reported, scope 404s of the pages and the API, the status page's query count, the
.xlsx download."""

import datetime as dt
import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from fengchao.accounts import services as accounts
from fengchao.accounts.models import MemberTag
from fengchao.accounts.roles import IdentityTag, Role
from fengchao.audit.models import AuditEvent
from fengchao.registry import services as registry
from fengchao.reportin import queries, services
from fengchao.reportin.models import ReportIn
from tests.api_client import fields_of, post

pytestmark = pytest.mark.django_db


def party(user):
    MemberTag.objects.get_or_create(user=user, tag=IdentityTag.PARTY_MEMBER)
    user.__dict__.pop("_is_party_member", None)
    return user


def unit(tree, community=None, name="和美派出所"):
    return registry.create_organisation(
        tree.users["community_staff"], community or tree.community_a, kind="stationed_unit", name=name
    )


@pytest.fixture
def member(tree):
    return party(tree.users["microgrid_member"])


def login(client, user):
    client.force_login(user)
    return client


# ---- services -----------------------------------------------------------------------------------------------------


def test_report_once_a_month(tree, member):
    first, created = services.report_in(member, community=tree.community_a, note="认领：楼道清理")
    assert created and first.month == queries.month_of() and first.user == member and first.recorded_by == member
    again, created_again = services.report_in(member, community=tree.community_a, note="another")
    assert not created_again and again.pk == first.pk and again.note == "认领：楼道清理"
    assert ReportIn.objects.count() == 1
    assert AuditEvent.objects.filter(action="reportin.reported").count() == 1
    # Next month is a new report-in.
    later, created_later = services.report_in(
        member, community=tree.community_a, now=timezone.now() + dt.timedelta(days=40)
    )
    assert created_later and later.month > first.month


def test_default_community_is_where_they_serve(tree, member):
    done, _ = services.report_in(member, community=None)
    assert done.community == tree.community_a
    assert list(queries.my_communities(member)) == [tree.community_a]


def test_not_a_party_member_is_refused(tree):
    with pytest.raises(PermissionDenied):
        services.report_in(tree.users["microgrid_member"], community=tree.community_a)
    assert not ReportIn.objects.exists()


def test_outsider_community_is_refused(tree, member):
    with pytest.raises(ValidationError) as error:
        services.report_in(member, community=tree.community_b)
    assert "community" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.report_in(member, community=tree.community_b.pk)
    # A party member without any role reports nowhere.
    loner = party(accounts.create_user(username="loner", display_name="loner", phone="13900009999", password_hash="!"))
    with pytest.raises(ValidationError):
        services.report_in(loner, community=None)


def test_note_too_long_is_refused(tree, member):
    with pytest.raises(ValidationError) as error:
        services.report_in(member, community=tree.community_a, note="x" * 501)
    assert "note" in error.value.message_dict


def test_staff_records_a_unit(tree):
    police = unit(tree)
    done, created = services.record_unit(police, by=tree.users["community_staff"], note="结对共建")
    assert created and done.organisation == police and done.user is None and done.community == tree.community_a
    assert done.recorded_by == tree.users["community_staff"]
    again, created = services.record_unit(police, by=tree.users["street_staff"])
    assert not created and again.pk == done.pk
    assert AuditEvent.objects.filter(action="reportin.unit_recorded").count() == 1
    for who in ("outsider_community_staff", "outsider_street_staff", "grid_leader", "microgrid_member"):
        with pytest.raises(PermissionDenied):
            services.record_unit(police, by=tree.users[who])


def test_only_stationed_units_report(tree):
    branch = registry.create_organisation(
        tree.users["community_staff"], tree.community_a, kind="party_branch", name="第一党支部"
    )
    with pytest.raises(ValidationError):
        services.record_unit(branch, by=tree.users["community_staff"])


def test_status_lists_reported_and_not(tree, member):
    leader = party(tree.users["grid_leader"])
    party(tree.users["outsider_microgrid_member"])  # serves in community B
    police, school = unit(tree), unit(tree, name="和美小学")
    unit(tree, tree.community_b, name="致强医院")
    services.report_in(member, community=tree.community_a)
    services.record_unit(school, by=tree.users["community_staff"])
    report = queries.status(tree.community_a, queries.month_of())
    people = {row.subject.pk: row.reported_at for row in report.people}
    assert set(people) == {member.pk, leader.pk}
    assert people[member.pk] is not None and people[leader.pk] is None
    units = {row.subject.pk: row.reported_at for row in report.units}
    assert set(units) == {police.pk, school.pk}
    assert units[school.pk] is not None and units[police.pk] is None
    assert (report.people_reported, report.units_reported) == (1, 1)
    # Another month: nobody has reported.
    last_year = queries.status(tree.community_a, dt.date(2020, 1, 1))
    assert last_year.people_reported == 0 and len(last_year.people) == 2


def test_ended_role_no_longer_reports(tree, member):
    from fengchao.accounts.models import RoleAssignment

    RoleAssignment.objects.filter(user=member).update(ended_at=timezone.now())
    member.__dict__.pop("_held_roles", None)
    assert not queries.status(tree.community_a, queries.month_of()).people
    with pytest.raises(ValidationError):
        services.report_in(member, community=tree.community_a)


# ---- pages --------------------------------------------------------------------------------------------------------


def test_home_page_reports(client, tree, member):
    login(client, member)
    page = client.get(reverse("reportin:home"))
    assert page.status_code == 200 and b'id="report-form"' in page.content
    response = client.post(reverse("reportin:home"), {"community": tree.community_a.pk, "note": "义务巡逻"})
    assert response.status_code == 302
    page = client.get(reverse("reportin:home"))
    assert b'id="reported"' in page.content and "义务巡逻" in page.content.decode()
    client.post(reverse("reportin:home"), {"community": tree.community_a.pk})
    assert ReportIn.objects.count() == 1


def test_pages_404_out_of_scope(client, tree):
    login(client, tree.users["microgrid_member"])  # not a party member
    assert client.get(reverse("reportin:home")).status_code == 404
    assert client.get(reverse("reportin:status")).status_code == 404
    login(client, tree.users["community_staff"])
    assert client.get(reverse("reportin:status"), {"area": tree.community_b.pk}).status_code == 404
    assert client.get(reverse("reportin:status"), {"area": "x"}).status_code == 404
    assert client.get(reverse("reportin:status_xlsx"), {"area": tree.community_b.pk}).status_code == 404
    other = unit(tree, tree.community_b, name="致强医院")
    assert client.post(reverse("reportin:record_unit", args=[other.pk])).status_code == 404
    assert not ReportIn.objects.exists()
    login(client, tree.users["grid_leader"])
    assert client.get(reverse("reportin:status")).status_code == 404


def test_status_page_and_recording(client, tree, member):
    police = unit(tree)
    services.report_in(member, community=tree.community_a)
    login(client, tree.users["street_staff"])
    page = client.get(reverse("reportin:status"), {"area": tree.community_a.pk})
    text = page.content.decode()
    assert page.status_code == 200 and member.display_name in text and police.name in text
    assert 'id="people-count">1 / 1<' in text and 'id="units-count">0 / 1<' in text
    response = client.post(reverse("reportin:record_unit", args=[police.pk]), {"note": "共建"})
    assert response.status_code == 302
    page = client.get(reverse("reportin:status"), {"area": tree.community_a.pk})
    assert 'id="units-count">1 / 1<' in page.content.decode()


def test_status_page_query_count_is_constant(client, tree, member, django_assert_max_num_queries):
    staff = tree.users["community_staff"]
    login(client, staff)
    url = reverse("reportin:status")
    client.get(url)  # warm caches

    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, {"area": tree.community_a.pk}).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    for n in range(8):
        person = party(
            accounts.create_user(username=f"pm{n}", display_name=f"党员{n}", phone=f"1380000{n:04d}", password_hash="!")
        )
        accounts.assign_role(person, Role.MICROGRID_MEMBER, tree.micro[next(iter(tree.micro))])
        if n % 2:
            services.report_in(person, community=tree.community_a)
        unit(tree, name=f"驻区单位{n}")
    assert count() == before


def test_xlsx_opens(client, tree, member):
    unit(tree)
    services.report_in(member, community=tree.community_a, note="认领")
    login(client, tree.users["district_admin"])
    response = client.get(
        reverse("reportin:status_xlsx"), {"area": tree.community_a.pk, "month": f"{timezone.localdate():%Y-%m}"}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    rows = list(book.active.iter_rows(values_only=True))
    names = [row[1] for row in rows[2:]]
    assert member.display_name in names and "和美派出所" in names
    assert len(rows) == 4


# ---- API ----------------------------------------------------------------------------------------------------------


def test_api_report_in_and_mine(as_, tree, member):
    client = as_("microgrid_member")
    first = post(client, "/api/report-in", {"note": "认领"})
    assert first.status_code == 201, first.content
    again = post(client, "/api/report-in", {"community": tree.community_a.pk})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    mine = client.get("/api/report-in/mine")
    assert mine.status_code == 200 and [r["id"] for r in mine.json()["items"]] == [first.json()["id"]]
    assert fields_of(post(client, "/api/report-in", {"community": tree.community_b.pk})) == {"community"}


def test_api_refusals_and_scope(as_, tree):
    assert post(as_("microgrid_member"), "/api/report-in", {}).status_code == 403
    assert as_("microgrid_member").get("/api/report-in/mine").status_code == 404
    assert as_("microgrid_member").get("/api/report-in/status").status_code == 404
    staff = as_("community_staff")
    assert staff.get("/api/report-in/status", {"area": tree.community_b.pk}).status_code == 404
    other = unit(tree, tree.community_b, name="致强医院")
    assert post(staff, f"/api/report-in/units/{other.pk}", {}).status_code == 404
    assert not ReportIn.objects.exists()


def test_api_status_and_unit(as_, tree, member):
    police = unit(tree)
    services.report_in(member, community=tree.community_a)
    staff = as_("community_staff")
    recorded = post(staff, f"/api/report-in/units/{police.pk}", {"note": "共建"})
    assert recorded.status_code == 201, recorded.content
    assert post(staff, f"/api/report-in/units/{police.pk}", {}).status_code == 200
    body = staff.get("/api/report-in/status", {"area": tree.community_a.pk}).json()
    assert (body["people"], body["people_reported"], body["units"], body["units_reported"]) == (1, 1, 1, 1)
    assert body["party_members"][0]["id"] == member.pk and body["party_members"][0]["reported_at"]
    assert body["stationed_units"][0]["note"] == "共建"
    past = staff.get("/api/report-in/status", {"area": tree.community_a.pk, "month": "2020-01"}).json()
    assert past["people_reported"] == 0 and past["month"] == "2020-01"
