"""Settings for the Deepgram billing portal: one module, read from the environment.

Every variable is listed in the README's configuration table. With DEBUG off, a
missing required setting stops start-up with a one-line message naming it.
"""

import ipaddress
import os
from datetime import timedelta
from email.utils import getaddresses
from pathlib import Path
from typing import NoReturn

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _stop(message: str) -> NoReturn:
    # One line on stderr and a non-zero exit, instead of a traceback, for every process type.
    raise SystemExit(f"Configuration error: {message}")


def _required(name: str, dev_default: str) -> str:
    """Read a variable that production must set; in DEBUG fall back to a dev value."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    _stop(f"{name} must be set when DJANGO_DEBUG is off.")


DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = _required("DJANGO_SECRET_KEY", "dev-only-insecure-secret-key")
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else []
)
if not ALLOWED_HOSTS:
    _stop("DJANGO_ALLOWED_HOSTS must be set when DJANGO_DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "solo",
    "axes",
    "billing_portal",
    "customers",
    "usage",
    "invoices",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "billing_portal.urls"
WSGI_APPLICATION = "billing_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "billing_portal.context_processors.deepgram_mode",
            ],
        },
    },
]

# --- Database and cache --------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker, beat) and the sync's threads share the file: write
    # transactions take the lock up front (a deferred one fails at once with "database is
    # locked" when it must upgrade), and WAL lets readers go on while one writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not shared memory, for the test database: the sync's threads and the browser
    # tests' live server open their own connections, which shared memory serialises badly.
    # One file per process, so that concurrent test runs do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "filesystem://"
CELERY_BROKER_DIR = VAR_DIR / "celery"
if CELERY_BROKER_URL == "filesystem://":
    # The embedded broker keeps messages as files; its folders must exist before any process.
    for _folder in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # Its exchange table; by default a `control/` folder wherever a process starts.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}  # visibility_timeout: below, after the time limits
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
# A usage sync chunk task: at the soft limit its fetching threads stop, what they fetched is
# written and its other keys are resumed; the hard limit kills it.
USAGE_SYNC_CHUNK_SOFT_TIME_LIMIT = env.float(
    "USAGE_SYNC_CHUNK_SOFT_TIME_LIMIT", default=CELERY_TASK_SOFT_TIME_LIMIT
)
USAGE_SYNC_CHUNK_TIME_LIMIT = env.float(
    "USAGE_SYNC_CHUNK_TIME_LIMIT", default=CELERY_TASK_TIME_LIMIT
)
if CELERY_BROKER_URL != "filesystem://":
    # Redis (and SQS) redeliver a late-acked task not acked within the visibility timeout:
    # keep it well above the longest task, so that only a lost worker's tasks come back.
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = max(
        3600, 2 * int(max(CELERY_TASK_TIME_LIMIT, USAGE_SYNC_CHUNK_TIME_LIMIT))
    )
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# --- Deepgram -------------------------------------------------------------------------------
# Unset key: sandbox mode (the bundled `deepgram_sandbox` server stands in for Deepgram).
SANDBOX_API_KEY = "sandbox-management-key"
SANDBOX_PROJECT_ID = "5a4d0b2e-0000-4000-8000-5a4db0c5e001"
DEEPGRAM_API_KEY = env.str("DEEPGRAM_API_KEY", default="")
DEEPGRAM_SANDBOX = not DEEPGRAM_API_KEY
if DEEPGRAM_SANDBOX and not DEBUG and not env.bool("DEEPGRAM_USE_SANDBOX", default=False):
    # A production portal without a key would bill customers for synthetic usage.
    _stop(
        "DEEPGRAM_API_KEY must be set when DJANGO_DEBUG is off "
        "(or DEEPGRAM_USE_SANDBOX=1 to run against the bundled sandbox)."
    )
if DEEPGRAM_SANDBOX:
    DEEPGRAM_API_KEY = SANDBOX_API_KEY
DEEPGRAM_API_URL = env.str("DEEPGRAM_API_URL", default="") or (
    "http://127.0.0.1:8787" if DEEPGRAM_SANDBOX else "https://api.deepgram.com"
)
DEEPGRAM_PROJECT_ID = env.str("DEEPGRAM_PROJECT_ID", default="") or (
    SANDBOX_PROJECT_ID if DEEPGRAM_SANDBOX else ""
)
if not DEEPGRAM_PROJECT_ID:
    _stop("DEEPGRAM_PROJECT_ID must be set when DEEPGRAM_API_KEY is set.")
DEEPGRAM_SANDBOX_STATE = VAR_DIR / "sandbox-state.json"  # where `make run`'s sandbox keeps keys
DEEPGRAM_MAX_CONCURRENCY = env.int("DEEPGRAM_MAX_CONCURRENCY", default=8)
DEEPGRAM_CONNECT_TIMEOUT = env.float("DEEPGRAM_CONNECT_TIMEOUT", default=5.0)
DEEPGRAM_READ_TIMEOUT = env.float("DEEPGRAM_READ_TIMEOUT", default=30.0)
# The most one exchange may take, connect to the last byte (a dripping body is cut there),
# and the largest body read (a larger one is refused: the sync asks for fewer days).
DEEPGRAM_CALL_DEADLINE = env.float("DEEPGRAM_CALL_DEADLINE", default=60.0)
# A day of a 10,000-key project's usage breakdown is about 19 MB of JSON: 64 MiB leaves room.
DEEPGRAM_MAX_BODY_BYTES = env.int("DEEPGRAM_MAX_BODY_BYTES", default=64 * 2**20)
DEEPGRAM_MAX_RETRIES = env.int("DEEPGRAM_MAX_RETRIES", default=4)
DEEPGRAM_BACKOFF_BASE = env.float(
    "DEEPGRAM_BACKOFF_BASE", default=0.5
)  # seconds, doubled per retry
USAGE_SETTLEMENT_DAYS = env.int("USAGE_SETTLEMENT_DAYS", default=3)
# A chunk is keys of one project; each chunk asks about its project as a whole (four calls
# a range), so one chunk per project up to this size. A range holds at most this many
# key-days (the project's keys times its days; at least one day): one answer stays bounded.
USAGE_SYNC_CHUNK_SIZE = env.int("USAGE_SYNC_CHUNK_SIZE", default=10_000)
USAGE_SYNC_KEY_DAYS_PER_CALL = env.int("USAGE_SYNC_KEY_DAYS_PER_CALL", default=10_000)
# How many key-days of answers a chunk holds at once (fetched ahead while one is written).
USAGE_SYNC_KEY_DAYS_IN_MEMORY = env.int("USAGE_SYNC_KEY_DAYS_IN_MEMORY", default=20_000)
# A running sync beats its heartbeat this often; one whose heartbeat is older than
# SYNC_RUN_STALE_SECONDS is taken over by the next sync. 0 derives it from the client's
# timeouts and retries (the longest one call may take, plus a heartbeat): ~11 min by default.
SYNC_HEARTBEAT_SECONDS = env.float("SYNC_HEARTBEAT_SECONDS", default=15.0)
SYNC_RUN_STALE_SECONDS = env.float("SYNC_RUN_STALE_SECONDS", default=0)
# A chunk whose answers would zero, or cut by more than 90 %, the usage of most of a project's
# keys that had usage (at least this many keys) stops its run before it writes (held).
SYNC_MASS_CUT_MIN_KEYS = env.int("SYNC_MASS_CUT_MIN_KEYS", default=3)

# --- Seller details printed on invoices ------------------------------------------------------
BILLING_COMPANY_NAME = env.str("BILLING_COMPANY_NAME", default="Example Voice Apps Ltd")
BILLING_ADDRESS = env.str(
    "BILLING_ADDRESS", default="1 Example Street\nLondon EC1A 1AA\nUnited Kingdom"
)
BILLING_TAX_ID = env.str("BILLING_TAX_ID", default="")
BILLING_BANK_DETAILS = env.str("BILLING_BANK_DETAILS", default="")
BILLING_LOGO_PATH = env.str("BILLING_LOGO_PATH", default="")
BILLING_INVOICE_PREFIX = env.str("BILLING_INVOICE_PREFIX", default="INV")
BILLING_CREDIT_NOTE_PREFIX = env.str("BILLING_CREDIT_NOTE_PREFIX", default="CN")
# Where customers find the portal: the base of links in e-mails (no trailing path).
BILLING_SITE_URL = env.str("BILLING_SITE_URL", default="http://127.0.0.1:8000")
# How often the e-mail of an issued invoice is tried before it waits for a person.
BILLING_EMAIL_MAX_ATTEMPTS = env.int("BILLING_EMAIL_MAX_ATTEMPTS", default=6)
# Four eyes: a draft with manual lines cannot be approved by whoever added them.
BILLING_FOUR_EYES = env.bool("BILLING_FOUR_EYES", default=True)

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# consolemail:// prints each message with a line per attachment, not its base64; an
# EMAIL_BACKEND set names any backend (Django's console one prints the raw message).
_CONSOLE = "django.core.mail.backends.console.EmailBackend"
if EMAIL_CONFIG["EMAIL_BACKEND"] == _CONSOLE:
    EMAIL_CONFIG["EMAIL_BACKEND"] = "billing_portal.mail.ConsoleSummaryBackend"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=EMAIL_CONFIG["EMAIL_BACKEND"])
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="billing@localhost")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(env.path("MEDIA_ROOT", default=VAR_DIR / "media"))},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Security: on by default with DEBUG off, each overridable -------------------------------
# Behind a proxy that terminates TLS (the usual deployment), its X-Forwarded-Proto tells
# Django the request was HTTPS. Turn this off when clients reach gunicorn directly: they could
# send the header themselves.
if env.bool("DJANGO_TRUST_X_FORWARDED_PROTO", default=True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
# HSTS covers the subdomains too unless turned off (a plain-HTTP service under the portal's
# domain would need that). Preload is opt-in: the browsers' preload list is hard to leave and
# binds the whole registrable domain, so only its owner can decide; production sets it on
# once the domain is submitted to hstspreload.org (README, "Configuration").
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- Failed logins, client addresses, operators' alerts (README, "Configuration") -----------
# The client address is the socket peer; X-Forwarded-For is read only from these proxies
# (addresses or networks, e.g. the TLS proxy's), never by default: anyone can send it.
TRUSTED_PROXIES = env.list("DJANGO_TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        _stop(f"DJANGO_TRUSTED_PROXIES: {_proxy!r} is not an IP address or network.")
# django-axes: failures of one username from one address lock that pair only, for a cool-off
# (not for good: a lock anyone could trigger would shut finance out). See login_throttle.py.
AUTHENTICATION_BACKENDS = [
    "billing_portal.login_throttle.LoginThrottleBackend",  # first: refuses a locked-out pair
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "billing_portal.login_throttle.client_address"
AXES_LOCKOUT_CALLABLE = "billing_portal.login_throttle.lockout_response"
# Operators: failed or partial usage syncs and keys stale for 24 h are mailed to ADMINS
# ("Name <a@example.com>, b@example.com"), from SERVER_EMAIL. None set: the log line only.
ADMINS = [getaddresses([admin])[0] for admin in env.list("DJANGO_ADMINS", default=[])]
for _name, _address in ADMINS:
    if "@" not in _address:
        _stop(f"DJANGO_ADMINS: {_address!r} is not an e-mail address.")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_SUBJECT_PREFIX = "[Billing portal] "

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"expected_403": {"()": "billing_portal.log_filters.ExpectedForbidden"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A 403 is logged as one warning line, without the PermissionDenied traceback.
        "django.request": {"filters": ["expected_403"]},
        # WeasyPrint logs each rendering step at INFO; its warnings (say a refused URL) stay.
        "weasyprint.progress": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
