"""`skipped` in the Jobs API: the status of a run a commerce event's filter did not start, which `q` finds and
every answer shows in the published shape."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.agentic.events.conftest import ORDER_CREATED, Sender, commerce_trigger, order_event, subscribe
from tests.conftest import READ, ApiClientForTests

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(tenant: Tenant, make_token: Callable[..., str]) -> ApiClientForTests:
    return ApiClientForTests(headers={"Authorization": f"Bearer {make_token(tenant, READ)}"})


@pytest.fixture
def started(tenant: Tenant, sender: Sender) -> dict[str, str]:
    """{agent id: job id} of one order event: "euro" skipped by its filter, "anything" started."""
    subscribe(
        tenant, "euro", commerce_trigger(ORDER_CREATED, {"left": "payload.order.currency", "op": "$eq", "right": "EUR"})
    )
    subscribe(tenant, "anything", commerce_trigger(ORDER_CREATED))
    sender.post(order_event(currency="USD"))
    return dict(Job.objects.values_list("agent_id", "job_id"))


def test_q_status_skipped_finds_the_skipped_runs_only(reader: ApiClientForTests, started: dict[str, str]) -> None:
    response = reader.get("/ai-service/acme/jobs", {"q": "status:skipped"})

    assert response.status_code == 200, response.body
    assert [job["id"] for job in response.body] == [started["euro"]]
    (job,) = response.body
    assert job["status"] == "skipped"
    assert job["commerceEvent"] == ORDER_CREATED
    assert job["agentId"] == "euro"
    assert "does not match the trigger's filter" in job["message"]


def test_the_search_and_the_count_know_skipped_too(reader: ApiClientForTests, started: dict[str, str]) -> None:
    response = reader.post(
        "/ai-service/acme/jobs/search",
        {"q": "status:(skipped,in_progress)"},
        content_type="application/json",
        headers={"X-Total-Count": "true"},
    )

    assert response.status_code == 200, response.body
    assert sorted(job["id"] for job in response.body) == sorted(started.values())
    assert response["X-Total-Count"] == "2"


def test_a_skipped_job_reads_in_the_published_shape(reader: ApiClientForTests, started: dict[str, str]) -> None:
    response = reader.get(f"/ai-service/acme/jobs/{started['euro']}")

    assert response.status_code == 200
    assert response.body["status"] == "skipped"
    assert response.body["type"] == "AGENT_CHAT"
