"""The OAuth2 client-credentials token endpoint, `POST /oauth/token`, and the tokens it issues."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from apps.accounts.models import ApiClient
from apps.accounts.services import IssuedClient, api_client_revoke
from apps.accounts.token_endpoint import ClientCredentialsTokenView
from apps.tenants.models import Tenant
from tests.conftest import MANAGE, READ, ApiClientForTests

TOKEN_URL = "/oauth/token"
INVALID_TOKEN_FAULT = {
    "fault": {"faultstring": "Invalid access token", "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}
}


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _request_token(issued: IssuedClient, **fields: str) -> Any:
    data = {
        "grant_type": "client_credentials",
        "client_id": issued.client.client_id,
        "client_secret": issued.client_secret,
        **fields,
    }
    return Client().post(TOKEN_URL, data)


def _scopes(response: Any) -> set[str]:
    return set(response.json()["scope"].split())


def _jobs(tenant_name: str, token: str) -> Any:
    return ApiClientForTests().get(f"/ai-service/{tenant_name}/jobs", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def issued(tenant: Tenant, issue_client: Callable[..., IssuedClient]) -> IssuedClient:
    return issue_client(tenant, READ, MANAGE)


# --- issuing ---------------------------------------------------------------------------------------------------


def test_it_issues_a_bearer_token_for_client_credentials_in_the_body(issued: IssuedClient) -> None:
    response = _request_token(issued)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 20
    assert body["expires_in"] == 14400
    assert _scopes(response) == {READ, MANAGE, "tenant=acme"}


def test_it_issues_a_token_for_client_credentials_in_http_basic(issued: IssuedClient) -> None:
    response = Client().post(
        TOKEN_URL,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(issued.client.client_id, issued.client_secret),
    )

    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"
    assert _scopes(response) == {READ, MANAGE, "tenant=acme"}


def test_it_answers_on_the_path_without_a_trailing_slash_only(issued: IssuedClient) -> None:
    data = {
        "grant_type": "client_credentials",
        "client_id": issued.client.client_id,
        "client_secret": issued.client_secret,
    }

    slashed = Client().post(TOKEN_URL + "/", data)

    assert slashed.status_code == 404
    assert "access_token" not in slashed.content.decode()
    assert Client().post(TOKEN_URL, data).status_code == 200


@pytest.fixture
def fresh_oauth_server() -> Iterator[None]:
    """The token view caches its OAuth server (and so the token lifetime) on first use; start and end clean."""
    _forget_cached_server()
    yield
    _forget_cached_server()


def _forget_cached_server() -> None:
    if "_oauthlib_core" in vars(ClientCredentialsTokenView):
        del ClientCredentialsTokenView._oauthlib_core


def test_its_token_lifetime_follows_the_access_token_expire_seconds_setting(
    issued: IssuedClient, settings: Any, fresh_oauth_server: None
) -> None:
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "ACCESS_TOKEN_EXPIRE_SECONDS": 600}

    response = _request_token(issued)

    assert response.status_code == 200
    assert response.json()["expires_in"] == 600
    stored = get_access_token_model().objects.get(application=issued.client)
    assert timedelta(seconds=590) < stored.expires - timezone.now() <= timedelta(seconds=600)


def test_it_grants_a_requested_subset_of_the_clients_scopes_plus_the_tenant(issued: IssuedClient) -> None:
    response = _request_token(issued, scope=READ)

    assert response.status_code == 200
    assert _scopes(response) == {READ, "tenant=acme"}


def test_it_accepts_the_clients_own_tenant_scope_when_asked_for(issued: IssuedClient) -> None:
    response = _request_token(issued, scope=f"{READ} tenant=acme")

    assert response.status_code == 200
    assert _scopes(response) == {READ, "tenant=acme"}


def test_it_refuses_a_scope_the_client_was_not_given(tenant: Tenant, issue_client: Callable[..., IssuedClient]) -> None:
    reader_client = issue_client(tenant, READ)

    response = _request_token(reader_client, scope=f"{READ} {MANAGE}")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert "access_token" not in response.json()


def test_it_refuses_an_unknown_scope(issued: IssuedClient) -> None:
    response = _request_token(issued, scope="ai.everything")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_it_refuses_a_token_for_another_tenant(issued: IssuedClient, other_tenant: Tenant) -> None:
    response = _request_token(issued, scope=f"{READ} tenant=globex")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert "access_token" not in response.json()


def test_it_refuses_a_wrong_secret(issued: IssuedClient) -> None:
    response = _request_token(issued, client_secret=issued.client_secret + "x")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_it_refuses_a_wrong_secret_in_http_basic(issued: IssuedClient) -> None:
    response = Client().post(
        TOKEN_URL,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(issued.client.client_id, "not-the-secret"),
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_it_refuses_an_unknown_client(db: Any) -> None:
    response = Client().post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "nothing"},
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "grant_type", ["password", "authorization_code", "refresh_token", "implicit", "something_else"]
)
def test_it_refuses_grant_types_other_than_client_credentials(issued: IssuedClient, grant_type: str) -> None:
    # Real credentials for every other grant, so only the grant type itself can be the reason for refusing.
    get_user_model().objects.create_user(username="alice", password="correct horse battery")
    fields = {"username": "alice", "password": "correct horse battery", "code": "c", "refresh_token": "r"}

    response = _request_token(issued, grant_type=grant_type, **fields)

    assert response.status_code in (400, 401)
    assert response.json()["error"] in (
        "unsupported_grant_type",
        "unauthorized_client",
        "invalid_grant",
        "invalid_request",
    )
    assert "access_token" not in response.json()


def test_it_refuses_a_password_grant_even_with_a_valid_console_users_credentials(issued: IssuedClient) -> None:
    get_user_model().objects.create_user(username="alice", password="correct horse battery")

    response = _request_token(issued, grant_type="password", username="alice", password="correct horse battery")

    assert response.status_code in (400, 401)
    assert response.json()["error"] == "unsupported_grant_type"


def test_it_stores_the_client_secret_hashed(issued: IssuedClient) -> None:
    stored = ApiClient.objects.get(pk=issued.client.pk).client_secret

    assert stored != issued.client_secret
    assert issued.client_secret not in stored
    algorithm, _, rest = stored.partition("$")
    assert algorithm and rest, f"{stored!r} does not look like a Django password hash"
    from django.contrib.auth.hashers import check_password, identify_hasher

    assert identify_hasher(stored).algorithm == algorithm
    assert check_password(issued.client_secret, stored)
    assert not check_password(issued.client_secret + "x", stored)


# --- revoking ---------------------------------------------------------------------------------------------------


def test_it_refuses_a_revoked_client(issued: IssuedClient) -> None:
    api_client_revoke(client=issued.client)

    response = _request_token(issued)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_revoked_clients_earlier_token_stops_working_on_the_api(issued: IssuedClient) -> None:
    token = _request_token(issued).json()["access_token"]
    assert _jobs("acme", token).status_code == 200

    api_client_revoke(client=issued.client)
    response = _jobs("acme", token)

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN_FAULT


# --- using the token ----------------------------------------------------------------------------------------------


def test_its_token_lists_the_tenants_jobs(issued: IssuedClient) -> None:
    token = _request_token(issued).json()["access_token"]

    response = _jobs("acme", token)

    assert response.status_code == 200
    assert response.json() == []


def test_its_token_is_refused_on_another_tenants_path(issued: IssuedClient, other_tenant: Tenant) -> None:
    token = _request_token(issued).json()["access_token"]

    response = _jobs("globex", token)

    assert response.status_code == 403
    assert response.json()["code"] == 403
    assert response.json()["status"] == "Forbidden"


def test_its_token_with_a_subset_scope_lacks_the_others(issued: IssuedClient, make_job: Callable[..., Any]) -> None:
    job = make_job()
    token = _request_token(issued, scope=READ).json()["access_token"]

    response = ApiClientForTests().delete(f"/ai-service/acme/jobs/{job.job_id}", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 403
