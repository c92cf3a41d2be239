import pytest

from fengchao.areas import locator
from tests.factories import build_tree


@pytest.fixture(autouse=True)
def fresh_locator_index():
    """Each test database restarts pks and version counters, so no index may outlive its test."""
    locator.clear_cache()
    yield
    locator.clear_cache()


@pytest.fixture
def tree(db):
    return build_tree()


@pytest.fixture
def bare_tree(db):
    return build_tree(with_users=False)
