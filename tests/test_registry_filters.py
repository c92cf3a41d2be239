"""The registry list filters shared by list pages, the API and exports: scoped, strict about bad input."""

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404, QueryDict

from fengchao.registry import filters, services
from tests.factories import first_micro
from tests.registry_factories import build_registry


@pytest.fixture
def reg(tree):
    return build_registry(tree)


def names(qs):
    return sorted(qs.values_list("name", flat=True))


def test_every_entity_is_scoped_to_the_user(tree, reg):
    staff = tree.users["community_staff"]
    assert names(filters.filter_residents(staff, {})) == ["张三", "張四", "李梅"]
    assert "王五" in names(filters.filter_residents(tree.users["district_admin"], {}))
    assert names(filters.filter_buildings(staff, {})) == ["1栋"]
    assert names(filters.filter_places(staff, {})) == ["和美便利店"]
    assert names(filters.filter_organisations(staff, {})) == ["和美社区第一党支部"]
    assert filters.filter_households(staff, {}).count() == 2
    assert filters.filter_residents(tree.users["department_handler"], {}).count() == 0


def test_area_filter_takes_the_subtree_and_refuses_an_area_out_of_scope(tree, reg):
    staff = tree.users["community_staff"]
    assert names(filters.filter_residents(staff, {"area": str(tree.grid_a1.pk)})) == ["张三", "張四", "李梅"]
    assert names(filters.filter_residents(staff, {"area": str(tree.grid_a2.pk)})) == []
    with pytest.raises(Http404):
        filters.filter_residents(staff, {"area": str(tree.street_b.pk)})
    with pytest.raises(Http404):
        filters.filter_places(staff, {"area": "999999"})


def test_search_care_tag_party_member_and_building(tree, reg):
    staff = tree.users["community_staff"]
    assert names(filters.filter_residents(staff, {"q": "zs"})) == ["张三", "張四"]
    assert names(filters.filter_residents(staff, {"care_tag": "elderly_alone"})) == ["张三"]
    assert names(filters.filter_residents(staff, {"building": str(reg.buildings["a"].pk)})) == ["张三", "張四", "李梅"]
    services.update_resident(None, reg.residents["li_mei"], is_party_member="是")
    assert names(filters.filter_residents(staff, {"party_member": "是"})) == ["李梅"]
    assert names(filters.filter_residents(staff, {"party_member": "0"})) == ["张三", "張四"]
    assert names(filters.filter_places(staff, {"flag": "is_small_venue"})) == ["和美便利店"]
    assert names(filters.filter_places(staff, {"flag": "is_crowded"})) == []
    assert names(filters.filter_places(staff, {"q": "和美", "kind": "shop"})) == ["和美便利店"]
    assert names(filters.filter_organisations(staff, {"kind": "party_branch"})) == ["和美社区第一党支部"]
    assert filters.filter_households(staff, {"q": "1栋101"}).count() == 1


def test_status_defaults_to_living_and_all_includes_those_who_left(tree, reg):
    staff = tree.users["community_staff"]
    services.end_residence(None, reg.residents["li_mei"], status="moved_out")
    assert "李梅" not in names(filters.filter_residents(staff, {}))
    assert names(filters.filter_residents(staff, {"status": "moved_out"})) == ["李梅"]
    assert "李梅" in names(filters.filter_residents(staff, {"status": "all"}))
    assert names(filters.filter_residents(staff, {"q": "李", "status": "all"})) == ["李梅"]


def test_a_building_out_of_scope_answers_404(tree, reg):
    with pytest.raises(Http404):
        filters.filter_residents(tree.users["community_staff"], {"building": str(reg.buildings["b"].pk)})


@pytest.mark.parametrize(
    ("entity", "params", "key"),
    [
        ("residents", {"area": "abc"}, "area"),
        ("residents", {"care_tag": "nonsense"}, "care_tag"),
        ("residents", {"residence_type": "martian"}, "residence_type"),
        ("residents", {"status": "asleep"}, "status"),
        ("residents", {"party_member": "maybe"}, "party_member"),
        ("places", {"flag": "is_haunted"}, "flag"),
        ("places", {"kind": "castle"}, "kind"),
        ("organisations", {"status": "x"}, "status"),
        ("buildings", {"area": "-1"}, "area"),
    ],
)
def test_malformed_values_name_the_key(tree, reg, entity, params, key):
    with pytest.raises(ValidationError) as error:
        filters.filter_entity(entity, tree.users["community_staff"], params)
    assert key in error.value.message_dict


def test_query_dicts_work_like_plain_dicts(tree, reg):
    params = QueryDict(f"area={first_micro(tree, tree.grid_a1).pk}&q=&kind=")
    assert filters.filter_residents(tree.users["community_staff"], params).count() == 3
    assert filters.clean_params("residents", params) == {"area": str(first_micro(tree, tree.grid_a1).pk)}
