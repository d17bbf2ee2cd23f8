"""The installation's keys (config/keys.py): required and checked in production at every entry point, never derived
from the secret key, generated once for a local console, and readable by the suite's own worker processes."""

from __future__ import annotations

import base64
import hashlib
import os
import runpy
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from apps.agents import crypto
from config import keys
from tests.entry_points import ROOT, bare_environment, good_keys, manage_setting, run, start, write_env_file

KEY_NAMES = [spec.name for spec in keys.SPECS]
STRONG_FERNET = keys.make_fernet_key()

BAD_SECRET_KEYS = {
    "missing": "",
    "short": "x8Kq2mZ7pLw4RtY9vB3nC6",
    "low entropy": "ab" * 40,
    "a repeated pattern": "Kq2mZ7pLw4RtY9vB3nC6" * 4,
    "Django's insecure default": "django-insecure-" + keys.make_secret_key(),
    "the compose file's old default": "change-me-in-production" + keys.make_secret_key(),
    ".env.example's old placeholder": "change-me-to-a-long-random-string-" + keys.make_secret_key(),
}


@pytest.fixture
def clean_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """The four keys set to good values, DEBUG off, state under tmp_path; a test then spoils one."""
    monkeypatch.setenv("APP_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DJANGO_DEBUG", raising=False)
    for name, value in good_keys().items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def load_base_settings() -> dict[str, Any]:
    return runpy.run_path(str(ROOT / "config" / "settings" / "base.py"))


# --- what a good key is ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", keys.SPECS, ids=lambda spec: spec.name)
def test_generated_keys_are_good_production_keys(spec: keys.KeySpec) -> None:
    values = {name: value for name, value in good_keys().items()}

    assert keys.problems(values, production=True) == []
    assert len(values[spec.name]) >= spec.min_length


@pytest.mark.parametrize("kind", list(BAD_SECRET_KEYS))
def test_a_weak_secret_key_is_refused_in_production_naming_it_and_how_to_make_one(kind: str) -> None:
    values = {**good_keys(), "DJANGO_SECRET_KEY": BAD_SECRET_KEYS[kind]}

    found = keys.problems(values, production=True)

    assert found[0].startswith("DJANGO_SECRET_KEY ")
    assert 'python3 -c "import secrets; print(secrets.token_urlsafe(64))"' in found[0]
    assert not any(problem.startswith(("EXPORT_SIGNING_KEY", "TOKEN_ENCRYPTION_KEYS")) for problem in found)


@pytest.mark.parametrize("name", ["EXPORT_SIGNING_KEY", "API_CLIENT_SECRET_PEPPER"])
@pytest.mark.parametrize("value", ["", "s3cr3t-but-only-24-chars", "z" * 64, "your-secret-here-" + "k" * 40])
def test_a_weak_hmac_key_is_refused_in_production(name: str, value: str) -> None:
    found = keys.problems({**good_keys(), name: value}, production=True)

    assert found[0].startswith(f"{name} ")
    assert "Make one with: python3 -c" in found[0]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not-a-fernet-key",
        base64.urlsafe_b64encode(b"sixteen-bytes!!!").decode(),
        # A key made for this run: named, so that pytest-xdist's processes collect the same test ids.
        pytest.param(f"{STRONG_FERNET},garbage", id="a-good-key-then-garbage"),
        base64.urlsafe_b64encode(bytes(32)).decode(),
    ],
)
def test_unusable_token_encryption_keys_are_refused_in_production(value: str) -> None:
    found = keys.problems({**good_keys(), "TOKEN_ENCRYPTION_KEYS": value}, production=True)

    assert found[0].startswith("TOKEN_ENCRYPTION_KEYS ")
    assert "base64.urlsafe_b64encode(os.urandom(32))" in found[0]


def test_several_fernet_keys_are_accepted_the_first_encrypting() -> None:
    value = f"{keys.make_fernet_key()}, {keys.make_fernet_key()}"

    assert keys.problems({**good_keys(), "TOKEN_ENCRYPTION_KEYS": value}, production=True) == []


def test_with_debug_on_weak_keys_pass_but_missing_or_broken_ones_do_not() -> None:
    weak = {"DJANGO_SECRET_KEY": "dev", "EXPORT_SIGNING_KEY": "dev", "API_CLIENT_SECRET_PEPPER": "dev"}

    assert keys.problems({**good_keys(), **weak}, production=False) == []
    assert keys.problems({**good_keys(), "EXPORT_SIGNING_KEY": ""}, production=False)[0].startswith(
        "EXPORT_SIGNING_KEY is not set"
    )
    assert keys.problems({**good_keys(), "TOKEN_ENCRYPTION_KEYS": "nope"}, production=False)[0].startswith(
        "TOKEN_ENCRYPTION_KEYS entry 1 is not a Fernet key"
    )


