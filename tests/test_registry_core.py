"""The registry's core: ID numbers, cleaning, services and their history, search, unmasking, keys, retention."""

import datetime

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from fengchao.accounts.models import User
from fengchao.areas import services as areas
from fengchao.audit.models import AuditEvent
from fengchao.core import privacy
from fengchao.registry import access, idcard, retention, rollups, search, services, validation
from fengchao.registry.choices import ResidentStatus
from fengchao.registry.models import AccessLog, CareTag, MoveRecord, Resident, ResidentCareTag
from fengchao.registry.queries import residents_visible_to
from tests.factories import first_micro
from tests.registry_factories import build_registry, id_number

# ---- ID numbers (GB 11643) -------------------------------------------------------------------------


def test_valid_id_with_check_character_x():
    parsed = idcard.parse("51010819900101009X")
    assert parsed.number == "51010819900101009X"
    assert parsed.birth_date == datetime.date(1990, 1, 1)
    assert parsed.is_male is True  # the 17th digit, 9, is odd


def test_gender_comes_from_the_seventeenth_digit():
    assert idcard.parse(id_number("19900101", "001")).is_male is True
    assert idcard.parse(id_number("19900101", "002")).is_male is False


def test_lower_case_x_and_full_width_digits_are_accepted():
    assert idcard.parse("５１０１０８１９９００１０１００９ｘ").number == "51010819900101009X"
    assert idcard.parse("51010819900101009x").number == "51010819900101009X"


def test_wrong_check_character_is_refused_with_a_reason():
    with pytest.raises(idcard.InvalidIdNumber, match="check character"):
        idcard.parse("510108199001010091")


@pytest.mark.parametrize("number", ["51010819901301001X", "510108199002300011", "5101081990010100", "abc"])
def test_malformed_or_impossible_numbers_are_refused(number):
    with pytest.raises(idcard.InvalidIdNumber):
        idcard.parse(number)


def test_legacy_15_digit_number_is_upgraded_with_its_check_character():
    parsed = idcard.parse("510108650302001")
    assert parsed.upgraded_from_15
    assert parsed.number[:17] == "51010819650302001"
    assert parsed.number[17] == idcard.check_char(parsed.number[:17])
    assert parsed.birth_date == datetime.date(1965, 3, 2)


def test_mask_keeps_region_and_last_four():
    assert idcard.mask("51010819900101009X") == "5101**********009X"
    assert privacy.mask_phone("13800000001") == "138****0001"


def test_age_counts_birthdays():
    assert idcard.age_on(datetime.date(1990, 6, 15), datetime.date(2026, 6, 14)) == 35
    assert idcard.age_on(datetime.date(1990, 6, 15), datetime.date(2026, 6, 15)) == 36


# ---- cleaning --------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["2024-03-01", "2024/3/1", "2024.3.1", "2024年3月1日", "２０２４-０３-０１"])
def test_dates_typed_as_text_in_the_usual_ways(raw):
    assert validation.clean_date(raw, "d") == datetime.date(2024, 3, 1)


@pytest.mark.parametrize("raw", ["3/1/2024", "去年", "2024-02-30"])
def test_unreadable_dates_name_the_problem(raw):
    with pytest.raises(ValidationError) as caught:
        validation.clean_date(raw, "moved_in_on")
    assert "moved_in_on" in caught.value.message_dict


def test_phone_cleaning():
    assert validation.clean_phone("+86 138-0000-0001") == "13800000001"
    assert validation.clean_phone("028-84000001") == "02884000001"
    with pytest.raises(ValidationError, match="phone"):
        validation.clean_phone("12345")


def test_credit_code_checksum():
    from tests.registry_factories import credit_code

    good = credit_code()
    assert validation.clean_credit_code(good.lower()) == good
    bad = good[:-1] + ("1" if good[-1] != "1" else "2")
    with pytest.raises(ValidationError, match="check character"):
        validation.clean_credit_code(bad)


def test_choices_accept_code_or_chinese_label():
    from fengchao.registry.choices import ResidenceType

    chinese = validation.label_chinese(ResidenceType.FLOATING.label)
    assert validation.clean_choice(chinese, ResidenceType, "t") == "floating"
    assert validation.clean_choice("floating", ResidenceType, "t") == "floating"
    with pytest.raises(ValidationError, match="not one of"):
        validation.clean_choice("外星", ResidenceType, "t")


# ---- services ----------------------------------------------------------------------------------------


@pytest.fixture
def registry(tree):
    return build_registry(tree)


def test_resident_birth_date_and_gender_come_from_the_id(registry):
    zhang = Resident.objects.get(pk=registry.residents["zhang_san"].pk)
    assert zhang.birth_date == datetime.date(1945, 3, 2)
    assert zhang.gender == "male"
    assert zhang.household.head_id == zhang.pk


