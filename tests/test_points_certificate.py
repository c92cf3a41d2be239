"""The volunteer service record (志愿服务记录证明): which activities it holds, the printable page, the .xlsx
download for the person and for staff in scope, and the audit events it writes."""

import datetime as dt
import io
from types import SimpleNamespace

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from fengchao.audit.models import AuditEvent
from fengchao.points import certificate, services
from fengchao.points.choices import Action
from tests.factories import first_micro
from tests.points_factories import claim, district_rules

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(tree):
    w = SimpleNamespace(t=tree, u=tree.users, rules=district_rules(tree), micro=first_micro(tree, tree.grid_a1))
    member, staff = w.u["microgrid_member"], w.u["community_staff"]
    zone = timezone.get_current_timezone()
    year = timezone.localdate().year - 1
    w.year = year
    # Two hours of volunteering (listed, then granted), a training (participation), a case handled (task
    # points: not on the record), a rejected training and a pending meeting (neither on the record).
    hours = claim(member, Action.VOLUNTEER_HOURS, w.micro, label="敬老院陪伴", hours="2.5", at=_at(zone, year, 3, 8))
    services.approve_claim(hours, by=staff, now=_at(zone, year, 3, 9))
    services.grant_listed(_at(zone, year, 3, 20))
    training = claim(member, Action.TRAINING_ATTENDED, w.micro, label="消防安全培训", at=_at(zone, year, 5, 6))
    services.approve_claim(training, by=staff)
    claim(member, Action.CASE_HANDLED, w.micro, label="A0001 暴露垃圾", at=_at(zone, year, 6, 1))
    refused = claim(member, Action.TRAINING_ATTENDED, w.micro, label="未到场的培训", at=_at(zone, year, 7, 1))
    services.reject_claim(refused, by=staff, reason="未到场")
    claim(member, Action.MEETING_ATTENDED, w.micro, label="居民议事会", at=_at(zone, year, 8, 1))
    return w


def _at(zone, year, month, day):
    return dt.datetime(year, month, day, 10, tzinfo=zone)


def test_the_record_holds_granted_activities_with_hours_or_participation_points(w):
    result = certificate.build(w.u["microgrid_member"])
    assert [row["source"] for row in result.rows] == ["敬老院陪伴", "消防安全培训"]
    assert result.hours == 2.5 and result.points_total == 30
    assert result.points == {"task": 0, "participation": 30}
    assert result.issuer == w.t.community_a
    later = certificate.build(w.u["microgrid_member"], dt.date(w.year, 4, 1), None)
    assert [row["source"] for row in later.rows] == ["消防安全培训"]


def test_the_printable_record_for_the_person(client, w):
    member = w.u["microgrid_member"]
    client.force_login(member)
    response = client.get(reverse("points:my_record"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Volunteer service record" in html and "敬老院陪伴" in html and "A0001" not in html
    assert "2.5 hours of service in all" in html and "和美社区" in html and "data-print" in html
    # The person looking at their own record is not an access to someone else's data.
    assert not AuditEvent.objects.filter(action=certificate.VIEW_ACTION).exists()
    response = client.get(reverse("points:my_record") + f"?date_from={w.year}-04-01&date_to={w.year}-12-31")
    assert [row["source"] for row in response.context["record"].rows] == ["消防安全培训"]
    response = client.get(reverse("points:my_record") + f"?date_from={w.year}-05-01&date_to={w.year}-04-01")
    assert "The end comes before the start." in response.content.decode()


def test_the_xlsx_download_opens_and_holds_the_rows_and_totals(client, w):
    member = w.u["microgrid_member"]
    client.force_login(member)
    response = client.get(reverse("points:my_record_xlsx"))
    assert response.status_code == 200
    assert response["Content-Type"] == certificate.XLSX and ".xlsx" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "Volunteer service record"
    facts = {row[0]: row[2] for row in values[2:7]}
    assert facts["Full name"] == "microgrid_member" and facts["Issued by"] == "和美社区"
    header = values.index(["No.", "Date", "Activity", "Source", "Area", "Hours", "Points", "Kind of points"])
    body = values[header + 1 : header + 3]
    assert [(r[0], r[1].date(), r[3], r[5], r[6]) for r in body] == [
        (1, dt.date(w.year, 3, 8), "敬老院陪伴", 2.5, 25),
        (2, dt.date(w.year, 5, 6), "消防安全培训", None, 5),
    ]
    assert body[0][2] == "Volunteered (per hour)" and body[1][7] == "Participation points"
    total = values[header + 3]
    assert total[2] == "Total" and total[5] == 2.5 and total[6] == 30
    event = AuditEvent.objects.get(action=certificate.EXPORT_ACTION)
    assert event.actor == member and event.object_id == str(member.pk) and event.data["rows"] == 2
    assert event.area == w.t.community_a


def test_staff_in_scope_print_and_download_a_persons_record_and_it_is_logged(client, w):
    member = w.u["microgrid_member"]
    client.force_login(w.u["grid_leader"])
    response = client.get(reverse("points:person_record", args=[member.pk]))
    assert response.status_code == 200 and "敬老院陪伴" in response.content.decode()
    viewed = AuditEvent.objects.get(action=certificate.VIEW_ACTION)
    assert viewed.actor == w.u["grid_leader"] and viewed.data["user"] == member.pk
    response = client.get(reverse("points:person_record_xlsx", args=[member.pk]) + f"?date_from={w.year}-05-01")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    sources = [row[3] for row in sheet.iter_rows(values_only=True) if isinstance(row[0], int)]
    assert sources == ["消防安全培训"]
    exported = AuditEvent.objects.get(action=certificate.EXPORT_ACTION)
    assert exported.actor == w.u["grid_leader"] and exported.data["date_from"] == f"{w.year}-05-01"


def test_a_download_with_a_wrong_period_goes_back_to_the_page_that_says_why(client, w):
    client.force_login(w.u["microgrid_member"])
    query = f"date_from={w.year}-05-01&date_to={w.year}-04-01"
    response = client.get(reverse("points:my_record_xlsx") + "?" + query)
    assert response.status_code == 302 and response["Location"] == reverse("points:my_record") + "?" + query
    assert not AuditEvent.objects.filter(action=certificate.EXPORT_ACTION).exists()


@pytest.mark.parametrize("who", ["outsider_community_staff", "microgrid_leader", "resident"])
def test_others_get_404_for_a_persons_record(client, w, who):
    member = w.u["microgrid_member"]
    client.force_login(w.u[who])
    assert client.get(reverse("points:person_record", args=[member.pk])).status_code == 404
    assert client.get(reverse("points:person_record_xlsx", args=[member.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action__startswith="points.record").exists()


@pytest.mark.zh_hans
def test_the_record_renders_in_chinese(client, w):
    client.force_login(w.u["microgrid_member"])
    html = client.get(reverse("points:my_record")).content.decode()
    assert '<html lang="zh-hans">' in html and "敬老院陪伴" in html and "和美社区" in html
    response = client.get(reverse("points:my_record_xlsx"))
    assert openpyxl.load_workbook(io.BytesIO(response.content)).active.max_row > 5