def test_the_key_commands_in_the_messages_make_good_keys() -> None:
    for spec in keys.SPECS:
        command = spec.command.removeprefix("python3 -c ").strip('"')
        made = subprocess.run([sys.executable, "-c", command], capture_output=True, text=True, check=True)

        assert keys.problems({**good_keys(), spec.name: made.stdout.strip()}, production=True) == []


# --- the settings refuse to start ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", KEY_NAMES)
def test_the_settings_refuse_to_start_without_a_key_in_production(clean_keys: pytest.MonkeyPatch, name: str) -> None:
    clean_keys.delenv(name)

    with pytest.raises(ImproperlyConfigured) as raised:
        load_base_settings()

    assert str(raised.value).startswith(f"{name} is not set. Make one with: ")


@pytest.mark.parametrize("kind", list(BAD_SECRET_KEYS))
def test_the_settings_refuse_a_weak_secret_key_in_production(clean_keys: pytest.MonkeyPatch, kind: str) -> None:
    clean_keys.setenv("DJANGO_SECRET_KEY", BAD_SECRET_KEYS[kind])

    with pytest.raises(ImproperlyConfigured) as raised:
        load_base_settings()

    assert str(raised.value).startswith("DJANGO_SECRET_KEY ")


def test_the_settings_take_the_keys_as_they_are_given(clean_keys: pytest.MonkeyPatch) -> None:
    first, second = keys.make_fernet_key(), keys.make_fernet_key()
    clean_keys.setenv("TOKEN_ENCRYPTION_KEYS", f"{first},{second}")

    loaded = load_base_settings()

    assert loaded["SECRET_KEY"] == os.environ["DJANGO_SECRET_KEY"]
    assert loaded["EXPORT_SIGNING_KEY"] == os.environ["EXPORT_SIGNING_KEY"]
    assert loaded["API_CLIENT_SECRET_PEPPER"] == os.environ["API_CLIENT_SECRET_PEPPER"]
    assert loaded["TOKEN_ENCRYPTION_KEYS"] == [first, second]


@pytest.mark.parametrize("entry_point", ["web", "worker", "beat", "manage.py"])
def test_every_entry_point_refuses_to_start_on_a_well_known_secret_key(tmp_path: Path, entry_point: str) -> None:
    environment = bare_environment(tmp_path, **{**good_keys(), "DJANGO_SECRET_KEY": "change-me-in-production"})

    result = start(entry_point, environment, tmp_path)

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY is too short" in result.stdout + result.stderr
    assert 'print(secrets.token_urlsafe(64))"' in result.stdout + result.stderr


@pytest.mark.parametrize("entry_point", ["web", "worker", "beat", "manage.py"])
def test_every_entry_point_refuses_to_start_without_the_token_encryption_keys(tmp_path: Path, entry_point: str) -> None:
    environment = bare_environment(tmp_path, **good_keys())
    del environment["TOKEN_ENCRYPTION_KEYS"]

    result = start(entry_point, environment, tmp_path)

    assert result.returncode != 0
    assert "ImproperlyConfigured: TOKEN_ENCRYPTION_KEYS is not set" in result.stdout + result.stderr


# --- local keys (make run) -----------------------------------------------------------------------------------------


def test_local_keys_are_made_once_readable_only_by_their_owner(tmp_path: Path) -> None:
    environment = bare_environment(tmp_path)
    command = [sys.executable, "-m", "config.keys", "local"]

    first = run(command, environment)
    made = (tmp_path / "var" / "local.env").read_text()
    second = run(command, environment)

    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "written to" in first.stdout and second.stdout == ""
    assert (tmp_path / "var" / "local.env").read_text() == made
    assert stat.S_IMODE((tmp_path / "var" / "local.env").stat().st_mode) == 0o600
    assert all(f"\n{name}=" in made for name in KEY_NAMES)


