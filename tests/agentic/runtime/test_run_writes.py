"""The writes a worker makes for a run in progress (apps.agentic.services), without a worker: the lines before a tool
go with its mark, and a run's last lines with its end, each all or nothing, and nothing once the job has ended."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.agentic import services
from apps.agentic.models import AgentRequest, AgentSession, LogMessage, Severity
from apps.core.timefmt import now_ms
from apps.jobs.models import Job
from apps.jobs.services import job_cancel
from apps.tenants.models import Tenant
from tests.agentic.runtime.conftest import agent

pytestmark = pytest.mark.django_db


def _job(tenant: Tenant) -> Job:
    created = agent(tenant, "writer", "http://127.0.0.1:9/v1")
    return services.run_create(tenant=tenant, agent=created, message="Hello", session_id=services.new_session_id())


def _lines(*messages: str) -> list[services.RunLine]:
    start = now_ms()
    return [
        services.RunLine("writer", message, Severity.INFO, start + timedelta(milliseconds=n))
        for n, message in enumerate(messages)
    ]


def _transcript(job: Job) -> list[str]:
    rows = LogMessage.objects.filter(request_id=job.request_id).order_by("timestamp", "id")
    return list(rows.values_list("message", flat=True))


def test_the_lines_before_a_tool_and_its_mark_are_written_together(tenant):
    job = _job(tenant)

    assert services.run_tool_mark(job=job, lines=_lines("LLM ended", "Tool x called"), mark=True)

    job.refresh_from_db()
    assert job.tool_called_at is not None
    assert _transcript(job)[-2:] == ["LLM ended", "Tool x called"]
    marked = job.tool_called_at
    # A second tool of the run keeps the first mark.
    assert services.run_tool_mark(job=job, lines=_lines("Tool y called"), mark=False)
    job.refresh_from_db()
    assert job.tool_called_at == marked
    assert _transcript(job)[-1] == "Tool y called"


def test_a_cancelled_job_gets_neither_the_lines_before_a_tool_nor_its_mark(tenant):
    job = _job(tenant)
    assert job_cancel(job_pk=job.pk, by="ada@example.com")
    before = _transcript(job)  # the cancel's own line is the last
    assert before[-1] == "Agent run failed: Cancelled by ada@example.com."

    assert services.run_tool_mark(job=job, lines=_lines("Tool x called"), mark=True) is False

    job.refresh_from_db()
    assert job.tool_called_at is None
    assert _transcript(job) == before


def test_a_runs_last_lines_are_written_with_its_success_after_the_others(tenant):
    job = _job(tenant)
    assert services.run_log(job=job, lines=_lines("LLM started (run #1)"))

    done = services.run_succeed(
        job=job, output="Hi", usage={}, agents=["writer"], history=None, lines=_lines("LLM ended", "Final")
    )

    assert done
    job.refresh_from_db()
    assert (job.status, job.message) == (Job.Status.SUCCESS, "Hi")
    assert _transcript(job)[1:] == ["LLM started (run #1)", "LLM ended", "Final"]
    assert AgentRequest.objects.get(request_id=job.request_id).finished_at is not None


def test_a_job_cancelled_after_its_last_step_keeps_the_cancel_and_gets_no_more_lines(tenant):
    job = _job(tenant)
    assert job_cancel(job_pk=job.pk, by="ada@example.com")
    before = _transcript(job)  # the cancel's own line is the last
    assert before[-1] == "Agent run failed: Cancelled by ada@example.com."

    done = services.run_succeed(job=job, output="Hi", usage={}, agents=["writer"], history=None, lines=_lines("Final"))

    assert done is False
    job.refresh_from_db()
    assert (job.status, job.message) == (Job.Status.FAILURE, "Cancelled by ada@example.com.")
    assert _transcript(job) == before
    assert services.run_log(job=job, lines=_lines("late")) is False
    assert _transcript(job) == before


def test_closing_a_request_keeps_its_sessions_worst_severity_and_adds_the_agents_it_lacks(tenant):
    job = _job(tenant)
    session = AgentSession.objects.get(session_id=job.session_id)
    assert (session.agents, session.severity) == (["writer"], "INFO")

    services.request_close(job=job, severity=Severity.WARNING)
    session.refresh_from_db()
    assert (session.agents, session.severity, session.version) == (["writer"], "WARNING", 2)
    assert session.finished_at is not None

    services.request_close(job=job, severity=Severity.INFO, agents=["writer", "helper"])
    session.refresh_from_db()
    assert (session.agents, session.severity, session.version) == (["writer", "helper"], "WARNING", 3)

    services.request_close(job=job, severity=Severity.ERROR, agents=["helper"])
    session.refresh_from_db()
    assert (session.agents, session.severity, session.version) == (["writer", "helper"], "ERROR", 4)
