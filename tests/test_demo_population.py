"""The demo population (fengchao.demo.population), seeded at small scale by seed_demo."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from fengchao.accounts.models import User
from fengchao.areas.models import Area
from fengchao.core import privacy
from fengchao.demo import population
from fengchao.registry import idcard, search, search_keys, services
from fengchao.registry.choices import IdType, ResidenceType, ResidentStatus
from fengchao.registry.models import (
    Building,
    Household,
    Organisation,
    OrganisationMember,
    Place,
    Resident,
    ResidentCareTag,
    Room,
)
from fengchao.registry.queries import (
    buildings_visible_to,
    places_visible_to,
    residents_visible_to,
)
from fengchao.registry.validation import clean_credit_code

LINEAGE = ("district_pk", "street_pk", "community_pk", "grid_pk")


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", scale="small", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def small_demo(db):
    seed()


def user(username):
    return User.objects.get(username=username)


def ages():
    day = population.reference_date()
    return {pk: idcard.age_on(birth, day) for pk, birth in Resident.objects.values_list("pk", "birth_date")}


def people_snapshot():
    return sorted(
        Resident.objects.values_list(
            "area__code", "household__address", "name", "birth_date", "gender", "id_last4", "phone_last4", "status"
        )
    )


def test_small_scale_has_about_five_thousand_residents_in_households_of_one_to_four(small_demo):
    assert 4_500 <= Resident.objects.count() <= 5_600
    sizes = Counter(Resident.objects.values_list("household_id", flat=True))
    assert set(sizes.values()) == {1, 2, 3, 4}
    assert len(sizes) == Household.objects.count()
    assert 2.2 <= Resident.objects.count() / len(sizes) <= 2.8
    micro_grids = set(Area.objects.filter(kind="microgrid").values_list("pk", flat=True))
    assert set(Household.objects.values_list("area_id", flat=True)) == micro_grids  # every micro-grid has some
    per_micro = Counter(Building.objects.filter(area__kind="microgrid").values_list("area_id", flat=True))
    assert set(per_micro) == micro_grids and set(per_micro.values()) <= {1, 2, 3}
    # Every household lives in a room of a building of its own micro-grid, at the address the services write,
    # and its head lives in it.
    for household in Household.objects.select_related("room__building__area", "head"):
        building = household.room.building
        assert building.area_id == household.area_id
        assert household.address == services.address_of(building, household.room)
        assert household.address_key == services.address_key(household.address)
        assert household.head.household_id == household.pk and household.head.relation == "head"
    assert Room.objects.count() > Household.objects.count()  # and some rooms stand empty


def test_id_numbers_are_valid_and_agree_with_birth_date_and_sex(small_demo):
    numbers = []
    for resident in Resident.objects.all():
        number = resident.id_number
        numbers.append(number)
        assert resident.id_hash == privacy.keyed_hash(number) and resident.id_last4 == number[-4:]
        assert number not in resident.id_cipher
        if resident.id_type == IdType.RESIDENT_ID:
            parsed = idcard.parse(number)
            assert parsed.birth_date == resident.birth_date
            assert parsed.is_male == (resident.gender == "male")
        else:
            assert resident.id_type == IdType.HK_MACAO_TAIWAN
            assert resident.residence_type == ResidenceType.OVERSEAS
    assert len(set(numbers)) == len(numbers)
    registered = Resident.objects.filter(residence_type=ResidenceType.REGISTERED)
    local = sum(r.id_number.startswith("510108") for r in registered)
    assert local / registered.count() > 0.9


def test_the_age_pyramid_is_plausible(small_demo):
    by_pk = ages()
    share = {
        "children": sum(a < 15 for a in by_pk.values()) / len(by_pk),
        "60+": sum(a >= 60 for a in by_pk.values()) / len(by_pk),
        "80+": sum(a >= 80 for a in by_pk.values()) / len(by_pk),
    }
    assert 0.10 < share["children"] < 0.18, share
    assert 0.13 < share["60+"] < 0.25, share
    assert 0.008 < share["80+"] < 0.04, share
    assert max(by_pk.values()) <= 104
    party = Resident.objects.filter(is_party_member=True)
    assert 0.05 < party.count() / len(by_pk) < 0.11
    assert all(by_pk[pk] >= 18 for pk in party.values_list("pk", flat=True))


def test_every_row_carries_the_lineage_of_its_area(small_demo):
    areas = {a.pk: a for a in Area.objects.all()}
    for model in (Resident, Household, Building, Place, Organisation):
        for row in model.objects.all():
            area = areas[row.area_id]
            assert [getattr(row, f) for f in LINEAGE] == [getattr(area, f) for f in LINEAGE], (model, row.pk)
    residents = {r.pk: r for r in Resident.objects.all()}
    links = list(ResidentCareTag.objects.all())
    assert links
    for link in links:
        resident = residents[link.resident_id]
        assert link.area_id == resident.area_id
        assert [getattr(link, f) for f in LINEAGE] == [getattr(resident, f) for f in LINEAGE]
        assert link.is_living == (resident.status == ResidentStatus.LIVING)


def test_care_tags_follow_age_and_household(small_demo):
    by_pk = ages()
    tagged = {}
    for resident_id, code in ResidentCareTag.objects.values_list("resident_id", "tag__code"):
        tagged.setdefault(code, set()).add(resident_id)
    assert tagged["advanced_age"] == {pk for pk, age in by_pk.items() if age >= 80}
    household_sizes = Counter(Resident.objects.values_list("household_id", flat=True))
    household_of = dict(Resident.objects.values_list("pk", "household_id"))
    for pk in tagged["elderly_alone"]:
        assert household_sizes[household_of[pk]] == 1 and by_pk[pk] >= 60
    relation = dict(Resident.objects.values_list("pk", "relation"))
    assert tagged["left_behind_child"]
    for pk in tagged["left_behind_child"]:
        assert by_pk[pk] < 16 and relation[pk] == "grandchild"
    assert {"disabled", "empty_nest", "subsistence"} <= set(tagged)
    # Those living alone with a care tag have someone to call.
    alone = Resident.objects.filter(pk__in=tagged["elderly_alone"]).exclude(contact_name="")
    assert alone.count() == len(tagged["elderly_alone"])
    assert all(r.contact_phone.startswith("198") for r in alone)


def test_phones_are_encrypted_unique_and_never_an_accounts(small_demo):
    by_pk = ages()
    phones = {}
    for resident in Resident.objects.exclude(phone_cipher=""):
        phone = resident.phone
        assert phone.startswith("198") and len(phone) == 11 and phone not in resident.phone_cipher
        assert resident.phone_hash == privacy.keyed_hash(phone) and resident.phone_last4 == phone[-4:]
        assert by_pk[resident.pk] >= 12
        phones[phone] = resident
    assert 0.75 < len(phones) / len(by_pk) < 0.95
    account_phones = {u.phone for u in User.objects.all()}
    assert not account_phones & set(phones)
    phone, resident = next(iter(phones.items()))
    admin = user("demo_district_admin")
    assert list(search.search_residents(residents_visible_to(admin), phone)) == [resident]


def test_names_carry_the_search_keys_the_services_compute_and_traditional_names_are_found(small_demo):
    traditional = []
    for resident in Resident.objects.all():
        assert resident.name_key == search_keys.name_key(resident.name)
        assert (resident.pinyin_key, resident.initials_key) == search_keys.pinyin_keys(resident.name)
        if resident.name != resident.name_key:
            traditional.append(resident)
    assert 10 <= len(traditional) <= 200
    admin = user("demo_district_admin")
    written = traditional[0]
    found = list(search.search_residents(residents_visible_to(admin), written.name_key))
    assert written in found
    assert written in search.search_residents(residents_visible_to(admin), written.pinyin_key)
    surnames = Counter(name[0] for name in Resident.objects.values_list("name_key", flat=True))
    assert {s for s, _ in surnames.most_common(5)} & {"王", "李", "张", "刘", "陈"}


def test_demo_accounts_see_the_residents_of_their_own_areas_only(small_demo):
    community = Area.objects.get(kind="community", name="和美社区")
    in_community = set(Resident.objects.filter(community_pk=community.pk).values_list("pk", flat=True))
    seen = set(residents_visible_to(user("demo_community")).values_list("pk", flat=True))
    assert seen == in_community and 0 < len(seen) < Resident.objects.count()

    member = user("demo_member")
    micro = member.roles.get().area
    seen = set(residents_visible_to(member).values_list("pk", flat=True))
    assert seen == set(Resident.objects.filter(area=micro).values_list("pk", flat=True))
    # The demo accounts' micro-grid is registered in full: every household it is planned with.
    assert Household.objects.filter(area=micro).count() == micro.households

    assert residents_visible_to(user("demo_district_admin")).count() == Resident.objects.count()
    assert not residents_visible_to(user("demo_department")).exists()
    dedicated = user("demo_dedicated")
    assert places_visible_to(dedicated).filter(kind="hospital").exists()
    assert buildings_visible_to(dedicated).exists()


def test_places_and_organisations_of_grids_and_communities(small_demo):
    grids = Area.objects.filter(kind="grid")
    with_shops = set(Place.objects.filter(kind="shop", area__kind="grid").values_list("area_id", flat=True))
    assert with_shops == set(grids.values_list("pk", flat=True))
    kinds = set(Place.objects.values_list("kind", flat=True))
    assert {"shop", "enterprise", "hospital", "rental_housing"} <= kinds
    for flag in ("is_crowded", "is_fire_key_unit", "is_small_venue", "has_hazardous_materials"):
        assert Place.objects.filter(**{flag: True}).exists(), flag
    for code in Place.objects.exclude(credit_code="").values_list("credit_code", flat=True):
        assert clean_credit_code(code) == code
    for rental in Place.objects.filter(kind="rental_housing").select_related("building"):
        assert rental.building.area_id == rental.area_id
        assert Household.objects.filter(address=rental.address, residents__residence_type="floating").exists()
    for community in Area.objects.filter(kind="community"):
        kinds = set(Organisation.objects.filter(area=community).values_list("kind", flat=True))
        assert "party_branch" in kinds, community.name
    assert {"owners_committee", "property_company", "stationed_unit", "social_organisation"} <= set(
        Organisation.objects.values_list("kind", flat=True)
    )
    # Members who are residents live where their organisation is.
    members = OrganisationMember.objects.exclude(resident=None).select_related("organisation__area", "resident__area")
    assert members.exists()
    for member in members:
        assert member.resident.area.is_within(member.organisation.area)
        assert member.name == member.resident.name
    assert OrganisationMember.objects.filter(is_contact=True).count() == Organisation.objects.count()


def test_seeding_again_reuses_the_population_and_reset_rebuilds_the_same_one(small_demo):
    before = people_snapshot()
    counts = {model: model.objects.count() for model in (Building, Room, Household, Place, Organisation)}
    assert "reusing" in seed()
    assert people_snapshot() == before
    seed(reset=True)
    assert people_snapshot() == before
    assert {model: model.objects.count() for model in counts} == counts


def test_reset_refuses_while_a_seeded_household_has_a_resident_added_later(small_demo):
    household = Household.objects.order_by("pk").first()
    # Ids chosen by the seeder leave the sequences ready for rows added afterwards (PostgreSQL).
    added = services.create_resident(None, household=household, name="新住户", relation="other")
    before = Resident.objects.count()
    with pytest.raises(CommandError, match="in use"):
        seed(reset=True)
    assert Resident.objects.count() == before and Resident.objects.filter(pk=added.pk).exists()


def indexes(models) -> dict:
    """The columns of every index of these tables, by model."""
    with connection.cursor() as cursor:
        return {
            model: sorted(
                (tuple(index["columns"]), bool(index["unique"]))
                for index in connection.introspection.get_constraints(cursor, model._meta.db_table).values()
                if index["index"] and not index["primary_key"]
            )
            for model in models
        }


def test_a_large_population_is_planned_in_a_helper_and_indexed_at_the_end(db, monkeypatch):
    """The district-scale path, at small scale: the same rows as planned in this process, the same indexes."""
    before = indexes(population.MODELS)
    assert len(before[Resident]) >= 10
    seed()
    planned_here = people_snapshot()
    counts = {model: model.objects.count() for model in population.MODELS}
    monkeypatch.setattr(population, "LARGE", 0)
    seen = []
    plain_indexes = population._plain_indexes

    def spy(cursor, table):
        found = plain_indexes(cursor, table)
        seen.extend(found)
        return found

    monkeypatch.setattr(population, "_plain_indexes", spy)
    seed(reset=True)
    assert people_snapshot() == planned_here
    assert {model: model.objects.count() for model in population.MODELS} == counts
    assert any(first == "name_key" for _name, _sql, first in seen)  # dropped while writing
    assert indexes(population.MODELS) == before
    residents = list(Resident.objects.order_by("?")[:200])
    for resident in residents:
        number = resident.id_number
        assert resident.id_hash == privacy.keyed_hash(number)
        if resident.phone_cipher:
            assert resident.phone_hash == privacy.keyed_hash(resident.phone)
    assert 4_500 <= Resident.objects.count() <= 5_600


def test_the_population_writes_every_column_of_its_tables():
    """Rows are inserted column by column; a field added to a registry model must be given a value there."""
    for model in population.MODELS:
        fields = {f.attname for f in model._meta.concrete_fields}
        assert {"id", *population.COLUMNS[model]} == fields, model.__name__
