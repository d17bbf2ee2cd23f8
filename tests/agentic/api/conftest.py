"""Agents to chat with, clients with the execution scopes, and request and session logs written as a run would."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from apps.agentic.models import AgentRequest, AgentSession, LogMessage, Severity
from apps.agents.models import Agent, Kind
from apps.agents.representation import columns_from_body
from apps.core.timefmt import now_ms
from apps.tenants.models import Tenant
from tests.conftest import MANAGE, READ, ApiClientForTests

RUN, RUN_OWN = "ai.agentexecution_manage", "ai.agentexecution_manage_own"


def agent_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": {"en": "Support agent"},
        "type": "support",
        "enabled": True,
        "userPrompt": "You help customers with their orders.",
        "triggers": [{"type": "endpoint"}],
        "llmConfig": {"provider": "emporix_openai", "model": "gpt-4.1-mini"},
        "mcpServers": [],
        "maxRecursionLimit": 20,
        "enabledMemory": False,
    }
    return body | overrides


@pytest.fixture
def make_agent(tenant: Tenant) -> Callable[..., Agent]:
    def make(public_id: str = "support-agent", *, owner: Tenant | None = None, **overrides: Any) -> Agent:
        body = agent_body(**overrides)
        return Agent.objects.create(
            tenant=owner or tenant, public_id=public_id, body=body, **columns_from_body(Kind.AGENT, body)
        )

    return make


@pytest.fixture
def agent(make_agent: Callable[..., Agent]) -> Agent:
    return make_agent()


def client_with(tenant: Tenant, make_token: Callable[..., str], *scopes: str) -> ApiClientForTests:
    client = ApiClientForTests()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {make_token(tenant, *scopes)}"
    return client


@pytest.fixture
def runner(tenant: Tenant, make_token: Callable[..., str]) -> ApiClientForTests:
    """An integration's client: runs agents and reads jobs and logs."""
    return client_with(tenant, make_token, RUN, READ, MANAGE)


@pytest.fixture
def customer(tenant: Tenant, make_token: Callable[..., str]) -> ApiClientForTests:
    """A storefront's client, acting for a customer: the `_own` execution scope only."""
    return client_with(tenant, make_token, RUN_OWN)


@pytest.fixture
def write_run(tenant: Tenant) -> Callable[..., AgentRequest]:
    """A finished run's request log, its session's, and its transcript lines, as the runtime writes them."""

    made = itertools.count()
    # Each run a second after the one before: lists have a defined order without sleeping.
    start = now_ms() - timedelta(hours=1)

    def write(
        *,
        agent_id: str = "support-agent",
        session_id: str | None = None,
        severity: Severity = Severity.INFO,
        lines: tuple[str, ...] = ("Agent receive request: hello", "Agent final response: hi"),
        seconds: int = 3,
        owner: Tenant | None = None,
        collaborators: tuple[str, ...] = (),
    ) -> AgentRequest:
        owner = owner or tenant
        session_id = session_id or str(uuid.uuid4())
        at = start + timedelta(seconds=next(made))
        request = AgentRequest.objects.create(
            created_at=at,
            modified_at=at,
            started_at=at,
            tenant=owner,
            request_id=str(uuid.uuid4()),
            session_id=session_id,
            trigger_agent_id=agent_id,
            collaboration_agents=list(collaborators),
            severity=severity,
        )
        request.finished_at = request.started_at + timedelta(seconds=seconds, milliseconds=400)
        request.save(update_fields=["finished_at"])
        session, _ = AgentSession.objects.get_or_create(
            tenant=owner,
            session_id=session_id,
            defaults={
                "trigger_agent_id": agent_id,
                "agents": [agent_id, *collaborators],
                "severity": severity,
                "created_at": at,
                "started_at": at,
            },
        )
        session.finished_at = request.finished_at
        session.save(update_fields=["finished_at"])
        for n, text in enumerate(lines):
            LogMessage.objects.create(
                tenant=owner,
                session_id=session_id,
                request_id=request.request_id,
                agent_id=agent_id,
                message=text,
                timestamp=request.started_at + timedelta(milliseconds=n),
                severity=severity if n == len(lines) - 1 else Severity.INFO,
            )
        return request

    return write