def test_id_and_phone_are_encrypted_at_rest_and_never_in_audit_events(registry):
    zhang = registry.residents["zhang_san"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM registry_resident WHERE id = %s", [zhang.pk])
        raw_row = " ".join(str(v) for v in cursor.fetchone())
    assert zhang.id_number not in raw_row and "13800000001" not in raw_row
    events = " ".join(str(e.data) for e in AuditEvent.objects.filter(object_type="registry.resident"))
    assert zhang.id_number not in events and "13800000001" not in events


def test_a_duplicate_id_number_is_refused_and_nothing_is_written(tree, registry):
    before = Resident.objects.count()
    with pytest.raises(ValidationError, match="already in the registry"):
        services.create_resident(
            None, household=registry.households["li"], name="冒名", id_number=registry.residents["li_mei"].id_number
        )
    assert Resident.objects.count() == before


def test_every_bad_field_is_reported_at_once(registry):
    with pytest.raises(ValidationError) as caught:
        services.create_resident(
            None, household=registry.households["li"], name="", id_number="510108199001010091", phone="123"
        )
    assert set(caught.value.message_dict) == {"name", "id_number", "phone"}


def test_moving_a_resident_keeps_history_and_care_tags_follow(tree, registry):
    zhang = registry.residents["zhang_san"]
    target = registry.households["wang"]
    services.move_resident(None, zhang, household=target, relation="parent", reason="投靠子女")
    zhang.refresh_from_db()
    assert zhang.area_id == target.area_id and zhang.community_pk == tree.community_b.pk
    move = MoveRecord.objects.get(resident=zhang)
    assert move.from_area_id == registry.households["zhang"].area_id and move.reason == "投靠子女"
    link = ResidentCareTag.objects.get(resident=zhang)
    assert link.community_pk == tree.community_b.pk
    assert registry.households["zhang"].__class__.objects.get(pk=registry.households["zhang"].pk).head_id is None


def test_moving_a_household_takes_its_residents(tree, registry):
    household = registry.households["zhang"]
    new_room = services.room_for(registry.buildings["b"], "", "501")
    services.move_household(None, household, room=new_room, reason="换房")
    for name in ("zhang_san", "zhang_si"):
        resident = Resident.objects.get(pk=registry.residents[name].pk)
        assert resident.area_id == registry.buildings["b"].area_id
    assert MoveRecord.objects.filter(household=household).count() == 1


def test_two_editors_cannot_both_win(registry):
    li = Resident.objects.get(pk=registry.residents["li_mei"].pk)
    loaded_at = li.updated_at
    services.update_resident(None, li, expected_updated_at=loaded_at, notes="first")
    stale = Resident.objects.get(pk=li.pk)
    with pytest.raises(services.StaleRecord):
        services.update_resident(None, stale, expected_updated_at=loaded_at, notes="second")
    assert Resident.objects.get(pk=li.pk).notes == "first"


def test_a_resident_who_left_cannot_leave_twice(registry):
    li = registry.residents["li_mei"]
    services.end_residence(None, li, status=ResidentStatus.MOVED_OUT, reason="搬离")
    with pytest.raises(services.StaleRecord):
        services.end_residence(None, Resident.objects.get(pk=li.pk), status=ResidentStatus.DECEASED)


def test_buildings_only_in_micro_grids_or_dedicated_grids(tree):
    with pytest.raises(ValidationError, match="belongs in"):
        services.create_building(None, tree.grid_a1, name="1栋")


def test_registry_rows_follow_when_their_grid_moves(tree, registry):
    grid = tree.grid_a1
    areas.move_area(grid, tree.community_b, local_code="7")
    zhang = Resident.objects.get(pk=registry.residents["zhang_san"].pk)
    assert zhang.community_pk == tree.community_b.pk and zhang.street_pk == tree.street_b.pk
    assert ResidentCareTag.objects.get(resident=zhang).street_pk == tree.street_b.pk


# ---- search ----------------------------------------------------------------------------------------


def names(qs):
    return sorted(r.name for r in qs)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("zhangsan", ["张三"]),
        ("zs", ["张三", "張四"]),  # initials of both
        ("zhang", ["张三", "張四"]),
        ("张", ["张三", "張四"]),  # simplified finds traditional
        ("張三", ["张三"]),  # traditional finds simplified
        ("李梅", ["李梅"]),
        ("0001", ["张三"]),  # phone last four
        ("138 0000 0001", ["张三"]),
    ],
)
def test_search_finds_by_name_pinyin_initials_and_digits(tree, registry, query, expected):
    visible = residents_visible_to(tree.users["district_admin"])
    assert names(search.search_residents(visible, query)) == expected


def test_search_by_id_number_and_its_last_four(tree, registry):
    visible = residents_visible_to(tree.users["district_admin"])
    li = registry.residents["li_mei"]
    assert names(search.search_residents(visible, li.id_number)) == ["李梅"]
    assert "李梅" in names(search.search_residents(visible, li.id_number[-4:]))


def test_search_by_building_and_room(tree, registry):
    visible = residents_visible_to(tree.users["district_admin"])
    assert names(search.search_residents(visible, "1栋101")) == ["张三", "張四"]


