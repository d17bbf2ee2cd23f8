"""The access checklist for the four Job operations: works, needs a valid token, checks tenant and scope."""

from __future__ import annotations

from typing import Any

import pytest

from apps.accounts.services import api_client_revoke
from apps.jobs.models import Job
from tests.conftest import MANAGE, READ, ApiClientForTests

JOB_ID = "6881f0a3c0ffee0000000001"

# (method, path, JSON body or None, success status); the path takes the tenant.
OPERATIONS = {
    "GET list": ("get", "/ai-service/{tenant}/jobs", None, 200),
    "POST search": ("post", "/ai-service/{tenant}/jobs/search", {"q": f"id:{JOB_ID}"}, 200),
    "GET job": ("get", "/ai-service/{tenant}/jobs/" + JOB_ID, None, 200),
    "DELETE job": ("delete", "/ai-service/{tenant}/jobs/" + JOB_ID, None, 204),
}
INVALID = {"fault": {"faultstring": "Invalid access token", "detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}}
EXPIRED = {
    "fault": {
        "faultstring": "Access Token expired",
        "detail": {"errorcode": "keymanagement.service.access_token_expired"},
    }
}


@pytest.fixture(params=list(OPERATIONS))
def operation(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def acme_job(make_job: Any) -> Job:
    return make_job(job_id=JOB_ID, status="success", message="acme's")


def call(client: ApiClientForTests, operation: str, tenant: str = "acme", **headers: str) -> Any:
    method, path, body, _ = OPERATIONS[operation]
    kwargs: dict[str, Any] = {"content_type": "application/json"} if body is not None else {}
    return getattr(client, method)(path.format(tenant=tenant), body, **kwargs, **headers)


def with_token(token: str) -> ApiClientForTests:
    client = ApiClientForTests()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def assert_untouched() -> None:
    assert Job.objects.filter(job_id=JOB_ID, tenant__name="acme").exists()


def assert_forbidden(response: Any) -> None:
    assert response.status_code == 403
    assert response.body["code"] == 403
    assert response.body["status"] == "Forbidden"
    assert response.body["message"]
    assert_untouched()


# Works


def test_each_operation_works_for_a_manager(manager, acme_job, operation):
    response = call(manager, operation)
    assert response.status_code == OPERATIONS[operation][3]
    if operation == "DELETE job":
        assert not Job.objects.filter(job_id=JOB_ID).exists()
    elif operation == "GET job":
        assert response.body["id"] == JOB_ID
    else:
        assert [job["id"] for job in response.body] == [JOB_ID]


@pytest.mark.parametrize("operation", ["GET list", "POST search", "GET job"])
def test_a_reader_can_use_the_read_operations(reader, acme_job, operation):
    response = call(reader, operation)
    assert response.status_code == 200
    assert JOB_ID in str(response.body)


# 401


def test_it_answers_401_in_the_fault_shape_without_a_token(api, acme_job, operation):
    response = call(api, operation)
    assert response.status_code == 401
    assert response.body == INVALID
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_untouched()


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Basic YWNtZTpzZWNyZXQ=", "Token abc", "just-a-token", "Bearer not-a-real-token"],
)
def test_it_answers_401_for_a_malformed_or_unknown_token(api, acme_job, operation, authorization):
    response = call(api, operation, HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401
    assert response.body == INVALID
    assert_untouched()


def test_it_answers_401_for_an_expired_token(tenant, make_token, acme_job, operation):
    response = call(with_token(make_token(tenant, READ, MANAGE, expires_in=-1)), operation)
    assert response.status_code == 401
    assert response.body == EXPIRED
    assert_untouched()


def test_it_answers_401_for_a_token_of_a_revoked_client(tenant, issue_client, make_token, acme_job, operation):
    client = issue_client(tenant, READ, MANAGE).client
    token = make_token(tenant, READ, MANAGE, client=client)
    api_client_revoke(client=client)
    response = call(with_token(token), operation)
    assert response.status_code == 401
    assert response.body == INVALID
    assert_untouched()


def test_a_missing_token_is_401_even_for_an_unknown_job(api, tenant):
    response = api.get("/ai-service/acme/jobs/nope")
    assert response.status_code == 401
    assert response.body == INVALID


# 403


def test_it_answers_403_on_another_tenants_path(outsider, acme_job, operation):
    assert_forbidden(call(outsider, operation))


def test_an_unknown_tenant_answers_exactly_as_a_foreign_one(manager, other_tenant, acme_job, operation):
    foreign = call(manager, operation, tenant="globex")
    unknown = call(manager, operation, tenant="nosuch")
    assert_forbidden(foreign)
    assert_forbidden(unknown)
    assert unknown.body == foreign.body


def test_a_reader_cannot_delete_a_job(reader, acme_job):
    assert_forbidden(call(reader, "DELETE job"))


@pytest.mark.parametrize("operation", ["GET list", "POST search", "GET job"])
def test_a_manage_only_token_cannot_read(tenant, make_token, acme_job, operation):
    assert_forbidden(call(with_token(make_token(tenant, MANAGE)), operation))


def test_a_token_of_the_right_tenant_is_still_refused_on_another_path(manager, other_tenant, make_job):
    make_job(tenant=other_tenant, job_id=JOB_ID)
    make_job(job_id=JOB_ID)
    response = manager.delete(f"/ai-service/globex/jobs/{JOB_ID}")
    assert response.status_code == 403
    assert Job.objects.filter(job_id=JOB_ID).count() == 2


# Tenant isolation


@pytest.fixture
def two_tenants(make_job, other_tenant):
    make_job(job_id="acme-1", status="success")
    make_job(job_id="acme-2", status="failure")
    make_job(job_id="globex-1", tenant=other_tenant, status="success")
    make_job(job_id="globex-2", tenant=other_tenant, status="success")
    make_job(job_id="globex-3", tenant=other_tenant, status="failure")


def listed(response: Any) -> list[str]:
    assert response.status_code == 200
    return sorted(job["id"] for job in response.body)


def test_another_tenants_jobs_never_appear_in_the_list(manager, outsider, two_tenants):
    response = manager.get("/ai-service/acme/jobs", HTTP_X_TOTAL_COUNT="true")
    assert listed(response) == ["acme-1", "acme-2"]
    assert response["X-Total-Count"] == "2"
    response = outsider.get("/ai-service/globex/jobs", HTTP_X_TOTAL_COUNT="true")
    assert listed(response) == ["globex-1", "globex-2", "globex-3"]
    assert response["X-Total-Count"] == "3"


@pytest.mark.parametrize(
    "q, expected",
    [
        ("status:success", ["acme-1"]),
        ("id:globex-1", []),
        ("id:~globex", []),
        ("id:(acme-1,globex-1,globex-2)", ["acme-1"]),
    ],
)
def test_another_tenants_jobs_never_match_a_search(manager, two_tenants, q, expected):
    response = manager.post("/ai-service/acme/jobs/search", {"q": q}, content_type="application/json")
    assert listed(response) == expected
    response = manager.get("/ai-service/acme/jobs", {"q": q}, HTTP_X_TOTAL_COUNT="true")
    assert listed(response) == expected
    assert response["X-Total-Count"] == str(len(expected))


def test_it_returns_404_for_another_tenants_job(manager, outsider, two_tenants):
    response = manager.get("/ai-service/acme/jobs/globex-1")
    assert response.status_code == 404
    assert response.body["resourceId"] == "globex-1"
    response = outsider.get("/ai-service/globex/jobs/acme-1")
    assert response.status_code == 404
    assert response.body["resourceId"] == "acme-1"


def test_another_tenants_job_cannot_be_deleted(outsider, two_tenants):
    response = outsider.delete("/ai-service/globex/jobs/acme-1")
    assert response.status_code == 404
    assert response.body["resourceId"] == "acme-1"
    assert Job.objects.filter(job_id="acme-1", tenant__name="acme").exists()


def test_the_same_id_in_two_tenants_is_two_separate_jobs(manager, outsider, make_job, other_tenant):
    make_job(job_id="shared", message="acme's")
    make_job(job_id="shared", message="globex's", tenant=other_tenant)
    assert manager.get("/ai-service/acme/jobs/shared").body["message"] == "acme's"
    assert outsider.get("/ai-service/globex/jobs/shared").body["message"] == "globex's"
    assert outsider.delete("/ai-service/globex/jobs/shared").status_code == 204
    assert manager.get("/ai-service/acme/jobs/shared").body["message"] == "acme's"
    assert list(Job.objects.values_list("tenant__name", flat=True)) == ["acme"]


# Methods the paths do not offer


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("put", f"/ai-service/acme/jobs/{JOB_ID}", "DELETE"),
        ("post", "/ai-service/acme/jobs", "GET"),
        ("delete", "/ai-service/acme/jobs", "GET"),
    ],
)
def test_a_method_the_path_does_not_offer_is_a_405_not_a_403(manager, acme_job, method, path, allowed):
    response = getattr(manager, method)(path)
    assert response.status_code == 405, response.body
    assert response.body["code"] == 405
    assert response.body["status"] == "Method Not Allowed"
    assert allowed in response["Allow"]
    assert_untouched()


def test_head_on_the_list_answers_like_get_without_a_body(reader, acme_job):
    response = reader.head("/ai-service/acme/jobs", HTTP_X_TOTAL_COUNT="true")
    assert response.status_code == 200, response.body
    assert response.content == b""
    assert response["X-Total-Count"] == "1"
