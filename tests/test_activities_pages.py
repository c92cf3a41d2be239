"""The activities pages: the list and my sign-ups, the detail with sign-up and the waiting list, the
organiser's sheet (marks, .xlsx, cancel), the QR screen, the check-in page the QR code opens, publishing.
Scope (out of scope: 404), the nav entry, and query counts of the list."""

import datetime as dt
import io
import re

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from fengchao.activities import services
from fengchao.activities.models import Activity, Attendance, Signup
from fengchao.points import ledger
from fengchao.points import services as points
from tests.page_client import html, login

pytestmark = pytest.mark.django_db


def publish(tree, *, kind="training", capacity=None, starts_in=-10, hours=2, area=None, title="微网格员业务培训"):
    start = timezone.now() + dt.timedelta(minutes=starts_in)
    return services.publish(
        tree.users["community_staff"],
        area=area or tree.community_a,
        kind=kind,
        title=title,
        place="和美社区党群服务中心",
        starts_at=start,
        ends_at=start + dt.timedelta(hours=hours),
        capacity=capacity,
    )


@pytest.fixture
def training(tree):
    return publish(tree)


@pytest.fixture
def rule(tree):
    return points.save_rule(
        by=tree.users["district_admin"], area=tree.district, action="training.attended", kind="participation", points=5
    )


# ---- lists and scope ---------------------------------------------------------------------------------------------


def test_the_list_shows_upcoming_activities_with_places(client, tree):
    full = publish(tree, capacity=1, title="网格例会", kind="grid_meeting")
    open_one = publish(tree, capacity=10, title="邻里节")
    services.sign_up(tree.users["grid_leader"], full)
    login(client, tree, "microgrid_member")
    page = html(client, reverse("activities:home"))
    assert f'id="activity-{full.pk}"' in page and f'id="activity-{open_one.pk}"' in page
    assert "Full: waiting list" in page and "10 places left" in page
    assert "和美社区党群服务中心" in page
    only = html(client, reverse("activities:home") + "?kind=grid_meeting")
    assert f'id="activity-{full.pk}"' in only and f'id="activity-{open_one.pk}"' not in only


def test_the_nav_has_activities_for_role_holders(client, tree):
    login(client, tree, "microgrid_member")
    assert 'id="nav-activitieshome"' in html(client, reverse("points:mine"))


@pytest.mark.parametrize("who", ["outsider_microgrid_member", "outsider_community_staff", "outsider_grid_leader"])
def test_out_of_scope_is_404(client, tree, training, who):
    login(client, tree, who)
    for name in ("activities:detail", "activities:qr", "activities:check_in", "activities:sheet_xlsx"):
        assert client.get(reverse(name, args=[training.pk])).status_code == 404, name
    for name in ("activities:sign_up", "activities:cancel_signup", "activities:mark", "activities:cancel"):
        assert client.post(reverse(name, args=[training.pk])).status_code == 404, name
    assert f'id="activity-{training.pk}"' not in html(client, reverse("activities:home"))


def test_people_without_a_role_find_nothing(client, tree, training, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="x"))
    assert client.get(reverse("activities:home")).status_code == 404
    client.logout()
    assert client.get(reverse("activities:home")).status_code == 302


def test_members_do_not_see_the_organisers_tools(client, tree, training):
    login(client, tree, "microgrid_member")
    page = html(client, reverse("activities:detail", args=[training.pk]))
    assert 'id="sign-up"' in page and 'id="sheet"' not in page
    for name in ("activities:qr", "activities:sheet_xlsx"):
        assert client.get(reverse(name, args=[training.pk])).status_code == 404
    assert client.post(reverse("activities:mark", args=[training.pk]), {"user": "1"}).status_code == 404
    assert client.get(reverse("activities:new")).status_code == 404


# ---- sign-up and the waiting list -----------------------------------------------------------------------------------


