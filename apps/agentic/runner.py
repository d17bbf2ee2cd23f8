"""What a worker does with an AGENT_CHAT job (registered with apps.jobs.runners)."""

from __future__ import annotations

from apps.jobs.models import Job
from apps.jobs.services import job_fail


def run_agent_job(job: Job) -> None:
    # Replaced by the runtime (apps.agentic.runtime) in the next change.
    job_fail(job_pk=job.pk, message="Agent runs are not available yet.")
