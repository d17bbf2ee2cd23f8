"""The ID token's authorized party (`azp`) at console sign-in (apps/accounts/oidc.py): a token for several audiences
must name the console as `azp`, and an `azp` present must be the console's client id. Tokens come from the suite's
stand-in provider (tests/jwks_server.py), signed with its published keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import SuspiciousOperation

from apps.accounts.oidc import ConsoleOidcBackend
from tests.jwks_server import JWKS_PATH, JwksServer

CONSOLE = "ai-console"
NONCE = "nonce-of-this-sign-in"


@pytest.fixture
def provider(settings: Any) -> Iterator[JwksServer]:
    server = JwksServer().start()
    settings.OIDC_OP_ISSUER = server.issuer
    settings.OIDC_OP_JWKS_ENDPOINT = server.issuer + JWKS_PATH
    settings.OIDC_RP_CLIENT_ID = CONSOLE
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    yield server
    server.stop()


def id_token(provider: JwksServer, **claims: Any) -> str:
    """An ID token of the stand-in provider for the console; `claims` override or add to a good one's."""
    good = {"aud": CONSOLE, "sub": "manager-sub", "nonce": NONCE, "scope": None, "tenant": None, "client_id": None}
    return provider.mint(provider.claims(**{**good, **claims}))


def verify(token: str) -> dict[str, Any]:
    return ConsoleOidcBackend().verify_token(token, nonce=NONCE)


def test_a_token_for_the_console_alone_without_azp_is_accepted(provider: JwksServer) -> None:
    assert verify(id_token(provider))["sub"] == "manager-sub"


def test_a_token_for_the_console_alone_naming_it_as_azp_is_accepted(provider: JwksServer) -> None:
    assert verify(id_token(provider, azp=CONSOLE))["azp"] == CONSOLE


def test_a_token_for_several_audiences_issued_to_the_console_is_accepted(provider: JwksServer) -> None:
    claims = verify(id_token(provider, aud=[CONSOLE, "reporting-app"], azp=CONSOLE))

    assert claims["aud"] == [CONSOLE, "reporting-app"]


def test_a_token_for_several_audiences_without_azp_is_refused(provider: JwksServer) -> None:
    with pytest.raises(SuspiciousOperation, match="several audiences and no azp"):
        verify(id_token(provider, aud=[CONSOLE, "reporting-app"]))


def test_a_token_for_several_audiences_issued_to_another_client_is_refused(provider: JwksServer) -> None:
    with pytest.raises(SuspiciousOperation, match="issued to another client"):
        verify(id_token(provider, aud=["reporting-app", CONSOLE], azp="reporting-app"))


def test_a_token_for_the_console_alone_issued_to_another_client_is_refused(provider: JwksServer) -> None:
    with pytest.raises(SuspiciousOperation, match="issued to another client"):
        verify(id_token(provider, azp="reporting-app"))


def test_a_one_element_audience_list_without_azp_is_accepted(provider: JwksServer) -> None:
    assert verify(id_token(provider, aud=[CONSOLE]))["aud"] == [CONSOLE]


def test_an_azp_that_is_not_a_string_is_refused(provider: JwksServer) -> None:
    with pytest.raises(SuspiciousOperation, match="issued to another client"):
        verify(id_token(provider, aud=[CONSOLE, "reporting-app"], azp=[CONSOLE]))
