"""GET /agentic/commerce-events, API clients with the execution scopes, and DELETE of an agent run in progress."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from apps.accounts.models import ApiClient
from apps.agentic.models import AgentRequest
from apps.jobs.models import Job

pytestmark = pytest.mark.django_db

EVENTS = "/ai-service/acme/agentic/commerce-events"


def test_it_lists_the_commerce_events_the_installation_accepts(reader, settings):
    settings.AGENT_COMMERCE_EVENTS = ["order.order-created", "product.product-updated"]
    response = reader.get(EVENTS)
    assert response.status_code == 200
    assert response.body == {"events": ["order.order-created", "product.product-updated"]}


def test_the_default_events_cover_orders_products_and_customers(reader):
    events = reader.get(EVENTS).body["events"]
    assert {"order.order-created", "product.product-updated", "customer.customer-created"} <= set(events)


def test_commerce_events_need_a_token_the_read_scope_and_this_tenant(api, customer, outsider):
    assert api.get(EVENTS).status_code == 401
    assert customer.get(EVENTS).status_code == 403
    assert outsider.get(EVENTS).status_code == 403


@pytest.mark.parametrize("scope", ["ai.agentexecution_manage_own", "ai.agentexecution_manage"])
def test_create_api_client_grants_the_execution_scopes(tenant, scope):
    out = StringIO()
    call_command("create_api_client", "acme", "--scope", scope, "--scope", "ai.agent_read", stdout=out)
    printed = json.loads(out.getvalue())
    assert printed["scopes"] == [scope, "ai.agent_read"]
    assert ApiClient.objects.get(client_id=printed["client_id"]).allowed_scopes == [scope, "ai.agent_read"]


def test_a_running_agent_run_is_deleted_by_delete_jobs_id(runner, agent):
    body = {"agentId": "support-agent", "message": "hi"}
    job_id = runner.post("/ai-service/acme/agentic/chat-async", body, content_type="application/json").body["jobId"]
    assert Job.objects.get(job_id=job_id).status == Job.Status.IN_PROGRESS
    response = runner.delete(f"/ai-service/acme/jobs/{job_id}")
    assert response.status_code == 204
    assert runner.get(f"/ai-service/acme/jobs/{job_id}").status_code == 404
    # Its transcript so far stays readable.
    request = AgentRequest.objects.get(job_id=job_id)
    assert runner.get(f"/ai-service/acme/agentic/logs/requests/{request.request_id}").status_code == 200


def test_deleting_an_agent_run_needs_the_manage_scope(customer, reader, agent):
    body = {"agentId": "support-agent", "message": "hi"}
    job_id = customer.post("/ai-service/acme/agentic/chat-async", body, content_type="application/json").body["jobId"]
    assert reader.delete(f"/ai-service/acme/jobs/{job_id}").status_code == 403
    assert customer.delete(f"/ai-service/acme/jobs/{job_id}").status_code == 403
    assert Job.objects.filter(job_id=job_id).exists()
