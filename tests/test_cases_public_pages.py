"""The resident's report and tracking pages (/report/, /track/) and the member's phone pages (/m/)."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fengchao.audit.models import AuditEvent
from fengchao.cases import services, suggest
from fengchao.cases.choices import AttachmentKind, CaseState, Channel, Rating
from fengchao.cases.models import Case, CaseAttachment
from tests.case_factories import PNG, build_categories, centre, photo, report
from tests.factories import first_micro


@pytest.fixture
def cats(tree):
    suggest.clear_cache()  # the keyword table outlives a test database otherwise
    yield build_categories(tree.department)
    suggest.clear_cache()


@pytest.fixture
def micro(tree):
    return first_micro(tree, tree.grid_a1)


@pytest.fixture
def outside_micro(tree):
    return first_micro(tree, tree.grid_b1)


def report_url(area):
    return reverse("cases_public:report", args=[area.code])


def key_in(html: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)


def post_report(client, area, **fields):
    data = {"description": "楼下垃圾堆了三天没人清", "category": "T0101", "idempotency_key": "resident-key-0001"}
    data.update(fields)
    return client.post(report_url(area), data, REMOTE_ADDR="198.51.100.1")


def walk(case, tree, *steps, handler="microgrid_member", verifier="grid_leader"):
    """Move a case through named steps as the staff and members of street A would."""
    staff = tree.users["community_staff"]
    for step in steps:
        case.refresh_from_db()
        if step == "dispatch":
            services.dispatch(case, by=staff, tier="grid")
        elif step == "take":
            services.take(case, by=tree.users[handler])
        elif step == "resolve":
            services.resolve(case, by=tree.users[handler], photos_in=[photo("after.png")])
        elif step == "verify":
            services.verify(case, by=tree.users[verifier], photos_in=[photo("check.png")])
        else:
            services.transition(case, step, by=staff)
    case.refresh_from_db()
    return case


# ---- reporting ------------------------------------------------------------------------------------------


def test_qr_page_leads_to_the_report_form_with_the_area_filled_in(client, tree, cats, micro):
    grid_page = client.get(reverse("public:grid", args=[micro.code])).content.decode()
    assert report_url(micro) in grid_page
    response = client.get(report_url(micro))
    html = response.content.decode()
    assert response.status_code == 200
    assert micro.name in html and "和美社区" in html
    assert 'capture="environment"' in html and 'accept="image/*"' in html
    assert '<optgroup label="测试大类">' in html and ">暴露垃圾<" in html
    assert len(key_in(html)) >= 16
    assert key_in(client.get(report_url(micro)).content.decode()) != key_in(html)  # one key per rendered form


def test_report_form_for_an_unknown_or_non_public_area_is_404(client, tree, cats):
    assert client.get(reverse("cases_public:report", args=["510108999999"])).status_code == 404
    assert client.get(report_url(tree.community_a)).status_code == 404


def test_resident_reports_with_a_photo_and_gets_a_tracking_code(client, tree, cats, micro):
    response = client.post(
        report_url(micro),
        {
            "description": "3栋门口垃圾堆了两天",
            "category": "T0101",
            "idempotency_key": "resident-key-0001",
            "reporter_name": "李阿姨",
            "phone": "13800001111",
            "address": "3栋2单元门口",
            "photos": [photo("door.png")],
        },
        REMOTE_ADDR="198.51.100.7",
    )
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "cases_public:reported", args=[case.tracking_code]
    )
    assert case.channel == Channel.RESIDENT_QR and case.area == micro and case.reporter is None
    assert case.reporter_name == "李阿姨" and case.phone == "13800001111" and case.address == "3栋2单元门口"
    assert case.attachments.get().kind == AttachmentKind.BEFORE
    done = client.get(response["Location"]).content.decode()
    assert case.tracking_code in done and reverse("cases_public:track", args=[case.tracking_code]) in done
    assert "13800001111" not in done
    event = AuditEvent.objects.get(action="public.report")
    assert event.data["address"] == "198.51.100.7" and event.area_id == micro.pk


def test_refusals_keep_what_was_typed_and_name_the_field(client, tree, cats, micro):
    response = post_report(
        client,
        micro,
        category="",
        reporter_name="王先生",
        phone="12345",
        address="北门",
        idempotency_key="keep-key-0000000001",
    )
    html = response.content.decode()
    assert response.status_code == 400 and Case.objects.count() == 0
    assert "Choose a category from the list." in html
    assert "楼下垃圾堆了三天没人清</textarea>" in html
    assert 'value="王先生"' in html and 'value="12345"' in html and 'value="北门"' in html
    assert key_in(html) == "keep-key-0000000001"  # the retry after fixing it is still the same submission

    html = post_report(client, micro, phone="12345").content.decode()
    phone_error = re.search(r'id="report-phone".*?invalid-feedback d-block">([^<]+)<', html, re.S).group(1)
    assert phone_error.startswith("Not a phone number")

    html = post_report(client, micro, category="T0102", idempotency_key="keep-key-0000000002").content.decode()
    assert "A photo is required for “井盖缺失”." in html and 'value="T0102" selected' in html
    assert Case.objects.count() == 0


def test_a_double_tap_or_a_resent_post_returns_the_same_case(client, tree, cats, micro):
    first = post_report(client, micro)
    second = post_report(client, micro)
    assert Case.objects.count() == 1
    assert (
        first["Location"]
        == second["Location"]
        == reverse("cases_public:reported", args=[Case.objects.get().tracking_code])
    )
    assert AuditEvent.objects.filter(action="public.report").count() == 1  # a retry does not count twice


def test_anonymous_report_keeps_no_name(client, tree, cats, micro):
    post_report(client, micro, reporter_name="张三丰", anonymous="on")
    case = Case.objects.get()
    assert case.is_anonymous and case.reporter_name == ""
    html = client.get(reverse("cases_public:track", args=[case.tracking_code])).content.decode()
    assert "张三丰" not in html and "Resident" in html


def test_public_reports_are_limited_per_client_address(client, tree, cats, micro, settings):
    settings.CASES_PUBLIC_REPORTS_PER_HOUR = 2
    for n in range(2):
        assert post_report(client, micro, idempotency_key=f"limit-key-00000{n:03d}").status_code == 302
    refused = post_report(client, micro, idempotency_key="limit-key-00000999")
    assert refused.status_code == 429 and "Too many reports" in refused.content.decode()
    assert Case.objects.count() == 2
    other = client.post(
        report_url(micro),
        {"description": "路灯坏了好几天", "category": "T0101", "idempotency_key": "limit-key-other-address"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert other.status_code == 302 and Case.objects.count() == 3


def test_map_report_uses_the_tapped_point_and_the_map_channel(client, tree, cats, micro):
    lon, lat = centre(micro)
    located = client.get(reverse("cases_public:locate"), {"lon": lon, "lat": lat}).json()
    assert located["found"] and located["code"] == micro.code and located["community"] == "和美社区"
    form = client.get(located["report_url"]).content.decode()
    assert f'value="{lon:.7f}"' in form and 'name="via" value="map"' in form
    client.post(
        report_url(micro),
        {**dict(description="路边井盖松动", category="T0101", idempotency_key="map-key-000000000001"), "via": "map"}
        | {"lon": f"{lon:.7f}", "lat": f"{lat:.7f}", "crs": "wgs84"},
    )
    case = Case.objects.get()
    assert case.channel == Channel.RESIDENT_MAP and case.area == micro and case.lon == pytest.approx(lon)


def test_locate_outside_the_district_and_bad_input(client, tree):
    assert client.get(reverse("cases_public:locate"), {"lon": 100.0, "lat": 30.0}).json()["found"] is False
    response = client.get(reverse("cases_public:locate"), {"lon": "abc", "lat": "30"})
    assert response.status_code == 400 and response.json()["found"] is False


def test_map_page_draws_the_communities(client, tree):
    html = client.get(reverse("cases_public:report_map")).content.decode()
    data = json.loads(re.search(r'<script id="area-map-data" type="application/json">(.*?)</script>', html).group(1))
    assert {f["name"] for f in data["features"]} == {"和美社区", "致强社区"}
    assert all(f["geometry"]["type"] == "Polygon" for f in data["features"])


def test_suggestions_follow_the_description(client, tree, cats):
    html = client.get(reverse("cases_public:suggest"), {"text": "小区里垃圾堆放在路边"}).content.decode()
    assert 'data-pick-category="T0101"' in html and "测试大类" in html  # the branch tells same-named leaves apart
    assert client.get(reverse("cases_public:suggest"), {"text": ""}).content.decode().strip() == ""


def test_possible_duplicates_are_shown_before_submitting(client, tree, cats, micro, outside_micro):
    report(tree, cats.litter, area=micro)
    lon, lat = centre(micro)
    url = reverse("cases_public:duplicates")
    near = client.get(url, {"category": "T0101", "lon": lon, "lat": lat, "area": micro.code}).content.decode()
    assert 'id="duplicates-list"' in near and "暴露垃圾" in near
    assert "楼下垃圾" not in near  # other people's words are not shown to the public
    far_lon, far_lat = centre(outside_micro)
    far = client.get(url, {"category": "T0101", "lon": far_lon, "lat": far_lat, "area": outside_micro.code})
    assert "duplicates-list" not in far.content.decode()
    same_words = client.get(url, {"area": micro.code, "description": "楼下垃圾堆了三天没人清！"}).content.decode()
    assert "duplicates-list" in same_words


# ---- tracking ------------------------------------------------------------------------------------------


def test_unknown_tracking_code_is_404(client, tree, cats):
    case = report(tree, cats.litter)
    assert client.get(reverse("cases_public:track", args=["ABCDEFGHJK"])).status_code == 404
    assert client.get(reverse("cases_public:track", args=["ABC-DEF"])).status_code == 404
    assert client.get(reverse("cases_public:track_lookup"), {"code": "NOPE"}).status_code == 404
    found = client.get(reverse("cases_public:track_lookup"), {"code": case.tracking_code.lower()})
    assert found.status_code == 302 and found["Location"] == reverse("cases_public:track", args=[case.tracking_code])
    assert client.get(reverse("cases_public:track", args=[case.tracking_code.lower()])).status_code == 200


def test_tracking_shows_the_public_timeline_without_phones(client, tree, cats, micro):
    case = report(tree, cats.litter, phone="13800002222", reporter_name="李阿姨")
    services.add_note(case, by=tree.users["community_staff"], note="内部备注：物业电话待核实")
    walk(case, tree, "accept", "register", "dispatch")
    html = client.get(reverse("cases_public:track", args=[case.tracking_code])).content.decode()
    assert "Accept" in html and "Dispatch" in html and "Reported" in html
    assert "Register" not in html and "内部备注" not in html
    assert "13800002222" not in html
    for user in tree.users.values():
        assert user.phone not in html
    assert case.get_state_display() in html


def _closed_case(tree, cats):
    case = report(tree, cats.litter)
    return walk(case, tree, "accept", "register", "dispatch", "take", "resolve", "verify", "close")


def test_the_reporter_rates_a_closed_case_once(client, tree, cats):
    case = _closed_case(tree, cats)
    url = reverse("cases_public:track", args=[case.tracking_code])
    assert 'id="rate-form"' in client.get(url).content.decode()
    rate_url = reverse("cases_public:track_rate", args=[case.tracking_code])
    data = {"rating": Rating.SATISFIED, "comment": "很快就清走了", "expected_version": case.version}
    response = client.post(rate_url, data)
    assert response.status_code == 302 and response["Location"] == url
    case.refresh_from_db()
    assert case.state == CaseState.RATED and case.rating == Rating.SATISFIED and case.rating_comment == "很快就清走了"
    page = client.get(url).content.decode()
    assert 'id="rate-form"' not in page and "Thank you for your rating." in page

    again = client.post(rate_url, {"rating": Rating.DISSATISFIED, "expected_version": case.version})
    assert again.status_code == 400 and "reload it to see what happened" in again.content.decode()
    case.refresh_from_db()
    assert case.rating == Rating.SATISFIED and case.events.filter(action="rate").count() == 1


def test_a_stale_rating_form_is_refused(client, tree, cats):
    case = _closed_case(tree, cats)
    rate_url = reverse("cases_public:track_rate", args=[case.tracking_code])
    response = client.post(rate_url, {"rating": Rating.SATISFIED, "expected_version": case.version - 1})
    assert response.status_code == 400 and "Someone else changed this record" in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED


def test_a_dissatisfied_reporter_asks_for_the_case_to_be_handled_again(client, tree, cats):
    case = _closed_case(tree, cats)
    rate_url = reverse("cases_public:track_rate", args=[case.tracking_code])
    refused = client.post(rate_url, {"rating": Rating.SATISFIED, "ask_reopen": "on", "expected_version": case.version})
    assert refused.status_code == 400 and "Only a dissatisfied rating reopens a case." in refused.content.decode()
    client.post(
        rate_url,
        {
            "rating": Rating.DISSATISFIED,
            "comment": "垃圾又堆起来了",
            "ask_reopen": "on",
            "expected_version": case.version,
        },
    )
    case.refresh_from_db()
    assert case.state == CaseState.REGISTERED
    assert list(case.events.filter(action__in=["rate", "reopen"]).values_list("action", flat=True)) == [
        "rate",
        "reopen",
    ]


def test_the_reporter_rejects_then_confirms_the_result(client, tree, cats):
    case = walk(report(tree, cats.litter), tree, "accept", "register", "dispatch", "take", "resolve")
    check_url = reverse("cases_public:track_check", args=[case.tracking_code])
    assert 'id="check-form"' in client.get(reverse("cases_public:track", args=[case.tracking_code])).content.decode()
    no_reason = client.post(check_url, {"outcome": "reject", "expected_version": case.version})
    assert no_reason.status_code == 400 and "Give a reason." in no_reason.content.decode()
    client.post(check_url, {"outcome": "reject", "note": "还没清理干净", "expected_version": case.version})
    case.refresh_from_db()
    assert case.state == CaseState.TAKEN and case.rework_count == 1
    case = walk(case, tree, "resolve")
    client.post(check_url, {"outcome": "confirm", "expected_version": case.version})
    case.refresh_from_db()
    assert case.state == CaseState.VERIFIED
    assert case.events.get(action="verify").actor_label == "Resident"


def test_tracking_page_queries_do_not_grow_with_the_timeline(client, tree, cats):
    case = walk(report(tree, cats.litter, before_photos=[photo()]), tree, "accept", "register", "dispatch", "take")
    url = reverse("cases_public:track", args=[case.tracking_code])

    def count():
        with CaptureQueriesContext(connection) as queries:
            html = client.get(url).content.decode()
        return len(queries), html.count('class="case-photo"')

    walk(case, tree, "resolve")
    small, small_photos = count()
    for _ in range(3):
        services.rework(case, by=tree.users["grid_leader"], note="没有清理干净", photos_in=[photo()])
        walk(case, tree, "resolve")
    large, large_photos = count()
    assert large_photos == small_photos + 6
    assert small == large


def test_photos_are_served_only_with_the_right_code_or_scope(client, tree, cats):
    case = report(tree, cats.manhole, before_photos=[photo()])
    other = report(tree, cats.litter)
    services.add_note(case, by=tree.users["community_staff"], note="内部照片", photos_in=[photo()])
    public_photo = case.attachments.get(kind=AttachmentKind.BEFORE)
    internal_photo = case.attachments.get(kind=AttachmentKind.OTHER)

    response = client.get(reverse("cases_public:track_photo", args=[case.tracking_code, public_photo.token]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    html = client.get(reverse("cases_public:track", args=[case.tracking_code])).content.decode()
    assert public_photo.token in html and internal_photo.token not in html
    for code, token in ((other.tracking_code, public_photo.token), (case.tracking_code, internal_photo.token)):
        assert client.get(reverse("cases_public:track_photo", args=[code, token])).status_code == 404

    member_url = reverse("cases_member:photo", args=[case.pk, internal_photo.token])
    assert client.get(member_url).status_code == 302  # to the login page
    client.force_login(tree.users["outsider_microgrid_member"])
    assert client.get(member_url).status_code == 404
    client.force_login(tree.users["microgrid_member"])
    assert client.get(member_url).status_code == 200


def test_media_files_are_not_served_by_path(client, tree, cats):
    case = report(tree, cats.manhole, before_photos=[photo()])
    attachment = CaseAttachment.objects.get(case=case)
    assert client.get(f"/media/{attachment.file.name}").status_code == 404
    assert client.get("/media/").status_code == 404


# ---- the member's phone pages -----------------------------------------------------------------------------


def test_member_reports_only_in_their_own_areas(client, tree, cats, micro, outside_micro):
    client.force_login(tree.users["microgrid_member"])
    form = client.get(reverse("cases_member:report"))
    html = form.content.decode()
    assert form.status_code == 200 and micro.name in html and outside_micro.name not in html
    assert f'<option value="{micro.code}" selected' in html  # the member's one micro-grid is chosen already
    assert client.get(reverse("cases_member:report"), {"area": outside_micro.code}).status_code == 404
    data = {
        "area": outside_micro.code,
        "category": "T0101",
        "description": "垃圾桶满了",
        "idempotency_key": "m-key-0001",
    }
    assert client.post(reverse("cases_member:report"), data).status_code == 404

    lon, lat = centre(outside_micro)  # no area picked, a GPS point in street B
    data = {"category": "T0101", "description": "垃圾桶满了", "idempotency_key": "m-key-0002", "lon": lon, "lat": lat}
    refused = client.post(reverse("cases_member:report"), data)
    assert refused.status_code == 400 and "outside the areas where you serve" in refused.content.decode()
    assert Case.objects.count() == 0


def test_member_quick_report_with_gcj02_and_handled_on_the_spot(client, tree, cats, micro):
    from fengchao.areas.coords import wgs84_to_gcj02

    client.force_login(tree.users["microgrid_member"])
    lon, lat = wgs84_to_gcj02(*centre(micro))
    data = {
        "category": "T0101",
        "description": "楼道杂物已清理",
        "idempotency_key": "m-key-0003",
        "lon": lon,
        "lat": lat,
        "crs": "gcj02",
        "handled_on_spot": "on",
        "photos": [photo("before.png")],
        "after_photos": [photo("after.png")],
    }
    response = client.post(reverse("cases_member:report"), data)
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("cases_member:case", args=[case.pk])
    assert case.channel == Channel.MEMBER and case.handled_on_spot and case.state == CaseState.RESOLVED
    assert case.area == micro and case.lon == pytest.approx(centre(micro)[0], abs=1e-5)
    assert sorted(case.attachments.values_list("kind", flat=True)) == ["after", "before"]
    assert client.post(reverse("cases_member:report"), data)["Location"] == response["Location"]  # retried
    assert Case.objects.count() == 1


def test_member_takes_resolves_and_another_verifies_from_the_phone(client, tree, cats, micro):
    case = walk(report(tree, cats.litter), tree, "accept", "register", "dispatch")
    client.force_login(tree.users["microgrid_member"])
    home = client.get(reverse("cases_member:home")).content.decode()
    assert f'id="member-case-{case.pk}"' in home and reverse("cases_member:act", args=[case.pk, "take"]) in home

    act = lambda name, **data: client.post(reverse("cases_member:act", args=[case.pk, name]), data)  # noqa: E731
    act("take", expected_version=case.version)
    case.refresh_from_db()
    assert case.state == CaseState.TAKEN and case.assignee == tree.users["microgrid_member"]
    stale = act("resolve", expected_version=case.version - 1, photos=[photo()])
    assert "Someone else changed this record" in client.get(stale["Location"]).content.decode()
    act("resolve", expected_version=case.version, note="已清运", photos=[photo("after.png")])
    case.refresh_from_db()
    assert case.state == CaseState.RESOLVED and case.attachments.get().kind == AttachmentKind.AFTER

    client.force_login(tree.users["grid_leader"])
    to_verify = client.get(reverse("cases_member:home")).content.decode()
    assert f'id="member-case-{case.pk}"' in to_verify
    no_photo = act("verify", expected_version=case.version, back="case")
    assert no_photo["Location"] == reverse("cases_member:case", args=[case.pk])
    assert "Add a photo taken on site when verifying." in client.get(no_photo["Location"]).content.decode()
    act("verify", expected_version=case.version, photos=[photo("check.png")])
    case.refresh_from_db()
    assert case.state == CaseState.VERIFIED


def test_member_actions_refuse_outsiders_and_unknown_steps(client, tree, cats):
    case = walk(report(tree, cats.litter), tree, "accept", "register", "dispatch")
    client.force_login(tree.users["outsider_microgrid_member"])
    assert client.post(reverse("cases_member:act", args=[case.pk, "take"])).status_code == 404
    assert client.get(reverse("cases_member:case", args=[case.pk])).status_code == 404
    client.force_login(tree.users["microgrid_member"])
    assert client.post(reverse("cases_member:act", args=[case.pk, "close"])).status_code == 404
    assert client.get(reverse("cases_member:act", args=[case.pk, "take"])).status_code == 405
    case.refresh_from_db()
    assert case.state == CaseState.DISPATCHED


def test_member_pages_are_for_people_serving_in_the_loop(client, tree):
    assert client.get(reverse("cases_member:home")).status_code == 302
    client.force_login(tree.users["resident"])
    assert client.get(reverse("cases_member:home")).status_code == 404
    client.force_login(tree.users["community_staff"])
    assert client.get(reverse("cases_member:home")).status_code == 200
    assert client.get(reverse("cases_member:report")).status_code == 404  # staff enter cases on /cases/new/


def test_member_home_queries_do_not_grow_with_the_lists(client, tree, cats, micro):
    member = tree.users["microgrid_member"]
    client.force_login(member)

    def add(n):
        for _ in range(n):
            walk(report(tree, cats.litter, area=micro), tree, "accept", "register", "dispatch")
            report(tree, cats.litter, by=member, area=micro)
            walk(
                report(tree, cats.litter, area=micro),
                tree,
                "accept",
                "register",
                "dispatch",
                "take",
                "resolve",
                handler="grid_leader",
            )

    def count():
        client.get(reverse("cases_member:home"))  # warm caches (sessions, calendar)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("cases_member:home"))
        assert response.status_code == 200
        return len(queries), response.content.decode()

    add(2)
    small, _html = count()
    add(4)
    large, html = count()
    assert html.count('class="card mb-2 member-case"') == 18  # 6 to take, 6 to verify, 6 reported
    assert small == large
