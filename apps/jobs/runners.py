"""What a worker does with a job: load it by id, do the work, finish it once.

Failures end the job in `failure` with a message a person can act on; the traceback goes to the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction

from apps.agents.bundle import BundleError, bundle_collect, bundle_decode, bundle_encode
from apps.agents.importing import bundle_apply
from apps.core import logs
from apps.core.metrics import job_run_observed
from apps.jobs.endings import Stop
from apps.jobs.models import Job
from apps.jobs.services import job_claim, job_fail, job_finish, job_lock_unfinished, job_stop

logger = logging.getLogger(__name__)

# Job types run by another app (agent runs: apps.agentic), registered from its AppConfig.ready(): the jobs app
# knows how to claim, finish and sweep any job, not what an agent run does.
# A runner may return the status it left the job in when it finished the job itself, which spares reading it back
# for the metrics; None: it is read back.
Runner = Callable[[Job], str | None]
_RUNNERS: dict[str, Runner] = {}


def register_runner(job_type: str, runner: Runner) -> None:
    _RUNNERS[job_type] = runner


def job_execute(*, job_pk: int) -> None:
    started = time.perf_counter()
    try:
        job = job_claim(job_pk=job_pk)
        if job is None:
            # Finished, deleted, or given up on: a late or repeated delivery has nothing to do.
            job_run_observed(job_type=_type_and_status(job_pk)[0], outcome="not_run", seconds=None)
            return
        # The task's context (config/celery.py) holds the request that created the job, if any; now the job is known.
        logs.bind(job_id=job.job_id, tenant=job.tenant.name)
        left_in = _run(job)
    except SoftTimeLimitExceeded:
        _recover_connection()
        _fail_over_soft_limit(job_pk)
        job_type, outcome = _type_and_status(job_pk)[0], "timeout"
    else:
        # What the run left the job in (success, failure, skipped), read back unless the runner said: runners of
        # other apps finish it too.
        job_type, outcome = (str(job.type), left_in) if left_in is not None else _type_and_status(job_pk)
    job_run_observed(job_type=job_type, outcome=outcome, seconds=time.perf_counter() - started)


def _run(job: Job) -> str | None:
    label = job.noun
    try:
        if job.type == Job.Type.EXPORT:
            _export(job)
        elif job.type == Job.Type.IMPORT:
            _import(job)
        elif job.type in _RUNNERS:
            return _RUNNERS[job.type](job)
        else:
            job_fail(job_pk=job.pk, message=f"Jobs of type {job.type} are not run by this installation.")
    except SoftTimeLimitExceeded:
        raise
    except BundleError as exc:
        job_fail(job_pk=job.pk, message=f"The {label} could not be read: {exc.message}")
    except Exception:
        logger.exception("Job %s (%s) failed", job.job_id, job.type)
        _recover_connection()
        details = f"the worker log has the details under job {job.job_id}"
        # A runner of another app that failed before its own handling (an agent run: its request log) is ended by
        # that app too (apps.jobs.endings).
        job_stop(
            job_pk=job.pk,
            message=f"The {label} failed because of an internal error and changed nothing; {details}.",
            stop=Stop(f"failed because of an internal error ({details})"),
        )
    return None


def job_timed_out(*, job_pk: int) -> None:
    seconds = settings.CELERY_TASK_TIME_LIMIT
    stop = Stop(f"was stopped after {seconds} s, its hard time limit (JOB_TIME_LIMIT_SECONDS)")
    _fail_over_time(job_pk, f"was stopped after {seconds} s, its hard time limit", "JOB_TIME_LIMIT_SECONDS", stop)
    # Counted by the worker's main process; the killed process's start time went with it.
    job_run_observed(job_type=_type_and_status(job_pk)[0], outcome="timeout", seconds=None)


def job_soft_timed_out(*, job_pk: int) -> None:
    """The soft time limit struck outside job_execute: in Celery's own code just before it (the limit's clock starts
    when the pool process takes the task) or just after it. Celery reports it as the task's failure; the job, if
    still in progress, fails now rather than when the sweep finds it."""
    _recover_connection()
    if _fail_over_soft_limit(job_pk):
        job_run_observed(job_type=_type_and_status(job_pk)[0], outcome="timeout", seconds=None)


def _fail_over_soft_limit(job_pk: int) -> bool:
    seconds = settings.CELERY_TASK_SOFT_TIME_LIMIT
    stop = Stop(f"was stopped after {seconds} s, its soft time limit (JOB_SOFT_TIME_LIMIT_SECONDS)")
    return _fail_over_time(job_pk, f"took longer than {seconds} s and was stopped", "JOB_SOFT_TIME_LIMIT_SECONDS", stop)


def _fail_over_time(job_pk: int, stopped: str, setting: str, stop: Stop) -> bool:
    """Fail the job, if still in progress, saying which limit stopped it; False when it had already finished."""
    # An export or import stopped by a time limit changed nothing (an import commits with its success), so it can
    # be run again. A job of another app's type is worded by that app (`stop`): an agent run's tools may have acted.
    message = f"The {_label(job_pk)} {stopped}; nothing was changed. Try again with fewer agents, or raise {setting}."
    return job_stop(job_pk=job_pk, message=message, stop=stop)


def _export(job: Job) -> None:
    payload: dict[str, Any] = job.payload or {}
    agent_ids = [str(agent_id) for agent_id in payload.get("agentIds", [])]
    document = bundle_collect(tenant=job.tenant, agent_ids=agent_ids)
    if not document["agents"]:
        # All of them were deleted between the request and the worker: a bundle without agents imports nothing.
        message = f"None of the agents {', '.join(agent_ids)} exist any more (deleted meanwhile); nothing exported."
        job_fail(job_pk=job.pk, message=message)
        return
    data, checksum = bundle_encode(document)
    if len(data) + IMPORT_BODY_ROOM > settings.IMPORT_MAX_BYTES:
        job_fail(job_pk=job.pk, message=_too_large_message(len(data), len(document["agents"])))
        return
    job_finish(job_pk=job.pk, status=Job.Status.SUCCESS, export_result={"data": data, "checksum": checksum})


# What an import body holds besides the data: the checksum, exportedAt, jobId and the JSON around them.
IMPORT_BODY_ROOM = 256


def _too_large_message(size: int, agents: int) -> str:
    """Refused at export time: an export that no import would take is of no use to anyone."""
    limit = settings.IMPORT_MAX_BYTES
    return (
        f"The export of {agents} agent{'s' if agents != 1 else ''} would be {size + IMPORT_BODY_ROOM} bytes, more than "
        f"an import takes ({limit} bytes, IMPORT_MAX_BYTES); nothing was exported. Export fewer agents at a time."
    )


def _import(job: Job) -> None:
    payload: dict[str, Any] = job.payload or {}
    document = bundle_decode(payload.get("data"), payload.get("checksum"))
    # The import and the job's success commit together: a worker that dies before the commit leaves neither.
    with transaction.atomic():
        # Locked so that a repeated delivery waits for this one and then finds the job finished.
        if not job_lock_unfinished(job_pk=job.pk):
            return  # finished or deleted meanwhile
        result = bundle_apply(tenant=job.tenant, document=document)
        job_finish(job_pk=job.pk, status=Job.Status.SUCCESS, import_result=result)


def _recover_connection() -> None:
    """An exception raised in the middle of a query (the soft time limit's signal) can leave the database
    connection unusable: replace it, so that the job can still be marked failed."""
    if connection.in_atomic_block:
        return
    try:
        usable = connection.connection is None or connection.is_usable()
    except Exception:
        usable = False
    if not usable:
        connection.close()


def _type_and_status(job_pk: int) -> tuple[str, str]:
    """The job's type and status for the metrics; ("unknown", "deleted") once it is gone."""
    row = Job.objects.filter(pk=job_pk).values_list("type", "status").first()
    return (str(row[0]), str(row[1])) if row is not None else ("unknown", "deleted")


def _label(job_pk: int) -> str:
    job = Job.objects.filter(pk=job_pk).only("type").first()
    return job.noun if job is not None else "job"