def test_sign_up_waiting_list_and_promotion(client, tree):
    activity = publish(tree, capacity=1)
    first, second = tree.users["microgrid_member"], tree.users["microgrid_leader"]
    url = reverse("activities:sign_up", args=[activity.pk])
    client.force_login(first)
    page = client.post(url, follow=True).content.decode()
    assert "You are signed up." in page and 'data-state="confirmed"' in page
    client.force_login(second)
    page = client.post(url, follow=True).content.decode()
    assert 'data-state="waitlisted" data-position="1"' in page and "On the waiting list: number 1." in page
    client.force_login(first)
    page = client.post(reverse("activities:cancel_signup", args=[activity.pk]), follow=True).content.decode()
    assert "Your sign-up is cancelled." in page and 'id="sign-up"' in page
    assert Signup.objects.get(user=second).state == "confirmed"
    client.force_login(second)
    assert 'data-state="confirmed"' in html(client, reverse("activities:detail", args=[activity.pk]))
    mine = html(client, reverse("activities:home"))
    assert f'data-signup="{activity.pk}"' in mine


# ---- QR check-in -------------------------------------------------------------------------------------------------


def test_the_qr_screen_holds_the_check_in_url_and_refreshes(client, tree, training):
    from fengchao.activities.views import qr_data_uri

    login(client, tree, "community_staff")
    page = html(client, reverse("activities:qr", args=[training.pk]))
    assert '<meta http-equiv="refresh" content="30">' in page
    src = re.search(r'id="checkin-qr" src="([^"]+)"', page).group(1)
    assert src.startswith("data:image/svg+xml")
    assert src == qr_data_uri("http://testserver" + services.checkin_url(training))


def test_check_in_by_the_qr_link_grants_the_points(client, tree, training, rule):
    member = tree.users["microgrid_member"]
    services.sign_up(member, training)
    client.force_login(member)
    url = services.checkin_url(training)
    page = html(client, url)
    assert 'id="checkin-confirm"' in page and "微网格员业务培训" in page
    assert not Attendance.objects.exists()  # a GET changes nothing
    token = url.split("t=")[1]
    page = client.post(url, {"t": token}).content.decode()
    assert 'id="checkin-points"' in page and ">+5<" in page
    assert ledger.balance(member.pk, "participation") == 5
    again = client.post(url, {"t": token}).content.decode()
    assert 'id="checkin-error"' in again and "Already checked in" in again
    assert Attendance.objects.count() == 1 and ledger.balance(member.pk, "participation") == 5


def test_an_expired_code_is_refused(client, tree, training, rule):
    client.force_login(tree.users["microgrid_member"])
    old = services.qr_token(training, now=timezone.now() - dt.timedelta(minutes=10))
    url = reverse("activities:check_in", args=[training.pk])
    page = client.post(url, {"t": old}).content.decode()
    assert 'id="checkin-error"' in page and "expired" in page
    assert not Attendance.objects.exists()


def test_anyone_who_may_join_checks_in_without_signing_up(client, tree, training, rule):
    client.force_login(tree.users["grid_leader"])
    token = services.qr_token(training)
    page = client.post(reverse("activities:check_in", args=[training.pk]), {"t": token}).content.decode()
    assert 'id="checkin-done"' in page


def test_pending_review_is_said(client, tree, training):
    points.save_rule(
        by=tree.users["district_admin"],
        area=tree.district,
        action="training.attended",
        kind="participation",
        points=5,
        approval="review",
    )
    client.force_login(tree.users["microgrid_member"])
    token = services.qr_token(training)
    page = client.post(reverse("activities:check_in", args=[training.pk]), {"t": token}).content.decode()
    assert 'id="checkin-pending"' in page and "pending review" in page


