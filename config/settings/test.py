"""Settings for the test suite: the same as base, with fast password hashing and their own broker and database
files, so that a console running on the same checkout (`make run`) never meets the tests' messages or rows."""

import os
from pathlib import Path

from config import keys, suite_processes
from config.env import var_dir

# The suite starts with no configuration: keys made for this run, set in the environment so that the worker and
# manage.py processes the tests start read the same ones. Keys already set (.env, var/local.env) are kept.
for _name, _value in keys.fresh_keys().items():
    os.environ.setdefault(_name, _value)

# Metrics of this run in a folder of its own, named once and passed on to the processes the tests start (workers,
# make run's web and workers, which name their own); set before base.py, which keeps a folder already named.
# Here and below, "this run" is this test process: under pytest-xdist (`make test`) each worker names its own
# (config/suite_processes.py).
suite_processes.process_value(os.environ, "PROMETHEUS_MULTIPROC_DIR", str(var_dir() / f"test-metrics-{os.getpid()}"))
# Under pytest-xdist, each test process has a Redis database of its own (TEST_REDIS_DBS); read by base.py.
suite_processes.redis_url_for_process(os.environ)

from config.settings.base import *  # noqa: E402, F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "apps.accounts.hashers.ClientSecretHasher",
    # Client secrets stored before the keyed hash existed must still verify.
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Django's test Client.login() authenticates without a request, which django-axes refuses; the tests of the sign-in
# limits switch it on (tests/accounts/test_sign_in_limits.py).
AXES_ENABLED = False
# Quiet, unless a test's server or worker asks for a level (the JSON log test reads their INFO lines).
if "LOG_LEVEL" not in os.environ:
    LOGGING["root"]["level"] = "WARNING"  # noqa: F405

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: end-to-end tests run a worker process that must see the same database.
    # One per test run, so that two runs at once (two checkouts, an editor's test runner) do not collide; under
    # pytest-xdist, pytest-django adds the worker's id to it (test-db-<pid>.sqlite3_gw0).
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}  # noqa: F405

if not REDIS_URL:  # noqa: F405
    # Named once per run and passed on to the worker processes the tests start, through the environment.
    _TEST_BROKER = Path(
        suite_processes.process_value(os.environ, "TEST_BROKER_DIR", str(VAR_DIR / f"test-broker-{os.getpid()}"))  # noqa: F405
    )
    for _sub in ("in", "processed", "control"):
        (_TEST_BROKER / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
        "data_folder_in": str(_TEST_BROKER / "in"),
        "data_folder_out": str(_TEST_BROKER / "in"),
        "processed_folder": str(_TEST_BROKER / "processed"),
        "control_folder": str(_TEST_BROKER / "control"),
    }

# Rate-limit counters and the rest of the cache: a namespace of this run's own (tests/conftest.py empties it before
# every test), so neither a console running on the same checkout nor another run meets them. Named once per run and
# passed on through the environment, like the broker: the worker processes the tests start write what the web reads
# (the workers' heartbeats).
_TEST_CACHE = suite_processes.process_value(os.environ, "TEST_CACHE_NAME", f"test-cache-{os.getpid()}")
if REDIS_URL:  # noqa: F405
    CACHES["default"]["KEY_PREFIX"] = f"aic-{_TEST_CACHE}"  # noqa: F405
else:
    CACHES["default"]["LOCATION"] = str(VAR_DIR / _TEST_CACHE)  # noqa: F405

# Agent runs: the tests' model and MCP servers listen on this machine.
AGENT_EGRESS_ALLOWED_HOSTS = ["127.0.0.1"]
