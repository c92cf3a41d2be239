"""The visit pages: a member's due list and recent visits, recording a visit (refusals on the form, nothing
written), a visit and a resident's history with their scope 404s; for staff the overview, the overdue list and
their .xlsx exports; the plans page (district administrator, stale edits refused); query counts of the lists."""

import datetime as dt
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from fengchao.visits.models import CarePlan, Visit
from tests.factories import first_micro
from tests.page_client import count_queries, html, login
from tests.test_visits_services import NUM, PNG, days, second_micro, subject, visit

pytestmark = pytest.mark.django_db


def test_member_home_lists_who_is_due_overdue_first(client, tree):
    due = subject(tree, name="待访")
    late = subject(tree, name="逾期", since=days(-10))
    subject(tree, name="青龙", area=first_micro(tree, tree.grid_b1))
    login(client, tree, "microgrid_member")
    page = html(client, reverse("visits:home"))
    assert page.index("逾期") < page.index("待访") and "青龙" not in page
    assert f'href="/visits/new/?resident={due.pk}"' in page and f'data-resident="{late.pk}"' in page
    assert "Overdue 3 days" in page and "Due today" in page
    assert due.phone not in page and due.masked_phone in page  # masked phones only


def test_staff_home_goes_to_the_overview_and_others_get_404(client, tree):
    login(client, tree, "community_staff")
    assert client.get(reverse("visits:home")).url == reverse("visits:overview")
    login(client, tree, "resident")
    assert client.get(reverse("visits:home")).status_code == 404
    client.logout()
    assert client.get(reverse("visits:home")).status_code == 302  # to sign in


def test_record_a_visit_on_the_phone_form(client, tree, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from django.core.files.uploadedfile import SimpleUploadedFile

    alone = subject(tree)
    login(client, tree, "microgrid_member")
    url = reverse("visits:new") + f"?resident={alone.pk}"
    page = html(client, url)
    assert 'capture="environment"' in page and "Service request" in page and "G0301" in page and "G0401" in page
    form = {
        "how": "in_person", "findings": "身体良好", "needs": "需要送餐", "need_category": "G0301", "key": "page-key-1",
        "photo": SimpleUploadedFile("home.png", PNG, content_type="image/png"),
    }  # fmt: skip
    response = client.post(url, form)
    done = Visit.objects.get()
    assert response.status_code == 302 and response.url == reverse("visits:detail", args=[done.pk])
    assert done.case.category.code == "G0301"
    page = html(client, response.url)
    assert "身体良好" in page and "Service request" in page and done.case.number in page
    assert client.get(reverse("visits:photo", args=[done.pk])).status_code == 200
    assert client.post(url, {**form, "photo": ""}).status_code == 302  # a resend: the same visit
    assert Visit.objects.count() == 1
    home = html(client, reverse("visits:home"))
    assert f'data-resident="{alone.pk}"' not in home and reverse("visits:detail", args=[done.pk]) in home


def test_refusals_come_back_on_the_form(client, tree):
    alone = subject(tree)
    login(client, tree, "microgrid_member")
    url = reverse("visits:new") + f"?resident={alone.pk}"
    page = client.post(url, {"how": "in_person", "findings": "", "key": "k-2"}).content.decode()
    assert "Write what you found on the visit." in page
    page = client.post(url, {"how": "in_person", "findings": "好", "need_category": "G0301", "key": "k-3"})
    assert "Describe the need before" in page.content.decode()
    assert not Visit.objects.exists()


def test_out_of_scope_resident_and_visit_answer_404(client, tree):
    alone = subject(tree)
    done, _ = visit(tree, alone)
    login(client, tree, "outsider_microgrid_member")
    assert client.get(reverse("visits:new") + f"?resident={alone.pk}").status_code == 404
    assert client.post(reverse("visits:new") + f"?resident={alone.pk}", {"findings": "x"}).status_code == 404
    assert client.get(reverse("visits:detail", args=[done.pk])).status_code == 404
    assert client.get(reverse("visits:resident", args=[alone.pk])).status_code == 404
    assert client.get(reverse("visits:new") + "?resident=abc").status_code == 404
    login(client, tree, "outsider_community_staff")
    assert client.get(reverse("visits:detail", args=[done.pk])).status_code == 404
    assert client.get(reverse("visits:overview") + f"?area={tree.community_a.pk}").status_code == 404
    assert client.get(reverse("visits:overdue") + f"?area={tree.community_a.pk}").status_code == 404
    assert client.get(reverse("visits:overdue_export") + f"?area={tree.community_a.pk}").status_code == 404
    assert not Visit.objects.exclude(pk=done.pk).exists()


def test_resident_history_for_member_and_staff(client, tree):
    alone = subject(tree)
    visit(tree, alone, findings="第一次走访", how="phone")
    login(client, tree, "microgrid_member")
    page = html(client, reverse("visits:resident", args=[alone.pk]))
    assert "第一次走访" in page and "Phone" in page and 'id="record-visit"' in page
    login(client, tree, "community_staff")
    page = html(client, reverse("visits:resident", args=[alone.pk]))
    assert "第一次走访" in page and 'id="record-visit"' not in page


def test_overview_and_overdue_for_staff_with_exports(client, tree):
    visited = subject(tree, name="已访")
    visit(tree, visited)
    subject(tree, name="逾期", since=days(-20))
    subject(tree, name="二格", area=first_micro(tree, tree.grid_a2), since=days(-40), tags=("disabled",))
    login(client, tree, "community_staff")
    page = html(client, reverse("visits:overview"))
    assert "和美一网格" in page and "和美二网格" in page and "2 overdue" in page
    assert 'id="up-link"' not in page  # the top of the staff member's scope
    assert 'id="up-link"' in html(client, reverse("visits:overview") + f"?area={tree.grid_a1.pk}")
    page = html(client, reverse("visits:overdue") + f"?area={tree.community_a.pk}")
    assert "逾期" in page and "二格" in page and "已访" not in page

    response = client.get(reverse("visits:overview_export") + f"?area={tree.community_a.pk}")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.values)
    assert rows[0][:5] == ("Area", "Care subjects", "Visited in time", "Due soon", "Overdue")
    by_area = {r[0]: r for r in rows[1:]}
    assert by_area["和美一网格"][1:6] == (2, 1, 0, 1, 50)
    assert by_area["和美二网格"][1:5] == (1, 0, 0, 1)

    response = client.get(reverse("visits:overdue_export") + f"?area={tree.community_a.pk}")
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.values)
    assert rows[0][0] == "Name" and len(rows) == 3
    first, second = rows[1], rows[2]  # the most overdue first
    assert first[0] == "逾期" and first[4] == "独居老人" and first[5] == 7 and first[6] is None
    assert first[7].date() == days(-13) and first[8] == 13 and "*" in first[2]  # masked phone
    assert second[0] == "二格" and second[4] == "残疾人" and second[5] == 30 and second[8] == 10


