"""Reads of the console's job pages. Every query starts from `_jobs(tenant)`, so no page can cross tenants.

Lists page by keyset on (created_at, job_id), the last two columns of every listing index of jobs: a page is an
index range scan that stops after one page of rows, at any depth and any table size. Nothing counts a whole
table, except the bulk delete's confirmation, which stops counting at COUNT_LIMIT.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from apps.agentic.models import LogMessage
from apps.audit.models import AuditEvent
from apps.core.ids import is_stored_id
from apps.core.timefmt import parse_instant
from apps.jobs.models import Job
from apps.jobs.selectors import beyond, job_kept_counts, keyset_order
from apps.tenants.models import Tenant

PAGE_SIZE = 50
RECENT = 10
# The bulk delete's confirmation counts at most this many jobs, and says "more than" beyond it.
COUNT_LIMIT = 100_000
# The columns a list row shows; the payload and results can be large and stay in the table.
ROW_COLUMNS = (
    "pk",
    "job_id",
    "type",
    "status",
    "agent_type",
    "agent_id",
    "message",
    "created_at",
    "modified_at",
)


def _jobs(tenant: Tenant) -> QuerySet[Job]:
    return Job.objects.filter(tenant_id=tenant.pk)


# --- Keyset cursors ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A position between two rows in (created_at, job_id) order."""

    created_at: datetime
    job_id: str

    def encode(self) -> str:
        # To the microsecond: loaded and seeded jobs are not all created on whole milliseconds.
        raw = json.dumps([self.created_at.isoformat(), self.job_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """The cursor, or None for anything that is not one (the first page is shown instead)."""
        if not text:
            return None
        try:
            created_at, job_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            if not isinstance(job_id, str) or not isinstance(created_at, str):
                return None
            # No job id holds a NUL or a lone surrogate: PostgreSQL could not even compare one with its ids.
            if "\x00" in job_id:
                return None
            job_id.encode("utf-8")
            return cls(parse_instant(created_at), job_id)
        except (ValueError, TypeError, binascii.Error):
            return None


@dataclass(frozen=True)
class JobPage:
    rows: list[dict[str, Any]]
    previous: Cursor | None  # `before` of the page preceding this one in the list's order; None: first page
    next: Cursor | None  # `after` of the page following this one; None: last page


def _cursor_of(row: dict[str, Any]) -> Cursor:
    return Cursor(row["created_at"], row["job_id"])


# The list's filter (apps/console/jobs/forms.py, JobFilter.narrow): given the tenant's jobs, it narrows them.
Narrowing = Callable[[QuerySet[Job]], QuerySet[Job]]


def _matching(tenant: Tenant, filters: Q | None, narrow: Narrowing | None) -> QuerySet[Job]:
    jobs = _jobs(tenant) if filters is None else _jobs(tenant).filter(filters)
    return jobs if narrow is None else narrow(jobs)


def job_page(
    *,
    tenant: Tenant,
    filters: Q | None = None,
    narrow: Narrowing | None = None,
    newest_first: bool = True,
    after: Cursor | None = None,
    before: Cursor | None = None,
    size: int | None = None,
) -> JobPage:
    """One page of the tenant's jobs matching `filters` and `narrow`: the first, the one following `after` in
    the list's order, or the one preceding `before`."""
    size = size or PAGE_SIZE
    rows = _matching(tenant, filters, narrow).values(*ROW_COLUMNS)
    backwards = before is not None
    # Walking backwards reads the index the other way and turns the page round afterwards.
    descending = newest_first != backwards
    cursor = before if backwards else after
    if cursor is not None:
        rows = rows.filter(beyond((cursor.created_at, cursor.job_id), descending=descending))
    found = list(rows.order_by(*keyset_order(descending=descending))[: size + 1])
    more = len(found) > size
    found = found[:size]
    if backwards:
        found.reverse()
    if not found:
        return JobPage([], None, None)
    first, last = _cursor_of(found[0]), _cursor_of(found[-1])
    # Onwards when the query found more than a page; back where we came from, since a cursor came from there.
    has_previous = more if backwards else cursor is not None
    has_next = True if backwards else more
    return JobPage(found, first if has_previous else None, last if has_next else None)


# --- The dashboard ---------------------------------------------------------------------------------------------


def job_counts(*, tenant: Tenant) -> dict[str, dict[str, int]]:
    """{type: {status: count}} for every type and status, zeros included, from the counts the database keeps
    (apps.jobs.models.JobCount): the same few rows to read at any number of jobs."""
    counts = {job_type: dict.fromkeys(Job.Status.values, 0) for job_type in Job.Type.values}
    for (job_type, status), n in job_kept_counts(tenant_id=tenant.pk).items():
        counts.setdefault(job_type, dict.fromkeys(Job.Status.values, 0))[status] = n
    return counts


def job_recent(*, tenant: Tenant, status: Job.Status | None = None, limit: int = RECENT) -> list[dict[str, Any]]:
    jobs = _jobs(tenant) if status is None else _jobs(tenant).filter(status=status)
    return list(jobs.order_by(*keyset_order(descending=True)).values(*ROW_COLUMNS)[:limit])


# --- Single jobs and small sets --------------------------------------------------------------------------------


def job_get(*, tenant: Tenant, job_id: str) -> Job | None:
    if not is_stored_id(job_id):  # a NUL (from %2500 in a link) PostgreSQL refuses even to compare
        return None
    return _jobs(tenant).filter(job_id=job_id).select_related("retry_of").first()


def job_retries(*, job: Job) -> list[dict[str, Any]]:
    return list(_jobs(job.tenant).filter(retry_of=job).order_by("created_at", "job_id").values(*ROW_COLUMNS))


def job_statuses(*, tenant: Tenant, job_ids: list[str]) -> list[dict[str, Any]]:
    """The status of the tenant's jobs among `job_ids`; ids of other tenants' (or deleted) jobs are left out."""
    columns = ("job_id", "status", "message", "modified_at", "finished_at", "dispatched_at", "started_at", "attempts")
    return list(_jobs(tenant).filter(job_id__in=job_ids).values(*columns))


def job_matching(*, tenant: Tenant, filters: Q, narrow: Narrowing | None = None) -> QuerySet[Job]:
    """The tenant's jobs matching `filters` and `narrow`, for a bulk action."""
    return _matching(tenant, filters, narrow)


def job_count_bounded(*, tenant: Tenant, filters: Q, narrow: Narrowing | None = None, limit: int = COUNT_LIMIT) -> int:
    """How many jobs match, counting no further than `limit` + 1: more than `limit` means "more than"."""
    return _matching(tenant, filters, narrow).order_by()[: limit + 1].count()


# --- Agent runs ------------------------------------------------------------------------------------------------

# A page, or one live update, shows at most this many lines of a run's transcript.
LOG_LINES = 500


def run_log(
    *, tenant: Tenant, request_id: str, after: int | None = None, limit: int = LOG_LINES
) -> list[dict[str, Any]]:
    """The lines of a run's request log in the order they were written, those after the line `after` only when
    given (a page that follows a run asks for what is new)."""
    rows = LogMessage.objects.filter(tenant_id=tenant.pk, request_id=request_id)
    if after is not None:
        rows = rows.filter(pk__gt=after)
    columns = ("id", "timestamp", "severity", "agent_id", "message")
    return list(rows.order_by("timestamp", "id").values(*columns)[:limit])


# --- The audit trail -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    older: str | None  # the `after` of the next page: "<at>,<id>" of this page's last event


def audit_page(*, tenant: Tenant, after: str | None = None, size: int | None = None) -> AuditPage:
    """The tenant's audit events, newest first, by keyset on (at, id)."""
    size = size or PAGE_SIZE
    events = AuditEvent.objects.filter(tenant_id=tenant.pk)
    cursor = _audit_cursor(after)
    if cursor is not None:
        at, pk = cursor
        events = events.filter(Q(at__lte=at) & (Q(at__lt=at) | Q(pk__lt=pk)))
    found = list(events.order_by("-at", "-pk")[: size + 1])
    more = len(found) > size
    found = found[:size]
    older = f"{found[-1].at.isoformat()},{found[-1].pk}" if more else None
    return AuditPage(found, older)


def _audit_cursor(text: str | None) -> tuple[datetime, int] | None:
    at, _, pk = (text or "").rpartition(",")
    try:
        return parse_instant(at), int(pk)
    except ValueError:
        return None
