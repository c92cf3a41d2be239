"""Opening pages in tests: sign a factory user in, read a page's HTML, count a page's queries."""

from django.db import connection
from django.test.utils import CaptureQueriesContext


def login(client, tree, who):
    """The test client, signed in as the factory user `who` (e.g. "community_staff")."""
    client.force_login(tree.users[who])
    return client


def html(client, url, status=200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)
