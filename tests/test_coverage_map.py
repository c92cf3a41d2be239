"""The coverage map (/coverage/): each micro-grid of an area coloured by patrols this week, inspections in the
period (with open hazards), care visits (overdue), and overdue task shares; the same figures in the table under
the map; staff only, out-of-scope areas 404; a handful of queries whatever the number of micro-grids."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from fengchao.coverage import layers
from fengchao.patrols import services as patrols
from fengchao.registry import services as registry
from fengchao.registry.models import CareTag, ResidentCareTag
from fengchao.work import services as work
from fengchao.work.models import Assignment
from tests.case_factories import photo
from tests.factories import first_micro
from tests.page_client import count_queries, html, login
from tests.registry_factories import build_registry
from tests.test_inspections_services import all_pass, inspect

pytestmark = pytest.mark.django_db


def micros(tree, grid):
    return [a for a in tree.micro.values() if a.parent_id == grid.pk]


def row_of(page, area):
    start = page.index(f'data-area="{area.pk}"')
    return page[start : page.index("</tr>", start)]


def status(rows, area, layer):
    return next(r for r in rows if r.area == area).status(layer)


def test_each_layer_colours_the_micro_grids_by_the_work_done(tree):
    reg = build_registry(tree)
    walked, not_walked = micros(tree, tree.grid_a1)
    patrols.check_in(tree.users["microgrid_member"], lon=104.03, lat=30.63)  # in grid A1's first micro-grid
    inspect(tree, reg.buildings["a"], answers=all_pass(gas_safety="fail"), photos={"gas_safety": photo()})
    household = registry.create_household(None, area=not_walked, address="和美路8号")
    elderly = registry.create_resident(
        None, household=household, name="王大爷", care_tags=list(CareTag.objects.filter(code="elderly_alone"))
    )
    ResidentCareTag.objects.filter(resident=elderly).update(since=timezone.localdate() - dt.timedelta(days=30))
    task = work.publish_task(
        tree.users["community_staff"], area=tree.grid_a1, title="入户燃气提醒",
        due_at=timezone.now() + dt.timedelta(days=1),
    )  # fmt: skip
    Assignment.objects.filter(task=task, area=not_walked).update(due_at=timezone.now() - dt.timedelta(hours=2))
    today = timezone.localdate()
    rows = layers.statuses(tree.community_a, since=today - dt.timedelta(days=29), until=today)
    assert {r.area for r in rows} == set(micros(tree, tree.grid_a1)) | set(micros(tree, tree.grid_a2))
    assert (status(rows, walked, "walked"), status(rows, not_walked, "walked")) == ("good", "bad")
    # Building 1栋 sits in the first micro-grid and failed its gas item: inspected, with an open hazard.
    assert status(rows, walked, "inspected") == "bad"
    assert next(r for r in rows if r.area == walked).figures["inspected"] == {
        "status": "bad", "targets": 1, "inspected": 1, "open_hazards": 1,
    }  # fmt: skip
    assert status(rows, not_walked, "inspected") == "none"  # nothing to inspect there
    # 王大爷 was tagged a month ago and never visited; the registry's subjects in 1栋 are due, not yet overdue.
    assert (status(rows, not_walked, "visited"), status(rows, walked, "visited")) == ("bad", "good")
    assert (status(rows, not_walked, "tasks"), status(rows, walked, "tasks")) == ("bad", "good")


def test_the_page_shows_the_layer_and_the_table_to_staff_only(client, tree):
    walked, not_walked = micros(tree, tree.grid_a1)
    patrols.check_in(tree.users["microgrid_member"], lon=104.03, lat=30.63)
    url = reverse("coverage:map")
    page = html(login(client, tree, "community_staff"), f"{url}?area={tree.grid_a1.pk}&layer=walked")
    assert 'id="coverage-map"' in page and "coverage/map.js" in page
    assert 'data-status="good"' in row_of(page, walked) and 'data-status="bad"' in row_of(page, not_walked)
    tasks = html(client, f"{url}?area={tree.grid_a1.pk}&layer=tasks")
    assert 'data-status="good"' in row_of(tasks, not_walked)  # no overdue task there
    assert client.get(f"{url}?area={tree.grid_b1.pk}").status_code == 404  # another street's grid
    assert client.get(f"{url}?area=999999").status_code == 404
    login(client, tree, "microgrid_member")
    assert client.get(url).status_code == 404  # members have their own pages, not the staff map


def test_a_bad_period_is_named_and_the_default_period_is_used(client, tree):
    login(client, tree, "community_staff")
    page = html(client, f"{reverse('coverage:map')}?area={tree.grid_a1.pk}&since=someday")
    assert "period-error" in page and 'id="coverage-table"' in page


def test_an_area_too_wide_for_one_map_lists_its_parts(client, tree, monkeypatch):
    monkeypatch.setattr(layers, "MAP_LIMIT", 3)
    page = html(login(client, tree, "district_admin"), f"{reverse('coverage:map')}?area={tree.district.pk}")
    assert 'id="too-wide"' in page and tree.street_a.name in page and 'id="coverage-map"' not in page


def test_the_map_costs_the_same_queries_for_a_grid_or_a_community(client, tree):
    login(client, tree, "community_staff")
    for micro in micros(tree, tree.grid_a1):
        household = registry.create_household(None, area=micro, address=f"{micro.name}1号")
        registry.create_resident(
            None, household=household, name="李奶奶", care_tags=list(CareTag.objects.filter(code="elderly_alone"))
        )
    grid = count_queries(client, f"{reverse('coverage:map')}?area={tree.grid_a1.pk}")
    community = count_queries(client, f"{reverse('coverage:map')}?area={tree.community_a.pk}")
    assert community == grid
    assert first_micro(tree, tree.grid_a1)  # the tree has micro-grids under both
