"""How the job queue is doing: across every tenant (for platform admins only), and for one tenant (its managers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from apps.jobs.models import Job
from apps.tenants.models import Tenant

THROUGHPUT_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Waiting:
    count: int
    oldest_created_at: datetime | None


@dataclass(frozen=True)
class Throughput:
    type: str
    finished: int
    failed: int
    per_minute: float
    failure_rate: float | None  # None when none finished


def waiting_jobs() -> Waiting:
    """Jobs no worker has started yet (the retried ones a worker started before count as started)."""
    found = Job.objects.filter(status=Job.Status.IN_PROGRESS, started_at__isnull=True).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    return Waiting(count=found["count"], oldest_created_at=found["oldest"])


@dataclass(frozen=True)
class TenantQueue:
    waiting: int  # no worker has started them yet
    running: int  # a worker has started them
    oldest_waiting_created_at: datetime | None


def tenant_queue(*, tenant: Tenant) -> TenantQueue:
    """The tenant's unfinished jobs, waiting and running, in one query (on the tenant's status index)."""
    waiting = Q(started_at__isnull=True)
    found = Job.objects.filter(tenant=tenant, status=Job.Status.IN_PROGRESS).aggregate(
        waiting=Count("pk", filter=waiting),
        running=Count("pk", filter=~waiting),
        oldest=Min("created_at", filter=waiting),
    )
    return TenantQueue(waiting=found["waiting"], running=found["running"], oldest_waiting_created_at=found["oldest"])


def finished_since(since: datetime) -> QuerySet[Job, Any]:
    """Per type, the jobs finished since `since` and how many of them failed (on the jobs_finished index)."""
    return (
        Job.objects.filter(finished_at__gte=since)
        .values("type")
        .annotate(finished=Count("pk"), failed=Count("pk", filter=Q(status=Job.Status.FAILURE)))
        .order_by("type")
    )


def job_throughput(*, now: datetime | None = None) -> list[Throughput]:
    """Per job type, the jobs that finished within the last hour: how many per minute, and the share that failed."""
    rows = finished_since((now or timezone.now()) - THROUGHPUT_WINDOW)
    minutes = THROUGHPUT_WINDOW.total_seconds() / 60
    return [
        Throughput(
            type=row["type"],
            finished=row["finished"],
            failed=row["failed"],
            per_minute=row["finished"] / minutes,
            failure_rate=row["failed"] / row["finished"] if row["finished"] else None,
        )
        for row in rows
    ]


def job_counts() -> dict[tuple[str, str], int]:
    """How many jobs there are of each type in each status, every pair listed (zero when none): a series that comes
    and goes would break a graph's rate and a missing one reads as "no data" rather than 0."""
    counts = {(job_type, status): 0 for job_type in Job.Type.values for status in Job.Status.values}
    for row in Job.objects.values("type", "status").annotate(count=Count("pk")).order_by():
        counts[(row["type"], row["status"])] = row["count"]
    return counts
