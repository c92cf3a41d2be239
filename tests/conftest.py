import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import translation

from fengchao.areas import locator
from fengchao.cases import calendar as work_calendar
from fengchao.cases import suggest
from tests.factories import build_tree


@pytest.fixture(autouse=True)
def fresh_locator_index():
    """Each test database restarts pks and version counters, so no index may outlive its test."""
    locator.clear_cache()
    work_calendar.clear_cache()
    suggest.clear_cache()
    yield
    locator.clear_cache()
    work_calendar.clear_cache()
    suggest.clear_cache()


@pytest.fixture(autouse=True)
def english_unless_asked(request, settings):
    """Most tests read messages in the source language (English); tests marked `zh_hans` get the
    deployment default, Simplified Chinese, as a user with no language preference would."""
    language = "zh-hans" if request.node.get_closest_marker("zh_hans") else "en"
    settings.LANGUAGE_CODE = language
    with translation.override(language):
        yield


@pytest.fixture
def locator_checks_every_call(settings):
    """Make every locate() ask the database for the index version, so boundary changes show at once."""
    settings.LOCATOR_VERSION_CHECK_S = 0


@pytest.fixture
def tree(db):
    return build_tree()


@pytest.fixture
def bare_tree(db):
    return build_tree(with_users=False)


@pytest.fixture(scope="module")
def seeded_demo(django_db_setup, django_db_blocker):
    """The small demo, committed for the module's tests (each test still runs in its own transaction)."""
    from fengchao.audit.models import AuditEvent
    from fengchao.demo.services import remove_demo

    with django_db_blocker.unblock():
        call_command("seed_demo", scale="small", verbosity=0)
        try:
            yield AuditEvent.objects.get(action="demo.seeded")
        finally:
            with transaction.atomic():
                remove_demo()
            AuditEvent.objects.all().delete()


@pytest.fixture
def as_(tree):
    """An API client signed in by token as the named factory user (`as_("community_staff")`), one per user."""
    from tests.api_client import token_client

    clients = {}

    def get(who):
        if who not in clients:
            clients[who] = token_client(tree.users[who])
        return clients[who]

    return get
