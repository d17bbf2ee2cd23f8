"""Settings read from the environment (config/env.py, config/settings/base.py): good values parse, bad ones stop the
process with a message that names the variable."""

from __future__ import annotations

import os
import runpy
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_database, env_float, env_int, env_list, env_redis_url

BASE_DIR = Path(__file__).resolve().parent.parent
SETTINGS_NAMES = (
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "REDIS_URL",
    "OAUTH_TOKEN_LIFETIME_SECONDS",
    "LOG_FORMAT",
    "JOB_WAIT_SECONDS",
    "JOB_SOFT_TIME_LIMIT_SECONDS",
    "JOB_TIME_LIMIT_SECONDS",
    "AGENT_RUN_TIMEOUT_SECONDS",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """None of the variables under test is set unless the test sets it (the suite itself may run with some)."""
    for name in SETTINGS_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# --- env_bool ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "True", "TRUE", "yes", "on", " true "])
def test_env_bool_reads_true(clean_env: pytest.MonkeyPatch, raw: str) -> None:
    clean_env.setenv("DJANGO_DEBUG", raw)

    assert env_bool("DJANGO_DEBUG", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", "off", ""])
def test_env_bool_reads_false(clean_env: pytest.MonkeyPatch, raw: str) -> None:
    clean_env.setenv("DJANGO_DEBUG", raw)

    assert env_bool("DJANGO_DEBUG", True) is False


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_falls_back_to_the_default_when_unset(default: bool) -> None:
    assert env_bool("DJANGO_DEBUG", default) is default


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled", "truee"])
def test_env_bool_refuses_anything_else_naming_the_variable(clean_env: pytest.MonkeyPatch, raw: str) -> None:
    clean_env.setenv("DJANGO_DEBUG", raw)

    with pytest.raises(ImproperlyConfigured) as raised:
        env_bool("DJANGO_DEBUG", False)

    assert str(raised.value).startswith(f"DJANGO_DEBUG={raw!r} is not a boolean")


# --- env_int and env_float --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [("600", 600), ("60", 60), (" 3600 ", 3600), ("86400", 86400)])
def test_env_int_reads_whole_numbers(clean_env: pytest.MonkeyPatch, raw: str, expected: int) -> None:
    clean_env.setenv("OAUTH_TOKEN_LIFETIME_SECONDS", raw)

    assert env_int("OAUTH_TOKEN_LIFETIME_SECONDS", 14400, minimum=60) == expected


@pytest.mark.parametrize("raw", [None, "", "  "])
def test_env_int_falls_back_to_the_default_when_unset_or_blank(clean_env: pytest.MonkeyPatch, raw: str | None) -> None:
    if raw is not None:
        clean_env.setenv("OAUTH_TOKEN_LIFETIME_SECONDS", raw)

    assert env_int("OAUTH_TOKEN_LIFETIME_SECONDS", 14400, minimum=60) == 14400


@pytest.mark.parametrize("raw", ["soon", "4h", "1.5", "1e3", "0x10"])
def test_env_int_refuses_a_non_integer_naming_the_variable(clean_env: pytest.MonkeyPatch, raw: str) -> None:
    clean_env.setenv("OAUTH_TOKEN_LIFETIME_SECONDS", raw)

    with pytest.raises(ImproperlyConfigured) as raised:
        env_int("OAUTH_TOKEN_LIFETIME_SECONDS", 14400, minimum=60)

    assert str(raised.value) == f"OAUTH_TOKEN_LIFETIME_SECONDS={raw!r} is not a whole number"


@pytest.mark.parametrize("raw", ["59", "0", "-3600"])
def test_env_int_refuses_a_value_below_the_minimum(clean_env: pytest.MonkeyPatch, raw: str) -> None:
    clean_env.setenv("OAUTH_TOKEN_LIFETIME_SECONDS", raw)

    with pytest.raises(ImproperlyConfigured) as raised:
        env_int("OAUTH_TOKEN_LIFETIME_SECONDS", 14400, minimum=60)

    assert str(raised.value) == f"OAUTH_TOKEN_LIFETIME_SECONDS={raw!r} must be at least 60"


@pytest.mark.parametrize(("raw", "expected"), [("2.5", 2.5), ("0", 0.0), ("10", 10.0)])
def test_env_float_reads_numbers(clean_env: pytest.MonkeyPatch, raw: str, expected: float) -> None:
    clean_env.setenv("JOB_WAIT_SECONDS", raw)

    assert env_float("JOB_WAIT_SECONDS", 10.0) == expected


@pytest.mark.parametrize("raw", ["ten", "nan", "-1"])
def test_env_float_refuses_a_bad_number_naming_the_variable(clean_env: pytest.MonkeyPatch, raw: str) -> None:
    clean_env.setenv("JOB_WAIT_SECONDS", raw)

    with pytest.raises(ImproperlyConfigured) as raised:
        env_float("JOB_WAIT_SECONDS", 10.0)

    assert str(raised.value).startswith(f"JOB_WAIT_SECONDS={raw!r} ")


# --- env_list ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("console.example.com", ["console.example.com"]),
        ("a.example, b.example", ["a.example", "b.example"]),
        (" a.example ,,b.example, ", ["a.example", "b.example"]),
        ("", []),
    ],
)
def test_env_list_splits_on_commas_and_drops_blanks(
    clean_env: pytest.MonkeyPatch, raw: str, expected: list[str]
) -> None:
    clean_env.setenv("DJANGO_ALLOWED_HOSTS", raw)

    assert env_list("DJANGO_ALLOWED_HOSTS", ["localhost"]) == expected