def test_a_second_terminal_reads_the_local_keys_with_no_configuration(tmp_path: Path) -> None:
    environment = bare_environment(tmp_path)
    run([sys.executable, "-m", "config.keys", "local"], environment)

    result = manage_setting(environment, "(settings.DEBUG, settings.SECRET_KEY)")

    assert result.returncode == 0, result.stderr
    made = dict(line.split("=", 1) for line in (tmp_path / "var" / "local.env").read_text().splitlines()[1:])
    assert result.stdout.strip() == repr((False, made["DJANGO_SECRET_KEY"]))


def test_local_keys_fill_in_only_what_the_file_lacks(tmp_path: Path) -> None:
    path = write_env_file(tmp_path / "local.env", DJANGO_SECRET_KEY="kept-" + keys.make_secret_key())
    kept = path.read_text()

    added = keys.ensure_local_keys(path)

    assert added == ["EXPORT_SIGNING_KEY", "TOKEN_ENCRYPTION_KEYS", "API_CLIENT_SECRET_PEPPER"]
    assert kept.strip() in path.read_text()


def test_an_older_local_console_keeps_its_secret_key_and_reads_its_token_values(tmp_path: Path) -> None:
    old_secret = keys.make_secret_key()
    (tmp_path / "secret_key").write_text(old_secret)
    stored_before = Fernet(_derived_the_old_way(old_secret)).encrypt(b"sk-live-value")

    keys.ensure_local_keys(tmp_path / "local.env")

    made = dict(line.split("=", 1) for line in (tmp_path / "local.env").read_text().splitlines()[1:])
    assert made["DJANGO_SECRET_KEY"] == old_secret
    new, legacy = made["TOKEN_ENCRYPTION_KEYS"].split(",")
    assert legacy == _derived_the_old_way(old_secret) and new != legacy
    with override_settings(TOKEN_ENCRYPTION_KEYS=[new, legacy]):
        crypto._fernet.cache_clear()
        try:
            assert crypto.decrypt_value(stored_before.decode()) == "sk-live-value"
        finally:
            crypto._fernet.cache_clear()


# --- never derived; existing installations ------------------------------------------------------------------------


def _derived_the_old_way(secret_key: str) -> str:
    """How versions before explicit keys made the token key (apps/agents/crypto.py then)."""
    return base64.urlsafe_b64encode(hashlib.sha256(f"token-encryption:{secret_key}".encode()).digest()).decode()


@pytest.mark.django_db
def test_token_values_are_encrypted_with_the_configured_key_not_one_derived_from_the_secret_key() -> None:
    crypto._fernet.cache_clear()
    encrypted = crypto.encrypt_value("sk-live-value").encode()

    assert Fernet(settings.TOKEN_ENCRYPTION_KEYS[0]).decrypt(encrypted) == b"sk-live-value"
    with pytest.raises(InvalidToken):
        Fernet(_derived_the_old_way(settings.SECRET_KEY)).decrypt(encrypted)


def test_the_export_signing_key_is_not_derived_from_the_secret_key() -> None:
    assert os.environ["EXPORT_SIGNING_KEY"] == settings.EXPORT_SIGNING_KEY
    assert settings.SECRET_KEY not in settings.EXPORT_SIGNING_KEY


def test_the_legacy_token_key_command_prints_the_key_older_versions_derived(tmp_path: Path) -> None:
    old_secret = "change-me-in-production"  # what the compose file used to give every installation

    result = run(
        [sys.executable, "-m", "config.keys", "legacy-token-key"],
        bare_environment(tmp_path, DJANGO_SECRET_KEY=old_secret),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == _derived_the_old_way(old_secret)


def test_the_new_command_prints_a_complete_good_set(tmp_path: Path) -> None:
    result = run([sys.executable, "-m", "config.keys", "new"], bare_environment(tmp_path))

    printed = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert list(printed) == KEY_NAMES
    assert keys.problems(printed, production=True) == []


# --- the suite itself ---------------------------------------------------------------------------------------------


def test_processes_the_suite_starts_read_the_same_keys_as_the_suite() -> None:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    expression = (
        "(settings.SECRET_KEY, settings.EXPORT_SIGNING_KEY, settings.TOKEN_ENCRYPTION_KEYS, "
        "settings.API_CLIENT_SECRET_PEPPER)"
    )

    result = manage_setting(environment, expression)

    assert result.returncode == 0, result.stderr
    expected = (
        settings.SECRET_KEY,
        settings.EXPORT_SIGNING_KEY,
        settings.TOKEN_ENCRYPTION_KEYS,
        settings.API_CLIENT_SECRET_PEPPER,
    )
    assert result.stdout.strip() == repr(expected)
