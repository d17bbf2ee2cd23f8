"""One configuration loader (config/env.py): `.env`, then the local keys file, read the same way by manage.py, the web
server and Celery; variables set in the environment win over both files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from config import env
from tests.entry_points import (
    bare_environment,
    celery_report,
    good_keys,
    manage_setting,
    write_env_file,
    wsgi_setting,
)

LIFETIME = "settings.OAUTH2_PROVIDER['ACCESS_TOKEN_EXPIRE_SECONDS']"


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path


def test_manage_py_reads_a_setting_from_dotenv(state: Path) -> None:
    write_env_file(state / ".env", OAUTH_TOKEN_LIFETIME_SECONDS="777", **good_keys())

    result = manage_setting(bare_environment(state), LIFETIME)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "777"


def test_the_web_application_reads_a_setting_from_dotenv(state: Path) -> None:
    write_env_file(state / ".env", OAUTH_TOKEN_LIFETIME_SECONDS="778", **good_keys())

    result = wsgi_setting(bare_environment(state), LIFETIME)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "778"


def test_the_celery_app_of_worker_and_beat_reads_a_setting_from_dotenv(state: Path) -> None:
    write_env_file(state / ".env", REDIS_URL="redis://dotenv-probe.invalid:6379/3", **good_keys())

    result = celery_report(bare_environment(state))

    assert result.returncode == 0, result.stderr
    assert "CELERY_BROKER_URL: 'redis://dotenv-probe.invalid:6379/3'" in result.stdout


def test_a_bad_value_in_dotenv_stops_manage_py_naming_it(state: Path) -> None:
    write_env_file(state / ".env", DJANGO_DEBUG="maybe", **good_keys())

    result = manage_setting(bare_environment(state), "settings.DEBUG")

    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr


def test_a_variable_set_in_the_environment_wins_over_dotenv(state: Path) -> None:
    write_env_file(state / ".env", OAUTH_TOKEN_LIFETIME_SECONDS="777", **good_keys())

    result = manage_setting(bare_environment(state, OAUTH_TOKEN_LIFETIME_SECONDS="901"), LIFETIME)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "901"


def test_dotenv_wins_over_the_local_keys_file(state: Path) -> None:
    from_dotenv, from_local = good_keys(), good_keys()
    write_env_file(state / ".env", DJANGO_SECRET_KEY=from_dotenv["DJANGO_SECRET_KEY"])
    write_env_file(state / "var" / "local.env", **from_local)

    result = manage_setting(bare_environment(state), "(settings.SECRET_KEY, settings.EXPORT_SIGNING_KEY)")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr((from_dotenv["DJANGO_SECRET_KEY"], from_local["EXPORT_SIGNING_KEY"]))


def test_the_state_folder_named_in_dotenv_is_where_the_local_keys_are_read(state: Path) -> None:
    local = good_keys()
    write_env_file(state / "elsewhere" / "local.env", **local)
    write_env_file(state / ".env", APP_VAR_DIR=str(state / "elsewhere"))
    environment = bare_environment(state)
    del environment["APP_VAR_DIR"]

    result = manage_setting(environment, "settings.SECRET_KEY")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(local["DJANGO_SECRET_KEY"])


def test_relative_paths_are_taken_from_the_project_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_VAR_DIR", "var/somewhere")
    monkeypatch.setenv("APP_ENV_FILE", "settings.env")

    assert env.var_dir() == env.BASE_DIR / "var" / "somewhere"
    assert env.local_keys_file() == env.BASE_DIR / "var" / "somewhere" / "local.env"
    assert env.env_file() == env.BASE_DIR / "settings.env"


def test_load_env_fills_only_what_the_environment_lacks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write_env_file(tmp_path / ".env", LOADER_PROBE_A="from .env", LOADER_PROBE_B="from .env")
    write_env_file(tmp_path / "var" / "local.env", LOADER_PROBE_B="from local.env", LOADER_PROBE_C="from local.env")
    monkeypatch.setenv("APP_ENV_FILE", str(tmp_path / ".env"))
    monkeypatch.setenv("APP_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("LOADER_PROBE_A", "from the environment")
    for name in ("LOADER_PROBE_B", "LOADER_PROBE_C"):
        monkeypatch.delenv(name, raising=False)

    env.load_env()

    try:
        assert os.environ["LOADER_PROBE_A"] == "from the environment"
        assert os.environ["LOADER_PROBE_B"] == "from .env"
        assert os.environ["LOADER_PROBE_C"] == "from local.env"
    finally:
        for name in ("LOADER_PROBE_B", "LOADER_PROBE_C"):
            os.environ.pop(name, None)
