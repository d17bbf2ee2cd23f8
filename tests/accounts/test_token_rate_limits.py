"""Rate limits of `POST /oauth/token`, per client id and per address: 429 with Retry-After in the endpoint's error
shape, counted in the shared cache."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from apps.accounts.services import IssuedClient
from apps.tenants.models import Tenant
from tests.conftest import READ, empty_cache
from tests.test_settings import load_base_settings

TOKEN_URL = "/oauth/token"


@pytest.fixture
def issued(tenant: Tenant, issue_client: Callable[..., IssuedClient]) -> IssuedClient:
    return issue_client(tenant, READ)


@pytest.fixture
def per_client_3(settings: Any) -> None:
    settings.OAUTH_TOKEN_RATE_PER_CLIENT = "3/m"
    settings.OAUTH_TOKEN_RATE_PER_ADDRESS = "1000/m"


@pytest.fixture
def per_address_3(settings: Any) -> None:
    settings.OAUTH_TOKEN_RATE_PER_CLIENT = "1000/m"
    settings.OAUTH_TOKEN_RATE_PER_ADDRESS = "3/m"


def _post(client_id: str, secret: str, address: str = "192.0.2.1") -> Any:
    return Client(REMOTE_ADDR=address).post(
        TOKEN_URL, {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )


def _assert_too_many(response: Any) -> None:
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60 + 5
    body = response.json()
    assert body["code"] == 429
    assert body["status"] == "Too Many Requests"
    assert body["error"] == "slow_down"
    assert "retry in" in body["message"] and body["message"] == body["error_description"]
    assert "access_token" not in body


def test_it_answers_429_with_retry_after_once_a_client_id_is_over_its_limit(
    issued: IssuedClient, per_client_3: None
) -> None:
    statuses = [_post(issued.client.client_id, "wrong").status_code for _ in range(3)]

    over = _post(issued.client.client_id, issued.client_secret)

    assert statuses == [401, 401, 401]
    _assert_too_many(over)
    assert "client id" in over.json()["message"]


def test_the_client_id_limit_holds_from_every_address(issued: IssuedClient, per_client_3: None) -> None:
    for n in range(3):
        _post(issued.client.client_id, "wrong", address=f"192.0.2.{n + 10}")

    _assert_too_many(_post(issued.client.client_id, issued.client_secret, address="198.51.100.7"))


def test_a_client_id_over_its_limit_does_not_hold_back_another_client(
    tenant: Tenant, issue_client: Callable[..., IssuedClient], per_client_3: None
) -> None:
    attacked, other = issue_client(tenant, READ), issue_client(tenant, READ)
    for _ in range(4):
        _post(attacked.client.client_id, "wrong")

    assert _post(other.client.client_id, other.client_secret).status_code == 200


def test_client_ids_sent_with_http_basic_count_against_the_same_limit(issued: IssuedClient, per_client_3: None) -> None:
    basic = base64.b64encode(f"{issued.client.client_id}:wrong".encode()).decode()
    for _ in range(3):
        Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {basic}")

    _assert_too_many(_post(issued.client.client_id, issued.client_secret))


def test_it_answers_429_once_an_address_is_over_its_limit_whatever_the_client_ids(
    issued: IssuedClient, per_address_3: None
) -> None:
    for n in range(3):
        assert _post(f"guessed-client-{n}", "wrong").status_code == 401

    over = _post(issued.client.client_id, issued.client_secret)

    _assert_too_many(over)
    assert "address" in over.json()["message"]


def test_an_address_over_its_limit_does_not_hold_back_another_address(
    issued: IssuedClient, per_address_3: None
) -> None:
    for n in range(4):
        _post(f"guessed-client-{n}", "wrong", address="192.0.2.1")

    assert _post(issued.client.client_id, issued.client_secret, address="198.51.100.7").status_code == 200


def test_malformed_requests_count_against_the_address(issued: IssuedClient, per_address_3: None) -> None:
    for _ in range(3):
        assert _post("nul\x00", "wrong").status_code == 400

    _assert_too_many(_post(issued.client.client_id, issued.client_secret))


def test_the_counters_live_in_the_shared_cache(issued: IssuedClient, per_client_3: None) -> None:
    for _ in range(4):
        _post(issued.client.client_id, "wrong")

    empty_cache()

    assert _post(issued.client.client_id, issued.client_secret).status_code == 200


def test_the_shared_cache_is_one_every_process_sees(settings: Any) -> None:
    backend = settings.CACHES["default"]["BACKEND"]

    assert backend in (
        "django.core.cache.backends.redis.RedisCache",
        "django.core.cache.backends.filebased.FileBasedCache",
    )


# --- settings -------------------------------------------------------------------------------------------------------


def test_the_cache_is_redis_when_redis_url_is_set_and_files_under_var_otherwise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    local = load_base_settings(monkeypatch, tmp_path)
    shared = load_base_settings(monkeypatch, tmp_path, REDIS_URL="redis://cache.internal:6379/2")

    assert local["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.filebased.FileBasedCache"
    assert local["CACHES"]["default"]["LOCATION"] == str(tmp_path / "cache")
    assert shared["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert shared["CACHES"]["default"]["LOCATION"] == "redis://cache.internal:6379/2"


def test_the_rate_limits_are_settings_with_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("OAUTH_TOKEN_RATE_PER_CLIENT", "OAUTH_TOKEN_RATE_PER_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    defaults = load_base_settings(monkeypatch, tmp_path)
    chosen = load_base_settings(
        monkeypatch, tmp_path, OAUTH_TOKEN_RATE_PER_CLIENT="5/10m", OAUTH_TOKEN_RATE_PER_ADDRESS="100/h"
    )

    assert (defaults["OAUTH_TOKEN_RATE_PER_CLIENT"], defaults["OAUTH_TOKEN_RATE_PER_ADDRESS"]) == ("30/m", "120/m")
    assert (chosen["OAUTH_TOKEN_RATE_PER_CLIENT"], chosen["OAUTH_TOKEN_RATE_PER_ADDRESS"]) == ("5/10m", "100/h")


@pytest.mark.parametrize("raw", ["ten/m", "10", "10/x", "0/m", "10/0m", "-1/m"])
def test_a_rate_that_is_not_one_stops_the_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, raw: str
) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        load_base_settings(monkeypatch, tmp_path, OAUTH_TOKEN_RATE_PER_CLIENT=raw)

    assert str(raised.value).startswith(f"OAUTH_TOKEN_RATE_PER_CLIENT={raw!r}")
