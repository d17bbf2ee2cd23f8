"""The settings of JWT access tokens from an external provider (API_JWT_*), as config/settings/base.py reads them
from the environment."""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

pytestmark = pytest.mark.usefixtures("keys_forgotten")


BASE_DIR = Path(__file__).resolve().parent.parent.parent


# --- settings (config/settings/base.py) ---------------------------------------------------------------------------

API_JWT_NAMES = (
    "API_JWT_ISSUER",
    "API_JWT_AUDIENCE",
    "API_JWT_JWKS_URL",
    "API_JWT_ALGORITHMS",
    "API_JWT_TENANT_CLAIM",
    "API_JWT_LEEWAY_SECONDS",
    "API_JWT_JWKS_CACHE_SECONDS",
)


def _load_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **variables: str) -> dict[str, Any]:
    for name in API_JWT_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DJANGO_SECRET_KEY", os.environ["DJANGO_SECRET_KEY"])
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE_DIR / "config" / "settings" / "base.py"))


def test_external_tokens_are_off_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    loaded = _load_settings(monkeypatch, tmp_path)

    assert loaded["API_JWT_ISSUER"] == ""
    assert loaded["API_JWT_ALGORITHMS"] == ["RS256"]
    assert loaded["API_JWT_TENANT_CLAIM"] == "tenant"
    assert (loaded["API_JWT_LEEWAY_SECONDS"], loaded["API_JWT_JWKS_CACHE_SECONDS"]) == (30, 300)


def test_the_external_issuer_settings_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    loaded = _load_settings(
        monkeypatch,
        tmp_path,
        API_JWT_ISSUER="https://login.example.com/realms/ai/",
        API_JWT_AUDIENCE="ai-service",
        API_JWT_JWKS_URL="https://login.example.com/keys",
        API_JWT_ALGORITHMS="RS256, ES256",
        API_JWT_TENANT_CLAIM="org",
        API_JWT_LEEWAY_SECONDS="5",
        API_JWT_JWKS_CACHE_SECONDS="600",
    )

    assert loaded["API_JWT_ISSUER"] == "https://login.example.com/realms/ai/"
    assert loaded["API_JWT_AUDIENCE"] == "ai-service"
    assert loaded["API_JWT_JWKS_URL"] == "https://login.example.com/keys"
    assert loaded["API_JWT_ALGORITHMS"] == ["RS256", "ES256"]
    assert loaded["API_JWT_TENANT_CLAIM"] == "org"
    assert (loaded["API_JWT_LEEWAY_SECONDS"], loaded["API_JWT_JWKS_CACHE_SECONDS"]) == (5, 600)


def test_an_issuer_without_an_audience_stops_the_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="API_JWT_AUDIENCE"):
        _load_settings(monkeypatch, tmp_path, API_JWT_ISSUER="https://login.example.com")


@pytest.mark.parametrize("algorithms", ["none", "HS256", "RS256,HS256", "rs256", ""])
def test_only_public_key_algorithms_are_allowed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, algorithms: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match="API_JWT_ALGORITHMS"):
        _load_settings(monkeypatch, tmp_path, API_JWT_ALGORITHMS=algorithms)


@pytest.mark.parametrize(
    ("name", "value"),
    [("API_JWT_ISSUER", "login.example.com"), ("API_JWT_JWKS_URL", "file:///etc/passwd")],
)
def test_provider_urls_must_be_http_urls(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=name):
        _load_settings(monkeypatch, tmp_path, API_JWT_AUDIENCE="ai-service", **{name: value})
