"""Writes to jobs."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Sum

from apps.agents.bundle import BundleError, agents_unknown, bundle_decode
from apps.core.metrics import rate_limit_refused
from apps.core.timefmt import now_ms
from apps.jobs import selectors
from apps.jobs.endings import Stop, ending_of, types_with_endings
from apps.jobs.errors import InvalidBundle, JobNotRetryable, TooManyJobsInProgress, UnknownAgents
from apps.jobs.history import HistoryError
from apps.jobs.models import ExportBundle, Job, JobCount
from apps.tenants.models import Tenant

logger = logging.getLogger(__name__)


def job_delete(*, job: Job) -> None:
    """Delete the job; one of a type another app runs, still in progress, is ended by that app in the same
    transaction (an agent run's request log closed), as no runner will end it now."""
    ending = ending_of(job.type)
    if ending is None:
        job.delete()
        return
    with transaction.atomic():
        running = _unfinished(job.pk).select_for_update(of=("self",)).defer(*_BULKY).first()
        if running is not None:
            ending.deleted([running])
        job.delete()


@dataclass(frozen=True)
class JobsDeleted:
    count: int
    done: bool  # False: the time ran out with jobs left to delete


def jobs_delete(*, tenant: Tenant, jobs: QuerySet[Job], batch: int, seconds: float) -> JobsDeleted:
    """Delete the tenant's jobs in `jobs`, `batch` at a time, for at most `seconds` (at least one batch).

    Deleting a million jobs in one statement would hold its locks, and grow the write-ahead log, for as long as it
    takes; batches keep each transaction short and let the workers finish jobs meanwhile. A caller whose time ran
    out (`done` False) asks again for the rest."""
    jobs = jobs.filter(tenant_id=tenant.pk)
    deadline = time.monotonic() + seconds
    deleted, after = 0, None
    while True:
        with transaction.atomic():
            pks, after = selectors.job_batch(jobs=jobs, after=after, size=batch)
            if not pks:
                return JobsDeleted(deleted, done=True)
            jobs_deleting(pks=pks)
            # Only the primary keys are loaded: the payloads and results can be large. Retries of these jobs
            # are unlinked (retry_of SET NULL) by the delete.
            _, per_model = Job.objects.filter(tenant_id=tenant.pk, pk__in=pks).only("pk").delete()
            deleted += per_model.get(Job._meta.label, 0)
        if time.monotonic() >= deadline:
            return JobsDeleted(deleted, done=not selectors.job_batch(jobs=jobs, after=after, size=1)[0])


def jobs_deleting(*, pks: list[int]) -> None:
    """The jobs `pks` are about to be deleted in the transaction open: the apps that run jobs of other types end
    those still in progress (an agent run's request log is closed)."""
    types = types_with_endings()
    if not types:
        return
    unfinished = Job.objects.filter(pk__in=pks, type__in=types, status=Job.Status.IN_PROGRESS)
    running = list(unfinished.select_for_update(of=("self",)).defer(*_BULKY))
    for job_type in sorted({str(job.type) for job in running}):
        ending = ending_of(job_type)
        if ending is not None:
            ending.deleted([job for job in running if job.type == job_type])


# What the machinery never needs when it ends a job, and can be megabytes: an import's bundle, an export's result.
_BULKY = ("payload", "export_result", "import_result")


@dataclass(frozen=True)
class CountFixed:
    """A kept count the recount found wrong (apps.jobs.models.JobCount)."""

    tenant_id: int
    type: str
    status: str
    was: int
    now: int


def job_counts_recount(*, tenant: Tenant | None = None) -> list[CountFixed]:
    """Recompute the kept job counts from the jobs, of one tenant or of all (dropping those of deleted tenants),
    and return the ones that were wrong.

    The triggers keep the counts exact, so this repairs only what went around them (a restore of one table, or
    triggers disabled by hand). On PostgreSQL writers of jobs wait until it commits, so that no job is written
    between the count and its storing; readers do not wait."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Job._meta.db_table} IN SHARE MODE")
        counts = JobCount.objects.all() if tenant is None else JobCount.objects.filter(tenant_id=tenant.pk)
        jobs = Job.objects.all() if tenant is None else Job.objects.filter(tenant_id=tenant.pk)
        columns = ("tenant_id", "type", "status")
        was = {(t, ty, st): n for t, ty, st, n in counts.values_list(*columns).annotate(n=Sum("n")).order_by()}
        now = {(t, ty, st): n for t, ty, st, n in jobs.values_list(*columns).annotate(n=Count("*")).order_by()}
        counts.delete()
        JobCount.objects.bulk_create(
            JobCount(tenant_id=tenant_id, type=job_type, status=status, slot=0, n=n)
            for (tenant_id, job_type, status), n in now.items()
        )
    fixed = []
    for tenant_id, job_type, status in sorted(was.keys() | now.keys()):
        before, after = was.get((tenant_id, job_type, status), 0), now.get((tenant_id, job_type, status), 0)
        if before != after:
            fixed.append(CountFixed(tenant_id, job_type, status, was=before, now=after))
    return fixed


def job_load_history(*, tenant: Tenant, jobs: list[Job]) -> int:
    """Store jobs loaded from a saved history, all or none; ids already in the tenant refuse the whole file."""
    ids = [job.job_id for job in jobs]
    with transaction.atomic():
        taken = list(Job.objects.filter(tenant=tenant, job_id__in=ids).values_list("job_id", flat=True)[:5])
        if taken:
            raise HistoryError(f"Jobs already in tenant {tenant.name}: {', '.join(taken)}.")
        bundles = {}
        for job in jobs:
            job.tenant = tenant
            # Loaded exports are stored as this installation's own are: their bundle apart, read in chunks.
            bundle = _bundle_of(job.export_result) if job.type == Job.Type.EXPORT else None
            if bundle is not None:
                bundles[job.job_id], job.export_result = bundle, None
        Job.objects.bulk_create(jobs, batch_size=1000)
        loaded = Job.objects.filter(tenant=tenant, job_id__in=list(bundles)).values_list("job_id", "pk")
        ExportBundle.objects.bulk_create(
            [
                ExportBundle(
                    job_id=pk, data=bundles[job_id][0], checksum=bundles[job_id][1], size=len(bundles[job_id][0])
                )
                for job_id, pk in loaded
            ],
            batch_size=100,
        )
    return len(jobs)


# --- The lifecycle of jobs the system runs --------------------------------------------------------------------
#
# The row is the single source of truth. It is written before its task exists, the task is sent only once the
# row is committed, and a task carries nothing but the row's primary key. Every change of status is a
# compare-and-set on `status = in_progress`, so a job finishes once: a redelivered, late or duplicate task finds
# it finished (or deleted) and does nothing.


def job_create(
    *, tenant: Tenant, type: Job.Type, payload: dict[str, Any], retry_of: Job | None = None, **columns: Any
) -> Job:
    """A new in-progress job, handed to a worker once the surrounding transaction commits; `columns` are more of
    its fields (an agent run's agent, session and request). An export or import is refused with
    TooManyJobsInProgress while the tenant already has JOB_MAX_IN_PROGRESS_PER_TENANT of them in progress."""
    with transaction.atomic():
        if type in Job.TRANSFERS:
            _check_capacity(tenant)
        job = Job.objects.create(tenant=tenant, type=type, payload=payload, retry_of=retry_of, **columns)
    transaction.on_commit(partial(job_dispatch, job_pk=job.pk, job_type=type))
    return job


# --- Fairness between tenants ----------------------------------------------------------------------------------
#
# Workers take jobs first come, first served, and the web server holds a thread for each request that waits for
# its job. Two caps keep one tenant from taking either for itself: exports and imports in progress per tenant
# (over it: 429), and requests waiting for their job, per tenant and in all (over them: 202 at once). Both are
# counted in the database, so they hold across every web process.


def _check_capacity(tenant: Tenant) -> None:
    _lock_tenant(tenant.pk)
    cap = settings.JOB_MAX_IN_PROGRESS_PER_TENANT
    # Jobs loaded from a saved history as still in progress were never handed to a worker here and never will be:
    # they take no place (or ten of them would block the tenant for good).
    never_run = Q(payload__isnull=True, dispatched_at__isnull=True)
    busy = (
        Job.objects.filter(tenant=tenant, type__in=Job.TRANSFERS, status=Job.Status.IN_PROGRESS)
        .exclude(never_run)
        .count()
    )
    if busy >= cap:
        rate_limit_refused("jobs_in_progress")
        raise TooManyJobsInProgress(
            f"This tenant already has {busy} exports and imports in progress, as many as it may have at once "
            f"(JOB_MAX_IN_PROGRESS_PER_TENANT={cap}). Try again in a few seconds, once some have finished."
        )


def job_wait_begin(*, job: Job, seconds: float) -> bool:
    """Count a request as waiting `seconds` for its job, if the caps on waiting requests (per tenant and in all)
    leave room; False when they do not, and the request should answer 202 at once. A waiting request is an
    unfinished job whose `awaited_until` lies ahead: nothing needs releasing when the wait ends, however it ends."""
    now = now_ms()
    with transaction.atomic():
        _lock_tenant(job.tenant_id)
        waiting = Job.objects.filter(status=Job.Status.IN_PROGRESS, awaited_until__gt=now)
        if waiting.filter(tenant_id=job.tenant_id).count() >= settings.JOB_WAITS_PER_TENANT:
            return False
        if waiting.count() >= settings.JOB_WAITS_TOTAL:
            return False
        # A worker already running the job holds its row until it commits. The request then waits uncounted,
        # rather than behind the whole run while holding the tenant's lock (and deadlocking with the worker).
        free = Job.objects.select_for_update(skip_locked=True).filter(pk=job.pk).values_list("pk", flat=True)
        if free.first() is not None:
            Job.objects.filter(pk=job.pk).update(awaited_until=now + timedelta(seconds=seconds))
    return True


def _lock_tenant(tenant_pk: int) -> None:
    """Serialize the requests that count a tenant's jobs until the transaction ends. FOR NO KEY UPDATE: a worker
    writing rows that point at the tenant (an import) holds KEY SHARE on it, which this lock never waits for."""
    Tenant.objects.select_for_update(no_key=True).filter(pk=tenant_pk).values_list("pk", flat=True).first()


def job_retry(*, job: Job) -> Job:
    """A new job doing again what a failed export or import tried, linked to it through `retry_of`; refused with
    JobNotRetryable (Job.retry_problem, a retry already running, or the tenant's cap on jobs in progress)."""
    with transaction.atomic():
        # Locked, so that two clicks on "Retry" at once start one retry, not two.
        current = Job.objects.select_for_update().filter(pk=job.pk).select_related("tenant").first()
        if current is None:
            raise JobNotRetryable("The job no longer exists.")
        problem = current.retry_problem()
        if problem is not None:
            raise JobNotRetryable(problem)
        if current.retries.filter(status=Job.Status.IN_PROGRESS).exists():
            raise JobNotRetryable("A retry of this job is already in progress.")
        try:
            payload = cast(dict[str, Any], current.payload)  # never None: retry_problem said so
            return job_create(
                tenant=current.tenant,
                type=Job.Type(current.type),
                payload=payload,
                retry_of=current,
                **current.rerun_columns(),
            )
        except TooManyJobsInProgress as exc:
            raise JobNotRetryable(exc.message) from None


def job_queue(job_type: str) -> str:
    """The broker queue a job's task goes to: agent runs have their own (JOB_QUEUES)."""
    return str(settings.JOB_QUEUES.get(str(job_type), settings.CELERY_TASK_DEFAULT_QUEUE))


def job_dispatch(*, job_pk: int, job_type: str, countdown: float | None = None) -> bool:
    """Send the job's task. A broker that cannot be reached leaves `dispatched_at` empty, and the scheduler's
    sweep sends it again later (or fails the job, saying so): a job is never silently lost."""
    from apps.jobs import tasks

    try:
        tasks.job_run.apply_async(args=[job_pk], queue=job_queue(job_type), countdown=countdown, retry=False)
    except Exception:
        logger.warning("Could not hand job %s to the broker; the scheduler will try again", job_pk, exc_info=True)
        return False
    Job.objects.filter(pk=job_pk, dispatched_at__isnull=True).update(dispatched_at=now_ms())
    return True


def job_claim(*, job_pk: int) -> Job | None:
    """Count one more attempt at an unfinished job and return it; None when there is nothing to do.

    A job started too often (its workers keep dying on it) is failed instead of being tried forever."""
    claimed = (
        _unfinished(job_pk)
        .filter(attempts__lt=settings.JOB_MAX_ATTEMPTS)
        .update(attempts=F("attempts") + 1, started_at=now_ms())
    )
    if claimed:
        return Job.objects.select_related("tenant").filter(pk=job_pk).first()
    attempts = settings.JOB_MAX_ATTEMPTS
    job_stop(
        job_pk=job_pk,
        message=(
            f"Gave up after {attempts} attempts: the worker running this job stopped each time "
            "before it finished (it ran out of memory or time, or was restarted). Try again with fewer agents."
        ),
        stop=Stop(
            f"was given up after {attempts} attempts, the most a job gets (JOB_MAX_ATTEMPTS): the worker running it "
            "stopped each time before it finished (it ran out of memory or time, or was restarted)"
        ),
    )
    return None


def job_finish(
    *,
    job_pk: int,
    status: Job.Status,
    message: str | None = None,
    export_result: dict[str, Any] | None = None,
    import_result: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
) -> bool:
    """Move an in-progress job to its final state (an agent run's with its token `usage`); False when it had already
    finished or was deleted.

    An export's {data, checksum} is stored once, as the job's ExportBundle, never in the row: lists of jobs read
    it in chunks (apps.jobs.streaming)."""
    now = now_ms()
    changes: dict[str, Any] = {"status": status, "finished_at": now, "modified_at": now, "version": F("version") + 1}
    bundle = _bundle_of(export_result)
    changes.update(message=message, export_result=None if bundle else export_result, import_result=import_result)
    # The bundle of a successful import is no longer needed: the result keeps what is worth keeping. A failed
    # job keeps its payload, so that it can be retried (job_retry).
    changes["payload"] = None if import_result is not None else F("payload")
    if usage is not None:
        changes["usage"] = usage
    if not bundle:
        # One statement: no transaction of its own (in an agent run's, a savepoint would cost two round trips).
        return _unfinished(job_pk).update(**changes) == 1
    with transaction.atomic():
        finished = _unfinished(job_pk).update(**changes) == 1
        if finished:
            data, checksum = bundle
            ExportBundle.objects.create(job_id=job_pk, data=data, checksum=checksum, size=len(data))
    return finished


def job_fail(*, job_pk: int, message: str, usage: dict[str, Any] | None = None) -> bool:
    """End an in-progress job in `failure`, with a message a person can act on; False when it had already
    finished or was deleted."""
    return job_finish(job_pk=job_pk, status=Job.Status.FAILURE, message=message, usage=usage)


def job_cancel(*, job_pk: int, by: str) -> bool:
    """Stop an in-progress job: it ends in `failure` saying who cancelled it (a running agent run notices at its
    next step and stops there). False when it had already finished or was deleted."""
    return job_stop(job_pk=job_pk, message=f"Cancelled by {by}.")


def job_stop(*, job_pk: int, message: str, stop: Stop | None = None) -> bool:
    """Fail an in-progress job that the machinery, not its runner, ends: `stop` says what stopped it (a time
    limit, the attempts, the sweep), None is a cancel. Exports and imports fail with `message`; a type another app
    runs is failed by that app (apps.jobs.endings), worded for `stop`, with what ends with it in the same
    transaction. False when it had already finished or was deleted."""
    job_type = Job.objects.filter(pk=job_pk).values_list("type", flat=True).first()
    ending = ending_of(job_type) if job_type is not None else None
    if ending is None:
        return job_fail(job_pk=job_pk, message=message)
    with transaction.atomic():
        # Locked: the runner, if one is still going, cannot finish it between the wording and the failure.
        job = _unfinished(job_pk).select_for_update(of=("self",)).defer(*_BULKY).first()
        if job is None:
            return False
        worded = message if stop is None else ending.message(job, stop)
        return ending.fail(job, worded, cancelled=stop is None)


def _bundle_of(result: dict[str, Any] | None) -> tuple[str, str] | None:
    if result is None or set(result) != {"data", "checksum"}:
        return None
    data, checksum = result["data"], result["checksum"]
    return (data, checksum) if isinstance(data, str) and isinstance(checksum, str) and len(checksum) <= 64 else None


def jobs_sweep() -> dict[str, int]:
    """The scheduler's safety net: send again the jobs the broker never took, fail those it never will take,
    and fail jobs that stayed in progress past JOB_STUCK_AFTER_SECONDS."""
    now = now_ms()
    waiting = Job.objects.filter(status=Job.Status.IN_PROGRESS, dispatched_at__isnull=True, payload__isnull=False)
    deadline = now - timedelta(seconds=settings.JOB_DISPATCH_DEADLINE_SECONDS)
    undeliverable = list(waiting.filter(created_at__lt=deadline).values_list("pk", flat=True))
    deadline_seconds = settings.JOB_DISPATCH_DEADLINE_SECONDS
    for pk in undeliverable:
        job_stop(
            job_pk=pk,
            message=(
                f"No worker could be reached for {deadline_seconds} s: the message broker "
                "(REDIS_URL) was down. Check the broker, then start the export or import again."
            ),
            stop=Stop(
                f"was never started: no worker could be reached within {deadline_seconds} s "
                "(JOB_DISPATCH_DEADLINE_SECONDS), as the message broker (REDIS_URL) was down"
            ),
        )
    # Only jobs older than a few seconds: younger ones are still being sent by the request that made them.
    retry = list(waiting.filter(created_at__lt=now - timedelta(seconds=5)).values_list("pk", "type")[:500])
    resent = sum(job_dispatch(job_pk=pk, job_type=job_type) for pk, job_type in retry)
    stuck_since = now - timedelta(seconds=settings.JOB_STUCK_AFTER_SECONDS)
    stuck = Job.objects.filter(status=Job.Status.IN_PROGRESS, dispatched_at__lt=stuck_since).filter(
        Q(started_at__isnull=True) | Q(started_at__lt=stuck_since)
    )
    reaped, stuck_seconds = 0, settings.JOB_STUCK_AFTER_SECONDS
    for pk in stuck.values_list("pk", flat=True)[:1000]:
        reaped += job_stop(
            job_pk=pk,
            message=(
                f"Stopped: no worker finished this job within {stuck_seconds} s (the worker was "
                "lost or the job hit its time limit). Start it again; if it keeps happening, export fewer agents "
                "or raise JOB_TIME_LIMIT_SECONDS."
            ),
            stop=Stop(
                f"was stopped: no worker finished it within {stuck_seconds} s (JOB_STUCK_AFTER_SECONDS), so its "
                "worker was lost or it hit its time limit (JOB_TIME_LIMIT_SECONDS)"
            ),
        )
    return {"failed_undeliverable": len(undeliverable), "resent": resent, "reaped": reaped}


def _unfinished(job_pk: int) -> QuerySet[Job]:
    return Job.objects.filter(pk=job_pk, status=Job.Status.IN_PROGRESS)


def job_lock_unfinished(*, job_pk: int) -> bool:
    """Lock the job's row until the surrounding transaction ends, if it is still in progress; False when it has
    finished or was deleted. Whoever else would finish it waits, then finds it finished."""
    return bool(list(_unfinished(job_pk).select_for_update().values_list("pk", flat=True)))


def export_start(*, tenant: Tenant, agent_ids: list[str]) -> Job:
    """An EXPORT job for agents of the tenant; unknown ids are refused (UnknownAgents) before any job exists."""
    unknown = agents_unknown(tenant=tenant, agent_ids=agent_ids)
    if unknown:
        raise UnknownAgents(f"No agents with ids {', '.join(unknown)} in this tenant.", field="agentIds")
    return job_create(tenant=tenant, type=Job.Type.EXPORT, payload={"agentIds": agent_ids})


def import_start(*, tenant: Tenant, data: Any, checksum: Any) -> Job:
    """An IMPORT job for a bundle whose base64, checksum, JSON and format were checked: a bundle that cannot
    be imported is refused (InvalidBundle) before anything (a job included) is written."""
    try:
        bundle_decode(data, checksum)
    except BundleError as exc:
        raise InvalidBundle(exc.message, field=exc.field) from None
    return job_create(tenant=tenant, type=Job.Type.IMPORT, payload={"data": data, "checksum": checksum})
