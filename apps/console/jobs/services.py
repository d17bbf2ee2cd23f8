"""The console's job actions: each one does its work through the jobs' services and leaves an audit event."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.jobs import services as job_services
from apps.jobs.models import Job
from apps.jobs.services import JobsDeleted
from apps.tenants.models import Tenant

# Jobs deleted per transaction (job_services.jobs_delete says why in batches).
DELETE_BATCH = 2_000
# A request deletes for this long at most (about 350,000 jobs on a laptop's PostgreSQL), well within the web
# server's timeout (gunicorn's 30 s); the confirmation page then goes on with the rest.
DELETE_SECONDS = 10.0


def console_job_delete(*, user: Any, job: Job) -> None:
    with transaction.atomic():
        job_services.job_delete(job=job)
        _audit(user, job, AuditEvent.Action.JOB_DELETE, {"type": job.type, "status": job.status})


def console_jobs_delete(
    *,
    user: Any,
    tenant: Tenant,
    jobs: QuerySet[Job],
    detail: dict[str, Any],
    batch: int | None = None,
    seconds: float | None = None,
) -> JobsDeleted:
    """Delete the tenant's jobs in `jobs`, batch by batch, for at most `seconds` (DELETE_SECONDS; at least one
    batch): a million jobs take longer than a web request may, so the page asks again for the rest. The audit
    event records how many went, with `detail` (what was asked: the selection or the filter)."""
    deleted = job_services.jobs_delete(
        tenant=tenant,
        jobs=jobs,
        batch=batch or DELETE_BATCH,
        seconds=DELETE_SECONDS if seconds is None else seconds,
    )
    audit_record(
        user=user,
        tenant=tenant,
        action=AuditEvent.Action.JOBS_BULK_DELETE,
        detail={**detail, "count": deleted.count, **({} if deleted.done else {"unfinished": True})},
    )
    return deleted


def console_job_retry(*, user: Any, job: Job) -> Job:
    """A new job for a failed export, import or agent run (refused with apps.jobs.errors.JobNotRetryable
    otherwise)."""
    with transaction.atomic():
        retry = job_services.job_retry(job=job)
        _audit(user, job, AuditEvent.Action.JOB_RETRY, {"type": job.type, "retryJobId": retry.job_id})
    return retry


def console_job_cancel(*, user: Any, job: Job) -> bool:
    """Stop an agent run in progress, in the name of the console user; False (and no audit event) when it had
    already finished, or is not an agent run: exports and imports run to their end."""
    if job.type != Job.Type.AGENT_CHAT:
        return False
    with transaction.atomic():
        cancelled = job_services.job_cancel(job_pk=job.pk, by=_who(user))
        if cancelled:
            _audit(user, job, AuditEvent.Action.JOB_CANCEL, {"type": job.type, "agentId": job.agent_id})
    return cancelled


def _who(user: Any) -> str:
    return str(getattr(user, "username", "") or "a console user")


def _audit(user: Any, job: Job, action: AuditEvent.Action, detail: dict[str, Any]) -> None:
    audit_record(user=user, tenant=job.tenant, action=action, object_id=job.job_id, detail=detail)