def test_hours_kinds_check_out_on_the_second_scan(client, tree):
    activity = publish(tree, kind="volunteering", starts_in=-5)
    member = tree.users["microgrid_member"]
    client.force_login(member)
    url = reverse("activities:check_in", args=[activity.pk])
    page = client.post(url, {"t": services.qr_token(activity)}).content.decode()
    assert 'id="checkin-later"' in page
    page = html(client, url + "?t=" + services.qr_token(activity))
    assert "Check out" in page
    page = client.post(url, {"t": services.qr_token(activity)}).content.decode()
    assert "Checked out at" in page
    assert Attendance.objects.get().checked_out_at is not None


# ---- the organiser ---------------------------------------------------------------------------------------------


def test_the_organiser_marks_present_and_downloads_the_sheet(client, tree, training, rule):
    member = tree.users["microgrid_member"]
    services.sign_up(member, training)
    login(client, tree, "community_staff")
    page = html(client, reverse("activities:detail", args=[training.pk]))
    assert 'id="sheet"' in page and f'data-user="{member.pk}"' in page and 'id="qr-link"' in page
    response = client.post(
        reverse("activities:mark", args=[training.pk]), {"user": member.pk, "action": "present"}, follow=True
    )
    assert "is present" in response.content.decode()
    attendance = Attendance.objects.get()
    assert attendance.method == "organiser" and attendance.marked_by == tree.users["community_staff"]
    assert ledger.balance(member.pk, "participation") == 5
    response = client.get(reverse("activities:sheet_xlsx", args=[training.pk]))
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    values = [cell for row in book.active.iter_rows(values_only=True) for cell in row]
    assert "微网格员业务培训" in values and member.username in values


def test_the_organiser_cancels_with_a_reason(client, tree, training):
    login(client, tree, "community_staff")
    url = reverse("activities:cancel", args=[training.pk])
    assert "Say why" in client.post(url, {"reason": ""}, follow=True).content.decode()
    page = client.post(url, {"reason": "场地维修"}, follow=True).content.decode()
    assert "is cancelled" in page and 'id="activity-cancelled"' in page
    assert Activity.objects.get().state == "cancelled"


def test_publish_form(client, tree):
    login(client, tree, "community_staff")
    url = reverse("activities:new") + f"?area={tree.community_a.pk}"
    page = html(client, url)
    assert 'id="publish-form"' in page
    start = timezone.localtime() + dt.timedelta(days=1)
    data = {
        "area": tree.community_a.pk,
        "kind": "training",
        "title": "消防培训",
        "place": "社区活动室",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "capacity": "30",
        "audience": "serving",
    }
    response = client.post(url, data)
    activity = Activity.objects.get()
    assert response.status_code == 302 and response.url == reverse("activities:detail", args=[activity.pk])
    assert activity.capacity == 30 and activity.organiser == tree.users["community_staff"]
    bad = client.post(url, {**data, "ends_at": data["starts_at"]}).content.decode()
    assert "ends after it starts" in bad and Activity.objects.count() == 1
    assert client.get(reverse("activities:new") + f"?area={tree.community_b.pk}").status_code == 404


# ---- query counts ----------------------------------------------------------------------------------------------


def test_the_list_does_not_grow(client, tree, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    member = tree.users["microgrid_member"]
    services.sign_up(member, publish(tree, capacity=5))
    client.force_login(member)
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("activities:home"))
    few = len(ctx.captured_queries)
    for n in range(12):
        activity = publish(tree, capacity=3, title=f"培训{n}")
        services.sign_up(member, activity)
    with django_assert_max_num_queries(few):
        assert client.get(reverse("activities:home")).status_code == 200


def test_the_sheet_does_not_grow(client, tree, training, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    services.sign_up(tree.users["microgrid_member"], training)
    login(client, tree, "community_staff")
    url = reverse("activities:detail", args=[training.pk])
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    few = len(ctx.captured_queries)
    for who in ("microgrid_leader", "grid_leader", "dedicated_leader"):
        services.sign_up(tree.users[who], training)
    services.mark_attendance(training, tree.users["grid_leader"], by=tree.users["community_staff"])
    with django_assert_max_num_queries(few):
        assert client.get(url).status_code == 200
