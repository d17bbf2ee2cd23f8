"""The Try it panel of an agent's page: a message box that starts a run of the agent, and the run it started,
followed live (its answer, usage and transcript) on the same page. Managers only, like every action."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from apps.agentic.services import chat_problem
from apps.agents.models import Agent
from apps.console.access import TenantAccess
from apps.console.catalogue.forms import AgentTryForm
from apps.console.jobs import selectors as job_selectors
from apps.console.jobs.runs import run_panel
from apps.jobs.models import Job


def shown_run(access: TenantAccess, agent: Agent, job_id: str | None) -> Job | None:
    """The run the panel shows: one of this agent's runs in this tenant, else none (a stale or foreign link)."""
    if not job_id:
        return None
    job = job_selectors.job_get(tenant=access.tenant, job_id=job_id)
    if job is None or job.type != Job.Type.AGENT_CHAT or job.agent_id != agent.public_id:
        return None
    return job


def try_it_context(
    access: TenantAccess, agent: Agent, *, run_id: str | None = None, form: AgentTryForm | None = None
) -> dict[str, Any]:
    """The panel: its form (continuing the shown run's conversation), why the agent cannot run if it cannot, and
    the run shown with what the job page shows of it."""
    job = shown_run(access, agent, run_id)
    if form is None:
        form = AgentTryForm(initial={"session_id": job.session_id if job else None})
    payload = job.payload if job is not None and isinstance(job.payload, dict) else {}
    return {
        "url": reverse("console:agents-try", args=[access.tenant.name, agent.public_id]),
        "form": form,
        "problem": chat_problem(agent),
        "job": job,
        "asked": payload.get("message") if isinstance(payload.get("message"), str) else None,
        "run": run_panel(access=access, job=job) if job is not None else None,
        "job_url": reverse("console:job-detail", args=[access.tenant.name, job.job_id]) if job else None,
    }
