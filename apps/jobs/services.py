"""Writes to jobs."""

from __future__ import annotations

from django.db import transaction

from apps.jobs.history import HistoryError
from apps.jobs.models import Job
from apps.tenants.models import Tenant


def job_delete(*, job: Job) -> None:
    job.delete()


def job_load_history(*, tenant: Tenant, jobs: list[Job]) -> int:
    """Store jobs loaded from a saved history, all or none; ids already in the tenant refuse the whole file."""
    ids = [job.job_id for job in jobs]
    with transaction.atomic():
        taken = list(Job.objects.filter(tenant=tenant, job_id__in=ids).values_list("job_id", flat=True)[:5])
        if taken:
            raise HistoryError(f"Jobs already in tenant {tenant.name}: {', '.join(taken)}.")
        for job in jobs:
            job.tenant = tenant
        Job.objects.bulk_create(jobs, batch_size=1000)
    return len(jobs)
