"""Simplified Chinese is what a user with no language preference gets; zh-Hant and English on request."""

import pytest
from django.core.exceptions import ValidationError

from fengchao.areas import services

pytestmark = pytest.mark.zh_hans


@pytest.mark.django_db
def test_login_page_defaults_to_simplified_chinese(client):
    html = client.get("/login/").content.decode()
    assert 'lang="zh-hans"' in html and "登录" in html


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "word"), [("zh-hant", "登錄"), ("en", "Log in")])
def test_switching_language_changes_the_interface(client, language, word):
    response = client.post("/i18n/setlang/", {"language": language, "next": "/login/"}, follow=True)
    assert word in response.content.decode()


def test_validation_errors_reach_the_user_in_chinese(bare_tree):
    with pytest.raises(ValidationError) as caught:
        services.create_area(parent=bare_tree.street_a, kind="grid", name="错层网格", local_code="5")
    message = caught.value.messages[0]
    assert "网格" in message and "cannot" not in message


def test_wrong_login_is_explained_in_chinese(client, tree):
    response = client.post("/login/", {"username": "community_staff", "password": "wrong-password-1"})
    errors = " ".join(response.context["form"].non_field_errors())
    assert "密码" in errors


def test_api_errors_are_in_chinese(client, tree):
    client.force_login(tree.users["community_staff"])
    response = client.get(f"/api/areas/{tree.community_b.pk}")
    assert response.status_code == 404
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["detail"])
