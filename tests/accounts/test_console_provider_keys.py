"""Console sign-in fetches the provider's discovery document and keys through the same cache as the API's JWTs
(apps/accounts/provider_keys.py): made-up key ids do not turn sign-ins into calls to the provider, the pinned
algorithm is the only one used, and the page's security policy never waits for the provider."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import SuspiciousOperation

from apps.accounts import oidc, provider_keys
from apps.accounts.oidc import ConsoleOidcBackend
from apps.accounts.provider_keys import ProviderKeys
from tests.accounts.external_issuer import FakeClock
from tests.jwks_server import DISCOVERY_PATH, JWKS_PATH, JwksServer, SigningKey

CONSOLE = "ai-console"
NONCE = "nonce-of-this-sign-in"


@pytest.fixture
def provider(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[JwksServer]:
    """The stand-in provider as the console's, its endpoints found by discovery; the cache's clock stands still."""
    ProviderKeys.forget_all()
    monkeypatch.setattr(provider_keys, "monotonic", FakeClock())
    server = JwksServer().start()
    settings.OIDC_OP_ISSUER = server.issuer
    settings.OIDC_OP_JWKS_ENDPOINT = None
    settings.OIDC_DISCOVERY_URL = None
    settings.OIDC_RP_CLIENT_ID = CONSOLE
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    yield server
    server.stop()
    ProviderKeys.forget_all()


def id_token(provider: JwksServer, *, key: SigningKey | None = None, algorithm: str = "RS256") -> str:
    claims = provider.claims(aud=CONSOLE, sub="manager-sub", nonce=NONCE, scope=None, tenant=None, client_id=None)
    return provider.mint(claims, key=key, algorithm=algorithm)


def verify(token: str) -> dict[str, Any]:
    return ConsoleOidcBackend().verify_token(token, nonce=NONCE)


def test_sign_ins_fetch_the_discovery_document_and_the_keys_once(provider: JwksServer) -> None:
    for _ in range(3):
        assert verify(id_token(provider))["sub"] == "manager-sub"
    oidc.discovery()

    assert (provider.hits[DISCOVERY_PATH], provider.hits[JWKS_PATH]) == (1, 1)


def test_id_tokens_naming_unknown_keys_refetch_the_keys_at_most_once_per_cooldown(provider: JwksServer) -> None:
    verify(id_token(provider))
    for _ in range(5):
        with pytest.raises(SuspiciousOperation, match="not signed with a key the provider publishes"):
            verify(id_token(provider, key=SigningKey.generate(secrets.token_hex(4))))

    assert provider.hits[JWKS_PATH] == 1


def test_an_id_token_signed_with_another_algorithm_than_the_pinned_one_is_refused(provider: JwksServer) -> None:
    with pytest.raises(SuspiciousOperation):
        verify(id_token(provider, algorithm="PS256"))


def test_the_security_policy_reads_the_discovery_document_without_fetching_it(provider: JwksServer) -> None:
    assert oidc.discovered() == {}
    assert provider.hits[DISCOVERY_PATH] == 0

    oidc.discovery()

    assert oidc.discovered()["jwks_uri"] == provider.issuer + JWKS_PATH
    assert provider.hits[DISCOVERY_PATH] == 1
