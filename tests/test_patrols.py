"""Patrols and the work log: check-ins locate the micro-grid (WGS84 and GCJ-02), points outside the grid are
refused, a double submission records one; coverage (walked / not walked, the shortest full walk); the work log
(write, edit, refusals); the pages with their scope 404s; query counts of the lists and the coverage."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from fengchao.areas import coords
from fengchao.audit.models import AuditEvent
from fengchao.patrols import coverage, services
from fengchao.patrols.models import PatrolCheckIn, WorkLogEntry
from tests.page_client import login

pytestmark = pytest.mark.django_db

# Inside grid A1a's micro-grids (1: south half, 2: north half), away from the dedicated grid's box.
IN_A1_1 = (104.03, 30.63)
IN_A1_2 = (104.03, 30.68)
IN_A2_1 = (104.07, 30.62)  # grid A1b: not the member's grid


def micro(tree, grid, n):
    return [a for a in tree.micro.values() if a.parent_id == grid.pk][n - 1]


def check(tree, who="microgrid_member", point=IN_A1_1, **extra):
    return services.check_in(tree.users[who], lon=point[0], lat=point[1], **extra)


# ---- check-ins ----------------------------------------------------------------------------------------------------


def test_check_in_locates_the_micro_grid_and_is_audited(tree):
    done, created = check(tree, note="  楼道堆物已清理 ")
    assert created
    assert done.area == micro(tree, tree.grid_a1, 1)
    assert (done.lon, done.lat) == IN_A1_1
    assert done.note == "楼道堆物已清理"
    event = AuditEvent.objects.get(action="patrols.checked_in")
    assert event.object_id == str(done.pk) and event.area_id == done.area_id


def test_member_patrols_every_micro_grid_of_their_grid(tree):
    done, _ = check(tree, point=IN_A1_2)  # the member's role is in micro-grid 1; micro-grid 2 is the same grid
    assert done.area == micro(tree, tree.grid_a1, 2)


def test_gcj02_is_converted_to_wgs84(tree):
    lon, lat = coords.wgs84_to_gcj02(*IN_A1_1)
    done, _ = check(tree, point=(lon, lat), crs="gcj02")
    assert done.area == micro(tree, tree.grid_a1, 1)
    assert done.lon == pytest.approx(IN_A1_1[0], abs=1e-6) and done.lat == pytest.approx(IN_A1_1[1], abs=1e-6)


def test_point_outside_my_grid_is_refused(tree):
    with pytest.raises(ValidationError) as error:
        check(tree, point=IN_A2_1)
    assert "location" in error.value.message_dict
    assert "not a micro-grid you patrol" in error.value.message_dict["location"][0]
    with pytest.raises(ValidationError) as error:
        check(tree, point=(103.5, 30.65))  # outside the district
    assert "no micro-grid" in error.value.message_dict["location"][0]
    with pytest.raises(ValidationError):
        check(tree, point=("", ""))
    assert not PatrolCheckIn.objects.exists()


def test_grid_leader_patrols_their_grid_and_residents_may_not(tree):
    assert check(tree, who="grid_leader", point=IN_A1_2)[0].area == micro(tree, tree.grid_a1, 2)
    with pytest.raises(ValidationError):
        check(tree, who="outsider_microgrid_member")  # serves street B
    with pytest.raises(PermissionDenied):
        check(tree, who="resident")


def test_double_submission_records_one(tree):
    first, created = check(tree, key="form-1")
    again, created_again = check(tree, key="form-1", point=IN_A1_2)
    assert created and not created_again and again.pk == first.pk
    assert PatrolCheckIn.objects.count() == 1
    check(tree, key="form-2")
    check(tree)  # no key: each counts
    assert PatrolCheckIn.objects.count() == 3


# ---- coverage -----------------------------------------------------------------------------------------------------


def _at(day, hour, minute=0):
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _place(tree, area, at, who="grid_leader"):
    """A check-in at a set time (the service stamps now)."""
    return PatrolCheckIn.objects.create(
        user=tree.users[who], area=area, at=at, lon=area.centre_lon or 104.0, lat=area.centre_lat or 30.6
    )


def test_coverage_walked_and_not_walked(tree):
    monday = coverage.parse_week("2026-W49")
    assert monday == dt.date(2026, 11, 30)
    a1_1, a1_2, a2_1 = micro(tree, tree.grid_a1, 1), micro(tree, tree.grid_a1, 2), micro(tree, tree.grid_a2, 1)
    _place(tree, a1_1, _at(monday, 9))
    _place(tree, a1_1, _at(monday + dt.timedelta(days=2), 15))
    _place(tree, a2_1, _at(monday - dt.timedelta(days=1), 9))  # the week before
    report = coverage.coverage(tree.community_a, monday)
    assert report.micro_count == 4 and report.walked_count == 1
    rows = {m.area.pk: m for g in report.grids for m in g.micro}
    assert rows[a1_1.pk].walked and rows[a1_1.pk].check_ins == 2
    assert rows[a1_1.pk].last_at == _at(monday + dt.timedelta(days=2), 15)
    assert not rows[a1_2.pk].walked and rows[a1_2.pk].last_at is None
    assert not rows[a2_1.pk].walked
    assert all(g.full_walk is None for g in report.grids)


def test_full_walk_is_the_shortest_day_when_every_micro_grid_was_visited(tree):
    monday = coverage.parse_week("2026-W49")
    a1_1, a1_2 = micro(tree, tree.grid_a1, 1), micro(tree, tree.grid_a1, 2)
    tuesday, thursday = monday + dt.timedelta(days=1), monday + dt.timedelta(days=3)
    _place(tree, a1_1, _at(tuesday, 8))
    _place(tree, a1_2, _at(tuesday, 11, 30))  # 3 h 30
    _place(tree, a1_1, _at(thursday, 9))
    _place(tree, a1_2, _at(thursday, 10, 10), who="microgrid_member")  # 1 h 10, two people walking the grid
    _place(tree, a1_1, _at(monday, 9))  # only one micro-grid that day: not a full walk
    report = coverage.coverage(tree.grid_a1, monday)
    (grid,) = report.grids
    assert grid.full_walk == dt.timedelta(hours=1, minutes=10) and grid.full_walk_day == thursday
    assert coverage.duration_text(grid.full_walk) == "1 h 10 min"


def test_bad_week_is_refused():
    with pytest.raises(ValidationError):
        coverage.parse_week("2026-49")
    with pytest.raises(ValidationError):
        coverage.parse_week("2026-W60")


def test_coverage_query_count_is_constant(tree, django_assert_max_num_queries):
    monday = coverage.parse_week("")
    for area in tree.micro.values():
        for hour in (8, 9):
            _place(tree, area, _at(monday, hour))
    with django_assert_max_num_queries(3):
        report = coverage.coverage(tree.district, monday)
        assert report.walked_count == 6 and all(g.full_walk == dt.timedelta(hours=1) for g in report.grids)


# ---- work log -----------------------------------------------------------------------------------------------------


def test_write_and_edit_a_log_entry(tree):
    member = tree.users["microgrid_member"]
    entry = services.write_log(member, text="走访独居老人3户")
    assert entry.day == timezone.localdate() and entry.area == micro(tree, tree.grid_a1, 1)
    services.edit_log(member, entry, text="走访独居老人4户")
    entry.refresh_from_db()
    assert entry.text == "走访独居老人4户"
    actions = list(
        AuditEvent.objects.filter(object_id=str(entry.pk), object_type="patrols.worklogentry").values_list(
            "action", flat=True
        )
    )
    assert sorted(actions) == ["patrols.log_edited", "patrols.log_written"]


def test_log_refusals(tree):
    member = tree.users["microgrid_member"]
    with pytest.raises(ValidationError) as error:
        services.write_log(member, text="   ")
    assert "text" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.write_log(member, text="x" * 2001)
    assert "text" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.write_log(member, text="ok", day=timezone.localdate() - dt.timedelta(days=3))
    assert "day" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.write_log(member, text="ok", area=tree.grid_b1.pk)
    assert "area" in error.value.message_dict
    with pytest.raises(PermissionDenied):
        services.write_log(tree.users["resident"], text="ok")
    yesterday = services.write_log(member, text="昨天", day=timezone.localdate() - dt.timedelta(days=1))
    services.edit_log(member, yesterday, text="昨天的补记")  # the next day: still editable
    old = WorkLogEntry.objects.create(
        user=member, day=timezone.localdate() - dt.timedelta(days=2), text="前天", area=yesterday.area
    )
    with pytest.raises(ValidationError):
        services.edit_log(member, old, text="too late")
    with pytest.raises(PermissionDenied):
        services.edit_log(tree.users["grid_leader"], yesterday, text="not mine")


# ---- pages --------------------------------------------------------------------------------------------------------


def test_check_in_page_records_once_and_lists_the_week(client, tree):
    login(client, tree, "microgrid_member")
    page = client.get(reverse("patrols:home"))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'src="/static/patrols/checkin.js"' in body or "patrols/checkin.js" in body
    assert "<script>" not in body.split("</footer>")[0]
    form = {"lon": str(IN_A1_1[0]), "lat": str(IN_A1_1[1]), "crs": "wgs84", "note": "巡查", "key": "k-1"}
    for _ in range(2):
        response = client.post(reverse("patrols:home"), form)
        assert response.status_code == 302
    assert PatrolCheckIn.objects.count() == 1
    body = client.get(reverse("patrols:home")).content.decode()
    assert micro(tree, tree.grid_a1, 1).name in body and 'class="d-flex gap-2 mb-1 check-in"' in body


def test_check_in_page_shows_the_refusal(client, tree):
    login(client, tree, "microgrid_member")
    response = client.post(reverse("patrols:home"), {"lon": "104.07", "lat": "30.62", "crs": "wgs84", "key": "k"})
    assert response.status_code == 200
    assert 'id="location-error"' in response.content.decode()
    assert not PatrolCheckIn.objects.exists()


def test_log_pages_write_and_edit(client, tree):
    login(client, tree, "microgrid_member")
    response = client.post(reverse("patrols:log"), {"text": "入户走访", "day": timezone.localdate().isoformat()})
    assert response.status_code == 302
    entry = WorkLogEntry.objects.get()
    body = client.get(reverse("patrols:log")).content.decode()
    assert "入户走访" in body and reverse("patrols:edit_entry", args=[entry.pk]) in body
    response = client.post(reverse("patrols:edit_entry", args=[entry.pk]), {"text": "入户走访5户"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.text == "入户走访5户"
    login(client, tree, "grid_leader")
    assert client.get(reverse("patrols:edit_entry", args=[entry.pk])).status_code == 404


def test_coverage_page_colours_micro_grids(client, tree):
    check(tree)
    login(client, tree, "community_staff")
    body = client.get(reverse("patrols:coverage")).content.decode()
    walked = micro(tree, tree.grid_a1, 1)
    assert f'table-success walked" data-area="{walked.pk}"' in body
    assert f'table-danger not-walked" data-area="{micro(tree, tree.grid_a1, 2).pk}"' in body
    assert "Not fully walked" in body
    assert client.get(reverse("patrols:coverage"), {"area": tree.grid_a1.pk, "week": "2026-W49"}).status_code == 200


def test_pages_out_of_scope_answer_404(client, tree):
    entry = services.write_log(tree.users["microgrid_member"], text="日志")
    member_id = tree.users["microgrid_member"].pk
    login(client, tree, "outsider_community_staff")
    assert client.get(reverse("patrols:coverage"), {"area": tree.community_a.pk}).status_code == 404
    assert client.get(reverse("patrols:person_log", args=[member_id])).status_code == 404
    login(client, tree, "microgrid_member")  # not staff
    assert client.get(reverse("patrols:coverage")).status_code == 404
    assert client.get(reverse("patrols:person_log", args=[member_id])).status_code == 404
    login(client, tree, "resident")
    assert client.get(reverse("patrols:home")).status_code == 404
    assert client.get(reverse("patrols:log")).status_code == 404
    login(client, tree, "grid_leader")
    assert client.get(reverse("patrols:coverage"), {"area": tree.grid_a2.pk}).status_code == 404
    body = client.get(reverse("patrols:person_log", args=[member_id])).content.decode()
    assert f'id="entry-{entry.pk}"' in body


def test_nav_entries(client, tree):
    login(client, tree, "microgrid_member")
    body = client.get(reverse("patrols:log")).content.decode()
    assert reverse("patrols:home") in body and reverse("patrols:coverage") not in body
    login(client, tree, "street_staff")
    assert reverse("patrols:coverage") in client.get(reverse("patrols:coverage")).content.decode()


def test_page_query_counts_do_not_grow(client, tree, django_assert_max_num_queries):
    member = tree.users["microgrid_member"]
    login(client, tree, "microgrid_member")

    def fill(n):
        for i in range(n):
            check(tree, key=f"q{i}-{PatrolCheckIn.objects.count()}")
            services.write_log(member, text=f"entry {i}")

    fill(2)
    counts = {}
    for n in (0, 8):
        fill(n)
        for name in ("patrols:home", "patrols:log"):
            from django.db import connection
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connection) as ctx:
                assert client.get(reverse(name)).status_code == 200
            counts.setdefault(name, []).append(len(ctx.captured_queries))
    assert all(a == b for a, b in counts.values()), counts
    login(client, tree, "district_admin")
    with django_assert_max_num_queries(25):
        client.get(reverse("patrols:coverage"))


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_check_in_with_a_photo_served_to_its_author_and_staff_in_scope(client, tree, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    login(client, tree, "microgrid_member")
    form = {"lon": "104.03", "lat": "30.63", "crs": "wgs84", "key": "p-1"}
    form["photo"] = SimpleUploadedFile("scene.png", PNG, content_type="image/png")
    assert client.post(reverse("patrols:home"), form).status_code == 302
    done = PatrolCheckIn.objects.get()
    assert done.photo and done.photo_type == "image/png"
    url = reverse("patrols:photo", args=[done.pk])
    assert url in client.get(reverse("patrols:home")).content.decode()
    assert b"".join(client.get(url).streaming_content) == PNG
    login(client, tree, "community_staff")
    assert client.get(url).status_code == 200
    login(client, tree, "outsider_community_staff")
    assert client.get(url).status_code == 404
    login(client, tree, "microgrid_member")
    bad = {"lon": "104.03", "lat": "30.63", "key": "p-2", "photo": SimpleUploadedFile("x.png", b"not an image")}
    response = client.post(reverse("patrols:home"), bad)
    assert response.status_code == 200 and PatrolCheckIn.objects.count() == 1


def test_coverage_page_links_to_the_logs_of_people_serving(client, tree):
    login(client, tree, "community_staff")
    body = client.get(reverse("patrols:coverage")).content.decode()
    assert reverse("patrols:person_log", args=[tree.users["microgrid_member"].pk]) in body
    assert reverse("patrols:person_log", args=[tree.users["outsider_microgrid_member"].pk]) not in body