def test_members_do_not_open_staff_pages(client, tree):
    login(client, tree, "microgrid_member")
    assert client.get(reverse("visits:overview")).status_code == 404
    assert client.get(reverse("visits:overdue")).status_code == 404


def test_plans_page_edits_for_the_district_admin(client, tree):
    plan = CarePlan.objects.get(tag__code="disabled")
    login(client, tree, "community_staff")
    page = html(client, reverse("visits:plans"))
    assert "残疾人" in page and "every 30 days" in page and 'name="every_days"' not in page
    form = {"tag": "disabled", "every_days": "20", "is_active": "on", "expected_version": str(plan.version)}
    assert client.post(reverse("visits:plans"), form).status_code == 404
    login(client, tree, "district_admin")
    assert 'name="every_days"' in html(client, reverse("visits:plans"))
    assert client.post(reverse("visits:plans"), form).status_code == 302
    assert CarePlan.objects.get(pk=plan.pk).every_days == 20
    page = client.post(reverse("visits:plans"), {**form, "every_days": "10"}).content.decode()  # stale version
    assert "in the meantime" in page and CarePlan.objects.get(pk=plan.pk).every_days == 20


def test_list_pages_queries_do_not_grow(client, tree):
    subject(tree, name="甲")
    late = subject(tree, name="乙", since=days(-20))
    visit(tree, late)
    login(client, tree, "microgrid_member")
    home = reverse("visits:home")
    history = reverse("visits:resident", args=[late.pk])
    few_home, few_history = count_queries(client, home), count_queries(client, history)
    login(client, tree, "community_staff")
    overview = reverse("visits:overview") + f"?area={tree.community_a.pk}"
    overdue = reverse("visits:overdue") + f"?area={tree.community_a.pk}"
    few_overview, few_overdue = count_queries(client, overview), count_queries(client, overdue)
    for i in range(8):
        person = subject(tree, name=f"丁{NUM[i]}", since=days(-20), area=second_micro(tree, tree.grid_a1))
        if i % 2:
            visit(tree, person, at=timezone.now() - dt.timedelta(days=i % 5))
        visit(tree, late, who="grid_leader")
    login(client, tree, "microgrid_member")
    assert count_queries(client, home) == few_home
    assert count_queries(client, history) == few_history
    login(client, tree, "community_staff")
    assert count_queries(client, overview) == few_overview
    assert count_queries(client, overdue) == few_overdue


def test_a_new_care_tag_gets_its_plan_on_the_page(client, tree):
    from fengchao.registry.models import CareTag

    CareTag.objects.create(code="veteran_alone", name="独居退役军人", position=99)
    login(client, tree, "district_admin")
    page = html(client, reverse("visits:plans"))
    assert 'data-tag="veteran_alone"' in page
    form = {"tag": "veteran_alone", "every_days": "10", "is_active": "on", "expected_version": "0"}
    assert client.post(reverse("visits:plans"), form).status_code == 302
    plan = CarePlan.objects.get(tag__code="veteran_alone")
    assert plan.every_days == 10 and plan.is_active and plan.version == 1
