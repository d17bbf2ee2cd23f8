"""Celery tasks: ids in, the work in apps.jobs.runners and apps.jobs.services.

acks_late with reject_on_worker_lost (set in settings) means a task whose worker dies is delivered again; the
job's attempt counter caps how often, and the compare-and-set finish makes a repeat harmless.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from django.conf import settings

from apps.jobs import runners, services


class JobTask(Task):  # type: ignore[misc]
    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        # A hard time limit kills the process running the job; the worker's main process reports it here,
        # so the job fails now rather than when the sweep finds it.
        if isinstance(exc, TimeLimitExceeded) and args:
            runners.job_timed_out(job_pk=int(args[0]))
        # job_execute fails the job on a soft time limit itself; one that strikes in Celery's code around it (on a
        # busy machine, a short limit can) reaches only this.
        elif isinstance(exc, SoftTimeLimitExceeded) and args:
            runners.job_soft_timed_out(job_pk=int(args[0]))


# The limits are set on the task itself: the worker-wide defaults do not reach the prefork pool's timers.
@shared_task(
    name="apps.jobs.tasks.job_run",
    base=JobTask,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
)
def job_run(job_pk: int) -> None:
    runners.job_execute(job_pk=job_pk)


@shared_task(name="apps.jobs.tasks.jobs_sweep")
def jobs_sweep() -> dict[str, Any]:
    return services.jobs_sweep()


@shared_task(name="apps.jobs.tasks.ping")
def ping() -> str:
    """Does nothing: `celery -A config call apps.jobs.tasks.ping` checks that workers take tasks, and the
    benchmarks compare job throughput with it."""
    return "pong"
