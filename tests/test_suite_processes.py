"""The suite in several processes (pytest-xdist, `make test`): each test process names its own database, broker
folder, cache namespace and metrics folder, and takes a Redis database of its own, however the processes that
start one another pass their environment on (config/suite_processes.py, config/settings/test.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.suite_processes import process_value, redis_url_for_process, with_database
from tests.entry_points import BIN, bare_environment, run

# --- process_value ------------------------------------------------------------------------------------------------


def test_a_run_in_one_process_names_a_value_once_and_keeps_one_already_set() -> None:
    environ: dict[str, str] = {}

    assert process_value(environ, "TEST_CACHE_NAME", "test-cache-41") == "test-cache-41"
    assert process_value(environ, "TEST_CACHE_NAME", "test-cache-42") == "test-cache-41"  # a process it started
    assert environ == {"TEST_CACHE_NAME": "test-cache-41"}


def test_an_xdist_worker_names_its_own_value_instead_of_the_controller_s() -> None:
    # What the controller named, inherited by every worker it starts.
    environ = {"TEST_CACHE_NAME": "test-cache-40", "PYTEST_XDIST_WORKER": "gw1"}

    assert process_value(environ, "TEST_CACHE_NAME", "test-cache-41") == "test-cache-41-gw1"
    # A process that worker's tests start (a Celery worker) inherits it, and keeps it.
    assert process_value(environ, "TEST_CACHE_NAME", "test-cache-99") == "test-cache-41-gw1"


def test_an_xdist_worker_does_not_keep_another_worker_s_value() -> None:
    environ = {"TEST_CACHE_NAME": "test-cache-41-gw1", "PYTEST_XDIST_WORKER": "gw11"}

    assert process_value(environ, "TEST_CACHE_NAME", "test-cache-52") == "test-cache-52-gw11"


# --- the Redis database of each test process ----------------------------------------------------------------------


def xdist(worker: str, count: int, **variables: str) -> dict[str, str]:
    return {"PYTEST_XDIST_WORKER": worker, "PYTEST_XDIST_WORKER_COUNT": str(count), **variables}


def test_a_run_in_one_process_uses_redis_url_as_it_is() -> None:
    environ = {"REDIS_URL": "redis://127.0.0.1:6379/15"}

    assert redis_url_for_process(environ) == "redis://127.0.0.1:6379/15"
    assert "TEST_REDIS_DBS" not in environ


@pytest.mark.parametrize(
    ("worker", "expected"), [("gw0", "redis://127.0.0.1:6379/14"), ("gw1", "redis://127.0.0.1:6379/15")]
)
def test_each_worker_takes_the_next_database_after_redis_url_s(worker: str, expected: str) -> None:
    assert redis_url_for_process(xdist(worker, 2, REDIS_URL="redis://127.0.0.1:6379/14")) == expected


def test_the_databases_count_on_from_0_past_15() -> None:
    environ = xdist("gw2", 3, REDIS_URL="redis://:pw@cache.internal:6380/14?socket_timeout=5")

    assert redis_url_for_process(environ) == "redis://:pw@cache.internal:6380/0?socket_timeout=5"
    assert environ["TEST_REDIS_DBS"] == "14,15,0"


def test_a_process_started_by_a_worker_s_test_uses_the_same_database() -> None:
    environ = xdist("gw1", 2, REDIS_URL="redis://127.0.0.1:6379/7")
    chosen = redis_url_for_process(environ)

    # A Celery worker or web server the test starts inherits the environment as the settings left it.
    assert redis_url_for_process(dict(environ)) == chosen == "redis://127.0.0.1:6379/8"


def test_test_redis_dbs_names_the_databases() -> None:
    environ = xdist("gw1", 2, REDIS_URL="redis://127.0.0.1:6379/15", TEST_REDIS_DBS="15, 13")

    assert redis_url_for_process(environ) == "redis://127.0.0.1:6379/13"


def test_a_unix_socket_url_takes_the_database_as_a_parameter() -> None:
    assert with_database("unix:///run/redis.sock?db=2&socket_timeout=5", 9) == (
        "unix:///run/redis.sock?socket_timeout=5&db=9"
    )
    assert redis_url_for_process(xdist("gw1", 2, REDIS_URL="unix:///run/redis.sock?db=2")) == (
        "unix:///run/redis.sock?db=3"
    )


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        ("15", "names 1 Redis databases for 2 test processes"),
        ("15,15", "names a database twice"),
        ("15,16", "a Redis database is 0 to 15"),
        ("15,fourteen", "use Redis database numbers"),
    ],
)
def test_a_test_redis_dbs_that_cannot_serve_every_worker_is_refused(listed: str, message: str) -> None:
    environ = xdist("gw1", 2, REDIS_URL="redis://127.0.0.1:6379/15", TEST_REDIS_DBS=listed)

    with pytest.raises(ImproperlyConfigured) as raised:
        redis_url_for_process(environ)

    assert message in str(raised.value) and "TEST_REDIS_DBS=" in str(raised.value)


# --- the test settings, in the processes xdist and the tests start -------------------------------------------------

NAMES = ("TEST_BROKER_DIR", "TEST_CACHE_NAME", "PROMETHEUS_MULTIPROC_DIR", "REDIS_URL", "TEST_REDIS_DBS")
# The environment the test settings leave, and the Redis URL they read. Only the settings module is loaded (a tenth
# of what django.setup() costs), as every process the suite starts loads it first.
LOADED = (
    "import json, os; from config.settings import test; "
    f"print(json.dumps([{{name: os.environ.get(name) for name in {NAMES!r}}}, test.REDIS_URL]))"
)


def loaded(environment: dict[str, str]) -> tuple[dict[str, str], dict[str, Any], str | None]:
    """The environment of a process that loaded the test settings in `environment` (what it passes on to the
    processes it starts), the values of NAMES in it, and the Redis URL of its settings."""
    result = run([str(BIN / "python"), "-c", LOADED], environment)
    assert result.returncode == 0, result.stderr
    values, redis_url = json.loads(result.stdout)
    passed_on = {**environment, **{name: value for name, value in values.items() if value is not None}}
    return passed_on, values, redis_url


@pytest.mark.parametrize("redis_url", ["", "redis://127.0.0.1:6379/15"], ids=["file broker", "redis"])
def test_workers_started_by_the_controller_and_the_processes_their_tests_start_name_their_own(
    tmp_path: Path, redis_url: str
) -> None:
    """The controller loads the settings, which name its folders; xdist starts worker gw1 with its environment; a
    test of gw1 starts a Celery worker with gw1's. None of their processes touches a broker or a database here."""
    start = bare_environment(tmp_path, DJANGO_SETTINGS_MODULE="config.settings.test")
    if redis_url:
        start["REDIS_URL"] = redis_url

    controller, named, controller_redis = loaded(start)
    worker, worker_named, worker_redis = loaded({**controller, "PYTEST_XDIST_WORKER": "gw1"})
    _, celery_named, celery_redis = loaded(worker)

    for name in ("TEST_CACHE_NAME", "PROMETHEUS_MULTIPROC_DIR", *(() if redis_url else ("TEST_BROKER_DIR",))):
        assert worker_named[name].endswith("-gw1") and worker_named[name] != named[name], name
        assert celery_named[name] == worker_named[name], name
    assert controller_redis == (redis_url or None)
    # The worker count is unknown here (xdist sets it): gw1 is the second of two.
    assert worker_redis == celery_redis == ("redis://127.0.0.1:6379/0" if redis_url else None)
