"""Celery tasks: ids in, the work in apps.jobs.runners and apps.jobs.services.

acks_late with reject_on_worker_lost (set in settings) means a task whose worker dies is delivered again; the
job's attempt counter caps how often, and the compare-and-set finish makes a repeat harmless.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from apps.jobs import runners, services


@shared_task(name="apps.jobs.tasks.job_run")
def job_run(job_pk: int) -> None:
    runners.job_execute(job_pk=job_pk)


@shared_task(name="apps.jobs.tasks.jobs_sweep")
def jobs_sweep() -> dict[str, Any]:
    return services.jobs_sweep()
