"""How an agent run ends when the job machinery (apps.jobs.endings), not its runner, ends it: a time limit, the cap
on attempts, the scheduler's sweep, a cancel or a delete. The run's request log is closed as the runner closes it,
and the failure is worded for an agent run: unlike an export or import, a run may have called tools that acted."""

from __future__ import annotations

from apps.agentic import services
from apps.agentic.models import Severity
from apps.jobs.endings import Stop
from apps.jobs.models import Job


class AgentRunEnding:
    def message(self, job: Job, stop: Stop) -> str:
        # The mark is committed before a tool is called (services.run_tool_mark): without it, no tool ran.
        if job.tool_called_at is not None:
            return f"The agent run {stop.what}; a tool it called before may already have acted."
        return f"The agent run {stop.what}; it had called no tool yet."

    def fail(self, job: Job, message: str, *, cancelled: bool) -> bool:
        # A rerun's request log is opened when a worker starts it: one ended before has it opened now, so that its
        # failure line belongs to a transcript, as every run's does.
        services.run_begin(job=job)
        if not cancelled:
            return services.run_fail(job=job, reason=message)
        # A run cancelled mid-way ends its transcript where it stopped (docs/agent-runs.md); one cancelled before a
        # worker started it would have only its request, so the cancel says why. Both are closed now, as warnings:
        # a worker that died meanwhile would never close them.
        return services.run_fail(job=job, reason=message, severity=Severity.WARNING, say_why=job.started_at is None)

    def deleted(self, jobs: list[Job]) -> None:
        services.runs_deleted(jobs=jobs)
