"""The external provider's keys behind JWT access tokens: fetched once, refreshed when they expire or rotate, never
asked for again and again by made-up key ids, and never waited for by tokens that do not need them."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

import jwt
import pytest

from apps.accounts.external_tokens import principal_from_jwt
from apps.accounts.provider_keys import ProviderKeys
from apps.core.errors import InvalidToken
from apps.tenants.models import Tenant
from tests.accounts.external_issuer import (
    BAD_TOKENS,
    FakeClock,
    assert_invalid,
    get_jobs,
)
from tests.conftest import ApiClientForTests
from tests.jwks_server import DISCOVERY_PATH, JWKS_PATH, JwksServer, SigningKey

pytestmark = pytest.mark.usefixtures("keys_forgotten")


# --- the provider's keys: fetched once, refreshed on expiry and rotation, never hammered ---------------------------


def test_the_keys_are_fetched_once_for_many_requests(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer
) -> None:
    for _ in range(5):
        assert get_jobs(api, issuer.mint()).status_code == 200

    assert issuer.hits == {DISCOVERY_PATH: 1, JWKS_PATH: 1}


def test_the_keys_are_fetched_again_once_the_cache_expires(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, clock: FakeClock
) -> None:
    token = issuer.mint()
    assert get_jobs(api, token).status_code == 200
    clock.advance(299)
    assert get_jobs(api, token).status_code == 200
    assert issuer.hits[JWKS_PATH] == 1

    clock.advance(2)
    assert get_jobs(api, token).status_code == 200

    assert issuer.hits[JWKS_PATH] == 2


def test_the_keys_expire_after_the_configured_time(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, clock: FakeClock, settings: Any
) -> None:
    settings.API_JWT_JWKS_CACHE_SECONDS = 60
    token = issuer.mint()
    get_jobs(api, token)
    clock.advance(61)
    get_jobs(api, token)

    assert issuer.hits[JWKS_PATH] == 2


def test_a_rotated_key_is_fetched_when_a_token_names_it(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, clock: FakeClock
) -> None:
    assert get_jobs(api, issuer.mint()).status_code == 200
    rotated = SigningKey.generate("key-2")
    issuer.keys = [rotated]
    clock.advance(ProviderKeys.REFRESH_COOLDOWN_SECONDS)

    assert get_jobs(api, issuer.mint(key=rotated)).status_code == 200
    assert get_jobs(api, issuer.mint(key=rotated)).status_code == 200
    assert issuer.hits[JWKS_PATH] == 2
    # The old key is gone from the provider's set, and so from ours.
    assert_invalid(get_jobs(api, issuer.mint(key=SigningKey("key-1", SigningKey.generate("x").private_key))))


def test_unknown_key_ids_refresh_the_keys_at_most_once_per_cooldown(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, clock: FakeClock
) -> None:
    assert get_jobs(api, issuer.mint()).status_code == 200
    for _ in range(10):
        assert_invalid(get_jobs(api, issuer.mint(key=SigningKey.generate(secrets.token_hex(4)))))
    assert issuer.hits[JWKS_PATH] == 1

    clock.advance(ProviderKeys.REFRESH_COOLDOWN_SECONDS)
    for _ in range(10):
        assert_invalid(get_jobs(api, issuer.mint(key=SigningKey.generate(secrets.token_hex(4)))))

    assert issuer.hits[JWKS_PATH] == 2
    assert get_jobs(api, issuer.mint()).status_code == 200


def test_after_a_failed_fetch_it_waits_before_asking_the_provider_again(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, clock: FakeClock
) -> None:
    token = issuer.mint()
    issuer.fail_with = 503
    for _ in range(3):
        assert_invalid(get_jobs(api, token))
    assert issuer.hits[DISCOVERY_PATH] == 1

    issuer.fail_with = None
    clock.advance(ProviderKeys.RETRY_AFTER_FAILURE_SECONDS)

    assert get_jobs(api, token).status_code == 200


def test_expired_keys_are_not_used_while_the_provider_is_down(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, clock: FakeClock
) -> None:
    token = issuer.mint()
    assert get_jobs(api, token).status_code == 200
    issuer.fail_with = 503
    clock.advance(301)

    assert_invalid(get_jobs(api, token))


def test_a_slow_provider_delays_only_the_tokens_that_need_it(issuer: JwksServer, clock: FakeClock) -> None:
    good = issuer.mint()
    principal_from_jwt(good)
    clock.advance(ProviderKeys.REFRESH_COOLDOWN_SECONDS)
    issuer.delay_seconds = 2.0
    refused: list[bool] = []
    made_up = issuer.mint(key=SigningKey.generate("made-up"))
    unknown = threading.Thread(target=lambda: refused.append(_is_refused(made_up)))
    unknown.start()
    while issuer.hits[JWKS_PATH] < 2:  # the made-up kid is now waiting for the provider
        time.sleep(0.01)

    started = time.monotonic()
    assert principal_from_jwt(good).tenant == "acme"
    assert time.monotonic() - started < 1.0
    unknown.join()
    assert refused == [True]


def _is_refused(token: str) -> bool:
    try:
        principal_from_jwt(token)
    except InvalidToken:
        return True
    return False


@pytest.mark.parametrize("name", ["alg-none", "hs256-with-the-public-key", "algorithm-not-allowed", "no-kid"])
def test_a_token_refused_by_its_header_costs_the_provider_nothing(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, name: str
) -> None:
    assert_invalid(get_jobs(api, BAD_TOKENS[name](issuer)))

    assert sum(issuer.hits.values()) == 0


def test_a_configured_jwks_url_skips_discovery(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, settings: Any
) -> None:
    settings.API_JWT_JWKS_URL = issuer.issuer + JWKS_PATH

    assert get_jobs(api, issuer.mint()).status_code == 200
    assert issuer.hits == {JWKS_PATH: 1}


def test_a_symmetric_key_in_the_key_set_is_never_used(issuer: JwksServer, settings: Any) -> None:
    secret = b"0123456789abcdef0123456789abcdef"
    issuer.keys = []
    issuer.extra_jwks = [{"kty": "oct", "kid": "sym", "k": jwt.utils.base64url_encode(secret).decode()}]
    settings.API_JWT_ALGORITHMS = ["HS256"]  # refused by the settings; even so, no HMAC key is ever taken

    with pytest.raises(InvalidToken):
        principal_from_jwt(jwt.encode(issuer.claims(), secret, "HS256", {"kid": "sym"}))
