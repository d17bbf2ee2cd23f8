"""Bearer-token authentication and the tenant/scope checks on the API, in the published error shapes."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from apps.accounts.services import IssuedClient
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.conftest import MANAGE, READ, ApiClientForTests

INVALID = {"fault": {"faultstring": "Invalid access token", "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}}
EXPIRED = {
    "fault": {
        "faultstring": "Access Token expired",
        "detail": {"errorcode": "keymanagement.service.access_token_expired"},
    }
}

# (method, path under /ai-service/<tenant>, JSON body) for every published Job operation.
OPERATIONS = [
    ("get", "/jobs", None),
    ("post", "/jobs/search", {"q": "status:success"}),
    ("get", "/jobs/{job}", None),
    ("delete", "/jobs/{job}", None),
]
OPERATION_IDS = ["list", "search", "get", "delete"]


def _call(client: ApiClientForTests, method: str, path: str, body: Any, **headers: str) -> Any:
    kwargs: dict[str, Any] = dict(headers)
    if body is not None:
        kwargs.update(data=body, content_type="application/json")
    return getattr(client, method)(path, **kwargs)


@pytest.fixture
def job(make_job: Callable[..., Job]) -> Job:
    return make_job(status=Job.Status.SUCCESS)


def _path(tenant_name: str, template: str, job: Job) -> str:
    return f"/ai-service/{tenant_name}" + template.format(job=job.job_id)


# --- 401 ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "template", "body"), OPERATIONS, ids=OPERATION_IDS)
def test_every_operation_answers_401_in_the_fault_shape_without_a_token(
    api: ApiClientForTests, job: Job, method: str, template: str, body: Any
) -> None:
    response = _call(api, method, _path("acme", template, job), body)

    assert response.status_code == 401
    assert response.json() == INVALID
    assert response["Content-Type"].startswith("application/json")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert Job.objects.filter(pk=job.pk).exists()


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Basic xyz",
        "Basic " + "YWNtZTpzZWNyZXQ=",
        "garbage",
        "Bearer garbage",
        "Bearer " + secrets.token_urlsafe(24),
        "Token abc",
    ],
    ids=[
        "bearer-alone",
        "bearer-space",
        "bearer-spaces",
        "basic",
        "basic-base64",
        "no-scheme",
        "bearer-garbage",
        "bearer-unknown",
        "other-scheme",
    ],
)
def test_it_answers_401_invalid_access_token_for_a_malformed_or_unknown_token(
    api: ApiClientForTests, tenant: Tenant, header: str
) -> None:
    response = api.get("/ai-service/acme/jobs", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response.json() == INVALID
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_answers_401_access_token_expired_for_an_expired_token(
    api: ApiClientForTests, tenant: Tenant, make_token: Callable[..., str]
) -> None:
    token = make_token(tenant, expires_in=-10)

    response = api.get("/ai-service/acme/jobs", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 401
    assert response.json() == EXPIRED
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "template", "body"), OPERATIONS, ids=OPERATION_IDS)
def test_every_operation_answers_401_expired_for_an_expired_token(
    api: ApiClientForTests,
    tenant: Tenant,
    job: Job,
    make_token: Callable[..., str],
    method: str,
    template: str,
    body: Any,
) -> None:
    token = make_token(tenant, expires_in=-10)

    response = _call(api, method, _path("acme", template, job), body, HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 401
    assert response.json() == EXPIRED
    assert Job.objects.filter(pk=job.pk).exists()


def test_it_accepts_a_token_that_has_not_expired_yet(
    api: ApiClientForTests, tenant: Tenant, make_token: Callable[..., str]
) -> None:
    token = make_token(tenant, expires_in=30)

    response = api.get("/ai-service/acme/jobs", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200


@pytest.mark.parametrize(
    "scope",
    [f"{READ} {MANAGE}", f"{READ} tenant=acme tenant=globex"],
    ids=["no-tenant", "two-tenants"],
)
def test_it_answers_401_for_a_token_that_does_not_name_exactly_one_tenant(
    api: ApiClientForTests,
    tenant: Tenant,
    other_tenant: Tenant,
    issue_client: Callable[..., IssuedClient],
    scope: str,
) -> None:
    raw = secrets.token_urlsafe(24)
    get_access_token_model().objects.create(
        application=issue_client(tenant).client,
        token=raw,
        expires=timezone.now() + timedelta(hours=1),
        scope=scope,
    )

    response = api.get("/ai-service/acme/jobs", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 401
    assert response.json() == INVALID


def test_it_answers_401_for_a_token_naming_another_tenant_than_its_clients(
    api: ApiClientForTests, tenant: Tenant, other_tenant: Tenant, issue_client: Callable[..., IssuedClient]
) -> None:
    """The client's tenant is the one a token may act for: a scope naming another one is not trusted."""
    raw = secrets.token_urlsafe(24)
    get_access_token_model().objects.create(
        application=issue_client(tenant).client,
        token=raw,
        expires=timezone.now() + timedelta(hours=1),
        scope=f"{READ} tenant=globex",
    )

    response = api.get("/ai-service/globex/jobs", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 401
    assert response.json() == INVALID


def test_the_token_its_client_and_tenant_are_read_in_one_query(
    transactional_db: None, reader: ApiClientForTests, job: Job
) -> None:
    """The API's hot path: the token's query names the tenant, so reading a job takes two queries in all (outside
    a transaction, as a server runs it: within one, the request's budget takes a savepoint)."""
    with CaptureQueriesContext(connection) as queries:
        response = reader.get(f"/ai-service/acme/jobs/{job.job_id}")

    assert response.status_code == 200
    token, read = (q["sql"] for q in queries)
    assert "oauth2_provider_accesstoken" in token and '"tenants_tenant"."name"' in token
    assert "jobs_job" in read and "tenants_tenant" not in read


def test_it_never_answers_with_a_drf_detail_body_on_401(api: ApiClientForTests, tenant: Tenant) -> None:
    response = api.get("/ai-service/acme/jobs", HTTP_AUTHORIZATION="Bearer nope")

    assert "detail" not in response.json()
    assert set(response.json()) == {"fault"}


# --- 403 ---------------------------------------------------------------------------------------------------------


def _assert_forbidden(response: Any) -> None:
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == 403
    assert body["status"] == "Forbidden"
    assert isinstance(body["message"], str) and body["message"]
    assert "fault" not in body and "detail" not in body


@pytest.mark.parametrize(("method", "template", "body"), OPERATIONS, ids=OPERATION_IDS)
def test_every_operation_answers_403_to_another_tenants_token(
    outsider: ApiClientForTests, job: Job, method: str, template: str, body: Any
) -> None:
    response = _call(outsider, method, _path("acme", template, job), body)

    _assert_forbidden(response)
    assert Job.objects.filter(pk=job.pk).exists()


def test_it_answers_403_for_an_unknown_tenant(manager: ApiClientForTests) -> None:
    response = manager.get("/ai-service/nosuchtenant/jobs")

    _assert_forbidden(response)


@pytest.mark.parametrize(("method", "template", "body"), OPERATIONS, ids=OPERATION_IDS)
def test_an_unknown_tenant_answers_exactly_as_a_foreign_existing_one(
    manager: ApiClientForTests, other_tenant: Tenant, job: Job, method: str, template: str, body: Any
) -> None:
    foreign = _call(manager, method, _path("globex", template, job), body)
    unknown = _call(manager, method, _path("nosuchtenant", template, job), body)

    _assert_forbidden(foreign)
    assert unknown.status_code == foreign.status_code
    assert unknown.content == foreign.content


def test_it_answers_403_when_the_token_lacks_the_scope(reader: ApiClientForTests, job: Job) -> None:
    response = reader.delete(f"/ai-service/acme/jobs/{job.job_id}")

    _assert_forbidden(response)
    assert MANAGE in response.json()["message"]
    assert Job.objects.filter(pk=job.pk).exists()


def test_it_answers_403_to_a_manage_only_token_that_wants_to_read(
    api: ApiClientForTests, tenant: Tenant, make_token: Callable[..., str]
) -> None:
    token = make_token(tenant, MANAGE)

    response = api.get("/ai-service/acme/jobs", HTTP_AUTHORIZATION=f"Bearer {token}")

    _assert_forbidden(response)
    assert READ in response.json()["message"]


def test_a_read_scope_token_of_the_tenant_can_read(reader: ApiClientForTests, job: Job) -> None:
    assert reader.get("/ai-service/acme/jobs").status_code == 200
    assert reader.get(f"/ai-service/acme/jobs/{job.job_id}").status_code == 200
