"""The Try it panel of an agent's page: a manager sends the agent a message, which starts an AGENT_CHAT job as
chat-async does, and the page then follows that run."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from apps.agentic.models import AgentRequest, LogMessage
from apps.agents.models import Agent, Kind
from apps.audit.models import AuditEvent
from apps.jobs.models import Job
from tests.agents.conftest import create
from tests.console.agentic.conftest import ANSWER, ASKED, SESSION, helper_body
from tests.console.jobs.helpers import BASE

PAGE = f"{BASE}/agents/helper/"
TRY = f"{BASE}/agents/helper/try"


def send(client: Any, message: str = ASKED, session_id: str = "", **extra: Any) -> Any:
    return client.post(TRY, {"message": message, "session_id": session_id}, **extra)


def test_managers_see_the_try_it_panel_on_an_agents_page(manager_client, agent):
    body = manager_client.get(PAGE).content.decode()

    assert '<section id="try-it"' in body
    assert f'action="{TRY}#try-it"' in body and 'name="csrfmiddlewaretoken"' in body
    assert '<textarea name="message"' in body and 'name="session_id"' in body


@pytest.mark.parametrize("persona", ["viewer"])
def test_viewers_have_no_try_it_panel(client_as, persona, agent):
    body = client_as(persona).get(PAGE).content.decode()

    assert "try-it" not in body and TRY not in body


def test_a_message_starts_a_run_of_the_agent_in_a_new_session_handed_to_the_agents_queue(
    manager_client, manager_user, agent, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(manager_client)

    job = Job.objects.get()
    assert (job.type, job.status, job.agent_id, job.agent_type) == ("AGENT_CHAT", "in_progress", "helper", "support")
    assert job.payload == {"message": ASKED}
    assert str(uuid.UUID(str(job.session_id))) == job.session_id
    assert job.request_id and job.commerce_event is None
    broker.assert_called_once_with(args=[job.pk], queue="agents", countdown=None, retry=False)
    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}?run={job.job_id}#try-it"
    # The request log is open and holds what was asked, as the chat endpoints leave it.
    request = AgentRequest.objects.get(request_id=job.request_id)
    assert (request.job_id, request.trigger_agent_id, request.session_id) == (job.job_id, "helper", job.session_id)
    line = LogMessage.objects.get(request_id=job.request_id)
    assert line.message == f"Agent receive request: {ASKED}"
    event = AuditEvent.objects.get()
    assert (event.user, event.action, event.object_id) == (manager_user, "agent.run", "helper")
    assert event.detail == {"jobId": job.job_id, "sessionId": job.session_id, "requestId": job.request_id}


def test_a_session_id_continues_that_conversation(manager_client, agent, broker):
    send(manager_client, session_id=SESSION)

    assert Job.objects.get().session_id == SESSION


def test_the_page_then_follows_the_run_with_what_was_asked(manager_client, agent, broker):
    response = send(manager_client, follow=True)

    job = Job.objects.get()
    body = response.content.decode()
    assert f'<div class="run" data-job-id="{job.job_id}" data-status="in_progress">' in body
    assert "Waiting for the agent…" in body
    assert f"Agent receive request: {ASKED}" in body  # the transcript so far
    assert 'src="/static/console/live.js"' in body and "/console/acme/jobs/status.json" in body
    # The next message continues the conversation.
    assert f'name="session_id" value="{job.session_id}"' in body
    assert f'href="{BASE}/jobs/{job.job_id}/"' in body


def test_a_finished_run_shows_the_answer(manager_client, answered):
    body = manager_client.get(PAGE, {"run": answered.job_id}).content.decode()

    assert f'data-cell="message" data-full>{ANSWER}</div>' in body
    assert '<dd data-usage="inputTokens">1,234</dd>' in body
    assert "<code>get-order</code>" in body


def test_the_page_shows_no_run_of_another_agent_or_tenant(manager_client, agent, answered, tenant, other_tenant):
    create(tenant, Kind.AGENT, "other", helper_body())
    foreign = Job.objects.create(tenant=other_tenant, type=Job.Type.AGENT_CHAT, agent_id="helper", message="globex")

    for url in [f"{BASE}/agents/other/?run={answered.job_id}", f"{PAGE}?run={foreign.job_id}", f"{PAGE}?run=nope"]:
        body = manager_client.get(url).content.decode()
        assert "data-job-id" not in body, url
        assert '<section id="try-it"' in body


@pytest.mark.parametrize(
    "message, session_id, problem",
    [
        ("", "", "This field is required."),
        ("   ", "", "This field is required."),
        ("x" * 10_001, "", "Ensure this value has at most 10000 characters"),
        (ASKED, "not-a-uuid", "Enter a valid UUID."),
    ],
)
def test_a_message_or_session_that_cannot_be_sent_is_refused_on_the_page(
    manager_client, agent, broker, message, session_id, problem
):
    response = send(manager_client, message, session_id)

    assert response.status_code == 400
    assert problem in response.content.decode()
    assert not Job.objects.exists() and not AuditEvent.objects.exists()
    broker.assert_not_called()


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"enabled": False}, "Agent helper is disabled; enable it to chat with it."),
        ({"triggers": [{"type": "commerce_events", "config": {"events": ["order.order-created"]}}]}, "no endpoint"),
        ({"triggers": []}, "has no endpoint trigger"),
    ],
)
def test_an_agent_the_chat_endpoints_would_refuse_is_refused_saying_why(
    manager_client, tenant, broker, changes, problem
):
    create(tenant, Kind.AGENT, "helper", helper_body(**changes))

    page = manager_client.get(PAGE).content.decode()
    response = send(manager_client)

    assert problem in page and "disabled>Send</button>" in page.replace(" disabled>", "disabled>")
    assert response.status_code == 400 and problem in response.content.decode()
    assert not Job.objects.exists() and not AuditEvent.objects.exists()


def test_a_viewer_cannot_start_a_run(viewer_client, agent, broker):
    assert send(viewer_client).status_code == 403
    assert not Job.objects.exists()


def test_an_outsider_finds_no_agent_to_run(outsider_client, agent, broker):
    assert send(outsider_client).status_code == 404
    assert not Job.objects.exists()


def test_a_missing_agent_is_not_found(manager_client, tenant, broker):
    assert send(manager_client).status_code == 404


def test_a_platform_admin_may_run_any_tenants_agent(platform_admin_client, agent, broker):
    assert send(platform_admin_client).status_code == 302
    assert Job.objects.filter(agent_id="helper").count() == 1


def test_running_takes_a_post_with_a_csrf_token(agent, manager_user, broker):
    from django.test import Client

    guarded = Client(enforce_csrf_checks=True)
    guarded.force_login(manager_user)

    assert guarded.get(TRY).status_code == 405
    assert send(guarded).status_code == 403
    assert not Job.objects.exists()


def test_only_agents_have_a_try_it_panel(manager_client, tenant, agent):
    assert isinstance(Agent.objects.get(public_id="helper"), Agent)
    from tests.agents.conftest import token_body

    create(tenant, Kind.TOKEN, "key", token_body("Key", "v"))

    assert "try-it" not in manager_client.get(f"{BASE}/tokens/key/").content.decode()
