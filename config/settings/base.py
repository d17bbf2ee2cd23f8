"""Settings for every environment. Everything configurable is read from the environment here, and only here."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF
from django.conf import global_settings
from django.core.exceptions import ImproperlyConfigured

from apps.core import logs
from config import keys
from config.env import env_bool, env_database, env_float, env_int, env_list, env_redis_url, env_str, var_dir

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = var_dir()
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DJANGO_DEBUG", False)
# The four keys are set explicitly, never derived from one another; with DEBUG off a missing, short, low-entropy or
# well-known one stops every process (web, worker, beat, manage.py) here, saying how to make a good one. A local
# console (make run) reads generated ones from var/local.env through the loader (config/env.py).
_KEY_PROBLEMS = keys.problems(os.environ, production=not DEBUG)
if _KEY_PROBLEMS:
    raise ImproperlyConfigured("\n".join(_KEY_PROBLEMS))
SECRET_KEY = env_str(keys.SECRET_KEY, "").strip()
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
    "drf_spectacular_sidecar",
    "csp",
    "oauth2_provider",
    "mozilla_django_oidc",
    "axes",
    "apps.core",
    "apps.tenants",
    "apps.accounts",
    "apps.audit",
    "apps.agents",
    "apps.jobs",
    "apps.agentic",
    "apps.console",
    "apps.ops",
]

MIDDLEWARE = [
    # Outermost: every request gets its id (X-Request-ID) and one access line, the probes' included.
    "apps.core.middleware.RequestLogMiddleware",
    # First: /healthz, /readyz and /metrics answer orchestrators and scrapers that call by IP address, before any
    # host check or redirect.
    "apps.ops.middleware.ProbeMiddleware",
    # Next: counts and times every other request, including those the middleware below answers itself.
    "apps.ops.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # From here an API request goes straight to ApiLaneEnd: the console's middleware between the two has nothing to
    # do for a bearer token's request (no session, no user, no page).
    "apps.core.middleware.ApiLane",
    # Early, so that responses made by the middleware below it (errors, redirects) carry the policy too.
    "csp.middleware.CSPMiddleware",
    "apps.accounts.middleware.ProviderFormAction",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last of the console's, as django-axes asks: it turns a refused sign-in into the lockout page (what follows
    # only refuses input the views never see).
    "axes.middleware.AxesMiddleware",
    "apps.core.middleware.ApiLaneEnd",
    # Every path from here on.
    "apps.core.middleware.BodySizeLimit",
    # Every query of an API request under the API's read budget (API_STATEMENT_TIMEOUT_MS).
    "apps.core.middleware.ApiStatementBudget",
    # 400 for a NUL in the path or query string and for too many query parameters; the console's 503 page.
    "apps.core.middleware.RequestInputMiddleware",
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
                "apps.accounts.context.sign_in_options",
                "apps.ops.context.worker_banner",
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
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, but a connection used within the last moment is not health-checked (apps/core/postgresql).
    DATABASES["default"]["ENGINE"] = "apps.core.postgresql"
# A reused PostgreSQL connection idle this long is checked with `SELECT 1` before a request uses it; one used more
# recently is known good, and skipping the check saves a round trip on every busy request. 0: check every time.
DATABASE_HEALTH_CHECK_IDLE_SECONDS = env_int("DATABASE_HEALTH_CHECK_IDLE_SECONDS", 5, minimum=0)
# PostgreSQL: how long a new connection may take before it fails. libpq waits forever by default, so a database
# host that drops packets would hang /readyz (and every request) instead of failing it; libpq counts at least 2 s.
# A connect_timeout in DATABASE_URL's query string wins.
DATABASE_CONNECT_TIMEOUT_SECONDS = env_int("DATABASE_CONNECT_TIMEOUT_SECONDS", 3, minimum=2)
# PostgreSQL: values are sent apart from the SQL (server-side binding), never quoted into it; an agent run's
# transcript writes, with many values each, took about 20 ms less per run. Web processes (config/wsgi.py sets
# APP_WEB_PROCESS) also prepare a statement a connection has run DATABASE_PREPARE_THRESHOLD times: the API's hot
# queries are then planned once per connection instead of on every request (a third of a job-by-id's time in the
# database went to planning it). Workers prepare nothing: their runs took about 25 ms longer with prepared statements.
# 0: no prepared statements (a PgBouncer older than 1.21 pooling by transaction cannot keep them).
DATABASE_PREPARE_THRESHOLD = env_int("DATABASE_PREPARE_THRESHOLD", 5, minimum=0)
if DATABASES["default"]["ENGINE"] == "apps.core.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT_SECONDS)
    DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
    if DATABASE_PREPARE_THRESHOLD and env_bool("APP_WEB_PROCESS", False):
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", DATABASE_PREPARE_THRESHOLD)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Users' passwords keep Django's default (PBKDF2); API client secrets use the keyed hash (CLIENT_SECRET_HASHER below),
# which must be listed here for Django to find it.
PASSWORD_HASHERS = [*global_settings.PASSWORD_HASHERS, "apps.accounts.hashers.ClientSecretHasher"]

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
    "DEFAULT_RENDERER_CLASSES": ["apps.core.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["apps.core.parsers.JsonParser"],
    "EXCEPTION_HANDLER": "apps.core.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

API_PAGE_SIZE_DEFAULT = 60
API_PAGE_SIZE_MAX = 1000
# The query budget (apps/core/budget.py): how long one statement of an API list, search or read may run before
# the database cancels it and the API answers 503; the console's list pages have their own. 0: no limit.
API_STATEMENT_TIMEOUT_MS = env_int("API_STATEMENT_TIMEOUT_MS", 5000, minimum=0)
CONSOLE_STATEMENT_TIMEOUT_MS = env_int("CONSOLE_STATEMENT_TIMEOUT_MS", 10000, minimum=0)
# X-Total-Count of a job list or search whose q is not only status and type terms (those are answered from kept
# counts): jobs are counted up to this many, and a total past it is answered as this number with
# `X-Total-Count-Exact: false`. Keeps the count of a broad filter well inside the budget. 0: always count them all.
API_TOTAL_COUNT_MAX = env_int("API_TOTAL_COUNT_MAX", 10000, minimum=0)
# What one `q` may ask (apps/core/query/limits.py): terms, `~` (contains) terms, and the shortest `~` value (three
# characters are what PostgreSQL's trigram index needs to help).
API_QUERY_MAX_TERMS = env_int("API_QUERY_MAX_TERMS", 20, minimum=1)
API_QUERY_MAX_CONTAINS_TERMS = env_int("API_QUERY_MAX_CONTAINS_TERMS", 3, minimum=0)
API_QUERY_MIN_CONTAINS_LENGTH = env_int("API_QUERY_MIN_CONTAINS_LENGTH", 3, minimum=1)

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
    # Swagger UI and Redoc served from the drf-spectacular-sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Console sign-in -----------------------------------------------------------------------------------------
# With OIDC_ISSUER set, administrators sign in at the company's OpenID provider (apps/accounts/oidc.py); its
# endpoints come from its discovery document. Local password sign-in stays for the embedded default and can be
# switched off once the provider is set up.
OIDC_OP_ISSUER = env_str("OIDC_ISSUER", "").rstrip("/") or None
# Where the console itself reads the discovery document, when that differs from where browsers reach the issuer
# (containers calling the provider by its service name). Default: {OIDC_ISSUER}/.well-known/openid-configuration
OIDC_DISCOVERY_URL = env_str("OIDC_DISCOVERY_URL", "") or None
OIDC_ENABLED = OIDC_OP_ISSUER is not None
OIDC_RP_CLIENT_ID = env_str("OIDC_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_CLIENT_SECRET", "")
if OIDC_ENABLED and not (OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET):
    raise ImproperlyConfigured("OIDC_ISSUER is set: set OIDC_CLIENT_ID and OIDC_CLIENT_SECRET too")
OIDC_RP_SIGN_ALGO = env_str("OIDC_SIGN_ALGORITHM", "RS256")
if not OIDC_RP_SIGN_ALGO.startswith(("RS", "ES", "PS")):
    raise ImproperlyConfigured("OIDC_SIGN_ALGORITHM must be an asymmetric algorithm such as RS256")
OIDC_RP_SCOPES = env_str("OIDC_SCOPES", "openid email profile")
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True  # the end-session request names it (id_token_hint)
OIDC_TIMEOUT = 10
OIDC_OP_LOGOUT_URL_METHOD = "apps.accounts.oidc.provider_logout_url"
OIDC_AUTHENTICATE_CLASS = "apps.accounts.oidc.ConsoleOidcStart"
OIDC_CALLBACK_CLASS = "apps.accounts.oidc.ConsoleOidcCallback"
# Endpoints, when the provider has no discovery document (or it must be overridden).
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_AUTHORIZATION_ENDPOINT", "") or None
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_TOKEN_ENDPOINT", "") or None
OIDC_OP_USER_ENDPOINT = env_str("OIDC_USERINFO_ENDPOINT", "") or None
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_JWKS_ENDPOINT", "") or None
OIDC_OP_END_SESSION_ENDPOINT = env_str("OIDC_END_SESSION_ENDPOINT", "") or None
# The claim that carries console roles: ["platform_admin", "acme:manager", "globex:viewer"] or {"acme": "viewer"}.
OIDC_ROLES_CLAIM = env_str("OIDC_ROLES_CLAIM", "ai_console_roles")
OIDC_PLATFORM_ADMIN_ROLE = env_str("OIDC_PLATFORM_ADMIN_ROLE", "platform_admin")
CONSOLE_LOCAL_LOGIN = env_bool("CONSOLE_LOCAL_LOGIN", True)
if not (OIDC_ENABLED or CONSOLE_LOCAL_LOGIN):
    raise ImproperlyConfigured("CONSOLE_LOCAL_LOGIN=false needs OIDC_ISSUER: nobody could sign in")
AUTHENTICATION_BACKENDS = [
    # First: refuses any sign-in, local or at the provider, from a user or address that is locked out.
    "axes.backends.AxesStandaloneBackend",
    *(["apps.accounts.oidc.ConsoleOidcBackend"] if OIDC_ENABLED else []),
    *(["django.contrib.auth.backends.ModelBackend"] if CONSOLE_LOCAL_LOGIN else []),
]
LOGIN_URL = "/console/login/"
LOGIN_REDIRECT_URL = "/console/"
LOGOUT_REDIRECT_URL = "/"
# A sign-in refused at the provider (or by the checks on its answer) comes back to the sign-in page.
LOGIN_REDIRECT_URL_FAILURE = LOGIN_URL
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("CONSOLE_SESSION_SECONDS", 8 * 3600, minimum=300)
# Behind HTTPS (production): cookies only over HTTPS, HSTS, and the proxy's X-Forwarded-Proto trusted. Off by default
# because `make run` serves plain HTTP on 127.0.0.1.
HTTPS = env_bool("DJANGO_HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_SSL_REDIRECT = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"


# Content-Security-Policy (django-csp) on every response: pages load scripts, styles, images and data from this origin
# only, and run no inline code (the console's scripts are static files). With provider sign-in on, the provider's
# origin joins form-action on console pages (apps/accounts/middleware.py): signing out ends there.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# --- OAuth2 client credentials (django-oauth-toolkit) ---------------------------------------------------------
OAUTH2_PROVIDER_APPLICATION_MODEL = "accounts.ApiClient"
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OAUTH_TOKEN_LIFETIME_SECONDS", 4 * 3600, minimum=60),
    "SCOPES_BACKEND_CLASS": "apps.accounts.scopes.TenantScopes",
    "OAUTH2_VALIDATOR_CLASS": "apps.accounts.oauth.TenantClientValidator",
    "ALLOWED_GRANT_TYPES": ["client_credentials"],
    # No redirect-based grant is allowed, so no plain-http redirect URI and no refresh token is ever needed.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "PKCE_REQUIRED": True,
    # Client secrets are 128 random characters: a keyed fast hash (apps/accounts/hashers.py), not a password hash.
    "CLIENT_SECRET_HASHER": "client_hmac_sha256",
    # The token column stays empty: only the SHA-256 of each access token (token_checksum) is stored.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    # The rest of the toolkit's RFC 9700 (OAuth security best practice) switches: none of these flows is served
    # (only client credentials are), and should one ever be, it starts out compliant.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
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
# Fairness between tenants: exports and imports one tenant may have in progress at once (over it: 429 with
# Retry-After), and how many requests may wait for their job at once, per tenant and in all web processes together
# (over either: 202 at once, as when the wait runs out). Keep JOB_WAITS_TOTAL below the web server's threads.
JOB_MAX_IN_PROGRESS_PER_TENANT = env_int("JOB_MAX_IN_PROGRESS_PER_TENANT", 10, minimum=1)
JOB_WAITS_PER_TENANT = env_int("JOB_WAITS_PER_TENANT", 2, minimum=0)
JOB_WAITS_TOTAL = env_int("JOB_WAITS_TOTAL", 4, minimum=0)
# Queues: exports and imports on the default one, agent runs on their own, so that neither starves the other. A
# worker started without -Q takes both (the tests' workers, a one-machine setup); `make run` starts one per queue.
CELERY_TASK_DEFAULT_QUEUE = "celery"
AGENT_QUEUE = "agents"
CELERY_TASK_QUEUES: dict[str, dict[str, object]] = {CELERY_TASK_DEFAULT_QUEUE: {}, AGENT_QUEUE: {}}
JOB_QUEUES = {"AGENT_CHAT": AGENT_QUEUE}
# The console's banner: a job has waited this long and no worker has answered a ping or an inspect for as long.
WORKER_MISSING_AFTER_SECONDS = env_int("WORKER_MISSING_AFTER_SECONDS", 60, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "jobs-sweep": {"task": "apps.jobs.tasks.jobs_sweep", "schedule": float(JOB_SWEEP_INTERVAL_SECONDS)},
    "event-deliveries-prune": {"task": "apps.agentic.tasks.event_deliveries_prune", "schedule": 3600.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Agent runs (apps/agentic) -----------------------------------------------------------------------------------
# A run is stopped from inside once it has taken this long (Celery's time limits do not reach every pool); it must
# end well before the job's soft time limit. Every model request and every tool call has its own timeout too.
# The default stays below a lowered soft limit (an operator may lower it for exports and imports alone); a value
# set explicitly at or above it is refused.
AGENT_RUN_TIMEOUT_SECONDS = env_float(
    "AGENT_RUN_TIMEOUT_SECONDS", min(120.0, 0.9 * CELERY_TASK_SOFT_TIME_LIMIT), minimum=0.5
)
AGENT_MODEL_TIMEOUT_SECONDS = env_float("AGENT_MODEL_TIMEOUT_SECONDS", 60.0, minimum=0.1)
AGENT_TOOL_TIMEOUT_SECONDS = env_float("AGENT_TOOL_TIMEOUT_SECONDS", 30.0, minimum=0.1)
if AGENT_RUN_TIMEOUT_SECONDS >= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("AGENT_RUN_TIMEOUT_SECONDS must be less than JOB_SOFT_TIME_LIMIT_SECONDS")
# Runs of one tenant going on at once; more wait in the queue for their turn.
AGENT_MAX_RUNNING_PER_TENANT = env_int("AGENT_MAX_RUNNING_PER_TENANT", 4, minimum=1)
# How long POST /agentic/chat waits for its run before answering with the job to poll.
AGENT_CHAT_WAIT_SECONDS = env_float("AGENT_CHAT_WAIT_SECONDS", 30.0, minimum=0.0)
# How deep agents may hand a conversation on to collaborators (an agent calling itself back is refused anyway).
AGENT_COLLABORATION_MAX_DEPTH = env_int("AGENT_COLLABORATION_MAX_DEPTH", 3, minimum=1)
# Model and MCP servers are reached over https at public addresses only, unless their host (or host:port) is listed.
AGENT_EGRESS_ALLOWED_HOSTS = env_list("AGENT_EGRESS_ALLOWED_HOSTS", [])
# The installation's own OpenAI-compatible endpoint, for agents whose provider is emporix_openai.
PLATFORM_LLM_BASE_URL = env_str("PLATFORM_LLM_BASE_URL", "")
PLATFORM_LLM_API_KEY = env_str("PLATFORM_LLM_API_KEY", "")
# The commerce events agents can be triggered by (GET /agentic/commerce-events).
AGENT_COMMERCE_EVENTS = env_list(
    "AGENT_COMMERCE_EVENTS",
    [
        "order.order-created",
        "order.order-updated",
        "order.order-deleted",
        "order.order-status-changed",
        "product.product-created",
        "product.product-updated",
        "product.product-deleted",
        "customer.customer-created",
        "customer.customer-updated",
        "customer.customer-deleted",
    ],
)
# Standard Webhooks: a signed event older (or newer) than this is refused; a rotated secret works this long.
COMMERCE_EVENT_TOLERANCE_SECONDS = env_int("COMMERCE_EVENT_TOLERANCE_SECONDS", 300, minimum=1)
EVENT_SECRET_GRACE_SECONDS = env_int("EVENT_SECRET_GRACE_SECONDS", 86400, minimum=0)
# How long a delivery's `webhook-id` is remembered: the same id again within this answers the same jobs. Senders
# retry a delivery for a few days at most; older ones are removed by the scheduler.
COMMERCE_EVENT_DELIVERIES_KEPT_DAYS = env_int("COMMERCE_EVENT_DELIVERIES_KEPT_DAYS", 7, minimum=1)

# --- Metrics (GET /metrics, apps/ops/metrics.py) ---------------------------------------------------------------
# With a token, /metrics asks for `Authorization: Bearer <token>`; without one it answers loopback clients only.
METRICS_TOKEN = env_str("METRICS_TOKEN", "").strip()
# prometheus-client's multiprocess mode: every process of this machine (gunicorn's workers, Celery's pool) writes its
# counts into files in this folder and a scrape adds them up, so a count does not depend on which process answers.
# The library picks multiprocess mode when first imported, by this variable: set here, before any app records one.
# Whoever starts the processes empties the folder first (make run; a tmpfs in docker-compose.yml).
# A relative folder is taken from the project root, and handed on resolved: the library reads the variable itself.
_METRICS_DIR = Path(env_str("PROMETHEUS_MULTIPROC_DIR", "") or VAR_DIR / "metrics")
METRICS_DIR = _METRICS_DIR if _METRICS_DIR.is_absolute() else BASE_DIR / _METRICS_DIR
METRICS_DIR.mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_DIR)
# A Celery worker's own /metrics (its task metrics, when it runs on another machine than the web): the port its main
# process serves on, on every interface, with the same token or loopback rule. 0: off.
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0, minimum=0)
if WORKER_METRICS_PORT > 65535:
    raise ImproperlyConfigured(f"WORKER_METRICS_PORT={WORKER_METRICS_PORT} is not a port: use 1 to 65535, or 0 (off)")

# --- Shared cache and rate limits ------------------------------------------------------------------------------
# The token endpoint's rate-limit counters must be seen by every web process: Redis when there is one, otherwise files
# under var/ (one machine). File-cache increments are not atomic, so under heavy concurrency a few requests may go
# uncounted; production sets REDIS_URL.
CACHES: dict[str, dict[str, object]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "aic",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }


def _env_rate(name: str, default: str) -> str:
    value = env_str(name, default).strip()
    if not re.fullmatch(r"[1-9][0-9]*/([1-9][0-9]*)?[smhd]", value):
        raise ImproperlyConfigured(f"{name}={value!r} is not a rate: use requests/period, such as 30/m or 100/10m")
    return value


# POST /oauth/token: requests per client id and per address (`N/s`, `N/m`, `N/h`, `N/d`, or `N/10m`); over either,
# 429 with Retry-After.
OAUTH_TOKEN_RATE_PER_CLIENT = _env_rate("OAUTH_TOKEN_RATE_PER_CLIENT", "30/m")
OAUTH_TOKEN_RATE_PER_ADDRESS = _env_rate("OAUTH_TOKEN_RATE_PER_ADDRESS", "120/m")
RATELIMIT_USE_CACHE = "default"
# Console and admin sign-in (django-axes, at the authentication level, so every sign-in form is covered): after this
# many failures for one user name, or from one address, sign-in is refused (429) until the lockout has passed.
SIGN_IN_FAILURE_LIMIT = env_int("SIGN_IN_FAILURE_LIMIT", 5, minimum=1)
SIGN_IN_LOCKOUT_SECONDS = env_int("SIGN_IN_LOCKOUT_SECONDS", 900, minimum=1)
# Failures are counted in the database (axes' default handler): shared by every process on any machine, counted
# atomically, and listed in the admin (Axes > Access attempts), where a lockout can also be lifted.
AXES_FAILURE_LIMIT = SIGN_IN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(seconds=SIGN_IN_LOCKOUT_SECONDS)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.accounts.throttling.sign_in_locked_out"
AXES_CLIENT_IP_CALLABLE = "apps.accounts.throttling.client_address"

# --- Keys: token encryption, export signing, API client secrets (checked above, with SECRET_KEY) --------------------
# Fernet keys, comma-separated: the first encrypts, all decrypt, so keys can be rotated.
TOKEN_ENCRYPTION_KEYS = env_list(keys.TOKEN_ENCRYPTION_KEYS, [])
# The HMAC key of export checksums. Installations that exchange bundles must share it.
EXPORT_SIGNING_KEY = env_str(keys.EXPORT_SIGNING_KEY, "").strip()
# The HMAC key under which API client secrets are stored (apps/accounts/hashers.py). Changing it invalidates every
# client secret.
API_CLIENT_SECRET_PEPPER = env_str(keys.API_CLIENT_SECRET_PEPPER, "").strip()
EXPORT_MAX_AGENTS = 100

# --- Sizes of request bodies -----------------------------------------------------------------------------------
# The one size limit of import bodies (API) and export files (console upload), in bytes. An export that would be
# larger fails at export time, saying so, so that every export this installation makes can be imported again.
# 32 MiB holds 100 agents with their tools and MCP servers at ~240 KiB of prompts and configuration each.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 32 * 1024 * 1024, minimum=64 * 1024)
# Django's own caps follow it, with room for the other fields of a form (the console's confirmation carries the
# bundle back). Any body above this answers 413 before it is read (apps.core.middleware.BodySizeLimit).
DATA_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES + 64 * 1024
# Not a cap: uploaded files larger than this are spooled to a temporary file instead of being held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Logs (apps/core/logs.py) ------------------------------------------------------------------------------------
# plain: lines for people. json: every line web, worker and scheduler write is one JSON object (timestamp, level,
# logger, message, and request_id, tenant, client_id, user_id, job_id when known), for a log system to parse.
LOG_FORMAT = logs.format_from_env()
if LOG_FORMAT not in logs.FORMATS:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use one of {', '.join(logs.FORMATS)}")
LOGGING = logs.logging_config(LOG_FORMAT, env_str("LOG_LEVEL", "INFO"))
# In JSON, Celery leaves the root logger to the configuration above instead of putting its own format on it.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT == "plain"

# --- API tokens from an external OpenID provider -----------------------------------------------------------------
# Besides its own opaque tokens (POST /oauth/token), the API accepts JWT access tokens from one external issuer,
# verified locally against the issuer's published keys (apps/accounts/external_tokens.py). Unset issuer: off.
API_JWT_ISSUER = env_str("API_JWT_ISSUER", "").strip()  # compared exactly with the `iss` claim, trailing slash too
API_JWT_AUDIENCE = env_str("API_JWT_AUDIENCE", "").strip()
# Unset: the `jwks_uri` of the issuer's discovery document ({issuer}/.well-known/openid-configuration).
API_JWT_JWKS_URL = env_str("API_JWT_JWKS_URL", "").strip()
API_JWT_ALGORITHMS = env_list("API_JWT_ALGORITHMS", ["RS256"])
API_JWT_TENANT_CLAIM = env_str("API_JWT_TENANT_CLAIM", "").strip() or "tenant"
API_JWT_LEEWAY_SECONDS = env_int("API_JWT_LEEWAY_SECONDS", 30, minimum=0)
API_JWT_JWKS_CACHE_SECONDS = env_int("API_JWT_JWKS_CACHE_SECONDS", 300, minimum=1)
# Only signatures made with the provider's private key: never `none`, and never HS*, which would verify with the
# published (public) key as the HMAC secret.
_API_JWT_PUBLIC_KEY_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
if not API_JWT_ALGORITHMS or not set(API_JWT_ALGORITHMS) <= set(_API_JWT_PUBLIC_KEY_ALGORITHMS):
    raise ImproperlyConfigured(
        f"API_JWT_ALGORITHMS={','.join(API_JWT_ALGORITHMS)!r}: use one or more of "
        + ", ".join(_API_JWT_PUBLIC_KEY_ALGORITHMS)
    )
for _name, _url in (("API_JWT_ISSUER", API_JWT_ISSUER), ("API_JWT_JWKS_URL", API_JWT_JWKS_URL)):
    if _url and not _url.startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"{_name}={_url!r} must be an https:// (or http://) URL")
if API_JWT_ISSUER and not API_JWT_AUDIENCE:
    raise ImproperlyConfigured("API_JWT_ISSUER is set: set API_JWT_AUDIENCE too (the `aud` the API's tokens carry)")
