"""Reads of jobs. Every query starts from `_for_tenant`, so no read can cross tenants."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import F, Q, QuerySet, Sum
from django.db.models.functions import Substr

from apps.core.compiled import CompiledQuery
from apps.core.ids import is_stored_id
from apps.core.listing import (
    DEEP_OFFSET,
    ListParams,
    Selection,
    SortKey,
    Total,
    bounded_count,
    equality_terms,
    ordering,
    page_of,
)
from apps.core.timefmt import InstantText
from apps.jobs.fields import COLUMNS, SORTABLE
from apps.jobs.models import ExportBundle, Job, JobCount
from apps.tenants.models import Tenant
from apps.tenants.selectors import tenant_id_for

DEFAULT_SORT = (SortKey("metadata.createdAt", True),)
# Unique in a tenant and the last column of every listing index: it breaks ties in the order, and a deep page's
# ids are read from the index alone.
TIEBREAK = "job_id"


def _for_tenant(tenant: str) -> QuerySet[Job]:
    return _for_tenant_id(tenant_id_for(name=tenant))


def _for_tenant_id(tenant_id: int | None) -> QuerySet[Job]:
    # The API's reads start here, with the tenant its token lookup already read: no query for the tenant.
    return Job.objects.none() if tenant_id is None else Job.objects.filter(tenant_id=tenant_id)


def _columns(fields: Selection | None) -> list[str]:
    chosen = fields.keys() if fields is not None else COLUMNS.keys()
    return [column for field in chosen for column in COLUMNS[field]]


# An export's bundle is not read with its row: only what it takes to read it later, in chunks (apps.jobs.streaming).
_BUNDLE = {
    "bundle_size": F("export_bundle__size"),
    "bundle_checksum": F("export_bundle__checksum"),
    "bundle_tenant": F("tenant_id"),
    "bundle_job": F("pk"),
}
BUNDLE_CHUNK = 1 << 20  # characters of base64 read at a time


# Instants leave the database as the API writes them (apps.core.timefmt.InstantText), under these names.
_INSTANTS = {"created_at": "created", "modified_at": "modified"}


def _values(queryset: QuerySet[Job], columns: list[str]) -> QuerySet[Job, dict[str, Any]]:
    """`values()` rows of `columns` for the representation (apps.jobs.representation)."""
    plain = [column for column in columns if column not in _INSTANTS]
    extra: dict[str, Any] = {name: InstantText(column) for column, name in _INSTANTS.items() if column in columns}
    if "export_result" in columns:
        extra.update(_BUNDLE)
    rows: QuerySet[Job, dict[str, Any]] = queryset.values(*plain, **extra)
    return rows


def job_list(*, tenant_id: int | None, filters: Q, params: ListParams) -> list[dict[str, Any]]:
    """One page of a tenant's jobs as `values()` rows holding the columns the field selection needs."""
    order = ordering(params.sort, default=DEFAULT_SORT, sortable=SORTABLE, tiebreak=TIEBREAK)
    page = _dashboard_page(tenant_id, filters, order, params)
    if page is not None:
        return page
    jobs = _for_tenant_id(tenant_id).filter(filters).order_by(*order)
    # A deep page of a filter the kept counts answer knows where the end is: see page_of. The total is read a
    # moment before the page, so jobs written in between shift a page read from the end by as many rows, as
    # they shift any page between two requests.
    total = _kept_count(tenant_id, filters) if params.offset >= DEEP_OFFSET else None
    return page_of(_values(jobs, _columns(params.fields)), params, key=TIEBREAK, total=total, keys=jobs)


# The columns JobCount keeps counts by: a filter of equality and IN terms on these alone is counted from it.
KEPT_COUNT_COLUMNS = ("type", "status")

# The pages the upstream dashboard asks for on every view (no q, or terms on type and status only; any sort and
# fields; the first pages) run SQL the ORM compiles once per shape: building and compiling the queryset took
# longer than the database took to read the page. Shapes are few (sorts x field selections x early pages); the
# bound only stops a client that tries them all from growing the cache without end.
_PAGE_QUERIES: dict[tuple[Any, ...], CompiledQuery] = {}
_MAX_PAGE_QUERIES = 256


def _dashboard_page(
    tenant_id: int | None, filters: Q, order: list[str], params: ListParams
) -> list[dict[str, Any]] | None:
    """The page from a compiled query when `filters` and the page are of the dashboard's shape; None otherwise."""
    allowed = equality_terms(filters, KEPT_COUNT_COLUMNS)
    if tenant_id is None or params.offset >= DEEP_OFFSET or allowed is None:
        return None
    terms = {column: sorted(allowed[column]) for column in sorted(allowed)}
    if not all(isinstance(value, str) for values in terms.values() for value in values):
        return None
    if not all(terms.values()):
        return []  # a column no value of which can match: no job does
    columns = _columns(params.fields)
    counts = tuple((column, len(values)) for column, values in terms.items())
    shape = (tuple(order), tuple(columns), params.offset, params.page_size, counts)
    query = _PAGE_QUERIES.get(shape)
    if query is None:
        if len(_PAGE_QUERIES) >= _MAX_PAGE_QUERIES:
            _PAGE_QUERIES.clear()
        query = _PAGE_QUERIES[shape] = _page_query(order, columns, params, dict(counts))
    values = {f"{column}{i}": value for column, values in terms.items() for i, value in enumerate(values)}
    return query.all(tenant_id=tenant_id, **values)


