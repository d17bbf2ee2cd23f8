"""The workers page: which Celery workers answer, what they run, how long the queues are, how jobs are going.

Platform admins only: it shows every tenant's jobs in one picture. Others who are signed in get 403 (the page
hides no tenant: it exists for every installation). A tenant's managers see the queue of their own jobs on the
tenant's Queue page instead (its viewers are refused, as for the workers page)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.console.access import tenant_access
from apps.ops import selectors, workers

JOBS_KEY = "ops:jobs:overview"
JOBS_SECONDS = 5.0
TENANT_QUEUE_KEY = "ops:jobs:queue:"  # + the tenant's primary key


@dataclass(frozen=True)
class JobsOverview:
    waiting: selectors.Waiting
    throughput: list[selectors.Throughput]


@login_required
@require_GET
def workers_page(request: HttpRequest) -> HttpResponse:
    if not getattr(request.user, "is_superuser", False):
        raise PermissionDenied(
            "Only platform admins see the workers. A tenant's managers see its queue of jobs on its Queue page."
        )
    snapshot = workers.workers_snapshot()
    jobs = _jobs_overview()
    now = time.time()
    oldest = jobs.waiting.oldest_created_at
    context = {
        "section": "workers",
        "snapshot": snapshot,
        "workers": [
            (worker, duration(now - worker.answered_at), _uptime(worker), _heartbeat(worker, now))
            for worker in snapshot.workers
        ],
        "checked": duration(now - snapshot.taken_at),
        "waiting": jobs.waiting,
        "oldest_waiting": duration((timezone.now() - oldest).total_seconds()) if oldest else None,
        "throughput": jobs.throughput,
        "last_seen": _last_seen(now),
    }
    return render(request, "console/workers/index.html", context)


@login_required
@require_GET
def tenant_queue(request: HttpRequest, tenant: str) -> HttpResponse:
    """The tenant's own jobs waiting for a worker and running, for its managers; nothing of other tenants."""
    access = tenant_access(request.user, tenant, act=True)
    key = f"{TENANT_QUEUE_KEY}{access.tenant.pk}"
    queue: selectors.TenantQueue | None = cache.get(key)
    if queue is None:
        queue = selectors.tenant_queue(tenant=access.tenant)
        cache.set(key, queue, timeout=JOBS_SECONDS)
    oldest = queue.oldest_waiting_created_at
    context = {
        "access": access,
        "section": "queue",
        "queue": queue,
        "oldest_waiting": duration((timezone.now() - oldest).total_seconds()) if oldest else None,
        "last_seen": _last_seen(time.time()),
    }
    return render(request, "console/workers/tenant_queue.html", context)


def _jobs_overview() -> JobsOverview:
    cached: JobsOverview | None = cache.get(JOBS_KEY)
    if cached is None:
        cached = JobsOverview(waiting=selectors.waiting_jobs(), throughput=selectors.job_throughput())
        cache.set(JOBS_KEY, cached, timeout=JOBS_SECONDS)
    return cached


def _uptime(worker: workers.Worker) -> str:
    return duration(worker.uptime_seconds) if worker.uptime_seconds is not None else "unknown"


def _heartbeat(worker: workers.Worker, now: float) -> str | None:
    return f"{duration(now - worker.heartbeat_at)} ago" if worker.heartbeat_at is not None else None


def _last_seen(now: float) -> str | None:
    seen = workers.last_seen()
    return duration(now - seen) if seen is not None else None


def duration(seconds: float) -> str:
    """A short human duration: "42 s", "3 min 5 s", "2 h 10 min", "4 d 3 h"."""
    whole = max(0, int(seconds))
    minutes, secs = divmod(whole, 60)
    hours, mins = divmod(minutes, 60)
    days, hrs = divmod(hours, 24)
    if days:
        return f"{days} d {hrs} h"
    if hours:
        return f"{hours} h {mins} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
