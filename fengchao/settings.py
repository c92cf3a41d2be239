"""Fengchao settings, driven by the environment (see docs/configuration.md)."""

import os
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("FENGCHAO_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# A development key only when DEBUG is on; production must set SECRET_KEY.
SECRET_KEY = os.environ.get("SECRET_KEY") or ("insecure-development-key-" + "x" * 40 if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("SECRET_KEY must be set when DEBUG is off (see docs/configuration.md)")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django_tasks_db",
    "fengchao.core",
    "fengchao.audit",
    "fengchao.areas",
    "fengchao.departments",
    "fengchao.accounts",
    "fengchao.registry",
    "fengchao.cases",
    "fengchao.notices",
    "fengchao.mall",
    "fengchao.points",
    "fengchao.activities",
    "fengchao.work",
    "fengchao.patrols",
    "fengchao.inspections",
    "fengchao.visits",
    "fengchao.today",
    "fengchao.coverage",
    "fengchao.demo",
    "fengchao.reportin",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "fengchao.core.middleware.AbsoluteSessionTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "fengchao.urls"
WSGI_APPLICATION = "fengchao.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "fengchao" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fengchao.core.context_processors.navigation",
            ],
        },
    },
]

# Database: embedded SQLite under var/ unless DATABASE_URL says otherwise.
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'fengchao.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue on
        # busy_timeout instead of failing with "database is locked" mid-transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;"
        ),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["fengchao.accounts.backends.PhoneOrUsernameBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "fengchao.accounts.passwords.MixedCharacterValidator"},
]
# Lockout: this many failures for one account or one address within the window locks it.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW_S = int(os.environ.get("LOGIN_FAILURE_WINDOW_S", "900"))

# Sessions end after 2 idle hours and never live beyond 12 hours of activity.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_IDLE_TIMEOUT_S", str(2 * 3600)))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ABSOLUTE_TIMEOUT_S = int(os.environ.get("SESSION_ABSOLUTE_TIMEOUT_S", str(12 * 3600)))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "fengchao" / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "fengchao" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or env_bool("FENGCHAO_PLAIN_STATIC", False)
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
# The worker writes a heartbeat this often; /healthz calls a worker dead after WORKER_STALE_S.
WORKER_HEARTBEAT_S = int(os.environ.get("WORKER_HEARTBEAT_S", "10"))
WORKER_STALE_S = int(os.environ.get("WORKER_STALE_S", "60"))

# Content Security Policy: no inline script, no eval (Alpine runs in its CSP build).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:"] + env_list("MAP_TILE_HOSTS", ""),
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-free meta tag, not the cookie
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    # Preloading is the domain owner's one-way commitment, so it is opt-in; the check that nags about it
    # is silenced unless the deployment opts in (docs/production.md).
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Map: no basemap by default (works offline); a deployment may set an XYZ tile URL.
# Tiles from Chinese providers are GCJ-02; boundaries are WGS84 (see docs/maps.md).
MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "")

# Boundary checks: a child may stray this far (metres) outside its parent before a warning.
BOUNDARY_TOLERANCE_M = float(os.environ.get("BOUNDARY_TOLERANCE_M", "5"))
# How often (seconds) a process asks the database whether the spatial index changed.
LOCATOR_VERSION_CHECK_S = float(os.environ.get("LOCATOR_VERSION_CHECK_S", "2"))

# Personal data: a Fernet key (urlsafe base64, 32 bytes) encrypts phones and ID numbers;
# a separate key feeds the keyed hash used to find them. Development falls back to derived keys.
FENGCHAO_DATA_KEY = os.environ.get("FENGCHAO_DATA_KEY", "")
FENGCHAO_HASH_KEY = os.environ.get("FENGCHAO_HASH_KEY", "")
# Residents who moved out or died are kept this many days, then their personal data is erased
# by `manage.py purge_departed` (run daily by the worker schedule or cron). See docs/privacy.md.
FENGCHAO_RETENTION_DAYS = int(os.environ.get("FENGCHAO_RETENTION_DAYS", "1095"))
if not DEBUG and not (FENGCHAO_DATA_KEY and FENGCHAO_HASH_KEY) and not env_bool("FENGCHAO_ALLOW_DERIVED_KEYS", False):
    raise RuntimeError("FENGCHAO_DATA_KEY and FENGCHAO_HASH_KEY must be set when DEBUG is off")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Registry Excel: the largest upload accepted (bytes) and the most data rows read from one sheet.
REGISTRY_EXCEL_MAX_BYTES = int(os.environ.get("REGISTRY_EXCEL_MAX_BYTES", str(20 * 1024 * 1024)))
REGISTRY_EXCEL_MAX_ROWS = int(os.environ.get("REGISTRY_EXCEL_MAX_ROWS", "200000"))
# Exports up to this many rows are written at once in the request; larger ones run in the worker.
REGISTRY_EXCEL_SYNC_EXPORT_ROWS = int(os.environ.get("REGISTRY_EXCEL_SYNC_EXPORT_ROWS", "2000"))

