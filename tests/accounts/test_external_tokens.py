"""JWT access tokens from an external OpenID provider (API_JWT_*): verified locally against the provider's keys,
served by a real HTTP server on 127.0.0.1 (tests/jwks_server.py), in the same 401/403 shapes as our own tokens."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import pytest

from apps.accounts.external_tokens import principal_from_jwt
from apps.accounts.principal import ApiPrincipal
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.accounts.external_issuer import (
    BAD_TOKENS,
    EXPIRED,
    JOBS,
    assert_forbidden,
    assert_invalid,
    get_jobs,
)
from tests.conftest import MANAGE, READ, ApiClientForTests
from tests.jwks_server import JwksServer, SigningKey

pytestmark = pytest.mark.usefixtures("keys_forgotten")


# --- a good token -----------------------------------------------------------------------------------------------


def test_a_valid_token_lists_the_jobs_of_its_tenant(
    api: ApiClientForTests, issuer: JwksServer, make_job: Callable[..., Job], other_tenant: Tenant
) -> None:
    mine = make_job(status=Job.Status.SUCCESS)
    make_job(tenant=other_tenant)

    response = get_jobs(api, issuer.mint())

    assert response.status_code == 200
    assert [job["id"] for job in response.json()] == [mine.job_id]


def test_a_valid_token_with_the_manage_scope_deletes_a_job(
    api: ApiClientForTests, issuer: JwksServer, make_job: Callable[..., Job]
) -> None:
    job = make_job()

    response = api.delete(f"{JOBS}/{job.job_id}", HTTP_AUTHORIZATION=f"Bearer {issuer.mint()}")

    assert response.status_code == 204
    assert not Job.objects.filter(pk=job.pk).exists()


@pytest.mark.parametrize(
    "scope_claims",
    [
        {"scope": "ai.agent_read"},
        {"scope": None, "scp": ["ai.agent_read"]},
        {"scope": None, "scp": "ai.agent_read"},
    ],
    ids=["scope-string", "scp-list", "scp-string"],
)
def test_it_reads_the_scopes_from_scope_or_scp(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, scope_claims: dict[str, Any]
) -> None:
    token = issuer.mint(issuer.claims(**scope_claims))

    assert get_jobs(api, token).status_code == 200
    assert_forbidden(api.delete(f"{JOBS}/some-job", HTTP_AUTHORIZATION=f"Bearer {token}"))


def test_it_takes_the_tenant_from_a_tenant_scope_when_there_is_no_tenant_claim(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer
) -> None:
    token = issuer.mint(issuer.claims(tenant=None, scope="ai.agent_read tenant=acme"))

    assert get_jobs(api, token).status_code == 200


def test_a_tenant_claim_and_a_tenant_scope_that_agree_are_accepted(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer
) -> None:
    token = issuer.mint(issuer.claims(tenant="acme", scope="ai.agent_read tenant=acme"))

    assert get_jobs(api, token).status_code == 200


def test_it_takes_the_tenant_from_the_configured_claim(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, settings: Any
) -> None:
    settings.API_JWT_TENANT_CLAIM = "https://console.example.com/tenant"
    claims = issuer.claims(tenant="globex", **{"https://console.example.com/tenant": "acme"})

    assert get_jobs(api, issuer.mint(claims)).status_code == 200


def test_the_principal_carries_tenant_scopes_and_client(issuer: JwksServer) -> None:
    principal = principal_from_jwt(issuer.mint(issuer.claims(client_id=None, azp="the-azp")))

    assert principal == ApiPrincipal(
        tenant="acme",
        scopes=frozenset({"ai.agent_read", "ai.agent_manage"}),
        client_id="the-azp",
        subject="machine-client",  # for the audit trail
    )


def test_an_rsa_key_without_alg_verifies_every_allowed_rsa_algorithm(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, settings: Any
) -> None:
    settings.API_JWT_ALGORITHMS = ["RS256", "PS256"]

    assert get_jobs(api, issuer.mint(algorithm="PS256")).status_code == 200
    assert get_jobs(api, issuer.mint(algorithm="RS256")).status_code == 200


def test_a_key_that_names_its_alg_verifies_only_that_one(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, settings: Any
) -> None:
    settings.API_JWT_ALGORITHMS = ["RS256", "PS256"]
    issuer.extra_jwks = [SigningKey("named", issuer.key.private_key).public_jwk(alg="RS256")]
    named = SigningKey("named", issuer.key.private_key)

    assert get_jobs(api, issuer.mint(key=named, algorithm="RS256")).status_code == 200
    assert_invalid(get_jobs(api, issuer.mint(key=named, algorithm="PS256")))


def test_a_token_that_expired_within_the_leeway_is_accepted(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer
) -> None:
    now = int(time.time())

    assert get_jobs(api, issuer.mint(issuer.claims(exp=now - 10, nbf=now + 10))).status_code == 200


def test_our_own_opaque_tokens_keep_working_with_the_issuer_configured(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, make_token: Callable[..., str]
) -> None:
    assert get_jobs(api, make_token(tenant, READ)).status_code == 200
    assert_invalid(get_jobs(api, secrets.token_urlsafe(24)))
    assert sum(issuer.hits.values()) == 0


# --- 401 ---------------------------------------------------------------------------------------------------------


def test_an_expired_token_answers_access_token_expired(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer
) -> None:
    response = get_jobs(api, issuer.mint(issuer.claims(exp=int(time.time()) - 60)))

    assert response.status_code == 401
    assert response.json() == EXPIRED
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_with_a_forged_signature_is_invalid_not_expired(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer
) -> None:
    forger = SigningKey("key-1", SigningKey.generate("other").private_key)

    assert_invalid(get_jobs(api, issuer.mint(issuer.claims(exp=int(time.time()) - 60), key=forger)))


@pytest.mark.parametrize("make_bad_token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_it_answers_401_invalid_access_token_for_a_bad_token(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer, make_bad_token: Callable[[JwksServer], str]
) -> None:
    token = make_bad_token(issuer)

    assert_invalid(get_jobs(api, token))


@pytest.mark.parametrize(
    "break_it",
    [
        lambda s: s.stop(),
        lambda s: setattr(s, "fail_with", 500),
        lambda s: setattr(s, "discovery_issuer", "https://someone-else.example.com"),
    ],
    ids=["server-down", "server-error", "discovery-names-another-issuer"],
)
def test_it_answers_401_and_warns_when_the_keys_cannot_be_had(
    api: ApiClientForTests,
    tenant: Tenant,
    issuer: JwksServer,
    caplog: pytest.LogCaptureFixture,
    break_it: Callable[[JwksServer], None],
) -> None:
    token = issuer.mint()
    break_it(issuer)

    with caplog.at_level(logging.WARNING, logger="apps.accounts.provider_keys"):
        response = get_jobs(api, token)

    assert_invalid(response)
    assert any(record.levelno == logging.WARNING for record in caplog.records)


def test_jwt_looking_tokens_are_unknown_opaque_tokens_when_no_issuer_is_configured(
    api: ApiClientForTests, tenant: Tenant, provider: JwksServer, settings: Any
) -> None:
    settings.API_JWT_ISSUER = ""

    assert_invalid(get_jobs(api, provider.mint()))
    assert sum(provider.hits.values()) == 0


# --- 403 ---------------------------------------------------------------------------------------------------------


def test_it_answers_403_on_another_tenants_path(
    api: ApiClientForTests, tenant: Tenant, other_tenant: Tenant, issuer: JwksServer
) -> None:
    assert_forbidden(get_jobs(api, issuer.mint(), "/ai-service/globex/jobs"))


def test_a_token_for_an_unknown_tenant_answers_as_a_foreign_one(
    api: ApiClientForTests, tenant: Tenant, issuer: JwksServer
) -> None:
    assert_forbidden(get_jobs(api, issuer.mint(issuer.claims(tenant="nosuchtenant"))))


def test_it_answers_403_when_the_token_lacks_the_scope(
    api: ApiClientForTests, issuer: JwksServer, make_job: Callable[..., Job]
) -> None:
    job = make_job()
    reader = issuer.mint(issuer.claims(scope=READ))
    manager_only = issuer.mint(issuer.claims(scope=MANAGE))

    response = api.delete(f"{JOBS}/{job.job_id}", HTTP_AUTHORIZATION=f"Bearer {reader}")
    assert_forbidden(response)
    assert MANAGE in response.json()["message"]
    assert_forbidden(get_jobs(api, manager_only))
    assert Job.objects.filter(pk=job.pk).exists()
