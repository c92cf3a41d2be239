"""Settings for the test suite: production settings (DEBUG off) with throwaway keys.

DATABASE_URL still chooses the database, so the same suite runs on SQLite and PostgreSQL.
"""

import os
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("FENGCHAO_ALLOW_DERIVED_KEYS", "1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("FENGCHAO_PLAIN_STATIC", "1")
os.environ.setdefault("FENGCHAO_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))

from .settings import *  # noqa: E402,F403
from .settings import VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast; real hashers are exercised in prod

# Static files come straight from the app folders in tests (no collectstatic step).
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = VAR_DIR / "static-test"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# The live server handles each request in a short-lived thread; a persistent connection there would
# outlive the thread and keep PostgreSQL from dropping the test database.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# SQLite tests use a file, not the shared-cache in-memory database: threads in tests (the worker's
# heartbeat, the live server) then meet WAL and the busy timeout, as in production, instead of
# shared-cache table locks that fail at once.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}  # noqa: F405