# Cases (docs/cases.md). Possible duplicates: open cases this close, reported this recently.
CASES_DUPLICATE_RADIUS_M = int(os.environ.get("CASES_DUPLICATE_RADIUS_M", "250"))
CASES_DUPLICATE_DAYS = int(os.environ.get("CASES_DUPLICATE_DAYS", "7"))
# Photos: largest file accepted (bytes) and how many at a time.
CASES_PHOTO_MAX_BYTES = int(os.environ.get("CASES_PHOTO_MAX_BYTES", str(8 * 1024 * 1024)))
CASES_PHOTO_MAX_COUNT = int(os.environ.get("CASES_PHOTO_MAX_COUNT", "6"))
# Reports from residents without an account, per client address and hour (page and API together).
CASES_PUBLIC_REPORTS_PER_HOUR = int(os.environ.get("CASES_PUBLIC_REPORTS_PER_HOUR", "20"))
# Minutes a whistled department has to report in (报到), per whistle level.
CASES_WHISTLE_REPORT_MINUTES = {
    "daily": int(os.environ.get("CASES_WHISTLE_DAILY_MINUTES", "30")),
    "tough": int(os.environ.get("CASES_WHISTLE_TOUGH_MINUTES", "30")),
    "emergency": int(os.environ.get("CASES_WHISTLE_EMERGENCY_MINUTES", "30")),
}
# The deadline clock (docs/cases.md, "Deadlines and supervision").
CASES_CLOCK_SECONDS = float(os.environ.get("CASES_CLOCK_SECONDS", "60"))
CASES_WARN_FRACTION = float(os.environ.get("CASES_WARN_FRACTION", "0.2"))
CASES_WARN_MIN_MINUTES = int(os.environ.get("CASES_WARN_MIN_MINUTES", "10"))
CASES_YELLOW_AFTER = os.environ.get("CASES_YELLOW_AFTER", "1 working_days")
CASES_RED_AFTER = os.environ.get("CASES_RED_AFTER", "3 working_days")
# The most rows one .xlsx export of cases holds (a larger list is refused with a hint to narrow it).
CASES_EXPORT_MAX_ROWS = int(os.environ.get("CASES_EXPORT_MAX_ROWS", "200000"))
# Where notifications go besides the in-app inbox (a class with send(to_phone, text)), and how often the outbox runs.
NOTICES_DELIVERY_SECONDS = float(os.environ.get("NOTICES_DELIVERY_SECONDS", "5"))
# Points (docs/points.md): when earned points expire ("none", "year_end" or "months:N"), how many days ahead
# people are warned, and how often the worker's points sweep runs (listings, expiry, unverified orders).
POINTS_EXPIRY = os.environ.get("POINTS_EXPIRY", "none")
POINTS_EXPIRY_WARNING_DAYS = int(os.environ.get("POINTS_EXPIRY_WARNING_DAYS", "30"))
POINTS_SWEEP_SECONDS = float(os.environ.get("POINTS_SWEEP_SECONDS", "60"))
# How the two kinds weigh in evaluation (points/evaluation.py), as "task:0.6,participation:0.4".
_WEIGHTS = os.environ.get("POINTS_EVALUATION_WEIGHTS", "task:0.6,participation:0.4")
POINTS_EVALUATION_WEIGHTS = {
    kind.strip(): float(weight) for kind, _sep, weight in (w.partition(":") for w in _WEIGHTS.split(",")) if weight
}
# Which kinds of points pay for mall orders, in the order they are spent (a deployment may keep one kind out).
POINTS_SPENDABLE_KINDS = [
    kind.strip() for kind in os.environ.get("POINTS_SPENDABLE_KINDS", "participation,task").split(",") if kind.strip()
]
# Hours a mall order waits for the merchant's verification before it expires and gives the points back.
MALL_ORDER_HOURS = int(os.environ.get("MALL_ORDER_HOURS", "48"))
# Activities (docs/activities.md): how often the check-in QR code changes, how long before an activity people
# with a place are reminded, and how often the worker's activities sweep runs.
ACTIVITIES_QR_SECONDS = int(os.environ.get("ACTIVITIES_QR_SECONDS", "60"))
ACTIVITIES_REMIND_HOURS = int(os.environ.get("ACTIVITIES_REMIND_HOURS", "24"))
ACTIVITIES_SWEEP_SECONDS = float(os.environ.get("ACTIVITIES_SWEEP_SECONDS", "300"))
# Platform tasks (docs/work.md): areas with up to this many micro-grids fan out while publishing (larger ones in the
# worker), and how often the worker's schedule sweep publishes recurring tasks.
WORK_FANOUT_INLINE = int(os.environ.get("WORK_FANOUT_INLINE", "200"))
# Members are reminded of an open task share this many hours before it is due (once per share).
WORK_REMIND_HOURS = int(os.environ.get("WORK_REMIND_HOURS", "24"))
# A failed inspection item whose own case category is missing or retired raises its hazard case in this one.
INSPECTIONS_FALLBACK_CATEGORY = os.environ.get("INSPECTIONS_FALLBACK_CATEGORY", "G0401")
WORK_SCHEDULE_SECONDS = float(os.environ.get("WORK_SCHEDULE_SECONDS", "60"))
# Codes matching nothing an account may try in an hour before verifying is stopped for it (guessing).
MALL_VERIFY_MISSES_PER_HOUR = int(os.environ.get("MALL_VERIFY_MISSES_PER_HOUR", "20"))
FENGCHAO_NOTICE_BACKEND = os.environ.get("FENGCHAO_NOTICE_BACKEND", "fengchao.notices.backends.ConsoleBackend")
