import pytest

from tests.registry_factories import build_registry


@pytest.mark.django_db
def test_smoke(tree):
    r = build_registry(tree)
    z = r.residents["zhang_san"]
    z.refresh_from_db()
    assert z.id_number.endswith("0011") or z.id_last4
    assert z.pinyin_key == "zhangsan" and z.initials_key == "zs"
    assert r.residents["zhang_si"].name_key == "张四"