def test_search_stays_inside_the_scope(tree, registry):
    visible = residents_visible_to(tree.users["community_staff"])
    assert names(search.search_residents(visible, "王五")) == []
    assert names(search.search_residents(residents_visible_to(tree.users["outsider_community_staff"]), "ww")) == [
        "王五"
    ]


def test_department_handlers_see_no_residents(tree, registry):
    assert not residents_visible_to(tree.users["department_handler"]).exists()


# ---- unmasking ---------------------------------------------------------------------------------------


def test_staff_reveal_with_a_reason_and_it_is_logged(tree, registry):
    zhang = registry.residents["zhang_san"]
    staff = tree.users["community_staff"]
    values = access.reveal(staff, zhang, reason="电话回访", fields=["phone", "id_number"])
    assert values == {"phone": "13800000001", "id_number": zhang.id_number}
    log = AccessLog.objects.get()
    assert (log.actor, log.subject_id, log.reason, log.area_id) == (staff, zhang.pk, "电话回访", zhang.area_id)
    assert sorted(log.fields) == ["id_number", "phone"]


def test_members_cannot_reveal_and_a_reason_is_required(tree, registry):
    zhang = registry.residents["zhang_san"]
    with pytest.raises(PermissionDenied):
        access.reveal(tree.users["microgrid_member"], zhang, reason="想看")
    with pytest.raises(ValidationError, match="why"):
        access.reveal(tree.users["community_staff"], zhang, reason=" ")
    assert not AccessLog.objects.exists()


# ---- keys and retention ------------------------------------------------------------------------------


def test_key_rotation_keeps_every_value_readable_and_findable(tree, registry, settings):
    old_key = Fernet.generate_key().decode()
    settings.FENGCHAO_DATA_KEY = f"{old_key},{privacy.derived_data_key()}"
    settings.FENGCHAO_HASH_KEY = "old-hash-key"
    call_command("rotate_keys", verbosity=0)  # everything now under the old explicit key
    li_number = registry.residents["li_mei"].id_number

    new_key = Fernet.generate_key().decode()
    settings.FENGCHAO_DATA_KEY = f"{new_key},{old_key}"
    settings.FENGCHAO_HASH_KEY = "new-hash-key"
    call_command("rotate_keys", verbosity=0)
    settings.FENGCHAO_DATA_KEY = new_key  # the old key is gone
    li = Resident.objects.get(pk=registry.residents["li_mei"].pk)
    assert li.id_number == li_number and li.phone == "13900000002"
    visible = residents_visible_to(tree.users["district_admin"])
    assert names(search.search_residents(visible, "13900000002")) == ["李梅"]
    assert names(search.search_residents(visible, li_number)) == ["李梅"]
    staff = User.objects.get(pk=tree.users["community_staff"].pk)
    assert User.objects.get_by_phone(staff.phone) == staff
    assert AuditEvent.objects.filter(action="privacy.keys_rotated").count() == 2


def test_rotation_check_reports_values_no_key_opens(tree, registry, settings):
    settings.FENGCHAO_DATA_KEY = Fernet.generate_key().decode()
    with pytest.raises(Exception, match="cannot be decrypted"):
        call_command("rotate_keys", "--check", verbosity=0)


def test_people_who_left_are_erased_after_the_retention_period(tree, registry, settings):
    settings.FENGCHAO_RETENTION_DAYS = 30
    li = registry.residents["li_mei"]
    services.end_residence(None, li, status=ResidentStatus.MOVED_OUT, at=timezone.now() - datetime.timedelta(days=31))
    zhang = registry.residents["zhang_san"]
    services.end_residence(None, zhang, status=ResidentStatus.DECEASED, at=timezone.now() - datetime.timedelta(days=5))
    assert retention.erase_departed() == 1
    li = Resident.objects.get(pk=li.pk)
    assert (li.name, li.id_cipher, li.phone_cipher, li.id_hash, li.birth_date) == (
        retention.ERASED_NAME,
        "",
        "",
        None,
        None,
    )
    assert Resident.objects.get(pk=zhang.pk).name == "张三"
    assert retention.erase_departed() == 0


# ---- roll-ups ---------------------------------------------------------------------------------------


def test_counts_roll_up_the_tree(tree, registry):
    totals = rollups.registry_totals(tree.district)
    assert (totals["households"], totals["residents"]) == (3, 4)
    alone = CareTag.objects.get(code="elderly_alone")
    assert {row["tag"].code: row["count"] for row in totals["care_tags"]}["elderly_alone"] == 1
    by_street = rollups.registry_child_rollups(tree.district)
    assert by_street[tree.street_a.pk]["residents"] == 3 and by_street[tree.street_b.pk]["residents"] == 1
    assert by_street[tree.street_a.pk]["care_tags"][alone.pk] == 1
    by_micro = rollups.registry_child_rollups(tree.grid_a1)
    assert by_micro[first_micro(tree, tree.grid_a1).pk]["households"] == 2