def test_env_list_falls_back_to_the_default_when_unset() -> None:
    assert env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"]) == ["127.0.0.1", "localhost"]


# --- env_database ------------------------------------------------------------------------------------------------


def test_env_database_reads_a_postgres_url(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "postgres://console:s3cret@db.internal:6543/aiconsole")

    config = env_database("DATABASE_URL", "sqlite:///unused.sqlite3")

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["NAME"], config["USER"], config["PASSWORD"]) == ("aiconsole", "console", "s3cret")
    assert (config["HOST"], config["PORT"]) == ("db.internal", 6543)
    assert config["CONN_MAX_AGE"] == 60
    assert config["CONN_HEALTH_CHECKS"] is True


def test_env_database_reads_a_sqlite_url(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")

    config = env_database("DATABASE_URL", "postgres://unused/unused")

    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(tmp_path / "db.sqlite3")


@pytest.mark.parametrize("raw", [None, ""])
def test_env_database_falls_back_to_the_default_when_unset_or_empty(
    clean_env: pytest.MonkeyPatch, raw: str | None
) -> None:
    if raw is not None:
        clean_env.setenv("DATABASE_URL", raw)

    config = env_database("DATABASE_URL", "sqlite:////srv/console/db.sqlite3")

    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == "/srv/console/db.sqlite3"


@pytest.mark.parametrize(
    "raw",
    [
        "nonsense",
        "localhost:5432/aiconsole",
        "postgres//localhost/aiconsole",
        "http://db.internal/aiconsole",
        "postgres://console@db.internal:notaport/aiconsole",
        "postgres://console@db.internal:99999/aiconsole",
    ],
)
def test_env_database_refuses_a_malformed_url_naming_the_variable(clean_env: pytest.MonkeyPatch, raw: str) -> None:
    clean_env.setenv("DATABASE_URL", raw)

    with pytest.raises(ImproperlyConfigured) as raised:
        env_database("DATABASE_URL", "sqlite:///unused.sqlite3")

    assert str(raised.value).startswith(f"DATABASE_URL={raw!r}")


# --- env_redis_url -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["redis://127.0.0.1:6379/0", "rediss://:pw@cache.internal:6380/1", "unix:///run/redis.sock"]
)
def test_env_redis_url_reads_redis_urls(clean_env: pytest.MonkeyPatch, raw: str) -> None:
    clean_env.setenv("REDIS_URL", raw)

    assert env_redis_url("REDIS_URL") == raw


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_env_redis_url_is_none_when_unset_or_blank(clean_env: pytest.MonkeyPatch, raw: str | None) -> None:
    if raw is not None:
        clean_env.setenv("REDIS_URL", raw)

    assert env_redis_url("REDIS_URL") is None


@pytest.mark.parametrize("raw", ["127.0.0.1:6379", "http://127.0.0.1:6379", "amqp://guest@rabbit//", "redis"])
def test_env_redis_url_refuses_other_urls_naming_the_variable(clean_env: pytest.MonkeyPatch, raw: str) -> None:
    clean_env.setenv("REDIS_URL", raw)

    with pytest.raises(ImproperlyConfigured) as raised:
        env_redis_url("REDIS_URL")

    assert str(raised.value) == f"REDIS_URL={raw!r} must start with redis://, rediss:// or unix://"


# --- config/settings/base.py reads these variables ------------------------------------------------------------------


def load_base_settings(env: pytest.MonkeyPatch, tmp_path: Path, **variables: str) -> dict[str, Any]:
    """A fresh evaluation of config/settings/base.py under the given variables, its state kept in tmp_path."""
    env.setenv("APP_VAR_DIR", str(tmp_path))
    env.setenv("DJANGO_SECRET_KEY", os.environ["DJANGO_SECRET_KEY"])
    for name, value in variables.items():
        env.setenv(name, value)
    return runpy.run_path(str(BASE_DIR / "config" / "settings" / "base.py"))


