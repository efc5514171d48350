"""Settings, read from the environment. See README "Configuration" for every variable."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
# Development/demo/test mode on plain HTTP with an insecure default key; never in production.
DEV = env_bool("SKYLEDGER_DEV", False)
_INSECURE_KEY = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", _INSECURE_KEY if DEBUG or DEV else None)
if not DEBUG and SECRET_KEY == _INSECURE_KEY and not DEV:
    raise ImproperlyConfigured("Set SECRET_KEY (or SECRET_KEY_FILE) in production.")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG or DEV else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tables2",
    "django_filters",
    "django_celery_beat",
    "simple_history",
    "axes",
    "core",
    "accounts",
    "inventory",
    "iam_audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "config.middleware.PrivateNoStoreMiddleware",
    "config.middleware.MethodNotAllowedPageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

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
                "accounts.context_processors.roles",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'skyledger.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL + a busy timeout let the demo's worker and web server share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed-login throttling (django-axes): lock a username+IP pair after 5 failures for 15 minutes.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env_bool("AXES_ENABLED", True)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or DEV
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# In development and the demo WhiteNoise serves static/ as it is (no collectstatic), DEBUG on or off:
# the demo runs with DEBUG off so it shows Skyledger's own error pages (see iam_audit/.../demo.py).
WHITENOISE_USE_FINDERS = DEBUG or DEV
WHITENOISE_AUTOREFRESH = DEBUG or DEV

# Uploads (accounts.limits): a spreadsheet import takes at most SKYLEDGER_IMPORT_MAX_BYTES and
# SKYLEDGER_IMPORT_MAX_ROWS accounts; a bigger upload stops being received at the limit (the upload
# handler below) and the form says why. Form posts other than files: 2 MB is far above the largest
# legitimate one (an account form with every field at its bound is ~15 kB). Uploaded files over 1 MB
# are spooled to a temporary file, not kept in memory.
SKYLEDGER_IMPORT_MAX_BYTES = env_int("SKYLEDGER_IMPORT_MAX_BYTES", 5 * 1024 * 1024)
SKYLEDGER_IMPORT_MAX_ROWS = env_int("SKYLEDGER_IMPORT_MAX_ROWS", 5_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "accounts.uploads.BoundedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DJANGO_TABLES2_TEMPLATE = "includes/table.html"
DJANGO_TABLES2_PAGE_RANGE = 8

# Security headers; production settings pass `manage.py check --deploy`.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not (DEBUG or DEV):
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container health check speaks plain HTTP
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # Preloading is hard to undo (browsers ship the list for months): only when asked for. Off, the
    # deployment check's "not preloaded" warning is a decision, not an oversight, so it is silenced.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
# X-Forwarded-Proto decides whether a request came over HTTPS only behind a proxy that sets it (and
# strips a client's own): trusted blindly, any client could claim HTTPS.
if env_bool("SKYLEDGER_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Celery (Redis). Tasks acknowledge late so a worker that dies mid-run lets another redo the job.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Runs, their heartbeat and the broker agree (inventory/checks.py refuses settings that do not):
# a running run saves a heartbeat every 20 s and is declared lost after SKYLEDGER_RUN_STALE_MINUTES
# without one; a collection task may run SKYLEDGER_RUN_TIME_LIMIT_MINUTES (then it stops, keeping
# what it stored); the broker redelivers an unacknowledged task (its worker died) after the
# visibility timeout, which must be longer than the time limit or a healthy task would run twice.
SKYLEDGER_RUN_STALE_MINUTES = env_int("SKYLEDGER_RUN_STALE_MINUTES", 2)
SKYLEDGER_RUN_TIME_LIMIT_MINUTES = env_int("SKYLEDGER_RUN_TIME_LIMIT_MINUTES", 60)
# Inside it, a run stops starting passes after its budget, and one (collector, region) pass stops
# calling AWS after its deadline; what was cut short is reported on the run (see services/collect.py).
SKYLEDGER_RUN_BUDGET_MINUTES = env_int("SKYLEDGER_RUN_BUDGET_MINUTES", SKYLEDGER_RUN_TIME_LIMIT_MINUTES - 5)
SKYLEDGER_UNIT_DEADLINE_SECONDS = env_int("SKYLEDGER_UNIT_DEADLINE_SECONDS", 600)
_visibility = env_int("CELERY_VISIBILITY_TIMEOUT", (SKYLEDGER_RUN_TIME_LIMIT_MINUTES + 10) * 60)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "visibility_timeout": _visibility,
    # look for tasks whose worker died every quarter of the timeout (at most a minute), not kombu's
    # default of every 100 s on top of it
    "unacked_restore_interval": max(1, min(60, _visibility // 4)),
    "unacked_restore_throttle": 1,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Kombu's file-system transport: a broker with no server, for `make demo` on a machine without
    # Redis (web server and worker on one machine sharing a folder). Not for production.
    _broker_dir = Path(env_str("CELERY_BROKER_FOLDER", str(BASE_DIR / ".demo" / "broker")))
    for _sub in ("queue", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# AWS access (see README "Configuration").
AWS_ENDPOINT_URL = env_str("AWS_ENDPOINT_URL", "")  # set only for the simulated estate
SKYLEDGER_READ_ROLE = env_str("SKYLEDGER_READ_ROLE", "SkyledgerReadOnly")
SKYLEDGER_EXTERNAL_ID = env_str("SKYLEDGER_EXTERNAL_ID", "")
# the company's regions: they only classify (resources elsewhere are "unexpected"), never limit collection
SKYLEDGER_ALLOWED_REGIONS = env_list("SKYLEDGER_ALLOWED_REGIONS")
# regions the security team chose not to collect in any account (cost); pages name them as not looked at
SKYLEDGER_COLLECTION_EXCLUDED_REGIONS = env_list("SKYLEDGER_COLLECTION_EXCLUDED_REGIONS")
SKYLEDGER_DISCOVERY_ROLE_ARN = env_str("SKYLEDGER_DISCOVERY_ROLE_ARN", "")
SKYLEDGER_HOME_REGION = env_str("SKYLEDGER_HOME_REGION", "us-east-1")
SKYLEDGER_REGION_WORKERS = env_int("SKYLEDGER_REGION_WORKERS", 8)  # regions collected at once per account
# first-generation threshold of the garbage collector in collecting processes (0: Python's default);
# see inventory/runtime.py
SKYLEDGER_GC_GEN0_THRESHOLD = env_int("SKYLEDGER_GC_GEN0_THRESHOLD", 20_000)
SKYLEDGER_AWS_RETRY_MODE = env_str("SKYLEDGER_AWS_RETRY_MODE", "standard")
SKYLEDGER_AWS_MAX_ATTEMPTS = env_int("SKYLEDGER_AWS_MAX_ATTEMPTS", 5)
SKYLEDGER_REFRESH_HOURS = env_int("SKYLEDGER_REFRESH_HOURS", 6)
SKYLEDGER_UNUSED_DAYS = env_int("SKYLEDGER_UNUSED_DAYS", 90)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # the formatter masks every ExternalId the process has sent (core.secrets): logs never carry one
    "formatters": {
        "plain": {
            "()": "core.secrets.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    # a refused request is one line (who, what, where), not a traceback: see config/logfilters.py
    "filters": {"forbidden_one_line": {"()": "config.logfilters.ForbiddenOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "django.request": {"filters": ["forbidden_one_line"]},
        "django.security.csrf": {"filters": ["forbidden_one_line"]},
    },
}
