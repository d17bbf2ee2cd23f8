"""Access tokens are stored as hashes: the database never holds a usable bearer value."""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.apps import apps as django_apps
from django.core import checks
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from apps.accounts.services import IssuedClient
from apps.tenants.models import Tenant
from tests.conftest import READ, ApiClientForTests

AccessToken = get_access_token_model()
migration = importlib.import_module("apps.accounts.migrations.0003_hash_stored_access_tokens")


def _issue(issued: IssuedClient) -> str:
    response = Client().post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": issued.client.client_id,
            "client_secret": issued.client_secret,
        },
    )
    assert response.status_code == 200
    return str(response.json()["access_token"])


def _jobs(token: str) -> Any:
    return ApiClientForTests().get("/ai-service/acme/jobs", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_the_token_endpoint_stores_only_the_sha256_of_the_access_token(
    tenant: Tenant, issue_client: Callable[..., IssuedClient]
) -> None:
    raw = _issue(issue_client(tenant, READ))

    row = AccessToken.objects.get()
    assert row.token == ""
    assert row.token_checksum == hashlib.sha256(raw.encode()).hexdigest()
    assert not any(raw in str(value) for value in vars(row).values())


def test_a_token_stored_as_a_hash_still_authenticates(
    tenant: Tenant, issue_client: Callable[..., IssuedClient]
) -> None:
    raw = _issue(issue_client(tenant, READ))

    assert _jobs(raw).status_code == 200


def test_the_stored_hash_itself_is_not_a_usable_bearer_token(
    tenant: Tenant, issue_client: Callable[..., IssuedClient]
) -> None:
    _issue(issue_client(tenant, READ))
    stolen = AccessToken.objects.get().token_checksum

    assert _jobs(stolen).status_code == 401


def test_the_migration_hashes_tokens_stored_in_clear_and_they_keep_working(
    tenant: Tenant, issue_client: Callable[..., IssuedClient]
) -> None:
    client = issue_client(tenant, READ).client
    raw = "issued-before-hashing-0123456789"
    # As the toolkit stored them before: the bearer value in `token`.
    AccessToken.objects.create(
        application=client,
        token=raw,
        token_checksum=hashlib.sha256(raw.encode()).hexdigest(),
        expires=timezone.now() + timedelta(hours=1),
        scope=f"{READ} tenant=acme",
    )

    migration.hash_stored_tokens(django_apps, None)

    row = AccessToken.objects.get()
    assert row.token == ""
    assert row.token_checksum == hashlib.sha256(raw.encode()).hexdigest()
    assert _jobs(raw).status_code == 200


def test_the_deploy_checks_find_no_oauth_security_practice_left_out() -> None:
    messages = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])

    assert [m.id for m in messages if str(m.id).startswith("oauth2_provider.")] == []
