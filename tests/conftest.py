import pytest

from tests.factories import build_tree


@pytest.fixture
def tree(db):
    return build_tree()


@pytest.fixture
def bare_tree(db):
    return build_tree(with_users=False)
