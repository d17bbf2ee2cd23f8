"""`manage.py create_api_client TENANT --scope SCOPE [--scope SCOPE ...]`, and the credentials it prints."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command
from django.test import Client

from apps.accounts.models import ApiClient
from apps.tenants.models import Tenant
from tests.conftest import MANAGE, READ, ApiClientForTests

EXECUTE = "ai.agentexecution_manage"


def create_api_client(*args: str) -> dict[str, Any]:
    """Run the command and parse its standard output, which must be one JSON object and nothing else."""
    out = StringIO()
    call_command("create_api_client", *args, stdout=out)
    printed: dict[str, Any] = json.loads(out.getvalue())
    return printed


def request_token(client_id: str, client_secret: str) -> Any:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
    return Client().post("/oauth/token", urlencode(form), content_type="application/x-www-form-urlencoded")


def test_it_prints_exactly_one_json_object_with_the_credentials(tenant: Tenant) -> None:
    out = StringIO()
    call_command("create_api_client", "acme", "--scope", READ, "--scope", MANAGE, stdout=out)

    printed = json.loads(out.getvalue())
    assert isinstance(printed, dict)
    assert set(printed) == {"client_id", "client_secret", "tenant", "scopes"}
    assert printed["tenant"] == "acme"
    assert printed["scopes"] == [READ, MANAGE]
    assert isinstance(printed["client_id"], str) and len(printed["client_id"]) >= 20
    assert isinstance(printed["client_secret"], str) and len(printed["client_secret"]) >= 20
    assert out.getvalue().count("\n") == 1  # one line: easy to pipe into jq


def test_it_stores_one_client_of_the_tenant_with_the_scopes(tenant: Tenant, other_tenant: Tenant) -> None:
    printed = create_api_client("acme", "--scope", READ, "--scope", EXECUTE)

    client = ApiClient.objects.get()
    assert client.client_id == printed["client_id"]
    assert client.tenant == tenant
    assert client.allowed_scopes == [READ, EXECUTE]
    assert client.authorization_grant_type == ApiClient.GRANT_CLIENT_CREDENTIALS
    assert client.client_type == ApiClient.CLIENT_CONFIDENTIAL


def test_it_stores_the_secret_hashed(tenant: Tenant) -> None:
    printed = create_api_client("acme", "--scope", READ)

    stored = ApiClient.objects.get(client_id=printed["client_id"]).client_secret
    assert stored != printed["client_secret"]
    assert printed["client_secret"] not in stored
    assert check_password(printed["client_secret"], stored)
    assert not check_password(printed["client_secret"] + "x", stored)


def test_it_lists_a_scope_given_twice_once(tenant: Tenant) -> None:
    printed = create_api_client("acme", "--scope", READ, "--scope", READ)

    assert printed["scopes"] == [READ]
    assert ApiClient.objects.get().allowed_scopes == [READ]


def test_each_run_makes_a_new_client_with_its_own_credentials(tenant: Tenant) -> None:
    first = create_api_client("acme", "--scope", READ)
    second = create_api_client("acme", "--scope", READ)

    assert first["client_id"] != second["client_id"]
    assert first["client_secret"] != second["client_secret"]
    assert ApiClient.objects.count() == 2


def test_it_refuses_an_unknown_tenant_and_creates_nothing(tenant: Tenant) -> None:
    with pytest.raises(CommandError) as raised:
        create_api_client("initech", "--scope", READ)

    assert "No tenant named 'initech'" in str(raised.value)
    assert ApiClient.objects.count() == 0


@pytest.mark.parametrize("scopes", [["ai.everything"], [READ, "ai.everything"], ["tenant=acme"], [""]])
def test_it_refuses_an_unknown_scope_and_creates_nothing(tenant: Tenant, scopes: list[str]) -> None:
    args = [arg for scope in scopes for arg in ("--scope", scope)]

    with pytest.raises(CommandError) as raised:
        create_api_client("acme", *args)

    assert "Unknown scope" in str(raised.value)
    assert READ in str(raised.value)  # names the known ones
    assert ApiClient.objects.count() == 0


def test_it_needs_at_least_one_scope(tenant: Tenant) -> None:
    with pytest.raises(CommandError, match="--scope"):
        create_api_client("acme")

    assert ApiClient.objects.count() == 0


def test_the_printed_credentials_obtain_a_token_for_the_tenant(tenant: Tenant) -> None:
    printed = create_api_client("acme", "--scope", READ, "--scope", MANAGE)

    response = request_token(printed["client_id"], printed["client_secret"])

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert set(body["scope"].split()) == {READ, MANAGE, "tenant=acme"}
    jobs = ApiClientForTests().get("/ai-service/acme/jobs", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert jobs.status_code == 200
    assert jobs.body == []


def test_the_token_of_a_read_only_client_carries_only_the_read_scope(tenant: Tenant) -> None:
    printed = create_api_client("acme", "--scope", READ)

    response = request_token(printed["client_id"], printed["client_secret"])

    assert response.status_code == 200
    assert set(response.json()["scope"].split()) == {READ, "tenant=acme"}


def test_the_printed_credentials_work_for_their_own_tenant_only(tenant: Tenant, other_tenant: Tenant) -> None:
    printed = create_api_client("globex", "--scope", READ)
    token = request_token(printed["client_id"], printed["client_secret"]).json()["access_token"]

    own = ApiClientForTests().get("/ai-service/globex/jobs", HTTP_AUTHORIZATION=f"Bearer {token}")
    other = ApiClientForTests().get("/ai-service/acme/jobs", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert own.status_code == 200
    assert other.status_code == 403


def test_a_wrong_secret_obtains_no_token(tenant: Tenant) -> None:
    printed = create_api_client("acme", "--scope", READ)

    response = request_token(printed["client_id"], printed["client_secret"][:-1])

    assert response.status_code == 401
    assert "access_token" not in response.json()
