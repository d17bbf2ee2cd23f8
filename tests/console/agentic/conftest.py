"""Fixtures of the console's agent run pages: acme's agent `helper` (enabled, started by an endpoint trigger, on
the installation's own model), a run of it with a transcript written as a worker writes one, and a broker that
records the tasks a new job would send."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest

from apps.agentic.models import Severity
from apps.agentic.services import log_write, run_create
from apps.agents.models import Agent, Kind
from apps.core.timefmt import now_ms
from apps.jobs import tasks
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from tests.agents.conftest import create

SESSION = "0b7c1f0e-6d55-4a3c-9a39-2f5d3c1e7a11"
ASKED = "Where is my order 10482?"
ANSWER = "Your order 10482 was shipped yesterday and arrives on Thursday."


def helper_body(**extra: Any) -> dict[str, Any]:
    return {
        "name": {"en": "Helper"},
        "type": "support",
        "enabled": True,
        "userPrompt": "Help customers with their orders.",
        "triggers": [{"type": "endpoint"}],
        "llmConfig": {"provider": "emporix_openai", "model": "gpt-4.1-mini"},
        "mcpServers": [],
        "nativeTools": [],
        "agentCollaborations": [],
        **extra,
    }


@pytest.fixture
def broker() -> Iterator[mock.Mock]:
    """Sending a job's task is recorded, never done."""
    with mock.patch.object(tasks.job_run, "apply_async") as send:
        yield send


@pytest.fixture
def agent(tenant: Tenant) -> Agent:
    found = create(tenant, Kind.AGENT, "helper", helper_body())
    assert isinstance(found, Agent)
    return found


def write_lines(job: Job, *lines: str | tuple[str, Severity]) -> None:
    """Lines of the job's transcript, as the worker running it writes them."""
    for line in lines:
        text, severity = line if isinstance(line, tuple) else (line, Severity.INFO)
        log_write(
            tenant=job.tenant,
            session_id=str(job.session_id),
            request_id=str(job.request_id),
            agent_id=str(job.agent_id),
            message=text,
            severity=severity,
        )


TRANSCRIPT = (
    "LLM started (run #1) for agent: 'helper' with prompts: ['Where is my order 10482?']",
    "Tool get-order called by agent helper with arguments {'orderId': '10482'}",
    ("Tool ended (agent: helper) with output: {'status': 'shipped'}", Severity.WARNING),
    f"LLM ended (run #1) for agent: 'helper' with response: {ANSWER}",
    f"Agent final response: {ANSWER}",
)


@pytest.fixture
def running(tenant: Tenant, agent: Agent, broker: mock.Mock) -> Job:
    """A run of `helper` in progress, halfway: the model was asked and called a tool, which has not answered."""
    job = run_create(tenant=tenant, agent=agent, message=ASKED, session_id=SESSION)
    write_lines(job, *TRANSCRIPT[:2])
    return job


@pytest.fixture
def answered(tenant: Tenant, agent: Agent, broker: mock.Mock) -> Job:
    """A run of `helper` that answered, with its whole transcript and usage."""
    job = run_create(tenant=tenant, agent=agent, message=ASKED, session_id=SESSION)
    write_lines(job, *TRANSCRIPT)
    usage = {"inputTokens": 1234, "outputTokens": 56, "requests": 2, "toolCalls": 1, "model": "gpt-4.1-mini"}
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.SUCCESS, message=ANSWER, usage=usage, finished_at=now_ms() + timedelta(seconds=2)
    )
    job.refresh_from_db()
    return job
