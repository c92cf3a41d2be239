"""The public 亮身份 page a resident reaches by scanning the QR code in the building lobby."""

import pytest
from django.urls import reverse

from fengchao.accounts import services as accounts
from fengchao.areas import services as areas
from fengchao.audit.models import AuditEvent
from tests.factories import first_micro


@pytest.fixture
def micro(tree):
    area = first_micro(tree, tree.grid_a1)
    areas.update_area(tree.community_a, service_phone="028-84300000")
    return area


def test_public_page_without_login_shows_who_serves_with_masked_phones(client, tree, micro):
    response = client.get(reverse("public:grid", args=[micro.code]))
    html = response.content.decode()
    assert response.status_code == 200
    assert micro.name in html and "和美社区" in html and "和美一网格" in html
    for who in ("microgrid_leader", "microgrid_member", "grid_leader"):
        user = tree.users[who]
        assert user.display_name in html and user.masked_phone in html
        assert user.phone not in html
    assert "community_staff" not in html and "resident" not in html  # not public serving roles
    assert "028-84300000" in html  # where to report a problem


def test_community_police_are_shown_and_nothing_from_other_areas(client, tree, micro):
    accounts.set_identity_tags(tree.users["community_staff"], ["community_police"])
    html = client.get(reverse("public:grid", args=[micro.code])).content.decode()
    assert "community_staff" in html
    assert "outsider_" not in html


def test_unknown_code_and_non_public_kinds_are_404(client, tree):
    assert client.get(reverse("public:grid", args=["510108999999"])).status_code == 404
    assert client.get(reverse("public:grid", args=[tree.community_a.code])).status_code == 404
    assert client.get(reverse("public:grid", args=[tree.grid_a1.code])).status_code == 200


def test_call_link_audits_and_redirects_to_the_full_number(client, tree, micro):
    member = tree.users["microgrid_member"]
    assignment = member.roles.get(role="microgrid_member")
    url = reverse("public:call", args=[micro.code, assignment.pk])
    assert url in client.get(reverse("public:grid", args=[micro.code])).content.decode()
    response = client.get(url, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 302 and response["Location"] == f"tel:{member.phone}"
    event = AuditEvent.objects.get(action="public.call")
    assert event.area_id == micro.pk and event.data["called"] == member.pk and event.data["address"] == "203.0.113.7"


def test_call_for_someone_not_serving_this_area_is_404(client, tree, micro):
    other = tree.users["outsider_microgrid_member"].roles.get()
    staff = tree.users["community_staff"].roles.get()
    for assignment in (other, staff):
        response = client.get(reverse("public:call", args=[micro.code, assignment.pk]))
        assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="public.call").exists()


def test_calls_are_rate_limited_per_address(client, tree, micro):
    assignment = tree.users["microgrid_member"].roles.get()
    url = reverse("public:call", args=[micro.code, assignment.pk])
    codes = [client.get(url, REMOTE_ADDR="198.51.100.1").status_code for _ in range(11)]
    assert codes == [302] * 10 + [429]
    assert client.get(url, REMOTE_ADDR="198.51.100.2").status_code == 302
    assert AuditEvent.objects.filter(action="public.call").count() == 11


def test_qr_svg_encodes_the_public_page(client, tree, micro):
    response = client.get(reverse("public:qr_svg", args=[micro.code]))
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response.content.lstrip().startswith(b"<?xml") or b"<svg" in response.content[:200]
    assert client.get(reverse("public:qr_svg", args=["000000"])).status_code == 404


def test_qr_sheet_cards_point_at_absolute_public_urls(client, tree, micro):
    client.force_login(tree.users["grid_leader"])
    html = client.get(reverse("areas:qr_sheet", args=[tree.grid_a1.pk])).content.decode()
    assert f"http://testserver/g/{micro.code}/" in html and html.count('<div class="qr-card">') == 2
