"""API authentication: a bearer token (scripts, apps) or the browser session (with CSRF on unsafe methods).

Both leave the User in request.auth (and request.user), so endpoints and the scoping helper
do not care how the caller signed in.
"""

from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, SessionAuth

from fengchao.accounts.services import user_for_token


class BearerTokenAuth(HttpBearer):
    """`Authorization: Bearer fc_...`: a token issued by POST /api/tokens."""

    def authenticate(self, request, token):
        user = user_for_token(token) if token else None
        if user is None:
            # A wrong token is an error even with a session cookie: never fall back silently.
            raise AuthenticationError()
        request.user = user
        return user


class ActiveSessionAuth(SessionAuth):
    """The logged-in browser session; ninja checks the CSRF token on POST/PUT/PATCH/DELETE."""

    def authenticate(self, request, key):
        user = request.user
        return user if user.is_authenticated and user.is_active else None


bearer_auth = BearerTokenAuth()
session_auth = ActiveSessionAuth(csrf=True)
# Token first: a session check raises on a missing CSRF token before other methods are tried.
token_or_session = [bearer_auth, session_auth]
