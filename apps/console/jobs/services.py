"""The console's job actions: each one does its work through the jobs' services and leaves an audit event."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from apps.console.jobs import selectors
from apps.console.models import AuditEvent
from apps.console.services import audit_record
from apps.jobs import services as job_services
from apps.jobs.models import Job
from apps.tenants.models import Tenant

# Deleting a million jobs in one statement would hold its locks, and grow the write-ahead log, for as long as it
# takes; batches keep each transaction short and let the workers finish jobs meanwhile.
DELETE_BATCH = 2_000
# A request deletes for this long at most (about 350,000 jobs on a laptop's PostgreSQL), well within the web
# server's timeout (gunicorn's 30 s); the confirmation page then goes on with the rest.
DELETE_SECONDS = 10.0


def console_job_delete(*, user: Any, job: Job) -> None:
    with transaction.atomic():
        job_services.job_delete(job=job)
        audit_record(
            user=user,
            tenant=job.tenant,
            action=AuditEvent.Action.JOB_DELETE,
            object_id=job.job_id,
            detail={"type": job.type, "status": job.status},
        )


@dataclass(frozen=True)
class BulkDeleted:
    count: int
    done: bool  # False: the time ran out with jobs left to delete


def console_jobs_delete(
    *,
    user: Any,
    tenant: Tenant,
    jobs: QuerySet[Job],
    detail: dict[str, Any],
    batch: int | None = None,
    seconds: float | None = None,
) -> BulkDeleted:
    """Delete the tenant's jobs in `jobs`, batch by batch, for at most `seconds` (DELETE_SECONDS; at least one
    batch): a million jobs take longer than a web request may, so the page asks again for the rest. The audit
    event records how many went, with `detail` (what was asked: the selection or the filter)."""
    jobs = jobs.filter(tenant_id=tenant.pk)
    deadline = time.monotonic() + (DELETE_SECONDS if seconds is None else seconds)
    deleted, after = 0, None
    while True:
        with transaction.atomic():
            pks, after = selectors.job_batch(jobs=jobs, after=after, size=batch or DELETE_BATCH)
            if not pks:
                done = True
                break
            # Only the primary keys are loaded: the payloads and results can be large. Retries of these jobs
            # are unlinked (retry_of SET NULL) by the delete.
            _, per_model = Job.objects.filter(tenant_id=tenant.pk, pk__in=pks).only("pk").delete()
            deleted += per_model.get(Job._meta.label, 0)
        if time.monotonic() >= deadline:
            done = not selectors.job_batch(jobs=jobs, after=after, size=1)[0]
            break
    audit_record(
        user=user,
        tenant=tenant,
        action=AuditEvent.Action.JOBS_BULK_DELETE,
        detail={**detail, "count": deleted, **({} if done else {"unfinished": True})},
    )
    return BulkDeleted(deleted, done)


def console_job_retry(*, user: Any, job: Job) -> Job:
    """A new job for a failed export or import (refused with job_services.RetryRefused otherwise)."""
    with transaction.atomic():
        retry = job_services.job_retry(job=job)
        audit_record(
            user=user,
            tenant=job.tenant,
            action=AuditEvent.Action.JOB_RETRY,
            object_id=job.job_id,
            detail={"type": job.type, "retryJobId": retry.job_id},
        )
    return retry
