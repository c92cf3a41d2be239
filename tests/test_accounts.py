import pytest
from django.core.exceptions import ValidationError

from fengchao.accounts import services
from fengchao.accounts.models import RoleAssignment, User
from fengchao.audit.models import AuditEvent
from fengchao.core import privacy
from tests.factories import PASSWORD


@pytest.fixture
def worker(tree):
    return tree.users["community_staff"]


def test_phone_is_encrypted_at_rest_and_found_by_keyed_hash(worker):
    raw = User.objects.filter(pk=worker.pk).values_list("phone_cipher", flat=True).get()
    assert worker.phone not in raw
    assert User.objects.get_by_phone(" +86 " + worker.phone) == worker
    assert worker.masked_phone == worker.phone[:3] + "****" + worker.phone[-4:]


@pytest.mark.parametrize("login_name", ["username", "phone", "spaced phone"])
def test_login_with_username_or_phone(client, worker, login_name):
    value = {
        "username": worker.username,
        "phone": worker.phone,
        "spaced phone": f"{worker.phone[:3]} {worker.phone[3:7]} {worker.phone[7:]}",
    }[login_name]
    response = client.post("/login/", {"username": value, "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/"
    assert AuditEvent.objects.filter(action="user.logged_in", object_id=str(worker.pk)).exists()


def test_wrong_password_is_refused_with_a_clear_message(client, worker):
    response = client.post("/login/", {"username": worker.username, "password": "wrong-password-1"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert response.context["form"].non_field_errors()


def test_lockout_after_repeated_failures_even_with_the_right_password(client, worker, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post("/login/", {"username": worker.username, "password": "wrong-password-1"})
    response = client.post("/login/", {"username": worker.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert [e.code for e in response.context["form"].non_field_errors().as_data()] == ["locked"]
    # Failures by phone count against the same account as failures by username
    assert services.is_locked_out(worker.username, None)


def test_lockout_is_per_account(client, tree, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post("/login/", {"username": "street_staff", "password": "wrong-password-1"}, REMOTE_ADDR="10.0.0.1")
    response = client.post("/login/", {"username": "grid_leader", "password": PASSWORD}, REMOTE_ADDR="10.0.0.2")
    assert response.status_code == 302


def test_password_policy_refuses_weak_passwords(worker):
    for weak in ["short1", "onlyletterslong", "1234567890123", "password123"]:
        with pytest.raises(ValidationError):
            services.change_password(worker, weak)
    services.change_password(worker, "Grid2026Strong")
    worker.refresh_from_db()
    assert worker.check_password("Grid2026Strong")


def test_new_account_without_password_must_set_one(client, tree):
    user = services.create_user(username="newbie", display_name="新人", phone="13900001111")
    assert not user.has_usable_password() and user.must_change_password
    services.change_password(user, "Newbie2026pass")
    client.force_login(user)
    assert client.get("/").status_code == 200


def test_duplicate_phone_and_bad_phone_are_refused(tree, worker):
    with pytest.raises(ValidationError, match="already uses"):
        services.create_user(username="dup", display_name="重复", phone=worker.phone)
    with pytest.raises(ValidationError, match="mobile"):
        services.create_user(username="bad", display_name="坏号", phone="12345")
    assert not User.objects.filter(username__in=["dup", "bad"]).exists()


def test_role_must_be_held_in_an_area_of_the_right_kind(tree):
    user = tree.users["grid_leader"]
    with pytest.raises(ValidationError, match="is held in"):
        services.assign_role(user, "grid_leader", tree.community_a)
    with pytest.raises(ValidationError, match="already holds"):
        services.assign_role(user, "grid_leader", tree.grid_a1)


def test_ending_a_role_keeps_history_and_closes_scope(tree):
    from fengchao.areas.models import Area

    user = tree.users["grid_leader"]
    assignment = RoleAssignment.objects.get(user=user, role="grid_leader")
    services.end_role(assignment)
    user = User.objects.get(pk=user.pk)
    assert not Area.objects.visible_to(user).exists()
    assert RoleAssignment.objects.filter(pk=assignment.pk, ended_at__isnull=False).exists()
    with pytest.raises(ValidationError):
        services.end_role(assignment)


def test_identity_tags_replace_and_audit(worker):
    services.set_identity_tags(worker, ["party_member", "volunteer"])
    services.set_identity_tags(worker, ["volunteer", "family_doctor"])
    assert sorted(worker.tags.values_list("tag", flat=True)) == ["family_doctor", "volunteer"]
    with pytest.raises(ValidationError):
        services.set_identity_tags(worker, ["astronaut"])


def test_api_token_is_stored_hashed_and_can_be_revoked(worker):
    token, raw = services.issue_api_token(worker, "手机")
    assert raw not in token.key_hash and services.user_for_token(raw) == worker
    services.revoke_api_token(token)
    assert services.user_for_token(raw) is None


def test_scope_is_union_of_subtrees(tree):
    from fengchao.areas.models import Area
    from fengchao.areas.scope import scope_paths

    user = tree.users["grid_leader"]
    services.assign_role(user, "grid_leader", tree.grid_b1)
    user = User.objects.get(pk=user.pk)
    names = set(Area.objects.visible_to(user).values_list("name", flat=True))
    assert {"和美一网格", "致强一网格"} <= names
    assert "和美二网格" not in names and "保和街道" not in names
    assert len(scope_paths(user)) == 2


def test_keyed_hash_depends_on_the_key(settings):
    privacy._hash_key.cache_clear()
    first = privacy.keyed_hash("13800001111")
    settings.FENGCHAO_HASH_KEY = "another-key"
    privacy._hash_key.cache_clear()
    try:
        assert privacy.keyed_hash("13800001111") != first
    finally:
        settings.FENGCHAO_HASH_KEY = ""
        privacy._hash_key.cache_clear()


def test_admin_creates_users_and_roles_through_the_services(client, tree):
    admin_user = tree.users["district_admin"]
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "wangfang",
            "display_name": "王芳",
            "phone": "139 8888 0001",
            "is_active": "on",
            "tags": ["party_member"],
            "new_password": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="wangfang")
    assert user.phone == "13988880001" and user.must_change_password
    assert list(user.tags.values_list("tag", flat=True)) == ["party_member"]
    assert AuditEvent.objects.filter(action="user.created", object_id=str(user.pk), actor=admin_user).exists()

    response = client.post(
        "/admin/accounts/roleassignment/add/",
        {"user": user.pk, "role": "microgrid_member", "area": tree.micro["和美一网格1号微网格"].pk},
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="role.assigned", actor=admin_user).exists()


@pytest.mark.parametrize(("role", "linked"), [("community_staff", True), ("resident", False), ("merchant", False)])
def test_home_links_only_to_areas_the_role_may_open(client, tree, role, linked):
    user = tree.users[role]
    client.force_login(user)
    html = client.get("/").content.decode()
    area_id = RoleAssignment.objects.get(user=user).area_id
    assert (f'href="/areas/{area_id}/"' in html) is linked
    if linked:
        assert client.get(f"/areas/{area_id}/").status_code == 200
