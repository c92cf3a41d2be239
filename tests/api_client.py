"""Calling the JSON API in tests: a client signed in by token, and JSON requests."""

from django.test import Client

from fengchao.accounts import services as accounts


def token_client(user) -> Client:
    """A test client that sends a fresh API token of `user` with every request."""
    _, raw = accounts.issue_api_token(user, "test")
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def post(client, url, body=None, **extra):
    return client.post(url, body or {}, content_type="application/json", **extra)


def put(client, url, body):
    return client.put(url, body, content_type="application/json")


def patch(client, url, body):
    return client.patch(url, body, content_type="application/json")


def fields_of(response) -> set:
    """The fields a 422 names (the last part of each error's location)."""
    assert response.status_code == 422, response.content
    return {error["loc"][-1] for error in response.json()["detail"]}