def _page_query(order: list[str], columns: list[str], params: ListParams, counts: dict[str, int]) -> CompiledQuery:
    """A page of `IN` terms on `counts`' columns, with as many values as it says, its values named column0..."""
    start, stop = params.offset, params.offset + params.page_size

    def build(tenant_id: int, **values: str) -> QuerySet[Job, dict[str, Any]]:
        terms = {f"{column}__in": [values[f"{column}{i}"] for i in range(n)] for column, n in counts.items()}
        return _values(_for_tenant_id(tenant_id).filter(**terms).order_by(*order), columns)[start:stop]

    examples = {f"{column}{i}": f"example-{column}-{i}" for column, n in counts.items() for i in range(n)}
    return CompiledQuery(build, tenant_id=-1, **examples)


def job_count(*, tenant_id: int | None, filters: Q) -> Total:
    """How many of the tenant's jobs match `filters`: in constant time from the kept counts when the filter is
    only type and status terms, otherwise counted up to API_TOTAL_COUNT_MAX."""
    kept = _kept_count(tenant_id, filters)
    if kept is not None:
        return Total(kept)
    return bounded_count(_for_tenant_id(tenant_id).filter(filters), settings.API_TOTAL_COUNT_MAX)


def job_kept_counts(*, tenant_id: int) -> dict[tuple[str, str], int]:
    """{(type, status): count} of the tenant's jobs from the kept counts: constant time at any number of jobs.
    Keys with no jobs may be missing."""
    rows = JobCount.objects.filter(tenant_id=tenant_id).values_list("type", "status").annotate(n=Sum("n"))
    return {(job_type, status): n for job_type, status, n in rows.order_by()}


def _kept_count(tenant_id: int | None, filters: Q) -> int | None:
    """The number of matching jobs from JobCount; None when `filters` is not one it can answer."""
    allowed = equality_terms(filters, KEPT_COUNT_COLUMNS)
    if allowed is None:
        return None
    if tenant_id is None:
        return 0
    counts = JobCount.objects.filter(tenant_id=tenant_id, **{f"{column}__in": v for column, v in allowed.items()})
    total: int | None = counts.aggregate(total=Sum("n"))["total"]
    return total or 0


def _by_id(tenant: str, job_id: str) -> QuerySet[Job]:
    # PostgreSQL cannot compare text holding a NUL with its ids (and no id holds one): no such job, not a 500.
    return _for_tenant(tenant).filter(job_id=job_id) if is_stored_id(job_id) else Job.objects.none()


# A job by tenant and id, with every column the representation shows: the API's most frequent read, compiled once.
_JOB_ROW = CompiledQuery(
    lambda tenant_id, job_id: _values(Job.objects.filter(tenant_id=tenant_id, job_id=job_id), _columns(None))[:1],
    tenant_id=-1,
    job_id="example-job-id",
)


def job_row(*, tenant_id: int | None, job_id: str) -> dict[str, Any] | None:
    """The job as a `values()` row of every column the representation shows; None when there is no such job."""
    if tenant_id is None or not is_stored_id(job_id):  # no id holds a NUL, which PostgreSQL cannot compare
        return None
    return _JOB_ROW.first(tenant_id=tenant_id, job_id=job_id)


def export_bundle_size(*, job: Job) -> tuple[int, str] | None:
    """(size, checksum) of the job's stored export bundle; None when it has none."""
    row = ExportBundle.objects.filter(job=job, job__tenant_id=job.tenant_id).values_list("size", "checksum").first()
    return row


def export_bundle_chunks(*, tenant_id: int, job_pk: int, size: int) -> Iterator[str]:
    """The bundle's data, BUNDLE_CHUNK characters at a time. A bundle deleted meanwhile (its job was) ends the
    data early: the checksum then no longer matches it, so a cut bundle can never be imported."""
    bundle = ExportBundle.objects.filter(job_id=job_pk, job__tenant_id=tenant_id)
    for start in range(0, size, BUNDLE_CHUNK):
        part = bundle.annotate(part=Substr("data", start + 1, BUNDLE_CHUNK)).values_list("part", flat=True).first()
        if part is None:
            return
        yield part


# --- Keyset order: (created_at, job_id), the last two columns of every listing index of jobs -------------------

# Where a walk through jobs stands: between the job with this (created_at, job_id) and the next.
Position = tuple[datetime, str]


def beyond(position: Position, *, descending: bool) -> Q:
    """Rows after `position` in the given direction. The first term bounds the index range scan; the second
    breaks ties on created_at by job_id."""
    created_at, job_id = position
    if descending:
        return Q(created_at__lte=created_at) & (Q(created_at__lt=created_at) | Q(job_id__lt=job_id))
    return Q(created_at__gte=created_at) & (Q(created_at__gt=created_at) | Q(job_id__gt=job_id))


def keyset_order(*, descending: bool) -> tuple[str, str]:
    return ("-created_at", "-job_id") if descending else ("created_at", "job_id")


def job_batch(*, jobs: QuerySet[Job], after: Position | None, size: int) -> tuple[list[int], Position | None]:
    """The primary keys of the next `size` jobs of `jobs` after `after`, oldest first, and where the batch ends.

    By keyset: each batch starts where the last ended, in the filter's own index, instead of scanning again past
    the entries of the rows the earlier batches deleted."""
    if after is not None:
        jobs = jobs.filter(beyond(after, descending=False))
    rows = list(jobs.order_by(*keyset_order(descending=False)).values_list("pk", "created_at", "job_id")[:size])
    return [pk for pk, _, _ in rows], ((rows[-1][1], rows[-1][2]) if rows else None)


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
