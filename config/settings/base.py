"""Settings for every environment. Everything configurable is read from the environment here, and only here."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_database, env_float, env_int, env_list, env_redis_url, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("APP_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _local_secret_key() -> str:
    # Without DJANGO_SECRET_KEY a random key is made once and kept under var/, so a local console keeps its
    # sessions across restarts and no well-known key ever signs anything.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env_str("DJANGO_SECRET_KEY", "") or _local_secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "oauth2_provider",
    "apps.core",
    "apps.tenants",
    "apps.accounts",
    "apps.agents",
    "apps.jobs",
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
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
# Published paths have no trailing slash; never redirect an API client to another URL.
APPEND_SLASH = False

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
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, scheduler) share the file: wait for locks instead of failing at once.
    # Write-ahead logging lets them read while one of them writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- API ---------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.accounts.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apps.accounts.permissions.HasTenantScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.JsonParser"],
    "EXCEPTION_HANDLER": "apps.core.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

API_PAGE_SIZE_DEFAULT = 60
API_PAGE_SIZE_MAX = 1000

SPECTACULAR_SETTINGS = {
    "TITLE": "AI Service Console API",
    "DESCRIPTION": "A self-hostable implementation of the AI Service API: jobs, agents, export and import.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["apps.core.openapi.only_public_api"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.openapi.add_components",
    ],
    "SECURITY": [{"OAuth2": ["ai.agent_read"]}],
}

# --- OAuth2 client credentials (django-oauth-toolkit) ---------------------------------------------------------
OAUTH2_PROVIDER_APPLICATION_MODEL = "accounts.ApiClient"
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH_TOKEN_LIFETIME_SECONDS", 4 * 3600, minimum=60),
    "SCOPES_BACKEND_CLASS": "apps.accounts.scopes.TenantScopes",
    "OAUTH2_VALIDATOR_CLASS": "apps.accounts.oauth.TenantClientValidator",
    "ALLOWED_GRANT_TYPES": ["client_credentials"],
    "PKCE_REQUIRED": True,
}

# --- Celery ------------------------------------------------------------------------------------------------------
REDIS_URL = env_redis_url("REDIS_URL")
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    # No Redis configured: an embedded broker on the file system, so `make run` needs no server at all.
    for _sub in ("in", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "in"),
        "data_folder_out": str(BROKER_DIR / "in"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,  # seconds between looks at the folder; the default of 1 s shows in every job
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"

# Retry policy, time limits and the reaper of export/import jobs (see apps/jobs/tasks.py).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery closes the database connection around every task unless told to reuse it; opening a PostgreSQL
# connection costs more than a whole small job. Reused connections are still checked (CONN_HEALTH_CHECKS).
CELERY_DB_REUSE_MAX = env_int("WORKER_DB_REUSE_MAX", 1000, minimum=0)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("JOB_SOFT_TIME_LIMIT_SECONDS", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("JOB_TIME_LIMIT_SECONDS", CELERY_TASK_SOFT_TIME_LIMIT + 60, minimum=2)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    # Celery arms the hard limit only when the soft one has passed: a soft limit above it would disable it.
    raise ImproperlyConfigured("JOB_TIME_LIMIT_SECONDS must be greater than JOB_SOFT_TIME_LIMIT_SECONDS")
if REDIS_URL:
    # Redis hands an unacknowledged task to another worker after the visibility timeout; with late
    # acknowledgement a job still running then would run twice at once. Keep it well above the hard limit.
    CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = max(3600, 2 * CELERY_TASK_TIME_LIMIT)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3, minimum=1)
# A job still in progress this long after its last change is failed by the reaper; keep it above the hard limit.
JOB_STUCK_AFTER_SECONDS = env_int("JOB_STUCK_AFTER_SECONDS", CELERY_TASK_TIME_LIMIT + 120, minimum=1)
# A job whose task could not be handed to the broker is offered again by the scheduler until this many seconds
# after its creation, then failed with a message naming the broker.
JOB_DISPATCH_DEADLINE_SECONDS = env_int("JOB_DISPATCH_DEADLINE_SECONDS", 600, minimum=1)
JOB_SWEEP_INTERVAL_SECONDS = env_int("JOB_SWEEP_INTERVAL_SECONDS", 30, minimum=1)
# How long export and import answer synchronously (200) before falling back to 202 and a job to watch.
JOB_WAIT_SECONDS = env_float("JOB_WAIT_SECONDS", 10.0, minimum=0.0)
CELERY_BEAT_SCHEDULE = {
    "jobs-sweep": {"task": "apps.jobs.tasks.jobs_sweep", "schedule": float(JOB_SWEEP_INTERVAL_SECONDS)},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Agents: token encryption and export signing ------------------------------------------------------------
# Fernet keys, comma-separated: the first encrypts, all decrypt, so keys can be rotated. Unset: one derived from
# the secret key (changing DJANGO_SECRET_KEY then makes stored token values unreadable).
TOKEN_ENCRYPTION_KEYS = env_list("TOKEN_ENCRYPTION_KEYS", [])
# The HMAC key of export checksums. Installations that exchange bundles must share it.
EXPORT_SIGNING_KEY = env_str("EXPORT_SIGNING_KEY", "") or f"export-signing:{SECRET_KEY}"
EXPORT_MAX_AGENTS = 100

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
