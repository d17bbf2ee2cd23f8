"""Reads of jobs. Every query starts from `_for_tenant`, so no read can cross tenants."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, QuerySet

from apps.core.listing import ListParams, SortKey
from apps.jobs.fields import COLUMNS, SORTABLE
from apps.jobs.models import Job
from apps.tenants.models import Tenant

DEFAULT_SORT = (SortKey("metadata.createdAt", True),)
# Past this offset a page is found in two steps: the ids of the page first, from the index alone, then the
# rows. Skipping tens of thousands of index entries is cheap; skipping as many table rows is not.
DEEP_OFFSET = 1000


def _for_tenant(tenant: str) -> QuerySet[Job]:
    # The tenant's id is looked up first and passed as a constant: joining on the name instead hides from
    # the planner which tenant (and how many rows) a query is about, and it then scans the whole table.
    tenant_id = Tenant.objects.filter(name=tenant).values_list("id", flat=True).first()
    if tenant_id is None:
        return Job.objects.none()
    return Job.objects.filter(tenant_id=tenant_id)


def _ordering(sort: tuple[SortKey, ...]) -> list[str]:
    keys = sort or DEFAULT_SORT
    order = [("-" if key.descending else "") + SORTABLE[key.field] for key in keys]
    if "job_id" not in (o.lstrip("-") for o in order):
        # The public id breaks ties, in the direction of the last key, so that pages never overlap.
        order.append(("-" if keys[-1].descending else "") + "job_id")
    return order


def _columns(params: ListParams) -> list[str]:
    chosen = params.fields.keys() if params.fields is not None else COLUMNS.keys()
    return [column for field in chosen for column in COLUMNS[field]]


def job_list(*, tenant: str, filters: Q, params: ListParams) -> list[dict[str, Any]]:
    """One page of a tenant's jobs as `values()` rows holding the columns the field selection needs."""
    queryset = _for_tenant(tenant).filter(filters).order_by(*_ordering(params.sort))
    columns = _columns(params)
    start, stop = params.offset, params.offset + params.page_size
    if start < DEEP_OFFSET:
        return list(queryset.values(*columns)[start:stop])
    page_ids = list(queryset.values_list("job_id", flat=True)[start:stop])
    rows = {row["job_id"]: row for row in _rows_by_id(tenant, page_ids, columns)}
    return [rows[job_id] for job_id in page_ids if job_id in rows]


def _rows_by_id(tenant: str, job_ids: Iterable[str], columns: list[str]) -> QuerySet[Job, dict[str, Any]]:
    rows: QuerySet[Job, dict[str, Any]] = _for_tenant(tenant).filter(job_id__in=list(job_ids)).values(*columns)
    return rows


def job_count(*, tenant: str, filters: Q) -> int:
    return _for_tenant(tenant).filter(filters).count()


def job_row(*, tenant: str, job_id: str, params: ListParams | None = None) -> dict[str, Any] | None:
    columns = _columns(params) if params is not None else [c for cs in COLUMNS.values() for c in cs]
    return _rows_by_id(tenant, [job_id], columns).first()


def job_get(*, tenant: str, job_id: str) -> Job | None:
    return _for_tenant(tenant).filter(job_id=job_id).first()


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
