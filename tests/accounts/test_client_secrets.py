"""API client secrets: a keyed fast hash, constant cost whether the client exists or not, old hashes upgraded on use,
and revocation that deletes the client's tokens."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import identify_hasher, make_password
from django.test import Client
from oauth2_provider.models import get_access_token_model

from apps.accounts import hashers
from apps.accounts.models import ApiClient
from apps.accounts.services import IssuedClient, api_client_revoke
from apps.tenants.models import Tenant
from tests.conftest import MANAGE, READ

TOKEN_URL = "/oauth/token"


@pytest.fixture
def issued(tenant: Tenant, issue_client: Callable[..., IssuedClient]) -> IssuedClient:
    return issue_client(tenant, READ, MANAGE)


def _request_token(client_id: str, secret: str) -> Any:
    return Client().post(
        TOKEN_URL, {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )


def _stored(issued: IssuedClient) -> str:
    return str(ApiClient.objects.get(pk=issued.client.pk).client_secret)


@pytest.fixture
def hmac_count() -> Iterator[mock.MagicMock]:
    """Counts secret verifications (one keyed HMAC each), real or dummy."""
    with mock.patch.object(hashers, "_digest", wraps=hashers._digest) as spy:
        yield spy


@pytest.fixture
def no_password_hashing() -> Iterator[mock.MagicMock]:
    """Fails the test if PBKDF2 (the password hasher) runs."""
    with mock.patch("django.contrib.auth.hashers.pbkdf2", side_effect=AssertionError("PBKDF2 ran")) as spy:
        yield spy


# --- storage ------------------------------------------------------------------------------------------------------


def test_it_stores_a_new_client_secret_as_a_keyed_hmac_sha256_never_in_clear(issued: IssuedClient) -> None:
    stored = _stored(issued)

    assert identify_hasher(stored).algorithm == "client_hmac_sha256"
    assert issued.client_secret not in stored


def test_the_stored_hash_is_keyed_with_the_pepper(issued: IssuedClient, settings: Any) -> None:
    assert _request_token(issued.client.client_id, issued.client_secret).status_code == 200

    settings.API_CLIENT_SECRET_PEPPER = "another-pepper"

    assert _request_token(issued.client.client_id, issued.client_secret).status_code == 401


def test_a_right_secret_gets_a_token_without_any_password_hashing(
    issued: IssuedClient, no_password_hashing: mock.MagicMock
) -> None:
    response = _request_token(issued.client.client_id, issued.client_secret)

    assert response.status_code == 200
    assert "access_token" in response.json()


# --- cost of a wrong secret and of an unknown client --------------------------------------------------------------


def test_a_wrong_secret_costs_one_fast_hash_and_no_password_hashing(
    issued: IssuedClient, hmac_count: mock.MagicMock, no_password_hashing: mock.MagicMock
) -> None:
    response = _request_token(issued.client.client_id, "wrong-" + issued.client_secret)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert hmac_count.call_count == 1


def test_an_unknown_client_id_costs_the_same_verification_as_a_wrong_secret(
    db: Any, hmac_count: mock.MagicMock
) -> None:
    response = _request_token("no-such-client", "x" * 128)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert hmac_count.call_count == 1


def test_with_http_basic_an_unknown_client_id_costs_what_a_wrong_secret_costs(
    issued: IssuedClient, hmac_count: mock.MagicMock
) -> None:
    def basic(client_id: str) -> Any:
        credentials = base64.b64encode(f"{client_id}:wrong".encode()).decode()
        return Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {credentials}")

    assert basic(issued.client.client_id).status_code == 401
    wrong_secret = hmac_count.call_count
    hmac_count.reset_mock()
    assert basic("no-such-client").status_code == 401

    assert hmac_count.call_count == wrong_secret >= 1


def test_a_revoked_client_costs_the_same_verification_as_a_wrong_secret(
    issued: IssuedClient, hmac_count: mock.MagicMock
) -> None:
    api_client_revoke(client=issued.client)

    response = _request_token(issued.client.client_id, issued.client_secret)

    assert response.status_code == 401
    assert hmac_count.call_count == 1


def test_wrong_secret_and_unknown_client_answer_alike(issued: IssuedClient) -> None:
    wrong = _request_token(issued.client.client_id, "wrong")
    unknown = _request_token("no-such-client", "wrong")

    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())


# --- secrets stored under the old password hash ---------------------------------------------------------------------


@pytest.fixture
def legacy(issued: IssuedClient) -> IssuedClient:
    """A client whose secret was stored before the keyed hash: PBKDF2, as the toolkit's default did."""
    ApiClient.objects.filter(pk=issued.client.pk).update(
        client_secret=make_password(issued.client_secret, hasher="pbkdf2_sha256")
    )
    return issued


def test_a_secret_stored_under_pbkdf2_still_gets_a_token(legacy: IssuedClient) -> None:
    response = _request_token(legacy.client.client_id, legacy.client_secret)

    assert response.status_code == 200


def test_a_secret_stored_under_pbkdf2_is_rehashed_with_the_keyed_hash_on_its_next_successful_use(
    legacy: IssuedClient,
) -> None:
    _request_token(legacy.client.client_id, legacy.client_secret)

    assert identify_hasher(_stored(legacy)).algorithm == "client_hmac_sha256"
    assert _request_token(legacy.client.client_id, legacy.client_secret).status_code == 200


def test_a_wrong_secret_leaves_a_pbkdf2_hash_as_it_is(legacy: IssuedClient) -> None:
    before = _stored(legacy)

    assert _request_token(legacy.client.client_id, "wrong").status_code == 401
    assert _stored(legacy) == before


def test_console_passwords_keep_the_password_hasher(db: Any) -> None:
    user = get_user_model().objects.create_user(username="alice", password="correct horse battery")

    assert identify_hasher(user.password).algorithm != "client_hmac_sha256"


# --- revocation ----------------------------------------------------------------------------------------------------


def test_revoking_a_client_deletes_its_tokens(
    tenant: Tenant, issued: IssuedClient, make_token: Callable[..., str]
) -> None:
    make_token(tenant, client=issued.client)
    make_token(tenant, client=issued.client)
    other = make_token(tenant)

    api_client_revoke(client=issued.client)

    tokens = get_access_token_model().objects
    assert not tokens.filter(application=issued.client).exists()
    assert tokens.count() == 1, f"another client's token ({other[:4]}...) must stay"


def test_revoking_in_the_admin_deletes_the_clients_tokens(
    tenant: Tenant, issued: IssuedClient, make_token: Callable[..., str], admin_client: Client
) -> None:
    make_token(tenant, client=issued.client)

    response = admin_client.post(
        "/admin/accounts/apiclient/",
        {"action": "revoke", "_selected_action": [issued.client.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert ApiClient.objects.get(pk=issued.client.pk).revoked_at is not None
    assert not get_access_token_model().objects.filter(application=issued.client).exists()
