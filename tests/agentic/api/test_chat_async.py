"""POST /agentic/chat-async: checks, scopes, the job it writes and the session it runs in."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from apps.agentic.models import AgentRequest, AgentSession, LogMessage
from apps.jobs.models import Job
from tests.agentic.api.conftest import RUN, RUN_OWN, client_with
from tests.conftest import MANAGE, READ

pytestmark = pytest.mark.django_db

URL = "/ai-service/acme/agentic/chat-async"


def chat(client: Any, body: Any, url: str = URL, **headers: str) -> Any:
    return client.post(url, body, content_type="application/json", **headers)


def ask(agent_id: str = "support-agent", message: str = "Where is my order?") -> dict[str, Any]:
    return {"agentId": agent_id, "message": message}


def test_it_answers_201_with_the_job_of_the_run_in_progress(runner, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as sent:
        response = chat(runner, ask())
    assert response.status_code == 201, response.body
    assert set(response.body) == {"jobId"}
    job_id = response.body["jobId"]
    assert response["Location"] == f"/ai-service/acme/jobs/{job_id}"
    assert len(sent) == 1  # the job is handed to a worker once it is committed
    job = runner.get(f"/ai-service/acme/jobs/{job_id}").body
    assert job["type"] == "AGENT_CHAT" and job["status"] == "in_progress"
    assert job["agentId"] == "support-agent" and job["agentType"] == "support"
    assert uuid.UUID(job["sessionId"]) and uuid.UUID(job["requestId"])


def test_it_opens_the_request_log_with_the_users_message(runner, agent):
    job_id = chat(runner, ask(message="Where is my order 42?")).body["jobId"]
    job = Job.objects.get(job_id=job_id)
    request = AgentRequest.objects.get(request_id=job.request_id)
    assert (request.job_id, request.session_id, request.trigger_agent_id) == (job_id, job.session_id, agent.public_id)
    lines = list(LogMessage.objects.filter(request_id=job.request_id).values_list("message", flat=True))
    assert lines == ["Agent receive request: Where is my order 42?"]
    assert job.payload == {"message": "Where is my order 42?"}


def test_a_session_id_header_continues_that_session(runner, agent):
    session = str(uuid.uuid4())
    first = chat(runner, ask(), HTTP_SESSION_ID=session).body["jobId"]
    second = chat(runner, ask(message="And the invoice?"), HTTP_SESSION_ID=session.upper()).body["jobId"]
    jobs = Job.objects.filter(job_id__in=[first, second])
    assert {job.session_id for job in jobs} == {session}
    assert len({job.request_id for job in jobs}) == 2  # two requests of one session
    assert AgentSession.objects.filter(session_id=session).count() == 1


def test_without_a_session_id_each_chat_gets_a_new_session(runner, agent):
    first = chat(runner, ask()).body["jobId"]
    second = chat(runner, ask()).body["jobId"]
    sessions = set(Job.objects.filter(job_id__in=[first, second]).values_list("session_id", flat=True))
    assert len(sessions) == 2


# Fixed values: pytest-xdist's processes must collect the same test ids.
@pytest.mark.parametrize(
    "header",
    ["not-a-uuid", "1234", "6f1c2a7e-3b4d-4e8f-9a0b-1c2d3e4f5a6b" + "0", "{6f1c2a7e-3b4d-4e8f-9a0b-1c2d3e4f5a6b}"],
)
def test_a_session_id_that_is_not_a_uuid_is_refused_naming_the_header(runner, agent, header):
    response = chat(runner, ask(), HTTP_SESSION_ID=header)
    assert response.status_code == 400
    assert response.body["details"][0]["field"] == "session-id"
    assert not Job.objects.exists()


def test_attachments_travel_to_the_worker_with_the_message(runner, agent):
    body = ask() | {"attachments": [{"attachmentId": "att-1", "caption": "Invoice"}]}
    job_id = chat(runner, body).body["jobId"]
    payload = Job.objects.get(job_id=job_id).payload
    assert payload["attachments"] == [{"attachmentId": "att-1", "caption": "Invoice"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ('"hello"', "body"),
        ({"message": "hi"}, "agentId"),
        ({"agentId": "", "message": "hi"}, "agentId"),
        ({"agentId": 7, "message": "hi"}, "agentId"),
        ({"agentId": "support-agent"}, "message"),
        ({"agentId": "support-agent", "message": "   "}, "message"),
        ({"agentId": "support-agent", "message": ["hi"]}, "message"),
        ({"agentId": "support-agent", "message": "hi", "attachments": "x"}, "attachments"),
        ({"agentId": "support-agent", "message": "hi", "attachments": [{"caption": "c"}]}, "attachments.0"),
        (
            {"agentId": "support-agent", "message": "hi", "attachments": [{"attachmentId": "a", "purpose": 3}]},
            "attachments.0.purpose",
        ),
    ],
)
def test_an_invalid_body_is_refused_naming_the_field(runner, agent, body, field):
    response = chat(runner, body)
    assert response.status_code == 400, response.body
    assert response.body["details"][0]["field"] == field
    assert not Job.objects.exists()


def test_an_unknown_agent_is_refused_saying_so(runner, agent):
    response = chat(runner, ask("nobody"))
    assert response.status_code == 400
    assert response.body["message"] == "No agent with id nobody in this tenant."
    assert response.body["details"][0]["field"] == "agentId"


def test_a_disabled_agent_is_refused_saying_so(runner, make_agent):
    make_agent("sleeper", enabled=False)
    response = chat(runner, ask("sleeper"))
    assert response.status_code == 400
    assert "disabled" in response.body["message"]
    assert not Job.objects.exists()


def test_an_agent_without_an_endpoint_trigger_is_refused_saying_so(runner, make_agent):
    make_agent("listener", triggers=[{"type": "commerce_events", "config": {"events": ["order.order-created"]}}])
    response = chat(runner, ask("listener"))
    assert response.status_code == 400
    assert "no endpoint trigger" in response.body["message"] and "commerce_events" in response.body["message"]


def test_another_tenants_agent_is_unknown_here(runner, make_agent, other_tenant):
    make_agent("theirs", owner=other_tenant)
    assert chat(runner, ask("theirs")).status_code == 400


def test_it_answers_401_without_a_token(api, agent):
    response = chat(api, ask())
    assert response.status_code == 401
    assert "fault" in response.body


def test_another_tenants_token_is_refused(outsider, agent):
    assert chat(outsider, ask()).status_code == 403


def test_read_and_manage_scopes_do_not_run_agents(manager, agent):
    response = chat(manager, ask())
    assert response.status_code == 403
    assert "ai.agentexecution_manage" in response.body["message"]
    assert not Job.objects.exists()


@pytest.mark.parametrize("scope", [RUN, RUN_OWN])
def test_either_execution_scope_runs_an_agent_without_required_scopes(tenant, make_token, agent, scope):
    assert chat(client_with(tenant, make_token, scope), ask()).status_code == 201


# requiredScopes of the agent -> which execution scope gets through.
REQUIRED_SCOPES_CASES = [
    ([], RUN, 201),
    ([], RUN_OWN, 201),
    (["anonymous"], RUN_OWN, 201),
    (["anonymous"], RUN, 201),
    (["customer"], RUN_OWN, 201),
    (["customer"], RUN, 403),
    (["employee"], RUN, 201),
    (["employee"], RUN_OWN, 403),
    (["integration"], RUN, 201),
    (["integration"], RUN_OWN, 403),
    (["customer", "employee"], RUN_OWN, 201),
    (["customer", "employee"], RUN, 201),
]


@pytest.mark.parametrize(("required", "scope", "status"), REQUIRED_SCOPES_CASES)
def test_the_agents_required_scopes_decide_who_may_run_it(tenant, make_token, make_agent, required, scope, status):
    make_agent("guarded", requiredScopes=required)
    response = chat(client_with(tenant, make_token, scope, READ), ask("guarded"))
    assert response.status_code == status, response.body
    if status == 403:
        assert "guarded" in response.body["message"]
        assert not Job.objects.exists()


def test_the_job_it_answers_with_can_be_polled_with_the_read_scope(runner, customer, agent, reader):
    job_id = chat(customer, ask()).body["jobId"]
    assert reader.get(f"/ai-service/acme/jobs/{job_id}").body["status"] == "in_progress"


def test_manage_scope_only_is_not_enough_for_chat(tenant, make_token, agent):
    assert chat(client_with(tenant, make_token, MANAGE), ask()).status_code == 403


# --- Own sessions: a caller with only ai.agentexecution_manage_own continues the sessions it started ---------------


def test_a_session_belongs_to_the_client_that_started_it(tenant, make_token, agent):
    customer = client_with(tenant, make_token, RUN_OWN)
    session = str(uuid.uuid4())
    job_id = chat(customer, ask(), HTTP_SESSION_ID=session).body["jobId"]
    client_id = Job.objects.get(job_id=job_id).tenant.api_clients.get().client_id
    assert AgentSession.objects.get(session_id=session).owner == f"client:{client_id}"
    again = chat(customer, ask(message="And the invoice?"), HTTP_SESSION_ID=session)
    assert again.status_code == 201, again.body


def test_a_customer_cannot_continue_another_callers_session(tenant, make_token, agent):
    session = str(uuid.uuid4())
    assert chat(client_with(tenant, make_token, RUN_OWN), ask(), HTTP_SESSION_ID=session).status_code == 201
    jobs = Job.objects.count()

    refused = chat(client_with(tenant, make_token, RUN_OWN), ask(), HTTP_SESSION_ID=session)

    assert refused.status_code == 403
    assert refused.body["details"][0]["field"] == "session-id"
    assert "continues only its own sessions" in refused.body["message"]
    assert Job.objects.count() == jobs  # nothing written, not even the job


def test_the_full_execution_scope_continues_any_session(tenant, make_token, agent, runner):
    session = str(uuid.uuid4())
    assert chat(client_with(tenant, make_token, RUN_OWN), ask(), HTTP_SESSION_ID=session).status_code == 201
    assert chat(runner, ask(), HTTP_SESSION_ID=session).status_code == 201


def test_a_customer_cannot_join_a_session_started_by_an_event_or_the_console(tenant, customer, agent):
    session = str(uuid.uuid4())
    AgentSession.objects.create(tenant=tenant, session_id=session, trigger_agent_id=agent.public_id)
    assert chat(customer, ask(), HTTP_SESSION_ID=session).status_code == 403