def test_the_settings_take_their_values_from_the_environment(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = load_base_settings(
        clean_env,
        tmp_path,
        DJANGO_DEBUG="true",
        DJANGO_ALLOWED_HOSTS="console.example.com, api.example.com",
        DATABASE_URL="postgres://console@db.internal:5432/aiconsole",
        REDIS_URL="redis://cache.internal:6379/2",
        OAUTH_TOKEN_LIFETIME_SECONDS="600",
        LOG_FORMAT=" JSON",
    )

    assert settings["DEBUG"] is True
    assert settings["ALLOWED_HOSTS"] == ["console.example.com", "api.example.com"]
    assert settings["DATABASES"]["default"]["ENGINE"] == "apps.core.postgresql"
    assert settings["DATABASES"]["default"]["HOST"] == "db.internal"
    assert settings["CELERY_BROKER_URL"] == "redis://cache.internal:6379/2"
    assert settings["OAUTH2_PROVIDER"]["ACCESS_TOKEN_EXPIRE_SECONDS"] == 600
    # JSON lines: Celery leaves the root logger to them.
    assert settings["LOG_FORMAT"] == "json" and settings["CELERY_WORKER_HIJACK_ROOT_LOGGER"] is False
    assert settings["LOGGING"]["handlers"]["console"]["formatter"] == "json"


@pytest.mark.parametrize(
    ("variables", "options"),
    [
        ({"APP_WEB_PROCESS": "true"}, {"server_side_binding": True, "prepare_threshold": 5}),
        ({"APP_WEB_PROCESS": "true", "DATABASE_PREPARE_THRESHOLD": "0"}, {"server_side_binding": True}),
        ({}, {"server_side_binding": True}),  # a worker, manage.py: values bound apart, nothing prepared
    ],
)
def test_postgresql_binds_values_apart_and_web_processes_prepare_frequent_statements(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, variables: dict[str, str], options: dict[str, Any]
) -> None:
    clean_env.delenv("APP_WEB_PROCESS", raising=False)
    settings = load_base_settings(
        clean_env, tmp_path, DATABASE_URL="postgres://console@db.internal:5432/aiconsole", **variables
    )

    chosen = settings["DATABASES"]["default"]["OPTIONS"]
    assert {name: chosen[name] for name in ("server_side_binding", "prepare_threshold") if name in chosen} == options


def test_the_settings_defaults_need_no_environment(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = load_base_settings(clean_env, tmp_path)

    assert settings["DEBUG"] is False
    assert settings["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost"]
    assert settings["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings["DATABASES"]["default"]["NAME"] == str(tmp_path / "db.sqlite3")
    assert settings["CELERY_BROKER_URL"] == "filesystem://"
    assert settings["OAUTH2_PROVIDER"]["ACCESS_TOKEN_EXPIRE_SECONDS"] == 4 * 3600
    assert settings["LOG_FORMAT"] == "plain" and settings["CELERY_WORKER_HIJACK_ROOT_LOGGER"] is True


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("DJANGO_DEBUG", "maybe"),
        ("DATABASE_URL", "postgres//db.internal/aiconsole"),
        ("REDIS_URL", "cache.internal:6379"),
        ("OAUTH_TOKEN_LIFETIME_SECONDS", "4 hours"),
        ("OAUTH_TOKEN_LIFETIME_SECONDS", "30"),
        ("LOG_FORMAT", "xml"),
    ],
)
def test_the_settings_refuse_a_bad_value_naming_the_variable(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, name: str, raw: str
) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        load_base_settings(clean_env, tmp_path, **{name: raw})

    assert str(raised.value).startswith(f"{name}={raw!r}")


def test_an_agent_run_ends_before_a_lowered_soft_time_limit_unless_told_otherwise(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert load_base_settings(clean_env, tmp_path)["AGENT_RUN_TIMEOUT_SECONDS"] == 120.0
    lowered = load_base_settings(clean_env, tmp_path, JOB_SOFT_TIME_LIMIT_SECONDS="10", JOB_TIME_LIMIT_SECONDS="20")
    assert lowered["AGENT_RUN_TIMEOUT_SECONDS"] == 9.0

    with pytest.raises(ImproperlyConfigured, match="AGENT_RUN_TIMEOUT_SECONDS must be less than"):
        load_base_settings(clean_env, tmp_path, AGENT_RUN_TIMEOUT_SECONDS="300")


# --- a real process ----------------------------------------------------------------------------------------------


def run_manage_check(**variables: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_NAMES}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # manage.py's own default, as an operator runs it
    env.update(variables)
    return subprocess.run(
        [str(BASE_DIR / ".venv" / "bin" / "python"), "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_manage_py_check_stops_on_a_bad_django_debug_naming_it() -> None:
    result = run_manage_check(DJANGO_DEBUG="maybe")

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_DEBUG='maybe' is not a boolean" in result.stderr
    assert "System check identified no issues" not in result.stdout


def test_manage_py_check_passes_with_a_good_django_debug() -> None:
    result = run_manage_check(DJANGO_DEBUG="false")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
