"""What a worker does with an AGENT_CHAT job (registered with apps.jobs.runners): take a turn under the tenant's
cap, read the agent, run it (apps.agentic.runtime) in the process's event loop (apps.agentic.loop), and finish the
job with the answer or the reason it failed. The run writes its log lines as it goes; a job cancelled or deleted
meanwhile gets nothing more.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import signals
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from apps.agentic import loop, services
from apps.agentic.models import Severity
from apps.agentic.runtime import RunResult, RunStopped, Timeouts, preload, run_agent
from apps.agentic.specs import AgentSpec, RunFailed, agent_spec
from apps.core.timefmt import now_ms
from apps.jobs.models import Job

logger = logging.getLogger(__name__)


def _preload_runtime(**_: Any) -> None:
    # In the worker's main process, before the pool forks: no pool process imports the model SDK on its first run.
    preload()


signals.worker_init.connect(_preload_runtime)


def run_agent_job(job: Job) -> str | None:
    """Run the job's agent; the status it left the job in when it finished it with the answer (apps.jobs.runners
    reads any other back)."""
    if job.tool_called_at is not None and job.attempts > 1:
        # The last worker died after a tool ran: the tool may have acted (a mail sent, an order refunded), so the
        # run is not repeated unasked. A person can rerun it from the console.
        _fail(
            job,
            "The worker running this agent stopped after the agent had called a tool, so the run is not "
            "repeated on its own: the tool may already have acted. Rerun the job if that is safe.",
        )
        return None
    if not services.run_turn_take(job=job):
        return None  # the tenant has as many runs going as it may; the job waits in the queue for its turn
    services.run_begin(job=job)
    try:
        spec = agent_spec(tenant=job.tenant, agent_id=str(job.agent_id))
    except RunFailed as exc:
        _fail(job, exc.reason)
        return None
    history = services.memory_read(job=job) if spec.memory else None
    journal = _Journal(job)
    try:
        result = loop.run(lambda bridge: _run(job, spec, history, journal.served_by(bridge)))
    except RunStopped:
        # Whoever ended the job (a cancel, a delete, the sweep) may have closed the log already, as they saw it.
        services.request_close(job=job, severity=Severity.WARNING, only_open=True)
        return None
    except RunFailed as exc:
        _fail(job, exc.reason, usage=exc.usage)
        return None
    except SoftTimeLimitExceeded:
        raise  # not a fault of the run's: the job machinery fails it, saying which limit (apps.jobs.runners)
    except Exception:
        # A fault of ours, not of the model or a server: the traceback goes to the worker log, the job says where.
        logger.exception("Agent run %s failed", job.job_id)
        reason = (
            f"The agent run failed because of an internal error; the worker log has the details under job {job.job_id}."
        )
        _fail(job, reason)
        return None
    # The run's last lines are written with its end, in one transaction.
    lines = journal.take()
    if services.run_succeed(
        job=job, output=result.output, usage=result.usage, agents=result.agents, history=result.history, lines=lines
    ):
        return str(Job.Status.SUCCESS)
    # Cancelled or deleted after its last step: closed as a run stopped at a flush is (nothing more written).
    services.request_close(job=job, severity=Severity.WARNING, only_open=True)
    return None


async def _run(job: Job, spec: AgentSpec, history: list[Any] | None, journal: _Journal) -> RunResult:
    timeouts = Timeouts(
        run=settings.AGENT_RUN_TIMEOUT_SECONDS,
        model=settings.AGENT_MODEL_TIMEOUT_SECONDS,
        tool=settings.AGENT_TOOL_TIMEOUT_SECONDS,
    )
    return await run_agent(spec, _message(job), history=history, journal=journal, timeouts=timeouts)


def _message(job: Job) -> str:
    # A commerce event's body is already in the message, marked off as data (apps.agentic.events).
    return str((job.payload or {}).get("message") or "")


def _fail(job: Job, reason: str, usage: dict[str, Any] | None = None) -> None:
    services.run_fail(job=job, reason=reason, usage=usage)
    logger.info("Agent run %s failed: %s", job.job_id, reason)


class _Journal:
    """The run's reports (apps.agentic.runtime.state.Journal), written to the database by the worker's thread."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.bridge: loop.Bridge | None = None
        self._lines: list[services.RunLine] = []
        self._marked = False

    def served_by(self, bridge: loop.Bridge) -> _Journal:
        self.bridge = bridge
        return self

    def take(self) -> list[services.RunLine]:
        """The lines kept since the last flush (a run that answered leaves its last ones here)."""
        lines, self._lines = self._lines, []
        return lines

    def _call(self) -> loop.Bridge:
        assert self.bridge is not None, "the journal is used only inside loop.run"
        return self.bridge

    def line(self, agent_id: str, message: str, severity: str = "INFO") -> None:
        self._lines.append(services.RunLine(agent_id, message, Severity(severity), now_ms()))

    async def flush(self) -> bool:
        lines, self._lines = self._lines, []
        if not lines:
            return True
        return await self._call().call(services.run_log, job=self.job, lines=lines)

    async def tool_starting(self) -> bool:
        lines, self._lines = self._lines, []
        written = await self._call().call(services.run_tool_mark, job=self.job, lines=lines, mark=not self._marked)
        self._marked = True
        return written

    async def wanted(self) -> bool:
        return await self._call().call(services.run_wanted, job=self.job)
