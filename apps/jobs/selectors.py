"""Reads of jobs. Every query starts from `_for_tenant`, so no read can cross tenants."""

from __future__ import annotations

import time
from typing import Any

from django.db.models import Q, QuerySet

from apps.core.listing import ListParams, Selection, SortKey, ordering, page_of
from apps.jobs.fields import COLUMNS, SORTABLE
from apps.jobs.models import Job
from apps.tenants.models import Tenant
from apps.tenants.selectors import tenant_id_for

DEFAULT_SORT = (SortKey("metadata.createdAt", True),)
# Unique in a tenant and the last column of every listing index: it breaks ties in the order, and a deep page's
# ids are read from the index alone.
TIEBREAK = "job_id"


def _for_tenant(tenant: str) -> QuerySet[Job]:
    tenant_id = tenant_id_for(name=tenant)
    return Job.objects.none() if tenant_id is None else Job.objects.filter(tenant_id=tenant_id)


def _columns(fields: Selection | None) -> list[str]:
    chosen = fields.keys() if fields is not None else COLUMNS.keys()
    return [column for field in chosen for column in COLUMNS[field]]


def job_list(*, tenant: str, filters: Q, params: ListParams) -> list[dict[str, Any]]:
    """One page of a tenant's jobs as `values()` rows holding the columns the field selection needs."""
    order = ordering(params.sort, default=DEFAULT_SORT, sortable=SORTABLE, tiebreak=TIEBREAK)
    rows = _for_tenant(tenant).filter(filters).order_by(*order).values(*_columns(params.fields))
    return page_of(rows, params, key=TIEBREAK)


def job_count(*, tenant: str, filters: Q) -> int:
    return _for_tenant(tenant).filter(filters).count()


def _by_id(tenant: str, job_id: str) -> QuerySet[Job]:
    # PostgreSQL cannot compare text holding a NUL with its ids (and no id holds one): no such job, not a 500.
    return Job.objects.none() if "\x00" in job_id else _for_tenant(tenant).filter(job_id=job_id)


def job_row(*, tenant: str, job_id: str, params: ListParams | None = None) -> dict[str, Any] | None:
    columns = _columns(params.fields if params is not None else None)
    row: dict[str, Any] | None = _by_id(tenant, job_id).values(*columns).first()
    return row


def job_get(*, tenant: str, job_id: str) -> Job | None:
    return _by_id(tenant, job_id).first()


def job_wait(*, tenant: Tenant, job_pk: int, timeout: float) -> Job | None:
    """The job once it has finished, or as it stands when `timeout` seconds ran out (None if deleted).

    Polls the row, the single source of truth: a result is never read from anywhere the job is not."""
    deadline = time.monotonic() + timeout
    pause = 0.01
    while True:
        job = Job.objects.filter(tenant=tenant, pk=job_pk).first()
        remaining = deadline - time.monotonic()
        if job is None or job.status in Job.FINAL or remaining <= 0:
            return job
        time.sleep(min(pause, remaining))
        pause = min(pause * 1.5, 0.2)
